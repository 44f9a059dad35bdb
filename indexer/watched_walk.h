// WatchedWalk: what a directory checkin's walk (indexer/dir_source.cc) takes from the tree
// watcher's answer (indexer/watch.h): the token for its new stat cache, and which
// subdirectories it may take as recorded, unseen, without a system call.
//
// Thread-safety: const methods may be called from any thread; the stat cache it was made with
// must outlive it.
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
  // only when `trust` is set and the walk has a parent version, whose root Tree is
  // `parent_root` (zero: none). `cache`: the stat cache the walk reads; `root_dev`: the device
  // of the source root.
  WatchedWalk(const std::optional<WatchReport>& report, bool trust, const ObjectId& parent_root,
              const StatCache& cache, dev_t root_dev);

  // The token for the new stat cache (nullopt: no watcher answered).
  std::optional<WatchToken> token() const;
  // The answer, for CheckinResult::watcher: "changes", "all" or "" (none).
  const char* answer() const;
  // Whether the walk uses the list of changes (sees only the directories that changed).
  bool selective() const { return use_list_; }
  // Whether a subtree taken unseen may hold hard-link groups, which the walk then takes from
  // the parent version's root Tree.
  bool carries_links() const { return use_list_ && cache_of_parent_; }

  // The stat cache's record of subdirectory `rel` (lstat'ed as `st`; its Tree in the parent
  // version: `was`) when the walk may take it as recorded, unseen: the watcher saw no change in
  // it or beneath it, the cache recorded it as that Tree with the inode and ctime it has now,
  // no file beneath it has a name outside it (a write through that name would not show:
  // SubtreeCounts::links_out), none was left out as unreadable (it is tried again), and no file
  // beneath it is sparse (a hole filled through a mapping raises no event: SubtreeCounts::sparse).
  // A subtree holding files with several names, all inside it, is taken only when the cache was
  // written for the parent version itself (its root record names the parent's root Tree): the
  // hard-link groups of the subtree are then the parent root Tree's (carries_links()). Null
  // otherwise.
  const StatCacheDir* Unwalked(const std::string& rel, const struct stat& st,
                               const ObjectId& was) const;

 private:
  const std::optional<WatchReport> report_;  // a copy: the walk's may come from two places
  const bool use_list_;
  const bool cache_of_parent_;  // the cache's root record names the parent's root Tree
  const StatCache& cache_;
  const dev_t root_dev_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_WATCHED_WALK_H_
