#include "indexer/dir_walker.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "base/rel_path.h"
#include "indexer/fs_meta.h"

namespace cairn::indexer {

Result<CheckinResult> DirWalker::Run() {
  struct stat st;
  if (::lstat(root_.c_str(), &st) != 0) return ErrnoStatus("checkin", root_, errno);
  if (!S_ISDIR(st.st_mode))
    return Status::InvalidArgument("checkin " + root_ + ": not a directory");
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

DirWalker::ScanFuture DirWalker::SubmitScan(const std::string& path, const std::string& rel,
                                            const ObjectId& parent, const FileStat& self) {
  ++scans_ahead_;
  return scan_pool_->Submit(
      [this, path, rel, parent, self] { return scanner().Scan(path, rel, parent, self); });
}

void DirWalker::StartScanAhead() {
  if (!scan_pool_) scan_pool_.emplace(kScanThreads);
}

DirScan DirWalker::ScanInline(const std::string& path, const std::string& rel,
                              const ObjectId& parent, const FileStat& self) {
  // With the tree watcher's answer the walk sees only what changed: helpers would look at
  // everything.
  const bool judged = options_.scan_ahead == CheckinOptions::ScanAhead::kAuto &&
                      !prefetch_->cold() && !(watched_ && watched_->selective());
  if (judged) scan_window_.Begin();
  const auto start = std::chrono::steady_clock::now();
  DirScan scan = scanner().Scan(path, rel, parent, self);
  const int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
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

Status DirWalker::Walk(const std::string& path, const std::string& rel, const struct stat& dir_st,
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
      pd->files.emplace_back(index,
                             SubmitFile(ChildPath(path, e.name), child_rel, st, std::move(cached)));
    }
    pd->tree.entries.push_back(std::move(e));
    // After the entry is in: its own content may be ready (a name of a file read already).
    if (pd->files.size() >= harvest_at) {
      CAIRN_RETURN_IF_ERROR(Harvest(*pd));
      // About twice those still waiting: each file is looked at a few times at most.
      harvest_at = std::max(kHarvestAt, 2 * pd->files.size());
    }
  }
  return AddPending(std::move(pd));
}

void DirWalker::TakeWatch(const ObjectId& parent, const struct stat& root_st) {
  if (!prefetch_->watch().has_value() && record_ && options_.use_watcher) {
    asked_ = AskWatcher(options_.stat_cache_dir, root_, root_st.st_dev, root_st.st_ino, {});
  }
  watched_.emplace(prefetch_->watch().has_value() ? prefetch_->watch() : asked_, trust_watcher_,
                   parent, prefetch_->cache(), root_dev_);
  if (auto token = watched_->token()) new_cache_.set_watch_token(std::move(*token));
  result_.watcher = watched_->answer();
}

bool DirWalker::TakeUnwalked(PendingDir& pd, const std::string& rel, const struct stat& st,
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

}  // namespace cairn::indexer
