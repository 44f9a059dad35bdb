// The tree watcher (`cairn watch DIR`): a process that follows a source directory with inotify
// and tells an incremental checkin which directories changed since the last one, so that the
// checkin stats those directories and takes every other subtree as recorded, without a system
// call (git's fsmonitor, for golden trees). Without a watcher, or when it cannot vouch for the
// whole time since the parent's checkin, a checkin stats the whole tree as before: a watcher
// only ever saves time.
//
// What it sees (inotify on every directory of the tree, and on every file of it with several
// names): a file's content (write, truncate, fallocate), its metadata (chmod, chown, utimes,
// xattrs), names created, removed or renamed. Mounts and unmounts at or beneath the tree (no
// inotify event) are seen through /proc/self/mountinfo and handled as lost events, a mount
// replaced by another at the same point too (the mounts' unique IDs, Linux 6.8; on an older
// kernel any change of the table while something is mounted beneath the root counts). The
// directory holding a mount point, or a directory of another device (a btrfs subvolume), is
// reported changed in every answer: the mounted root's metadata, and a file bound over a name,
// change without an event in it. Paths are resolved from the root's own directory (held open),
// so an ancestor of the root renamed meanwhile does not matter; a question from another mount
// namespace, where other mounts may lie beneath the root, is not answered.
//
// A second name made inside the tree (link(2); a name renamed into place, as GNU `ln -f` does;
// one found in a directory made or moved in: any non-directory with several names) makes the
// watcher vouch for nothing before it, since a write through that name marks only its own
// directory; so does a name made and gone (not renamed within the tree) before the watcher
// looked at it. A file with several names gets an inode watch (at most 65536; beyond, the
// watcher vouches for nothing until it rebuilds its watches), whose events mark the directory
// of every name of it the watcher met: a write through a descriptor opened by a name removed
// since is seen (not for a file the watcher's user may not read: inotify refuses to watch
// it). To find them, the watcher lstat()s every entry of the tree when it starts.
//
// A file of the tree behind a loop device is written by the kernel with no inotify event: while
// the device is attached (/sys/block/loop*/loop/backing_file names the file by a path beneath
// the root), its directory is reported changed in every answer; detaching the device closes
// the file, an event. (A device attached through another path to the file, a bind mount of the
// tree elsewhere, is not recognised.)
//
// What it cannot see: writes through a shared writable mmap (no event; git's fsmonitor has the
// same blind spot: `--paranoid`, or a checkin with the watcher stopped, reads everything); a
// file of the tree with one name given a second name outside it after the last checkin (`ln`,
// `cp -al`, `rsync --link-dest` from the tree) and then written through that name: neither the
// new name nor the write raises an event on the tree's directories. (A checkin never skips a
// directory holding a file that had a name outside it at the last checkin,
// indexer/watched_walk.h, so only files whose names were all in one subtree then are exposed.)
// A second name made inside the tree, written through and replaced by another file of that name
// before the watcher looked at it (within a millisecond or so). A write to a file with one name
// through a disconnected dentry, as open_by_handle_at(2) makes (knfsd exporting the tree, a
// process that kept a file handle): no directory event.
// Nor changes made on another machine or by a user-space server: the watcher refuses NFS,
// SMB/CIFS, FUSE, Ceph, 9P and AFS.
//
// Epochs. A watcher numbers the intervals between checkins. It remembers, for each directory,
// the last epoch in which something in it changed. A checkin asks with the token its stat cache
// recorded (the watcher's instance and an epoch); the watcher first reads every event queued so
// far (inotify queues an event before the system call that caused it returns, so every change
// made before the question is in the queue), answers with the directories changed in that epoch
// or later, and starts a new epoch, whose token the checkin records in its new stat cache.
// Changes made while the checkin walks fall in the new epoch and are seen by the next checkin.
// The watcher cannot vouch (WatchReport::all) for a token of another instance (restarted), an
// epoch it did not issue, or one older than an event-queue overflow.
//
// The watcher is found by the source root's path: a Unix socket under the cache directory
// (WatchSocketPath). It answers only for the directory it watches (device and inode of the
// root), so a path bound to another tree meanwhile gets no answer.
//
// Thread-safety: the functions are thread-safe; a TreeWatcher is used by one thread.
#ifndef CAIRN_INDEXER_WATCH_H_
#define CAIRN_INDEXER_WATCH_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace cairn::indexer {

// What a checkin records in its stat cache: the watcher instance (16 random bytes, as 32 hex
// digits; empty: none) and the epoch the watcher started when the checkin asked.
struct WatchToken {
  std::string instance;
  uint64_t epoch = 0;
  bool operator==(const WatchToken&) const = default;
};

// A watcher's answer.
struct WatchReport {
  // For the new stat cache: valid whatever `all` says.
  WatchToken token;
  // The watcher cannot vouch for the time since the token asked with (another instance, an
  // unknown epoch, an overflow since): `dirty` is empty and every directory must be statted.
  bool all = true;
  // Otherwise the directories (relative to the root, "" for the root itself; sorted by raw
  // bytes, no duplicates) in which something changed since the token's epoch: an entry
  // created, removed, renamed, written or with changed metadata, or the directory's own
  // metadata. A directory created or moved in is listed with every directory beneath it.
  std::vector<std::string> dirty;
};

// Whether `report` (one with a list: !all) names directory `rel` or a directory beneath it:
// something in that subtree changed.
bool ChangedAtOrBeneath(const WatchReport& report, const std::string& rel);

// The socket of the watcher of source root `root` (absolute, canonical) under cache directory
// `cache_dir`. InvalidArgument when the path would not fit a Unix socket address.
Result<std::string> WatchSocketPath(const std::string& cache_dir, const std::string& root);

// Asks the watcher of `root`, if one runs, what changed since `since` in the tree whose root
// directory has device `dev` and inode `ino`. nullopt when no watcher answers (none runs, it
// watches another tree at that path, or it fails to answer within a second): a checkin then
// walks the whole tree, so this never fails.
std::optional<WatchReport> AskWatcher(const std::string& cache_dir, const std::string& root,
                                      dev_t dev, ino_t ino, const WatchToken& since);

// The watcher of one tree.
class TreeWatcher {
 public:
  // Watches every directory beneath `root` (absolute, canonical) on the root's filesystem.
  // IOError naming the directory that could not be watched (ENOSPC: the inotify watch limit,
  // /proc/sys/fs/inotify/max_user_watches, named in the message).
  static Result<std::unique_ptr<TreeWatcher>> Start(const std::string& root);
  virtual ~TreeWatcher() = default;

  // Reads every queued event, then answers for `since` and starts a new epoch.
  virtual Result<WatchReport> Sync(const WatchToken& since) = 0;
  // Serves AskWatcher on the socket `socket_path` until `stop` (an fd that becomes readable,
  // e.g. a signalfd or a pipe) is readable, or the root is deleted or moved (IOError). Events
  // are read as they come, so the kernel's queue does not overflow while no checkin asks.
  // An existing socket file is replaced only if no watcher answers on it (else
  // AlreadyExists naming it).
  // `listening`, if given, is called once the socket takes questions.
  virtual Status Serve(const std::string& socket_path, int stop,
                       const std::function<void()>& listening = {}) = 0;
  // The number of directories watched.
  virtual size_t directories() const = 0;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_WATCH_H_
