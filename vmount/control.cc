#include "vmount/control.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/coding.h"

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

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un a;
  std::memset(&a, 0, sizeof(a));
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) {
    return Status::InvalidArgument("control socket " + path + ": path too long for a socket");
  }
  std::memcpy(a.sun_path, path.c_str(), path.size());
  return a;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

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

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& path,
                                                            Handler handler) {
  std::unique_ptr<ControlServer> s(new ControlServer());
  CAIRN_ASSIGN_OR_RETURN(sockaddr_un a, Address(path));
  s->fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->fd_ < 0) return ErrnoStatus("create socket", path, errno);
  ::unlink(path.c_str());
  if (::bind(s->fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    return ErrnoStatus("bind socket", path, errno);
  }
  if (::listen(s->fd_, 8) != 0) return ErrnoStatus("listen on", path, errno);
  s->path_ = path;
  s->handler_ = std::move(handler);
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
    Message reply = handler_(Decode(ReadAll(c)));
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
  CAIRN_ASSIGN_OR_RETURN(sockaddr_un a, Address(path));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("create socket", path, errno);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError("connect to mount process at " + path + ": " + std::strerror(err));
  }
  bool ok = WriteAll(fd, Encode(request));
  ::shutdown(fd, SHUT_WR);
  std::string reply = ok ? ReadAll(fd) : std::string();
  ::close(fd);
  if (!ok || reply.empty()) return Status::IOError("talk to mount process at " + path + ": no reply");
  return Decode(reply);
}

}  // namespace cairn::vmount
