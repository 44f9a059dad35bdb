// DirScanner: what a directory checkin's walk (indexer/dir_source.cc) needs of one directory: its
// entries, each lstat'ed, with xattrs and link targets and, in an incremental checkin, which of
// them are unchanged since the parent version (their size and mtime as in the parent's Tree,
// their inode and ctime as the stat cache recorded). Scans of many directories may run at once,
// ahead of the walk (the scan threads, planned scans): on a cold cache their disk reads then
// wait together instead of one after another.
//
// Thread-safety: the const methods may be called from many threads at once, while the stat
// cache given is not changed.
#ifndef CAIRN_INDEXER_DIR_SCAN_H_
#define CAIRN_INDEXER_DIR_SCAN_H_

#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <string>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"
#include "base/status.h"
#include "cas/object_store.h"
#include "cas/tree.h"
#include "indexer/source.h"
#include "indexer/stat_ahead.h"
#include "indexer/stat_cache.h"

namespace cairn::indexer {

// The absolute, canonical path a walk of directory `path` is rooted at ("/" for the filesystem
// root): the stat cache is keyed by it, and a prefetch is adopted only by a walk of the same
// root. IOError naming `path`.
Result<std::string> WalkRoot(const std::string& path);

// The path of entry `name` of directory `dir` ("/" for the filesystem root).
inline std::string ChildPath(const std::string& dir, const std::string& name) {
  return (dir == "/" ? "" : dir) + "/" + name;
}
// The same relative to the source root ("" for the root itself).
inline std::string ChildRel(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

// What the walk needs of one directory, read by a scan task ahead of the walk: on a cold
// cache the lstat and xattr calls of many directories then wait on the disk at once instead
// of one after another. Per-entry errors are kept and reported when the walk reaches the
// entry, so errors come in the same order as a sequential walk would meet them.
struct ScannedEntry {
  std::string name;
  Status status;  // lstat, type, xattrs or readlink failed
  struct stat st {};
  cas::EntryType type = cas::EntryType::kRegular;
  cas::Xattrs xattrs;
  std::string target;  // symlinks
  // A regular file unchanged since the parent: its entry in DirScan::parent; npos otherwise.
  size_t unchanged = std::string::npos;
  // Its inode and ctime are as recorded, so its xattrs and target were not read (yet). A
  // directory keeps it: its xattrs are not in its entry of the parent's Tree but in its own
  // Tree, which its own scan reads (DirScan::parent), unless it is taken whole as recorded.
  bool same = false;
};
struct DirScan {
  Status status;  // the directory could not be listed, or its parent Tree read
  std::deque<ScannedEntry> entries;  // a deque: the walk lets go of those it has taken
  // Incremental checkin: the directory in the parent version (empty if it had none), and the
  // stat cache's record of it when that record describes exactly this Tree.
  cas::Tree parent;
  bool parent_loaded = false;  // `parent` was read (the directory had a Tree in the parent)
  const StatCacheDir* cached = nullptr;
  // The directory and all its entries are as recorded (PendingDir::reuse): `parent` is not
  // read, the subdirectories' Trees in the parent version come from the cache.
  bool reuse = false;
  bool unlisted = false;  // the names came from the stat cache, not from listing the directory
  // The scan needed the parent's Tree before the store was given (DirScanner::SetStore): it is
  // not usable, `status` says so.
  bool needs_store = false;
};

class DirScanner {
 public:
  // `root`: the source root, absolute ("/" for the filesystem root). `cache` (the stat cache of
  // the parent's checkin; empty without one), `store` and `options` must outlive the scanner.
  DirScanner(std::string root, const StatCache& cache, cas::ObjectStore* store,
             const CheckinOptions& options);
  DirScanner(const DirScanner&) = delete;
  DirScanner& operator=(const DirScanner&) = delete;
  ~DirScanner();

  // The store the parent version's Trees are read from; until it is set (a scan started before
  // the repository is open, indexer/dir_prefetch.h), a scan that needs one fails with
  // DirScan::needs_store.
  void SetStore(cas::ObjectStore* store) { store_.store(store, std::memory_order_release); }
  // Lookups of the cached names done ahead (indexer/stat_ahead.h), used for directories taken
  // as recorded. Set before any scan starts; it must outlive the scanner's scans.
  void SetStatAhead(const StatAhead* ahead) { ahead_ = ahead; }

  // Scans directory `path`. `rel`: the directory relative to the source root, for messages.
  // `parent`: the directory's Tree in the parent version (zero: none); `self`: the directory's
  // inode and ctime. Errors go to DirScan::status and ScannedEntry::status.
  DirScan Scan(const std::string& path, const std::string& rel, const ObjectId& parent,
               const FileStat& self) const;
  // The entry `name` of the parent version's directory, or null.
  static const cas::TreeEntry* ParentEntry(const DirScan& scan, const std::string& name);
  // The subdirectory `name`'s Tree in the parent version; zero if it had none.
  ObjectId ParentDir(const DirScan& scan, const std::string& rel, const std::string& name) const;

 private:
  DirScan ScanNames(const std::string& path, const std::string& rel, const ObjectId& parent,
                    const StatCacheDir* d, bool listed, const StatCacheDir* recorded) const;
  Status Distrust(const std::string& path, const std::string& rel, const ObjectId& parent,
                  DirScan* scan) const;
  static void ReadDetails(const std::string& child, ScannedEntry* e);
  Status LoadParent(const std::string& rel, const ObjectId& id, DirScan* scan) const;
  size_t Unchanged(const DirScan& scan, const std::string& name, const struct stat& st) const;

  const std::string root_;
  // The root, opened O_PATH: a directory taken as recorded is not opened, its names are looked
  // up from here (-1 if the root could not be opened: each directory is opened then).
  int root_fd_ = -1;
  const StatCache& old_cache_;
  std::atomic<cas::ObjectStore*> store_;
  const CheckinOptions& options_;
  const StatAhead* ahead_ = nullptr;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DIR_SCAN_H_
