// The watcher's socket: Serve, AskWatcher and the wire protocol between them.
//
// Request: "cairn-watch 1\n", then the root's device and inode in decimal, the token's instance
// ("-" for none) and its epoch, each on a line of its own. Answer, after which the watcher
// closes the connection: one header line,
//   "cairn-watch 1 not-mine\n"                      (it watches another tree at that path)
//   "cairn-watch 1 all INSTANCE EPOCH\n"
//   "cairn-watch 1 dirty INSTANCE EPOCH COUNT\n" then COUNT paths, each ended by a NUL byte
// (a name may hold a newline, never a NUL).
#include "indexer/watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "base/hex.h"
#include "base/sha256.h"
#include "indexer/watch_events.h"

namespace cairn::indexer {
namespace {

constexpr std::string_view kMagic = "cairn-watch 1";
constexpr size_t kMaxRequest = 512;
constexpr size_t kMaxAnswer = size_t{1} << 30;  // a billion bytes of paths: a broken watcher

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_un AddressOf(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());  // WatchSocketPath checked the size
  return a;
}

// A connected socket with one-second timeouts, or -1 with errno set.
int Connect(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_un a = AddressOf(path);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t at; (at = s.find(sep)) != std::string_view::npos; s.remove_prefix(at + 1)) {
    out.push_back(s.substr(0, at));
  }
  out.push_back(s);
  return out;
}

struct Request {
  dev_t dev = 0;
  ino_t ino = 0;
  WatchToken since;
};

std::string EncodeRequest(const Request& r) {
  return std::string(kMagic) + "\n" + std::to_string(r.dev) + "\n" + std::to_string(r.ino) + "\n" +
         (r.since.instance.empty() ? "-" : r.since.instance) + "\n" +
         std::to_string(r.since.epoch) + "\n";
}

std::optional<Request> DecodeRequest(std::string_view s) {
  if (s.empty() || s.back() != '\n') return std::nullopt;
  s.remove_suffix(1);
  auto f = Split(s, '\n');
  Request r;
  if (f.size() != 5 || f[0] != kMagic || !ParseNumber(f[1], &r.dev) || !ParseNumber(f[2], &r.ino) ||
      !ParseNumber(f[4], &r.since.epoch)) {
    return std::nullopt;
  }
  if (f[3] != "-") r.since.instance = std::string(f[3]);
  return r;
}

std::string EncodeAnswer(const WatchReport& r) {
  std::string out = std::string(kMagic) + (r.all ? " all " : " dirty ") + r.token.instance + " " +
                    std::to_string(r.token.epoch);
  if (r.all) return out + "\n";
  out += " " + std::to_string(r.dirty.size()) + "\n";
  for (const auto& d : r.dirty) {
    out += d;
    out.push_back('\0');
  }
  return out;
}

std::optional<WatchReport> DecodeAnswer(std::string_view s) {
  size_t nl = s.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view header = s.substr(0, nl), body = s.substr(nl + 1);
  auto f = Split(header, ' ');
  if (f.size() < 5 || f[0] != "cairn-watch" || f[1] != "1") return std::nullopt;
  WatchReport r;
  r.all = f[2] == "all";
  if ((r.all ? 5u : 6u) != f.size() || (!r.all && f[2] != "dirty")) return std::nullopt;
  if (f[3].size() != 32 || !IsHexDigits(f[3]) || !ParseNumber(f[4], &r.token.epoch) ||
      r.token.epoch == 0) {
    return std::nullopt;
  }
  r.token.instance = std::string(f[3]);
  if (r.all) return body.empty() ? std::optional(std::move(r)) : std::nullopt;
  size_t count = 0;
  if (!ParseNumber(f[5], &count) || count > body.size()) return std::nullopt;
  r.dirty.reserve(count);
  while (!body.empty()) {
    size_t end = body.find('\0');
    if (end == std::string_view::npos) return std::nullopt;
    r.dirty.emplace_back(body.substr(0, end));
    body.remove_prefix(end + 1);
  }
  if (r.dirty.size() != count) return std::nullopt;
  return r;
}

// Creates `dir` and its missing parents, mode 0700.
Status MakeDirs(const std::string& dir) {
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at < dir.size() && dir[at] != '/') continue;
    std::string prefix = dir.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus("create directory", prefix, errno);
    }
  }
  return Status::Ok();
}

class Watcher : public TreeWatcher {
 public:
  explicit Watcher(std::unique_ptr<InotifyTree> tree) : tree_(std::move(tree)) {}

  Result<WatchReport> Sync(const WatchToken& since) override { return tree_->Sync(since); }
  size_t directories() const override { return tree_->directories(); }
  Status Serve(const std::string& socket_path, int stop,
               const std::function<void()>& listening) override;

 private:
  // Binds and listens on `socket_path`, replacing a file no watcher answers on.
  Result<int> Listen(const std::string& socket_path);
  // Answers one client; a client that misbehaves is dropped.
  void Answer(int client);
  Status GoneError() const {
    return Status::IOError("watch " + tree_->root() + ": the root was removed or moved");
  }

  std::unique_ptr<InotifyTree> tree_;
};

