// Directories beneath a checkout's target (indexer/dir_sink.cc), reached through descriptors
// only: opened component by component, never following a symbolic link, holding a few
// descriptors per thousand levels however deep the tree; and an entry removed with everything
// beneath it but mount points. Nothing is reached by a path that leads out of the target, nor
// through ".."; a directory another process moves out of the target while it is worked on goes
// with its open descriptor, as for any writer. Private to the directory sink.
#ifndef CAIRN_INDEXER_DIR_FDS_H_
#define CAIRN_INDEXER_DIR_FDS_H_

#include <sys/types.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace cairn::indexer {

struct Fd {
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int fd;
};
using SharedFd = std::shared_ptr<Fd>;

// A walk down a tree holds the descriptors of the first kHeldLevels levels beneath where it
// started, and of every kHeldLevels-th beneath them; any other level is closed while a
// subdirectory of it is worked on, and opened again by name from the nearest one held above
// it. One descriptor per level failed a tree 4,096 deep under `ulimit -n 1024` (EMFILE).
constexpr size_t kHeldLevels = 64;

// Whether a walk keeps the descriptor of the level `depth` beneath its start while it works
// beneath that level.
constexpr bool HeldWhileBeneath(size_t depth) {
  return depth <= kHeldLevels || depth % kHeldLevels == 0;
}

// The directory `rel` beneath the directory open as `from` ("": `from` itself, as a new
// descriptor), opened component by component, never following a symlink; errors name `shown`.
Result<SharedFd> OpenBeneath(int from, std::string_view rel, const std::string& shown);

// Opens directory `name` of `parent` (AT_FDCWD: `name` is a path) to write into it, never
// following a symlink. With `make_writable`, a directory of this user's that its owner cannot
// write into (0555, 0444, 0000: an earlier checkout's) is given u+rwx first, through a
// descriptor of it, never by name (a reviewer swapped the name for a symbolic link between the
// check and a chmod by name, and root's checkout chmodded the link's target). With
// `same_device` too, a directory that is the root of a mount or on another device is refused
// (IOError, "a mount point"), before any change (RemoveBeneath: the directory opened, which
// may not be the one its name showed a moment before).
Result<SharedFd> OpenDirToWrite(int parent, const std::string& name, bool make_writable,
                                const std::string& shown, const dev_t* same_device = nullptr);

// Removes the entry `name` of the directory open as `dirfd` (nothing when there is none): a
// directory with everything beneath it, through descriptors (OpenDirToWrite, so that the
// user's own read-only directories can be emptied), never following a symbolic link, nor
// entering a mount point (refused: what is mounted beneath the target is not removed), with no
// recursion whatever its depth and the descriptors of a walk (kHeldLevels: 65, and one per 64
// levels beneath; 129 at 4,096 levels). Errors name the entry that could not be removed, under
// `shown` (the entry's name as messages show it).
Status RemoveBeneath(int dirfd, const std::string& name, const std::string& shown);

// Directories beneath a root, opened one after another (the directories of a version's hard
// links, in any order): each is opened from the deepest directory it shares with the one opened
// before, not from the root (hard links 4,000 directories deep took 40 s opened from the root
// each time, against 2 s for the whole checkout of that tree), holding descriptors as a walk
// does (kHeldLevels).
class DirCursor {
 public:
  // `root` stays open (the caller's) while the cursor is used; `shown` names it in errors.
  DirCursor(int root, std::string shown) : root_(root), shown_(std::move(shown)) {}
  // The directory `rel` beneath the root ("": the root itself, as a new descriptor), never
  // following a symbolic link.
  Result<SharedFd> Open(std::string_view rel);

 private:
  std::string Shown(size_t depth) const;
  int root_;
  std::string shown_;
  // The path of the last directory opened, a component each, and the descriptors of the
  // directories along it (fds_[i]: the first i components; fds_[0] the root), null where
  // released.
  std::vector<std::string> comps_;
  std::vector<SharedFd> fds_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DIR_FDS_H_
