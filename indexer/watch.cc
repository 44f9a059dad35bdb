// The watcher's socket: Serve and AskWatcher (the wire protocol: indexer/watch_wire.h).
#include "indexer/watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "base/sha256.h"
#include "indexer/watch_events.h"
#include "indexer/watch_wire.h"

namespace cairn::indexer {
namespace {

using Clock = std::chrono::steady_clock;

// The whole of a question or an answer, however it trickles: neither side holds the other longer.
constexpr auto kTimeout = std::chrono::seconds(1);
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

// Waits until `fd` is ready for `events`, at most until `deadline`: false when it is not.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

// A socket connected to `path` (a connect that blocks on a full backlog gives up after the
// timeout), or -1 with errno set.
int Connect(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{1, 0};
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

bool SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    if (!WaitFor(fd, POLLOUT, deadline)) return false;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Appends what `fd` sends to `out` until `done(*out)`, the peer closes (true) or `limit` bytes
// or `deadline` pass (false).
template <typename Done>
bool Receive(int fd, std::string* out, size_t limit, Clock::time_point deadline, Done done) {
  char buf[64 * 1024];
  while (!done(*out)) {
    if (!WaitFor(fd, POLLIN, deadline)) return false;
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > limit) return false;
  }
  return true;
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
  std::string req;
  // Six lines within the timeout, however they trickle; more than a request is dropped.
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n') >= 6; };
  if (!Receive(client, &req, kMaxRequest, Clock::now() + kTimeout, lines) || !lines(req)) return;
  std::optional<WatchRequest> r = DecodeWatchRequest(req);
  if (!r) return;
  // Another tree at that path, or the same root seen from another mount namespace, where other
  // mounts may lie beneath it (their changes raise no event the watcher sees).
  const uint64_t ns = OwnMountNamespace();
  if (r->dev != tree_->root_dev() || r->ino != tree_->root_ino() || r->mnt_ns != ns || ns == 0) {
    (void)SendAll(client, std::string(kWatchMagic) + " not-mine\n", Clock::now() + kTimeout);
    return;
  }
  Result<WatchReport> report = tree_->Sync(r->since);
  if (!report) return;
  (void)SendAll(client, EncodeWatchAnswer(*report), Clock::now() + kTimeout);
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
    // At least every second: the root's removal raises no event while it is held (Drain).
    int ready = ::poll(fds, 4, 1000);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return done(ErrnoStatus("watch", socket_path, errno));
    }
    if (fds[2].revents != 0) return done(Status::Ok());
    // This poll consumed the change: Drain's own would not see it again.
    const bool mounts = (fds[3].revents & (POLLPRI | POLLERR)) != 0;
    if (mounts) tree_->MountsChanged();
    if (fds[0].revents != 0 || mounts || ready == 0) {
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

bool ChangedAtOrBeneath(const WatchReport& report, const std::string& rel) {
  const std::vector<std::string>& d = report.dirty;
  if (std::binary_search(d.begin(), d.end(), rel)) return true;
  if (rel.empty()) return !d.empty();  // the root: every other entry lies beneath it
  const std::string prefix = rel + "/";
  auto it = std::lower_bound(d.begin(), d.end(), prefix);
  return it != d.end() && it->starts_with(prefix);
}

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
  const auto deadline = Clock::now() + kTimeout;
  Fd fd(Connect(*path));
  if (fd.get() < 0) return std::nullopt;
  // Only a watcher run by this user (or root) is believed: another could bind the path
  // if the cache directory were shared, and answer that nothing changed.
  ucred peer{};
  socklen_t len = sizeof(peer);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ||
      (peer.uid != ::geteuid() && peer.uid != 0)) {
    return std::nullopt;
  }
  if (!SendAll(fd.get(), EncodeWatchRequest({dev, ino, since, OwnMountNamespace()}), deadline))
    return std::nullopt;
  std::string answer;
  auto never = [](const std::string&) { return false; };  // until the watcher closes
  if (!Receive(fd.get(), &answer, kMaxAnswer, deadline, never)) return std::nullopt;
  return DecodeWatchAnswer(answer, since);
}

Result<std::unique_ptr<TreeWatcher>> TreeWatcher::Start(const std::string& root) {
  CAIRN_ASSIGN_OR_RETURN(auto tree, InotifyTree::Open(root));
  return std::unique_ptr<TreeWatcher>(std::make_unique<Watcher>(std::move(tree)));
}

}  // namespace cairn::indexer
