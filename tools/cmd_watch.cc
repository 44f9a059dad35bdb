// cairn watch DIR
#include <fmt/core.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "indexer/dir_scan.h"
#include "indexer/stat_cache.h"
#include "indexer/watch.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace cairn::tools {

int RunWatch(const Args& args) {
  const CommandSpec spec{
      "watch", "watch DIR",
      "Follow directory DIR with inotify until interrupted (SIGINT, SIGTERM), so that an\n"
      "incremental checkin of DIR (--parent) stats only the directories changed since the\n"
      "parent's checkin instead of the whole tree. It sees writes, truncation, metadata and\n"
      "names; not writes through a shared writable mmap: --paranoid ignores the watcher.\n"
      "Its socket is under $CAIRN_CACHE_DIR/watch (default ~/.cache/cairn/watch)."};
  std::string dir;
  po::options_description opts("Options");
  opts.add_options()("dir", po::value(&dir)->required(), "the directory to watch");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;

  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Fail(ErrnoStatus("watch", dir, errno));
  if (!S_ISDIR(st.st_mode))
    return Fail(Status::InvalidArgument("watch " + dir + ": not a directory"));
  const std::string cache = indexer::StatCache::DefaultDir();
  if (cache.empty()) {
    return Fail(Status::InvalidArgument(
        "watch " + dir + ": no cache directory for the socket (set CAIRN_CACHE_DIR or HOME)"));
  }
  auto root = indexer::WalkRoot(dir);
  if (!root) return Fail(root.error());
  auto socket = indexer::WatchSocketPath(cache, *root);
  if (!socket) return Fail(socket.error());
  // A watcher of this tree that answers: no second one (Serve would refuse too, but only after
  // the tree is watched).
  if (indexer::AskWatcher(cache, *root, st.st_dev, st.st_ino, {})) {
    return Fail(
        Status::AlreadyExists("watch " + *root + ": a watcher already runs (" + *socket + ")"));
  }

  // SIGINT and SIGTERM stop the watcher through a signalfd: blocked before the watches are
  // added, so that one sent meanwhile stops it as soon as it serves.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
    return Fail(ErrnoStatus("watch", "sigprocmask", errno));
  }
  int stop = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (stop < 0) return Fail(ErrnoStatus("watch", "signalfd", errno));

  auto watcher = indexer::TreeWatcher::Start(*root);
  if (!watcher) {
    ::close(stop);
    return Fail(watcher.error());
  }
  // Printed once the socket takes questions: a checkin started after this line finds it.
  Status s = (*watcher)->Serve(*socket, stop, [&] {
    fmt::print(stderr, "watching {}: {} directories (socket {})\n", *root,
               (*watcher)->directories(), *socket);
    std::fflush(stderr);
  });
  ::close(stop);
  if (!s.ok()) return Fail(s);
  return kExitOk;
}

}  // namespace cairn::tools
