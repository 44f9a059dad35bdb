#include "indexer/dir_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "base/phase_timer.h"
#include "base/rel_path.h"
#include "base/sha256.h"
#include "indexer/dir_prefetch.h"
#include "indexer/dir_scan.h"
#include "indexer/file_reader.h"
#include "indexer/file_tasks.h"
#include "indexer/fs_meta.h"
#include "indexer/link_groups.h"
#include "indexer/pending_dir.h"
#include "indexer/stat_cache.h"
#include "indexer/watched_walk.h"

namespace cairn::indexer {

void TakeStatCacheSave(CheckinResult* r) {
  if (!r->stat_cache_saved.valid()) return;
  Status saved = r->stat_cache_saved.get();
  r->stat_cache_saved = {};
  if (saved.ok()) return;
  r->warnings.push_back("stat cache not saved (the next checkin with --parent reads more): " +
                        saved.ToString());
}
namespace {

// Directories (and their entries) waiting for their files (indexer/file_tasks.h bounds the
// files), before the walk waits. A waiting entry holds ~1 KB (512 directories of 1,000 files
// took ~480 MB): the entry bound is what bounds memory. A directory without entries holds ~300
// bytes; with at most 512 of them, an incremental checkin of corpus v3 waited ~30 ms in the middle
// of its walk for the libcrypto update to be stored, where it could have walked on.
constexpr size_t kMaxPendingDirs = 8192;
constexpr size_t kMaxPendingEntries = 65536;
// A directory with this many files waiting for their content takes those read already into its
// Tree (Walker::Harvest): FileTasks reads at most 256 at once, and a waiting result holds ~250
// bytes.
constexpr size_t kHarvestAt = 4096;
// Directories scanned (listed, every entry lstat'ed, xattrs read) ahead of the walk, and the
// threads that scan them: enough to keep a disk busy on a cold cache.
constexpr int kMaxScansAhead = 64;
constexpr int kScanThreads = 4;
// ScanAhead::kAuto: the walk scans directories itself (a hand-off per directory costs more than
// it saves when nothing waits on the disk; docs/benchmarks.md, session 7) until its scans take
// CheckinOptions::slow_scan_ns_per_entry and waited on storage (ScanWindow).

class Walker {
 public:
  // `trust_watcher`: take the subtrees the tree watcher saw no change in as recorded.
  Walker(std::string root, int threads, cas::Ingestor* ingestor, const CheckinOptions& options,
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

  // No reading task may outlive the members it reports to (Done).
  ~Walker() { files_.Wait(); }

  // After Run failed: the tree watcher's answer could not be used (a multiply-linked file of
  // the walk may have names in the subtrees it did not walk); walk again without it.
  bool redo() const { return redo_; }

  Result<CheckinResult> Run() {
    struct stat st;
    if (::lstat(root_.c_str(), &st) != 0) return ErrnoStatus("checkin", root_, errno);
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("checkin " + root_ + ": not a directory");
    root_dev_ = st.st_dev;
    holes_settle_ = HolesSettle(root_);
    // Files are opened relative to the root (ReadAndStoreFiles), which must be the directory
    // just looked at.
    CAIRN_RETURN_IF_ERROR(root_dir_.OpenForLookup(root_));
    files_.set_root_fd(root_dir_.fd());
    struct stat opened;
    if (::fstat(root_dir_.fd(), &opened) != 0 || opened.st_dev != st.st_dev ||
        opened.st_ino != st.st_ino) {
      return Status::IOError("checkin " + root_ +
                             ": replaced during the walk (the tree is changing)");
    }
    Result<cas::Xattrs> xattrs = ReadXattrs(root_);
    if (!xattrs) return xattrs.error();
    ObjectId parent;
    if (options_.use_stat_cache && !options_.parent_tree.IsZero()) {
      parent = options_.parent_tree;
      if (!adopted_) prefetch_->Start(/*idle_helpers=*/0);
      // Warm: the walk's own scans are near their floor, and a helper would take the core the
      // file tasks need (docs/benchmarks.md, session 9).
      prefetch_->StopIdleHelpers();
    }
    TakeWatch(parent, st);
    timer_.Mark("cacheload");
    Status s = Walk(root_, "", st, std::move(*xattrs), ScanFuture(), nullptr, 0, parent);
    prefetch_->EndPlanned();
    timer_.Mark("walk");
    if (s.ok() && !unwalked_.empty() && links_.BeyondWalk()) {
      files_.Wait();
      redo_ = true;
      return Status::Internal("checkin " + root_ + ": a multiply-linked file beyond the walk");
    }
    if (s.ok() && scans_ahead_ != 0) {  // every scan started ahead is taken by the walk
      s = Status::Internal("checkin " + root_ + ": " + std::to_string(scans_ahead_) +
                           " directory scans were started and never used");
    }
    while (s.ok() && !pending_.empty()) s = FinalizeFront();
    timer_.Mark("finalize");
    if (!s.ok()) {
      files_.Wait();  // tasks refer to this walker
      return s;
    }
    if (record_) {
      // For the file system the checkin started on (the cache it loaded), wherever it ends.
      new_cache_.set_source(prefetch_->cache().source());
      // Saved beside the version's recording (CheckinResult::stat_cache_saved): 1-2 ms of the
      // main thread for corpus v3's cache, while the objects' flush leaves the other core idle.
      // The cache goes once saved, not with the future (a record of every name in the tree).
      result_.stat_cache_saved =
          std::async(std::launch::async, [cache = std::move(new_cache_),
                                          dir = options_.stat_cache_dir, root = root_]() mutable {
            const StatCache saving = std::move(cache);
            return saving.Save(Env::Default(), dir, root);
          }).share();
    }
    prefetch_->Release();
    timer_.Mark("cachesave");
    result_.bytes_read = bytes_read_;
    result_.files_cached = files_cached_;
    return std::move(result_);
  }

 private:
  using ScanFuture = std::future<DirScan>;
  ScanFuture SubmitScan(const std::string& path, const std::string& rel, const ObjectId& parent,
                        const FileStat& self) {
    ++scans_ahead_;
    return scan_pool_->Submit(
        [this, path, rel, parent, self] { return scanner().Scan(path, rel, parent, self); });
  }

  void StartScanAhead() {
    if (!scan_pool_) scan_pool_.emplace(kScanThreads);
  }

  // A scan by the walk itself: timed, and the scans go ahead from now on if they wait on the disk
  // (ScanWindow).
  DirScan ScanInline(const std::string& path, const std::string& rel, const ObjectId& parent,
                     const FileStat& self) {
    // With the tree watcher's answer the walk sees only what changed: helpers would look at
    // everything.
    const bool judged = options_.scan_ahead == CheckinOptions::ScanAhead::kAuto &&
                        !prefetch_->cold() && !(watched_ && watched_->selective());
    if (judged) scan_window_.Begin();
    const auto start = std::chrono::steady_clock::now();
    DirScan scan = scanner().Scan(path, rel, parent, self);
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    switch (scan_window_.Add(ns, scan.entries.size() + 1, judged, prefetch_->cache().size() > 1)) {
      case ScanWindow::Verdict::kCold:
        prefetch_->StartCold();
        break;
      case ScanWindow::Verdict::kSlow:
        StartScanAhead();
        break;
      case ScanWindow::Verdict::kNone:
        break;
    }
    return scan;
  }

  // `parent_tree`: this directory's Tree in the parent version (zero: none). `dir_xattrs`:
  // nullopt when not read, the directory being as recorded (ScannedEntry::same).
  Status Walk(const std::string& path, const std::string& rel, const struct stat& dir_st,
              std::optional<cas::Xattrs> dir_xattrs, ScanFuture scan_future,
              std::shared_ptr<PendingDir> parent, size_t index_in_parent,
              const ObjectId& parent_tree) {
    auto pd = std::make_shared<PendingDir>();
    pd->rel = rel;
    pd->parent = std::move(parent);
    pd->index_in_parent = index_in_parent;
    pd->parent_tree = parent_tree;
    pd->self = FileStatOf(dir_st);
    pd->tree.meta = MetadataFromStat(dir_st);
    if (dir_xattrs) pd->tree.meta.xattrs = std::move(*dir_xattrs);
    result_.dirs++;
    if (options_.progress) options_.progress->Add(0, 0);
    if (dir_st.st_dev != root_dev_) {  // a mount point: kept as an empty directory
      if (!dir_xattrs) {
        CAIRN_ASSIGN_OR_RETURN(pd->tree.meta.xattrs, ReadXattrs(path));
      }
      return AddPending(std::move(pd));
    }
    DirScan scan;
    std::optional<DirPrefetch::PlannedScan> planned = prefetch_->Take(rel);
    const bool use_planned = !scan_future.valid() && planned && planned->parent == parent_tree &&
                             planned->self == pd->self;
    if (use_planned) {
      scan = std::move(planned->scan);
      result_.dirs_planned++;
    }
    planned.reset();  // one not used would be held through the walk of all beneath
    if (scan_future.valid()) {
      scan = scan_future.get();
      --scans_ahead_;
    } else if (!use_planned) {
      scan = ScanInline(path, rel, parent_tree, pd->self);
    }
    if (!scan.status.ok() && !rel.empty() && options_.skip_unreadable &&
        scan.status.code() == Code::kPermissionDenied) {
      // A directory its user cannot list is left out and named, as an unreadable file is.
      result_.dirs--;
      unlistable_ = true;
      return scan.status;
    }
    CAIRN_RETURN_IF_ERROR(scan.status);
    // Unread, the xattrs are as in the parent version's Tree, which a directory not taken as
    // recorded has read; one taken as recorded keeps that Tree's metadata (ReusedTree).
    if (!dir_xattrs && !scan.reuse) {
      if (scan.parent_loaded) {
        pd->tree.meta.xattrs = scan.parent.meta.xattrs;
      } else {
        CAIRN_ASSIGN_OR_RETURN(pd->tree.meta.xattrs, ReadXattrs(path));
      }
    }
    // The parent's link table, for the subtrees a watched walk takes unseen (HardLinks); the
    // root is never reused, so its scan read the parent's root Tree.
    if (rel.empty() && watched_->carries_links()) parent_hardlinks_ = scan.parent.hardlinks;
    pd->reuse = scan.reuse;
    if (scan.unlisted) result_.dirs_unlisted++;
    // The subdirectories' scans start before the walk descends into the first of them, up to
    // kMaxScansAhead in the whole walk; the rest are started as earlier ones are consumed.
    std::vector<ScanFuture> child_scans;  // sized when the scans go ahead
    struct WaitAll {  // on an early return, the scans still running refer to this walker
      std::vector<ScanFuture>& scans;
      ~WaitAll() {
        for (auto& f : scans)
          if (f.valid()) f.wait();
      }
    } wait_all{child_scans};
    // The walk lets go of each scanned entry once it is in the Tree (a directory of a million
    // files would otherwise be held twice): entries before `walked` are gone from scan.entries.
    const size_t listed = scan.entries.size();
    size_t walked = 0;
    auto scanned = [&](size_t i) -> ScannedEntry& { return scan.entries[i - walked]; };
    size_t next_scan = 0;
    // `from`: the first entry the walk has not reached. The scan threads may start while the
    // walk is inside this directory (a slow disk, seen in a subdirectory): entries before
    // `from` were walked already and are not scanned again.
    auto top_up = [&](size_t from) {
      if (!scan_pool_) return;
      child_scans.resize(listed);
      next_scan = std::max(next_scan, from);
      for (; next_scan < listed && scans_ahead_ < kMaxScansAhead; ++next_scan) {
        const ScannedEntry& c = scanned(next_scan);
        if (c.status.ok() && c.type == cas::EntryType::kDirectory && c.st.st_dev == root_dev_) {
          child_scans[next_scan] =
              SubmitScan(ChildPath(path, c.name), ChildRel(rel, c.name),
                         scanner().ParentDir(scan, rel, c.name), FileStatOf(c.st));
        }
      }
    };
    top_up(0);
    size_t harvest_at = kHarvestAt;  // files waiting in pd at which to Harvest
    pd->tree.entries.reserve(listed);
    pd->stats.reserve(listed);
    // The directories above this one's entries, the root excluded (base/rel_path.h's limits).
    const size_t depth =
        rel.empty() ? 0 : static_cast<size_t>(std::count(rel.begin(), rel.end(), '/')) + 1;
    for (size_t i = 0; i < listed; ++i) {
      for (; walked < i; ++walked) scan.entries.pop_front();
      ScannedEntry& se = scan.entries.front();
      if (depth > kMaxDepth || rel.size() + 1 + se.name.size() > kMaxPathBytes) {
        return Status::NotSupported("checkin " + root_ + ": " +
                                    BeyondPathLimits(ChildRel(rel, se.name), depth));
      }
      if (!se.status.ok() && options_.skip_unreadable &&
          se.status.code() == Code::kPermissionDenied) {
        result_.skipped.push_back(ChildRel(rel, se.name));  // its status cannot be read
        pd->complete = false;  // the next incremental checkin lists the directory again
        continue;
      }
      CAIRN_RETURN_IF_ERROR(se.status);
      cas::TreeEntry e;
      e.name = std::move(se.name);  // from here on the entry's name is e.name
      e.type = se.type;
      size_t index = pd->tree.entries.size();
      pd->stats.push_back(FileStatOf(se.st));
      if (se.type != cas::EntryType::kDirectory && se.st.st_nlink > 1) {
        pd->below.links++;
        // A fifo, device or symlink with several names is stored once per name, but a chmod
        // through one name changes them all: for the stat cache, each name reaches out.
        if (se.type != cas::EntryType::kRegular)
          links_.AddOther(ChildRel(rel, e.name), se.st.st_nlink);
      }
      if (se.type == cas::EntryType::kDirectory) {
        std::string child = ChildPath(path, e.name);
        std::string child_rel = ChildRel(rel, e.name);
        ObjectId was = scanner().ParentDir(scan, rel, e.name);
        if (TakeUnwalked(*pd, child_rel, se.st, was)) {
          if (i < child_scans.size() && child_scans[i].valid()) {  // started ahead, not needed
            child_scans[i].wait();
            --scans_ahead_;
          }
          e.id = was;
          pd->tree.entries.push_back(std::move(e));
          top_up(i + 1);
          continue;
        }
        pd->tree.entries.push_back(std::move(e));
        ScanFuture ahead = i < child_scans.size() ? std::move(child_scans[i]) : ScanFuture();
        std::optional<cas::Xattrs> xattrs;
        if (!se.same) xattrs = std::move(se.xattrs);
        Status walked =
            Walk(child, child_rel, se.st, std::move(xattrs), std::move(ahead), pd, index, was);
        if (unlistable_) {  // left out (--skip-unreadable): it added nothing to the walk yet
          unlistable_ = false;
          pd->tree.entries.pop_back();
          pd->stats.pop_back();
          result_.skipped.push_back(child_rel);
          pd->complete = false;  // the next incremental checkin lists this directory again
          top_up(i + 1);
          continue;
        }
        CAIRN_RETURN_IF_ERROR(walked);
        top_up(i + 1);
        continue;
      }
      if (pd->reuse) {  // the Tree is the parent's unless a subdirectory changed: see FinalizeFront
        e.size = static_cast<uint64_t>(se.st.st_size);
        pd->tree.entries.push_back(std::move(e));
        continue;
      }
      const struct stat& st = se.st;
      e.meta = MetadataFromStat(st);
      e.meta.xattrs = std::move(se.xattrs);
      if (se.type == cas::EntryType::kSymlink) {
        e.target = std::move(se.target);
      } else if (se.type == cas::EntryType::kCharDevice || se.type == cas::EntryType::kBlockDevice) {
        e.rdev_major = major(st.st_rdev);
        e.rdev_minor = minor(st.st_rdev);
      } else if (se.type == cas::EntryType::kRegular) {
        e.size = static_cast<uint64_t>(st.st_size);
        std::string child_rel = ChildRel(rel, e.name);
        std::optional<FileOut> cached = FromParent(scan, se);
        if (cached && st.st_nlink == 1) {  // no other name waits on its content
          files_cached_++;
          CountFile(st);
          pd->tree.entries.push_back(std::move(e));
          CAIRN_RETURN_IF_ERROR(TakeContent(*pd, index, *cached));
          continue;
        }
        if (cached) cached->path = child_rel;
        pd->files.emplace_back(
            index, SubmitFile(ChildPath(path, e.name), child_rel, st, std::move(cached)));
        if (pd->files.size() >= harvest_at) {
          CAIRN_RETURN_IF_ERROR(Harvest(*pd));
          // About twice those still waiting: each file is looked at a few times at most.
          harvest_at = std::max(kHarvestAt, 2 * pd->files.size());
        }
      }
      pd->tree.entries.push_back(std::move(e));
    }
    return AddPending(std::move(pd));
  }

  // The files of `pd` read already are taken into their entries, letting go of their results
  // (a directory of a million files would otherwise hold each file's result until its Tree is
  // made). Errors: a file's, as FinalizeFront would return it.
  Status Harvest(PendingDir& pd) {
    size_t kept = 0;
    for (auto& f : pd.files) {
      if (f.second.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        pd.files[kept++] = std::move(f);
        continue;
      }
      CAIRN_RETURN_IF_ERROR(TakeContent(pd, f.first, f.second.get()));
    }
    pd.files.resize(kept);
    return Status();
  }

  // The content of regular file entry `index` of `pd`, read or taken from the parent version,
  // goes into the entry, which is counted; or the file was skipped as unreadable, and the entry
  // is left out when the directory is finalized.
  Status TakeContent(PendingDir& pd, size_t index, const Result<FileOut>& r) {
    if (!r) return r.error();
    cas::TreeEntry& e = pd.tree.entries[index];
    if (r->skipped) {
      pd.dropped.push_back(index);
      return Status();
    }
    e.id = r->content.id;
    e.sparse = r->sparse;
    e.extents = r->extents;
    if (e.sparse && !holes_settle_) pd.stats[index].sparse_blocks = FileStat::kUnsettledHoles;
    result_.files++;
    result_.bytes += e.size;
    pd.below.files++;
    pd.below.bytes += e.size;
    return Status();
  }

  // Before the walk: what the tree watcher said (DirPrefetch::Start asked it), and the token
  // for the new stat cache. A checkin that asked nothing (none with a parent) asks now, for the
  // token only: the next incremental checkin can then trust the watcher.
  void TakeWatch(const ObjectId& parent, const struct stat& root_st) {
    if (!prefetch_->watch().has_value() && record_ && options_.use_watcher) {
      asked_ = AskWatcher(options_.stat_cache_dir, root_, root_st.st_dev, root_st.st_ino, {});
    }
    watched_.emplace(prefetch_->watch().has_value() ? prefetch_->watch() : asked_, trust_watcher_,
                     parent, prefetch_->cache(), root_dev_);
    if (auto token = watched_->token()) new_cache_.set_watch_token(std::move(*token));
    result_.watcher = watched_->answer();
  }

  // Subdirectory `rel` (lstat'ed as `st`; its Tree in the parent version: `was`), taken as
  // recorded when the tree watcher allows (WatchedWalk::Unwalked): its files and directories
  // are counted as the cache counted them, and its records carried over.
  bool TakeUnwalked(PendingDir& pd, const std::string& rel, const struct stat& st,
                    const ObjectId& was) {
    const StatCacheDir* d = watched_->Unwalked(rel, st, was);
    if (d == nullptr) return false;
    unwalked_.insert(rel);
    result_.dirs_unwalked++;
    result_.dirs += d->below.dirs;
    result_.files += d->below.files;
    result_.bytes += d->below.bytes;
    files_cached_ += d->below.files;
    if (options_.progress) options_.progress->Add(d->below.files, d->below.bytes);
    pd.below += d->below;
    if (record_) new_cache_.CopySubtree(prefetch_->cache(), rel);
    return true;
  }

  // Queues a walked directory; finalizes the oldest ones while too many wait.
  Status AddPending(std::shared_ptr<PendingDir> pd) {
    pending_entries_ += pd->tree.entries.size();
    pending_.push_back(std::move(pd));
    while (pending_.size() > kMaxPendingDirs || pending_entries_ > kMaxPendingEntries) {
      CAIRN_RETURN_IF_ERROR(FinalizeFront());
    }
    return Status();
  }

  // An unchanged file takes its parent entry's content, here in the walk, without a task. The
  // parent version keeps that content alive.
  static std::optional<FileOut> FromParent(const DirScan& scan, const ScannedEntry& se) {
    if (se.unchanged == std::string::npos) return std::nullopt;
    const cas::TreeEntry& p = scan.parent.entries[se.unchanged];
    FileOut out;
    out.content = {p.id, cas::ObjectType::kBlob, p.size, ObjectId()};
    out.sparse = p.sparse;
    out.extents = p.extents;
    out.from_cache = true;
    return out;
  }

  // Progress counts a file when its content is known (read, or taken unread), not when its
  // directory is finalized: a tree of up to kMaxPendingDirs directories is finalized only at
  // the end of its walk.
  void CountFile(const struct stat& st) {
    if (options_.progress) options_.progress->Add(1, static_cast<uint64_t>(st.st_size));
  }

  // `cached`: the file's content from the stat cache, when it is unchanged. A multiply-linked
  // file is registered under its inode either way, so that its other names join its group.
  std::shared_future<Result<FileOut>> SubmitFile(const std::string& path, const std::string& rel,
                                                 const struct stat& st,
                                                 std::optional<FileOut> cached) {
    if (st.st_nlink > 1) {
      if (const WalkLinks::Content* content = links_.Join(st, rel)) {
        CountFile(st);
        return *content;
      }
    }
    std::shared_future<Result<FileOut>> fut;
    const bool recorded = cached.has_value();
    if (cached) {
      files_cached_++;
      CountFile(st);
      std::promise<Result<FileOut>> ready;
      ready.set_value(std::move(*cached));
      fut = ready.get_future().share();
    } else {
      fut = files_.Submit(path, rel, st);
    }
    if (st.st_nlink > 1) links_.Add(st, rel, fut, recorded);
    return fut;
  }

  void Done(const struct stat& st, const Result<FileOut>& r) {
    if (r) bytes_read_ += r->bytes_read;  // once per inode: hard links share this job
    if (r && !r->skipped) CountFile(st);
  }

  Status FinalizeFront() {
    files_.Flush();  // the directory's files may be waiting in it
    std::shared_ptr<PendingDir> pd = std::move(pending_.front());
    pending_.pop_front();
    pending_entries_ -= pd->tree.entries.size();
    for (auto& [index, fut] : pd->files) CAIRN_RETURN_IF_ERROR(TakeContent(*pd, index, fut.get()));
    pd->files.clear();
    std::vector<size_t>& drop = pd->dropped;
    std::sort(drop.begin(), drop.end());
    for (size_t index : drop) {
      // This name, not the result's path: the names of a multiply-linked file share one result.
      result_.skipped.push_back(ChildRel(pd->rel, pd->tree.entries[index].name));
    }
    if (!drop.empty()) pd->complete = false;
    for (auto it = drop.rbegin(); it != drop.rend(); ++it) {
      pd->tree.entries.erase(pd->tree.entries.begin() + static_cast<long>(*it));
      pd->stats.erase(pd->stats.begin() + static_cast<long>(*it));
    }
    if (pd->parent == nullptr) CAIRN_RETURN_IF_ERROR(HardLinks(*pd));
    ObjectId id;
    if (pd->reuse) {
      CountReused(pd.get());
      CAIRN_ASSIGN_OR_RETURN(id, ReusedTree(*pd, prefetch_->cache(), ingestor_, root_));
    } else {
      // A directory unchanged since the parent is the parent's Tree, which the parent version
      // keeps stored: no need to ask the store.
      std::string encoded = cas::EncodeTree(pd->tree);
      id = Sha256::Of(encoded);
      if (id != pd->parent_tree) {
        CAIRN_ASSIGN_OR_RETURN(id, ingestor_->PutObject(cas::ObjectType::kTree, encoded));
      }
    }
    pd->below.dirs += 1;
    if (!pd->complete) pd->below.incomplete++;
    for (const FileStat& f : pd->stats) pd->below.sparse += f.sparse_blocks != 0;
    // From the prefetch's start: it may have looked names up before the walk began.
    if (record_) new_cache_.Put(pd->rel, RecordOf(*pd, id, prefetch_->start_ns()));
    if (pd->parent) {
      pd->parent->below += pd->below;
      pd->parent->tree.entries[pd->index_in_parent].id = id;
    } else {
      result_.root = id;
    }
    return Status();
  }

  // The root's hard-link table: the groups the walk met, and those of the subtrees it took
  // unseen, from the parent version; and, for the stat cache, the names in each walked
  // directory of files with a name outside it (SubtreeCounts::links_out).
  Status HardLinks(PendingDir& root) {
    std::set<std::string> skipped(result_.skipped.begin(), result_.skipped.end());
    std::vector<LinkGroup> groups = links_.Groups(skipped, &root.tree.hardlinks);
    // Without a cache written for the parent version, no subtree holding a file with several
    // names was taken unseen (WatchedWalk::Unwalked): the parent's groups there, if any, are
    // not the tree's.
    if (!unwalked_.empty() && watched_->carries_links()) {
      auto inside = GroupsInside(parent_hardlinks_, unwalked_);
      if (!inside) {  // the cache said no name reached out of those subtrees: walk them all
        redo_ = true;
        return Status::Internal("checkin " + root_ + ": a hard-link group reaches out of a " +
                                "subtree taken unseen");
      }
      for (auto& g : *inside) root.tree.hardlinks.push_back(std::move(g));
    }
    for (auto& g : root.tree.hardlinks) std::sort(g.begin(), g.end());
    std::sort(root.tree.hardlinks.begin(), root.tree.hardlinks.end());
    if (record_) {
      std::map<std::string, uint64_t> out = NamesReachingOut(groups);
      root.below.links_out = out[""];  // recorded next, with the root
      for (const auto& [dir, n] : out) {
        if (StatCacheDir* d = new_cache_.Find(dir)) d->below.links_out = n;
      }
    }
    return Status();
  }

  // A directory taken as recorded (PendingDir::reuse): its files are counted, unread.
  void CountReused(PendingDir* pd) {
    for (const auto& e : pd->tree.entries) {
      if (e.type != cas::EntryType::kRegular) continue;
      result_.files++;
      result_.bytes += e.size;
      pd->below.files++;
      pd->below.bytes += e.size;
      files_cached_++;
      if (options_.progress) options_.progress->Add(1, e.size);
    }
  }

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
  OpenDirectory root_dir_;  // before files_: the readers use it until they stop
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

}  // namespace

Result<CheckinResult> DirSource::Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::string root, WalkRoot(root_));
  {
    Walker w(root, threads_, ingestor, options, /*trust_watcher=*/true);
    Result<CheckinResult> r = w.Run();
    if (r || !w.redo()) return r;
  }
  // What the first walk stored stays: the second finds it stored.
  Walker w(std::move(root), threads_, ingestor, options, /*trust_watcher=*/false);
  return w.Run();
}

}  // namespace cairn::indexer
