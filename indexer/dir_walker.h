// DirWalker: the walk of DirSource (indexer/dir_source.h), internal to it. The walk runs in the
// calling thread; file contents are read, hashed, chunked and compressed on a pool of workers
// (FileTasks) while the walk goes on; directories become Trees in post-order as soon as their
// files are stored (FinalizeFront). dir_walker.cc holds the walk and its scans,
// dir_walker_finalize.cc the files' content, the Trees and the hard-link table.
//
// Thread-safety: one thread (the walk's); the reading threads report through Done only.
#ifndef CAIRN_INDEXER_DIR_WALKER_H_
#define CAIRN_INDEXER_DIR_WALKER_H_

#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/phase_timer.h"
#include "base/thread_pool.h"
#include "indexer/dir_prefetch.h"
#include "indexer/dir_scan.h"
#include "indexer/file_reader.h"
#include "indexer/file_tasks.h"
#include "indexer/fs_meta.h"
#include "indexer/link_groups.h"
#include "indexer/pending_dir.h"
#include "indexer/source.h"
#include "indexer/stat_cache.h"
#include "indexer/watched_walk.h"

namespace cairn::indexer {

class DirWalker {
 public:
  // `trust_watcher`: take the subtrees the tree watcher saw no change in as recorded.
  DirWalker(std::string root, int threads, cas::Ingestor* ingestor, const CheckinOptions& options,
            bool trust_watcher)
      : trust_watcher_(trust_watcher),
        root_(std::move(root)),
        files_(threads, ingestor, options,
               [this](const struct stat& st, const Result<FileOut>& r) { Done(st, r); }),
        ingestor_(ingestor),
        options_(options) {
    if (options_.scan_ahead == CheckinOptions::ScanAhead::kAlways) StartScanAhead();
    // A prefetch started before the repository was open, if it is for this walk.
    if (options_.prefetch && options_.prefetch->root() == root_ && options_.use_stat_cache &&
        !options_.parent_tree.IsZero()) {
      prefetch_ = options_.prefetch;
      prefetch_->Wait();
      adopted_ = true;
    } else {
      prefetch_ = std::make_shared<DirPrefetch>(root_, options_);
    }
    prefetch_->SetStore(ingestor_->store());
  }

  DirWalker(const DirWalker&) = delete;
  DirWalker& operator=(const DirWalker&) = delete;

  // No reading task may outlive the members it reports to (Done).
  ~DirWalker() { files_.Wait(); }

  // After Run failed: the tree watcher's answer could not be used (a multiply-linked file of
  // the walk may have names in the subtrees it did not walk); walk again without it.
  bool redo() const { return redo_; }

  Result<CheckinResult> Run();

 private:
  // Directories (and their entries) waiting for their files (indexer/file_tasks.h bounds the
  // files), before the walk waits. A waiting entry holds ~1 KB (512 directories of 1,000 files
  // took ~480 MB): the entry bound is what bounds memory. A directory without entries holds ~300
  // bytes; with at most 512 of them, an incremental checkin of corpus v3 waited ~30 ms in the
  // middle of its walk for the libcrypto update to be stored, where it could have walked on.
  static constexpr size_t kMaxPendingDirs = 8192;
  static constexpr size_t kMaxPendingEntries = 65536;
  // A directory with this many files waiting for their content takes those read already into its
  // Tree (DirWalker::Harvest): FileTasks reads at most 256 at once, and a waiting result holds ~250
  // bytes.
  static constexpr size_t kHarvestAt = 4096;
  // Directories scanned (listed, every entry lstat'ed, xattrs read) ahead of the walk, and the
  // threads that scan them: enough to keep a disk busy on a cold cache.
  static constexpr int kMaxScansAhead = 64;
  static constexpr int kScanThreads = 4;
  // ScanAhead::kAuto: the walk scans directories itself (a hand-off per directory costs more than
  // it saves when nothing waits on the disk; docs/benchmarks.md, session 7) until its scans take
  // CheckinOptions::slow_scan_ns_per_entry and waited on storage (ScanWindow).

  using ScanFuture = std::future<DirScan>;
  ScanFuture SubmitScan(const std::string& path, const std::string& rel, const ObjectId& parent,
                        const FileStat& self);

  void StartScanAhead();

  // A scan by the walk itself: timed, and the scans go ahead from now on if they wait on the disk
  // (ScanWindow).
  DirScan ScanInline(const std::string& path, const std::string& rel, const ObjectId& parent,
                     const FileStat& self);

  // `parent_tree`: this directory's Tree in the parent version (zero: none). `dir_xattrs`:
  // nullopt when not read, the directory being as recorded (ScannedEntry::same).
  Status Walk(const std::string& path, const std::string& rel, const struct stat& dir_st,
              std::optional<cas::Xattrs> dir_xattrs, ScanFuture scan_future,
              std::shared_ptr<PendingDir> parent, size_t index_in_parent,
              const ObjectId& parent_tree);

