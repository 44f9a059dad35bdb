// DirPrefetch: what an incremental directory checkin knows before its repository is open. The
// stat cache of the source (indexer/stat_cache.h) names every directory as it was last checked
// in; from it, helpers scan directories ahead of the walk (indexer/planned_scans.h).
//
// A checkin with --parent starts one before it opens the repository (tools/cmd_checkin.cc):
// opening RocksDB for writing takes 10-20 ms on one core, while the stat cache loads and the
// other core's helper looks up the first directories. The walk then adopts it (DirSource). A
// walk given none makes its own, once the store is open.
//
// Until SetStore, a scan that needs the store (a directory that changed: its Tree in the parent
// version must be read) is given up, and the walk scans that directory itself. Every scan is
// checked by the walk before it is used: the directory must have the inode and ctime the scan
// saw, and the Tree the scan took it to be must be its Tree in the parent version, so a stat
// cache of another version, or a tree changed meanwhile, costs scans, never a wrong Tree.
//
// Thread-safety: SetStore, Take, StopIdleHelpers and StartCold are called by one thread at a
// time (the command, then the walk); helpers are internal.
#ifndef CAIRN_INDEXER_DIR_PREFETCH_H_
#define CAIRN_INDEXER_DIR_PREFETCH_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cas/object_store.h"
#include "indexer/dir_scan.h"
#include "indexer/planned_scans.h"
#include "indexer/source.h"
#include "indexer/stat_ahead.h"
#include "indexer/stat_cache.h"
#include "indexer/watch.h"

namespace cairn::indexer {

// What the calling thread waited on, counted since it started: tells scans that were slow
// because they waited on storage (a cold cache: more threads keep more lookups in flight) from
// scans that were slow because the thread was preempted (a busy machine, or the checkin's own
// threads: more threads only add to the queue). One getrusage(2), ~1 us here.
struct ThreadWaits {
  int64_t blocks_read = 0;  // 512-byte blocks read from block devices (ru_inblock)
  int64_t sleeps = 0;       // voluntary context switches (ru_nvcsw)
  static ThreadWaits Now();
  // Whether the thread, from `this` to `later`, waited on storage while it looked up `entries`
  // entries: it read from a disk, or slept at least once every 4 entries (a file system with
  // no block device here, NFS or FUSE, answers a lookup it has not cached over a round trip).
  bool WaitedOnStorage(const ThreadWaits& later, uint64_t entries) const;
};

// The walk's own scans, judged in windows of at least 256 entries: a window whose scans averaged
// a threshold and in which the walk waited on storage (ThreadWaits; not merely preempted, which on
// a busy machine slows a warm tree as much: one core kept busy by another process made 5 of 20
// warm incrementals of corpus v3 start 16 cold helpers). A threshold of 0 needs no waits.
class ScanWindow {
 public:
  enum class Verdict { kNone, kCold, kSlow };
  ScanWindow(int64_t cold_ns_per_entry, int64_t slow_ns_per_entry)
      : cold_ns_(cold_ns_per_entry), slow_ns_(slow_ns_per_entry) {}
  // Call before a scan that is judged (starts the window's count of waits).
  void Begin();
  // A scan of `entries` entries took `ns`; the verdict when it closed a window (kCold only when
  // `cold_possible`: there is a cache to read ahead from), else kNone.
  Verdict Add(int64_t ns, uint64_t entries, bool judged, bool cold_possible);

 private:
  static constexpr uint64_t kMinEntries = 256;
  const int64_t cold_ns_, slow_ns_;
  std::optional<ThreadWaits> start_;
  int64_t ns_ = 0;
  uint64_t entries_ = 0;
};

class DirPrefetch {
 public:
  // A helper's scan, with the Tree it took the directory to be and the directory's inode and
  // ctime as the helper saw them.
  struct PlannedScan {
    DirScan scan;
    ObjectId parent;
    FileStat self;
  };

  // For the walk of `root` (absolute and canonical; "/" for the filesystem root), with
  // `options` (copied). Nothing is loaded yet.
  DirPrefetch(std::string root, const CheckinOptions& options);
  DirPrefetch(const DirPrefetch&) = delete;
  DirPrefetch& operator=(const DirPrefetch&) = delete;
  ~DirPrefetch();

  // Before the repository is open: a prefetch for checking in directory `source` with a
  // parent, started (StartAsync with one idle helper); null when `source` is not a directory
  // or the options use no stat cache.
  static std::shared_ptr<DirPrefetch> ForSource(const std::string& source, const CheckinOptions& options);

  // Loads the stat cache and, if the tree is cold (a probe of the cached directories is slow),
  // starts the cold helpers; else, with `idle_helpers` > 0, that many helpers, meant for a core
  // that would idle until the walk starts (StopIdleHelpers). On another thread: Wait joins it.
  void StartAsync(int idle_helpers);
  // The same, in this thread.
  void Start(int idle_helpers);
  // Waits for StartAsync's thread (no-op otherwise).
  void Wait();

  // The store, once open: scans may read Trees from here on.
  void SetStore(cas::ObjectStore* store) { scanner_.SetStore(store); }

  const std::string& root() const { return root_; }
  const StatCache& cache() const { return cache_; }
  const DirScanner& scanner() const { return scanner_; }
  // Whether helpers scan (or scanned) the cached directories.
  bool planned() const { return planned_.has_value(); }
  bool cold() const { return cold_; }
  // When the prefetch was made (wall clock, ns), before any lookup of the walk it serves: the
  // checkin's start for racy ctimes (indexer/stat_cache.h).
  int64_t start_ns() const { return start_ns_; }
  // The lookups ahead (null: none, the tree was cold or io_uring is missing).
  const StatAhead* stat_ahead() const { return ahead_.get(); }
  // The tree watcher's answer, asked at Start (nullopt: none asked or none answered). When it
  // lists what changed, nothing is looked up ahead: the walk looks only where it must.
  const std::optional<WatchReport>& watch() const { return watch_; }

  // The walk reached directory `rel`: a helper's scan of it, else nullopt (the walk scans it).
  std::optional<PlannedScan> Take(const std::string& rel) {
    return planned_ ? planned_->Take(rel) : std::nullopt;
  }
  // Starts the cold helpers now (the walk found its own scans slow): no-op if they run already;
  // idle helpers are stopped and their scans dropped.
  void StartCold();
  // The walk starts on a warm tree: idle helpers stop after the directory each is scanning.
  void StopIdleHelpers();
  // Stops and joins the helpers (scans not taken are dropped).
  void EndPlanned() { planned_.reset(); }
  // After a walk that succeeded: the helpers and the lookups ahead stop, and the stat cache (a
  // record of every name in the tree) is let go before the version is recorded. The prefetch
  // serves no walk after this.
  void Release();

 private:
  bool ProbeCold() const;
  void StartHelpers(int helpers);

  const std::string root_;
  CheckinOptions options_;
  dev_t root_dev_ = 0;
  ino_t root_ino_ = 0;
  bool root_ok_ = false;  // the root lstat'ed as a directory
  bool cold_ = false;
  int64_t start_ns_;
  StatCache cache_;  // read by the helpers, not changed after Start
  std::optional<WatchReport> watch_;
  DirScanner scanner_{root_, cache_, nullptr, options_};
  std::thread starter_;
  // Started by Start on a warm tree; read by the helpers and the walk.
  std::unique_ptr<StatAhead> ahead_;
  // Last: its helpers read the members above.
  std::optional<PlannedScans<PlannedScan>> planned_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DIR_PREFETCH_H_
