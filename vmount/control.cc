#include "vmount/control.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/coding.h"
#include "base/env.h"

namespace cairn::vmount {
namespace {

std::string Encode(const Message& m) {
  std::string out;
  for (const auto& s : m) PutLengthPrefixed(&out, s);
  return out;
}

Message Decode(std::string_view in) {
  Message m;
  std::string_view s;
  while (GetLengthPrefixed(&in, &s)) m.emplace_back(s);
  return m;
}

// A socket's address holds at most 107 bytes of path. A longer path is reached through its
// directory, held open: /proc/self/fd/N/NAME (a repository may sit at any depth).
class Address {
 public:
  static Result<Address> Of(const std::string& path) {
    Address a;
    std::memset(&a.addr_, 0, sizeof(a.addr_));
    a.addr_.sun_family = AF_UNIX;
    std::string use = path;
    if (path.size() >= sizeof(a.addr_.sun_path)) {
      size_t slash = path.rfind('/');
      std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
      a.dir_fd_ = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (a.dir_fd_ < 0) return ErrnoStatus("open the directory of control socket", path, errno);
      use = "/proc/self/fd/" + std::to_string(a.dir_fd_) + "/" + path.substr(slash + 1);
      if (use.size() >= sizeof(a.addr_.sun_path)) {
        return Status::InvalidArgument("control socket " + path + ": name too long for a socket");
      }
    }
    std::memcpy(a.addr_.sun_path, use.c_str(), use.size());
    return a;
  }
  Address(Address&& o) noexcept : addr_(o.addr_), dir_fd_(std::exchange(o.dir_fd_, -1)) {}
  Address& operator=(Address&&) = delete;
  ~Address() {
    if (dir_fd_ >= 0) ::close(dir_fd_);
  }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t size() const { return sizeof(addr_); }

 private:
  Address() = default;
  sockaddr_un addr_;
  int dir_fd_ = -1;
};

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Start(
    const std::string& path, Handler handler, std::chrono::milliseconds client_limit) {
  std::unique_ptr<ControlServer> s(new ControlServer());
  CAIRN_ASSIGN_OR_RETURN(Address a, Address::Of(path));
  s->fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->fd_ < 0) return ErrnoStatus("create socket", path, errno);
  ::unlink(path.c_str());
  if (::bind(s->fd_, a.get(), a.size()) != 0) {
    return ErrnoStatus("bind socket", path, errno);
  }
  if (::listen(s->fd_, 8) != 0) return ErrnoStatus("listen on", path, errno);
  s->path_ = path;
  s->handler_ = std::move(handler);
  s->client_limit_ = client_limit;
  s->thread_ = std::thread([p = s.get()] { p->Serve(); });
  return s;
}

void ControlServer::Serve() {
  for (;;) {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // Stop shut the socket down
    }
    // A client that connects and sends nothing must not hold every later one (a commit, an
    // unmount) forever.
    timeval limit{.tv_sec = client_limit_.count() / 1000,
                  .tv_usec = (client_limit_.count() % 1000) * 1000};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    Message reply = handler_(Decode(ReadFdToEnd(c)));
    (void)WriteAll(c, Encode(reply));
    ::close(c);
  }
}

void ControlServer::Stop() {
  if (fd_ < 0) return;
  ::shutdown(fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
  fd_ = -1;
  ::unlink(path_.c_str());
}

ControlServer::~ControlServer() { Stop(); }

Result<Message> CallControl(const std::string& path, const Message& request) {
  CAIRN_ASSIGN_OR_RETURN(Address a, Address::Of(path));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("create socket", path, errno);
  if (::connect(fd, a.get(), a.size()) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError("connect to mount process at " + path + ": " + std::strerror(err));
  }
  bool ok = WriteAll(fd, Encode(request));
  ::shutdown(fd, SHUT_WR);
  std::string reply = ok ? ReadFdToEnd(fd) : std::string();
  ::close(fd);
  if (!ok || reply.empty()) return Status::IOError("talk to mount process at " + path + ": no reply");
  return Decode(reply);
}

}  // namespace cairn::vmount
