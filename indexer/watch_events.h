// Internal to the tree watcher (indexer/watch.h): its inotify watches and what their events mean,
// apart from the socket, so that tests can hand it event records the kernel will not produce on
// demand (an overflow of its queue). Not for use outside indexer/watch*.cc and their tests.
//
// Thread-safety: an InotifyTree is used by one thread.
#ifndef CAIRN_INDEXER_WATCH_EVENTS_H_
#define CAIRN_INDEXER_WATCH_EVENTS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/status.h"
#include "indexer/watch.h"

namespace cairn::indexer {

// The mount points at or beneath directory `root` (absolute) listed in `table` (the text of
// /proc/self/mountinfo, whose octal escapes are undone), in the table's order.
std::vector<std::string> MountsBeneath(std::string_view table, const std::string& root);

// The name of a filesystem type (statfs's f_type, its low 32 bits) whose changes made on another
// machine or by a user-space server raise no inotify event: NFS, SMB/CIFS, FUSE, Ceph, 9P, AFS.
// nullopt for any other type.
std::optional<std::string_view> UnwatchableFilesystem(uint32_t f_type);

class InotifyTree {
 public:
  // Watches every directory beneath `root` (absolute, canonical) on the root's filesystem, each
  // before it is listed, and the mount table. IOError naming the directory that could not be
  // watched, or /proc/self/mountinfo if it cannot be opened (mounts would go unseen);
  // InvalidArgument naming the filesystem if the root is on one UnwatchableFilesystem names.
  static Result<std::unique_ptr<InotifyTree>> Open(const std::string& root);
  ~InotifyTree();
  InotifyTree(const InotifyTree&) = delete;
  InotifyTree& operator=(const InotifyTree&) = delete;

  // The inotify descriptor (nonblocking), readable when events are queued. A rebuild (Settle)
  // replaces it, so read it anew before each poll; -1 while a rebuild could not open one.
  int fd() const { return fd_; }
  // /proc/self/mountinfo, for poll(POLLPRI): a mount or unmount in the namespace makes it
  // report POLLPRI|POLLERR, once (the poll that reports it consumes it: see MountsChanged).
  int mounts_fd() const { return mounts_fd_; }
  const std::string& root() const { return root_; }
  dev_t root_dev() const { return root_dev_; }
  ino_t root_ino() const { return root_ino_; }
  // The root was deleted or moved: the watcher no longer follows what is at its path. (A
  // removal is seen by the next Drain: the root is held open, which delays its event.)
  bool root_gone() const { return root_gone_; }
  size_t directories() const { return paths_.size(); }

  // Reads every queued event and handles it (HandleEvents, then Settle), after checking the
  // mount table (a change is handled as lost events: mounts raise no inotify event). IOError if
  // the descriptor cannot be read.
  Status Drain();
  // A poll of mounts_fd() outside Drain reported a change: the next Settle rebuilds the watches.
  void MountsChanged();
  // Handles `data`, a sequence of inotify_event records as read(2) returns them.
  void HandleEvents(std::string_view data);
  // Ends a batch of events: after lost events, a directory moved out of the tree (an
  // IN_MOVED_FROM left without its IN_MOVED_TO) or one renamed onto a watched directory
  // (an exchange), the watches are rebuilt from scratch on a new inotify descriptor (fd()
  // changes) and no token issued so far is vouched for.
  void Settle();
  // Drains, answers for `since` (watch.h, WatchReport) and starts a new epoch.
  Result<WatchReport> Sync(const WatchToken& since);