  // The files of `pd` read already are taken into their entries, letting go of their results
  // (a directory of a million files would otherwise hold each file's result until its Tree is
  // made). Errors: a file's, as FinalizeFront would return it.
  Status Harvest(PendingDir& pd);

  // The content of regular file entry `index` of `pd`, read or taken from the parent version,
  // goes into the entry, which is counted; or the file was skipped as unreadable, and the entry
  // is left out when the directory is finalized.
  Status TakeContent(PendingDir& pd, size_t index, const Result<FileOut>& r);

  // Before the walk: what the tree watcher said (DirPrefetch::Start asked it), and the token
  // for the new stat cache. A checkin that asked nothing (none with a parent) asks now, for the
  // token only: the next incremental checkin can then trust the watcher.
  void TakeWatch(const ObjectId& parent, const struct stat& root_st);

  // Subdirectory `rel` (lstat'ed as `st`; its Tree in the parent version: `was`), taken as
  // recorded when the tree watcher allows (WatchedWalk::Unwalked): its files and directories
  // are counted as the cache counted them, and its records carried over.
  bool TakeUnwalked(PendingDir& pd, const std::string& rel, const struct stat& st,
                    const ObjectId& was);

  // Queues a walked directory; finalizes the oldest ones while too many wait.
  Status AddPending(std::shared_ptr<PendingDir> pd);

  // An unchanged file takes its parent entry's content, here in the walk, without a task. The
  // parent version keeps that content alive.
  static std::optional<FileOut> FromParent(const DirScan& scan, const ScannedEntry& se);

  // Progress counts a file when its content is known (read, or taken unread), not when its
  // directory is finalized: a tree of up to kMaxPendingDirs directories is finalized only at
  // the end of its walk.
  void CountFile(const struct stat& st);

  // `cached`: the file's content from the stat cache, when it is unchanged. A multiply-linked
  // file is registered under its inode either way, so that its other names join its group.
  std::shared_future<Result<FileOut>> SubmitFile(const std::string& path, const std::string& rel,
                                                 const struct stat& st,
                                                 std::optional<FileOut> cached);

  void Done(const struct stat& st, const Result<FileOut>& r);

  Status FinalizeFront();

  // The root's hard-link table: the groups the walk met, and those of the subtrees it took
  // unseen, from the parent version; and, for the stat cache, the names in each walked
  // directory of files with a name outside it (SubtreeCounts::links_out).
  Status HardLinks(PendingDir& root);

  // A directory taken as recorded (PendingDir::reuse): its files are counted, unread.
  void CountReused(PendingDir* pd);

  const bool trust_watcher_;
  std::optional<WatchReport> asked_;    // the watcher's answer when the walk asked it
  std::optional<WatchedWalk> watched_;  // set by TakeWatch, before the walk
  std::set<std::string> unwalked_;      // the subtrees taken as recorded, unseen
  // The hard-link groups of the parent version (its root Tree's): those of the subtrees taken
  // unseen are carried over (WatchedWalk::carries_links).
  std::vector<std::vector<std::string>> parent_hardlinks_;
  bool redo_ = false;
  std::string root_;
  dev_t root_dev_ = 0;
  bool holes_settle_ = false;  // HolesSettle(root_)
  OpenDirectory root_dir_;     // before files_: the readers use it until they stop
  FileTasks files_;
  std::optional<ThreadPool> scan_pool_;  // started when directories are scanned ahead
  int scans_ahead_ = 0;  // submitted scans not yet taken by the walk (walk thread only)
  // Set by Walk when --skip-unreadable leaves out the directory it was asked for (its caller
  // takes the entry back out and names it).
  bool unlistable_ = false;
  cas::Ingestor* ingestor_;
  const CheckinOptions& options_;
  const bool record_ = options_.update_stat_cache && !options_.stat_cache_dir.empty();
  // The walk's own scans in the current window (ScanInline).
  ScanWindow scan_window_{options_.cold_scan_ns_per_entry, options_.slow_scan_ns_per_entry};
  // The stat cache, the scanner and the planned scans (shared with the command when it started
  // them before the repository was open).
  std::shared_ptr<DirPrefetch> prefetch_;
  bool adopted_ = false;
  const DirScanner& scanner() const { return prefetch_->scanner(); }
  StatCache new_cache_;  // walk thread only
  CheckinResult result_;
  PhaseTimer timer_;  // CAIRN_TIMING: the walk's own phases
  std::deque<std::shared_ptr<PendingDir>> pending_;
  size_t pending_entries_ = 0;  // entries of the directories in pending_
  WalkLinks links_;
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> files_cached_{0};
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DIR_WALKER_H_
