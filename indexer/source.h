// Sources: what the indexer can check in. Each Source reads one kind of thing (a directory tree,
// a tarball, later disk images) and stores it as Trees and contents through a cas::Ingestor,
// returning the root. One conformance suite (tests/indexer) runs against every Source.
#ifndef CAIRN_INDEXER_SOURCE_H_
#define CAIRN_INDEXER_SOURCE_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "base/object_id.h"
#include "base/progress.h"
#include "cas/ingestor.h"
#include "indexer/stat_cache.h"

namespace cairn::indexer {

class DirPrefetch;

struct CheckinOptions {
  // Skip files that cannot be read (listed in CheckinResult::skipped) instead of failing.
  // Default: false.
  bool skip_unreadable = false;
  // Directory source, incremental checkin: the root Tree of the parent version. A file whose
  // size and mtime match its entry there, and whose inode and ctime match the stat cache's
  // record of that Tree, takes its content from the entry unread. Default: zero (no parent).
  ObjectId parent_tree;
  // Directory source: consult the stat cache (with parent_tree). Default: false (set by
  // --parent, cleared by --paranoid).
  bool use_stat_cache = false;
  // Directory source: save the inode and ctime of every file for later incremental checkins.
  // Default: true.
  bool update_stat_cache = true;
  // Directory source, with use_stat_cache: ask the tree watcher of the source (`cairn watch`,
  // indexer/watch.h), if one runs, which directories changed since the stat cache was saved,
  // and take every other subtree as recorded without looking at it. Default: true.
  bool use_watcher = true;
  // Directory source: where the stat cache lives (indexer/stat_cache.h); "" for none.
  // Default: StatCache::DefaultDir() (~/.cache/cairn).
  std::string stat_cache_dir = StatCache::DefaultDir();
  // How the holes of sparse files are found. kSeekData: where the filesystem says they are
  // (SEEK_DATA/SEEK_HOLE; directory source). kZeroBlocks: the rule of disk filesystems
  // (indexer/zero_blocks.h): a file whose allocation is smaller than its size has its all-zero
  // blocks as holes; disk sources set it, since libguestfs' tar-out cannot see holes and both
  // disk paths must give the same Trees. Default: kSeekData.
  enum class HoleRule { kSeekData, kZeroBlocks };
  HoleRule holes = HoleRule::kSeekData;
  // Disk images: "auto" (the fast path for raw ext2/3/4 when root, else libguestfs), "fast"
  // or "guestfs". Default: "auto".
  std::string disk_path = "auto";
  // Directory source: whether directories are scanned (listed, lstat'ed, xattrs read) by
  // threads ahead of the walk. kAuto: by the walk itself while that is fast, ahead once the
  // scans are seen to wait on the disk. Default: kAuto.
  enum class ScanAhead { kAuto, kAlways, kNever };
  ScanAhead scan_ahead = ScanAhead::kAuto;
  // kAuto: the scans go ahead once the walk's own average this many ns an entry or more while
  // waiting on storage, not merely preempted (indexer/dir_prefetch.h, ThreadWaits); 0: at once,
  // whatever they waited on. Default: 50,000 (a disk that makes stats wait; the page cache
  // answers in 3-6 us).
  int64_t slow_scan_ns_per_entry = 50'000;
  // kAuto with a stat cache: when a probe of the cached directories before the walk, or the
  // walk's own scans, average this many ns an entry or more while waiting on storage (a cold
  // cache; a warm tree on a busy machine is slow too, but only preempted), helpers scan the
  // directories the cache names ahead of the walk, many at once (indexer/planned_scans.h); 0:
  // always. Default: 10,000 (here cold: ~18 us an entry and 100-300 us a probe; warm: 2-5 us).
  int64_t cold_scan_ns_per_entry = 10'000;
  // Progress display (may be null).
  Progress* progress = nullptr;
  // Directory source, incremental checkin: the stat cache loaded and the first directories
  // scanned while the repository was being opened (indexer/dir_prefetch.h); the walk adopts it
  // if it is for the same root. Default: null.
  std::shared_ptr<DirPrefetch> prefetch;
};

struct CheckinResult {
  ObjectId root;  // the root Tree (for a disk: the Disk's view Tree)
  ObjectId disk;  // a disk image: its Disk object, the Version's root; zero otherwise
  std::string disk_path;  // a disk image: "fast" or "guestfs"
  // A disk image that "auto" sent to libguestfs although it is raw and cairn runs as root: why
  // (e.g. "logical volume vg/root has 2 segments"); "" otherwise.
  std::string disk_path_reason;
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;          // logical bytes of regular files
  uint64_t bytes_read = 0;     // bytes actually read (less with the stat cache)
  uint64_t files_cached = 0;   // files taken from the stat cache unread
  uint64_t dirs_planned = 0;   // directories the walk took scanned by planned helpers
  uint64_t dirs_unlisted = 0;  // directories taken as recorded: their names looked up, not listed
  // Directories taken as recorded, unseen, because the tree watcher saw no change beneath them
  // (each with everything beneath it).
  uint64_t dirs_unwalked = 0;
  // How the tree watcher answered: "" (none asked or none runs), "changes" (it listed what
  // changed) or "all" (it could not vouch for the time since the parent's checkin).
  std::string watcher;
  std::vector<std::string> skipped;  // unreadable paths (with skip_unreadable)
  // What the checkin worked around or could not do beside it, for the user: a disk's damaged
  // primary GPT read from its backup, a stat cache not saved (the next incremental checkin
  // then reads more). The checkin stands.
  std::vector<std::string> warnings;
  // A directory source's new stat cache, being saved on a thread of its own while the caller
  // records the version (the tail of a checkin leaves a core idle): TakeStatCacheSave waits
  // for it. Invalid when nothing is saved.
  std::shared_future<Status> stat_cache_saved;
};

// Waits for `r`'s stat cache to be saved, if it is being saved, and adds a failure to its
// warnings.
void TakeStatCacheSave(CheckinResult* r);

class Source {
 public:
  virtual ~Source() = default;
  // Stores everything and returns the root Tree. The caller calls ingestor->Finish() and
  // records the Version; on error the caller calls ingestor->Abort().
  virtual Result<CheckinResult> Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) = 0;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_SOURCE_H_
