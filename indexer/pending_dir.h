// PendingDir: a directory the walk of DirSource has listed, waiting for its files to be stored
// before it becomes a Tree (post-order), and what finalizing it leaves for the stat cache.
#ifndef CAIRN_INDEXER_PENDING_DIR_H_
#define CAIRN_INDEXER_PENDING_DIR_H_

#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/object_id.h"
#include "base/status.h"
#include "cas/ingestor.h"
#include "cas/object.h"
#include "indexer/file_tasks.h"
#include "indexer/stat_cache.h"

namespace cairn::indexer {

struct PendingDir {
  cas::Tree tree;
  std::string rel;  // relative to the source root ("" for the root)
  std::shared_ptr<PendingDir> parent;
  size_t index_in_parent = 0;
  // The regular files whose content is still to come, by entry index (a file taken from the
  // parent version unread, or read already, is in its entry: DirWalker::TakeContent).
  std::vector<std::pair<size_t, std::shared_future<Result<FileOut>>>> files;
  std::vector<size_t> dropped;  // entries of files skipped as unreadable, left out when finalized
  std::vector<FileStat> stats;  // per entry: its inode and ctime, for the stat cache
  FileStat self;                // the directory's own
  ObjectId parent_tree;         // the directory's Tree in the parent version (zero: none)
  // The directory and every entry in it are as the stat cache recorded them for parent_tree:
  // its Tree is parent_tree unless a subdirectory changed (the entries then hold only names,
  // types, sizes and the subdirectories' ids).
  bool reuse = false;
  bool complete = true;  // every entry listed is in the Tree (none skipped as unreadable)
  // The directory and everything beneath it, for the stat cache: its own files are added when
  // it is finalized, its subdirectories' totals as each of them is.
  SubtreeCounts below;
};

// The stat cache's record of `pd`, stored as Tree `id`; takes pd's stats and its entries' names.
// Inodes whose ctime is too close to `since_ns` (the walk's start) to be trusted get ctime 0
// (RacyCtime). A directory whose Tree lost entries (files skipped as unreadable) keeps no names:
// the next walk lists it and tries them again.
StatCacheDir RecordOf(PendingDir& pd, const ObjectId& id, int64_t since_ns);

// The Tree of a directory taken as recorded (PendingDir::reuse): the parent's, or, when a
// subdirectory changed (its id is not the one `cache` recorded), the parent's with the new ids
// of the subdirectories, stored through `ingestor`. Corruption when the recorded Tree does not
// hold the entries listed (`root`: the source, for the message).
Result<ObjectId> ReusedTree(const PendingDir& pd, const StatCache& cache, cas::Ingestor* ingestor,
                            const std::string& root);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_PENDING_DIR_H_