 private:
  InotifyTree() = default;
  // Watches directory `rel` and every directory beneath it that is not yet watched (a watch
  // is added before its directory is listed); with `dirty`, marks each of them dirty. A
  // directory that vanished meanwhile is skipped: its parent's events tell of it.
  Status AddTree(const std::string& rel, bool dirty);
  // After a rename of directory `from` to `to` inside the tree.
  void MoveTree(const std::string& from, const std::string& to);
  void SetPath(int wd, const std::string& rel);
  void Forget(int wd);
  void Dirty(const std::string& rel) { dirty_[rel] = epoch_; }
  // The path of `rel` through the root's held descriptor (root_fd_), whatever became of the
  // root's ancestors.
  std::string Resolve(const std::string& rel) const;
  // A non-directory `rel` was created or renamed into place: if it is a second name of a
  // file (of any kind but a directory), tokens up to this epoch are not vouched for; if it is gone
  // already, it is remembered (unchecked_) until its rename within the tree is read, or the batch
  // ends.
  void NewName(const std::string& rel);
  // Whether a non-directory `st` has names besides the one just made: a write through one is
  // reported in its own directory only.
  static bool SecondName(const struct stat& st);
  // Whether event name `rel` is an O_TMPFILE file's (no such entry): writes through its
  // descriptor are reported there even after linkat(2) named it elsewhere.
  bool UnnamedFile(const std::string& rel) const;
  // The watcher met name `rel` of non-directory `st`: a file with several names gets an inode
  // watch (its events mark the directory of every name of it the watcher met), up to
  // kMaxInodeWatches, beyond which the watcher vouches for nothing until it rebuilds.
  void NoteName(const std::string& rel, const struct stat& st);
  // Events were lost, the paths of watches are unknown or a directory could not be watched:
  // rebuilds every watch on a new descriptor; no earlier token is vouched for.
  void Recover();

  std::string root_;
  dev_t root_dev_ = 0;
  ino_t root_ino_ = 0;
  int fd_ = -1;
  int mounts_fd_ = -1;
  int root_fd_ = -1;                 // O_PATH
  std::string root_proc_;            // "/proc/self/fd/" and root_fd_
  std::vector<std::string> mounts_;  // MountsBeneath the root when the table was last read
  std::optional<std::string> mount_ids_;  // and the unique IDs of the mounts on them (MountIds)
  // Directories of the tree on another device than the root, found by AddTree (mount points,
  // btrfs subvolumes), kept until the next rebuild: their parents are always reported.
  std::set<std::string> boundaries_;
  // Inode watches of files with several names: a write through a descriptor opened by a name
  // removed since is reported in that name's old directory only, not in those of its other
  // names, which a checkin may take unseen (they may hold no file with another name by then).
  struct InodeWatch {
    dev_t dev;
    ino_t ino;
    std::set<std::string> dirs;  // of the names met (some may be gone)
  };
  static constexpr size_t kMaxInodeWatches = size_t{1} << 16;
  std::unordered_map<int, InodeWatch> inodes_;
  std::map<std::pair<dev_t, ino_t>, int> inode_wds_;
  bool inodes_blind_ = false;  // a file with several names has no inode watch
  int root_wd_ = -1;
  bool root_gone_ = false;
  std::unordered_map<int, std::string> paths_;            // watch -> directory relative to the root
  std::map<std::string, int> wds_;                        // the reverse, ordered for subtrees
  std::unordered_map<uint32_t, std::string> moved_from_;  // cookie -> directory, this batch
  // Names made this batch that were gone when looked at (NewName), and the cookies of their
  // renames whose other half is not read yet.
  std::set<std::string> unchecked_;
  std::set<uint32_t> unchecked_moves_;
  std::map<std::string, uint64_t> dirty_;  // directory -> the last epoch it changed in
  std::string instance_;
  uint64_t epoch_ = 1;
  uint64_t lost_epoch_ = 0;  // tokens up to this epoch get `all`
  bool lost_ = false;        // events were lost in this batch
  bool blind_ = false;       // some directory could not be watched again after a loss
  // One directory at two paths of the tree (a bind mount of the same filesystem beneath the
  // root): inotify gives both the same watch, so events name only one of the paths.
  bool aliased_ = false;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_WATCH_EVENTS_H_
