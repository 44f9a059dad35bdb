// WatchedWalk: what a directory checkin's walk (indexer/dir_source.cc) takes from the tree
// watcher's answer (indexer/watch.h): the token for its new stat cache, and which
// subdirectories it may take as recorded, unseen, without a system call.
//
// Thread-safety: const methods may be called from any thread; the answer and the stat cache
// it was made with must outlive it.
#ifndef CAIRN_INDEXER_WATCHED_WALK_H_
#define CAIRN_INDEXER_WATCHED_WALK_H_

#include <sys/stat.h>

#include <optional>
#include <string>

#include "cas/object.h"
#include "indexer/stat_cache.h"
#include "indexer/watch.h"

namespace cairn::indexer {

class WatchedWalk {
 public:
  // `report`: the watcher's answer (nullopt: none). Its list of changed directories is used
  // only when `trust` is set and the walk has a parent version (`has_parent`). `cache`: the
  // stat cache the walk reads (recorded for the parent version); `root_dev`: the device of the
  // source root.
  WatchedWalk(const std::optional<WatchReport>& report, bool trust, bool has_parent,
              const StatCache& cache, dev_t root_dev);

  // The token for the new stat cache (nullopt: no watcher answered).
  std::optional<WatchToken> token() const;
  // The answer, for CheckinResult::watcher: "changes", "all" or "" (none).
  const char* answer() const;
  // Whether the walk uses the list of changes (sees only the directories that changed).
  bool selective() const { return use_list_; }

  // The stat cache's record of subdirectory `rel` (lstat'ed as `st`; its Tree in the parent
  // version: `was`) when the walk may take it as recorded, unseen: the watcher saw no change in
  // it or beneath it, the cache recorded it as that Tree with the inode and ctime it has now,
  // no file beneath it had more than one name (a write through another name outside it would
  // not show), and none was left out as unreadable (it is tried again). Null otherwise.
  const StatCacheDir* Unwalked(const std::string& rel, const struct stat& st,
                               const ObjectId& was) const;

 private:
  const std::optional<WatchReport>& report_;
  const bool use_list_;
  const StatCache& cache_;
  const dev_t root_dev_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_WATCHED_WALK_H_