Result<int> Watcher::Listen(const std::string& socket_path) {
  if (socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::InvalidArgument("watch " + socket_path + ": too long for a socket address");
  }
  size_t slash = socket_path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    CAIRN_RETURN_IF_ERROR(MakeDirs(socket_path.substr(0, slash)));
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus("watch", socket_path, errno);
  sockaddr_un a = AddressOf(socket_path);
  auto bind = [&] { return ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0; };
  bool bound = bind();
  if (!bound && errno == EADDRINUSE) {
    if (int other = Connect(socket_path); other >= 0) {
      ::close(other);
      ::close(fd);
      return Status::AlreadyExists("watch " + tree_->root() + ": a watcher already runs (" +
                                   socket_path + ")");
    }
    if (errno == ECONNREFUSED) {  // stale: its watcher is gone
      ::unlink(socket_path.c_str());
      bound = bind();
    } else {
      errno = EADDRINUSE;
    }
  }
  if (!bound || ::listen(fd, 16) != 0) {
    Status s = ErrnoStatus("watch", socket_path, errno);
    ::close(fd);
    return s;
  }
  return fd;
}

void Watcher::Answer(int client) {
  timeval tv{1, 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string req;
  char buf[kMaxRequest];
  // Five lines; a client that stalls for a second or sends more than a request is dropped.
  while (std::count(req.begin(), req.end(), '\n') < 5) {
    ssize_t n = ::recv(client, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    req.append(buf, static_cast<size_t>(n));
    if (req.size() > kMaxRequest) return;
  }
  std::optional<Request> r = DecodeRequest(req);
  if (!r) return;
  if (r->dev != tree_->root_dev() || r->ino != tree_->root_ino()) {
    (void)SendAll(client, std::string(kMagic) + " not-mine\n");
    return;
  }
  Result<WatchReport> report = tree_->Sync(r->since);
  if (!report) return;
  (void)SendAll(client, EncodeAnswer(*report));
}

Status Watcher::Serve(const std::string& socket_path, int stop,
                      const std::function<void()>& listening) {
  CAIRN_RETURN_IF_ERROR(tree_->Drain());
  if (tree_->root_gone()) return GoneError();
  CAIRN_ASSIGN_OR_RETURN(int listen_fd, Listen(socket_path));
  Fd listener(listen_fd);
  struct stat mine;
  const bool have_mine = ::stat(socket_path.c_str(), &mine) == 0;
  // Removes the socket unless another watcher has replaced it meanwhile.
  auto done = [&](Status s) {
    struct stat st;
    if (have_mine && ::stat(socket_path.c_str(), &st) == 0 && st.st_ino == mine.st_ino &&
        st.st_dev == mine.st_dev) {
      ::unlink(socket_path.c_str());
    }
    return s;
  };
  if (listening) listening();
  for (;;) {
    // tree_->fd() is read anew each time: a recovery replaces it.
    pollfd fds[4] = {{tree_->fd(), POLLIN, 0},
                     {listen_fd, POLLIN, 0},
                     {stop, POLLIN, 0},
                     {tree_->mounts_fd(), POLLPRI, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return done(ErrnoStatus("watch", socket_path, errno));
    }
    if (fds[2].revents != 0) return done(Status::Ok());
    // This poll consumed the change: Drain's own would not see it again.
    const bool mounts = (fds[3].revents & (POLLPRI | POLLERR)) != 0;
    if (mounts) tree_->MountsChanged();
    if (fds[0].revents != 0 || mounts) {
      if (Status s = tree_->Drain(); !s.ok()) return done(s);
    }
    if (fds[1].revents & POLLIN) {
      int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        Answer(client);
        ::close(client);
      }
    }
    if (tree_->root_gone()) return done(GoneError());
  }
}

}  // namespace

Result<std::string> WatchSocketPath(const std::string& cache_dir, const std::string& root) {
  std::string path = cache_dir + "/watch/" + Sha256::Of(root).ToHex().substr(0, 16) + ".sock";
  if (path.size() > sizeof(sockaddr_un::sun_path) - 1) {
    return Status::InvalidArgument("watch " + root + ": the socket path " + path +
                                   " is too long for a Unix socket (the cache directory is)");
  }
  return path;
}

std::optional<WatchReport> AskWatcher(const std::string& cache_dir, const std::string& root,
                                      dev_t dev, ino_t ino, const WatchToken& since) {
  Result<std::string> path = WatchSocketPath(cache_dir, root);
  if (!path) return std::nullopt;
  struct stat st;
  if (::stat(path->c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return std::nullopt;
  Fd fd(Connect(*path));
  if (fd.get() < 0) return std::nullopt;
  if (!SendAll(fd.get(), EncodeRequest({dev, ino, since}))) return std::nullopt;
  std::string answer;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;  // a second without a byte
    if (n == 0) break;
    answer.append(buf, static_cast<size_t>(n));
    if (answer.size() > kMaxAnswer) return std::nullopt;
  }
  return DecodeAnswer(answer);
}

Result<std::unique_ptr<TreeWatcher>> TreeWatcher::Start(const std::string& root) {
  CAIRN_ASSIGN_OR_RETURN(auto tree, InotifyTree::Open(root));
  return std::unique_ptr<TreeWatcher>(std::make_unique<Watcher>(std::move(tree)));
}

}  // namespace cairn::indexer
