#include "indexer/dir_prefetch.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "base/env.h"
#include "base/thread_name.h"

namespace cairn::indexer {
namespace {

// Helpers on a cold cache, and how far (in entries) they may run ahead of the walk.
constexpr int kColdScanHelpers = 16;
constexpr uint64_t kPlannedWindow = 32768;

}  // namespace

ThreadWaits ThreadWaits::Now() {
  struct rusage ru {};
  if (::getrusage(RUSAGE_THREAD, &ru) != 0) return {};
  return {ru.ru_inblock, ru.ru_nvcsw};
}

bool ThreadWaits::WaitedOnStorage(const ThreadWaits& later, uint64_t entries) const {
  return later.blocks_read > blocks_read ||
         static_cast<uint64_t>(later.sleeps - sleeps) * 4 >= std::max<uint64_t>(entries, 1);
}

void ScanWindow::Begin() {
  if (!start_) start_ = ThreadWaits::Now();
}

ScanWindow::Verdict ScanWindow::Add(int64_t ns, uint64_t entries, bool judged, bool cold_possible) {
  ns_ += ns;
  entries_ += entries;
  if (!judged || entries_ < kMinEntries) return Verdict::kNone;
  const int64_t per_entry = ns_ / static_cast<int64_t>(entries_);
  const ThreadWaits now = ThreadWaits::Now();
  const bool waited = start_ && start_->WaitedOnStorage(now, entries_);
  Verdict verdict = Verdict::kNone;
  if (cold_possible && per_entry >= cold_ns_ && (waited || cold_ns_ <= 0)) {
    verdict = Verdict::kCold;
  } else if (per_entry > slow_ns_ && (waited || slow_ns_ <= 0)) {
    verdict = Verdict::kSlow;
  }
  start_ = now;
  ns_ = 0;
  entries_ = 0;
  return verdict;
}

DirPrefetch::DirPrefetch(std::string root, const CheckinOptions& options)
    : root_(std::move(root)),
      options_(options),
      start_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count()) {
  options_.progress = nullptr;
  options_.prefetch.reset();
  struct stat st;
  if (::lstat(root_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    root_dev_ = st.st_dev;
    root_ino_ = st.st_ino;
    root_ok_ = true;
  }
}

DirPrefetch::~DirPrefetch() { Wait(); }  // then planned_, declared last, stops its helpers

std::shared_ptr<DirPrefetch> DirPrefetch::ForSource(const std::string& source,
                                                    const CheckinOptions& options) {
  if (options.stat_cache_dir.empty()) return nullptr;
  struct stat st;
  if (::stat(source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return nullptr;
  Result<std::string> root = WalkRoot(source);
  if (!root) return nullptr;
  auto p = std::make_shared<DirPrefetch>(std::move(*root), options);
  p->StartAsync(/*idle_helpers=*/1);
  return p;
}

void DirPrefetch::StartAsync(int idle_helpers) {
  starter_ = std::thread([this, idle_helpers] {
    NameThisThread("cairn-prefetch");
    Start(idle_helpers);
  });
}

void DirPrefetch::Wait() {
  if (starter_.joinable()) starter_.join();
}

void DirPrefetch::Start(int idle_helpers) {
  if (!root_ok_) return;
  cache_ = StatCache::Load(Env::Default(), options_.stat_cache_dir, root_);
  if (options_.use_watcher) {
    watch_ = AskWatcher(options_.stat_cache_dir, root_, root_dev_, root_ino_, cache_.watch_token());
    if (watch_ && !watch_->all) return;
  }
  if (cache_.size() < 2 || options_.scan_ahead != CheckinOptions::ScanAhead::kAuto) return;
  if (ProbeCold()) {
    StartCold();
    return;
  }
  // Warm: the cached names are looked up in bulk now, from the last directory backwards, while
  // the scans (the helper's before the walk, the walk's own) go forwards; each directory is
  // looked up by whichever side claims it first (indexer/stat_ahead.h).
  ahead_ = StatAhead::Start(root_, cache_);
  scanner_.SetStatAhead(ahead_.get());
  if (idle_helpers > 0) StartHelpers(idle_helpers);
}

// Whether the tree's inodes are out of memory: an lstat of up to 16 of the cached directories,
// spread over the tree (those near the root may have been read by the command line's own
// lookups), takes cold_scan_ns_per_entry or more at the median, and the probe waited on
// storage (ThreadWaits). The median, not the mean: the probe runs beside the repository's open
// and the heap warmer, and a probe thread preempted once took ~1 ms over a warm tree; the waits,
// since a probe preempted more than half the time is slow on a warm tree too. A threshold of 0
// finds every tree cold. Costs ~20 us on a warm tree.
bool DirPrefetch::ProbeCold() const {
  const size_t n = cache_.size();
  if (n < 2) return false;
  if (options_.cold_scan_ns_per_entry <= 0) return true;
  const size_t probes = std::min<size_t>(16, n - 1);
  std::vector<const std::string*> rels;
  size_t i = 0, next = 1;
  for (const auto& [rel, d] : cache_.dirs()) {
    if (rels.size() < probes && i == next * n / (probes + 1)) {
      rels.push_back(&rel);
      ++next;
    }
    ++i;
  }
  if (rels.empty()) return false;
  std::vector<int64_t> ns;
  ns.reserve(rels.size());
  const ThreadWaits before = ThreadWaits::Now();
  for (const std::string* rel : rels) {
    const std::string path = ChildPath(root_, *rel);
    const auto start = std::chrono::steady_clock::now();
    struct stat st;
    (void)::lstat(path.c_str(), &st);
    ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(ns.begin(), ns.begin() + static_cast<long>(ns.size() / 2), ns.end());
  return ns[ns.size() / 2] >= options_.cold_scan_ns_per_entry &&
         before.WaitedOnStorage(ThreadWaits::Now(), ns.size());
}

void DirPrefetch::StartCold() {
  if (cold_) return;
  planned_.reset();
  cold_ = true;
  StartHelpers(kColdScanHelpers);
}

// A helper takes the directory to be the Tree it was recorded as, as the walk does when nothing
// changed; the walk uses a helper's scan only if that holds and the directory's inode and ctime
// are the same. The root is not planned: the walk always builds it.
void DirPrefetch::StartHelpers(int helpers) {
  std::vector<PlannedScans<PlannedScan>::Dir> dirs;
  dirs.reserve(cache_.size());
  for (const auto& [rel, d] : cache_.dirs()) {
    if (!rel.empty()) dirs.push_back({rel, d.files.size() + 1});
  }
  auto scan = [this](const std::string& rel) -> std::optional<PlannedScan> {
    const StatCacheDir* d = cache_.Find(rel);
    const std::string path = ChildPath(root_, rel);
    if (d == nullptr) return std::nullopt;
    struct stat st;
    const struct stat* ahead = ahead_ ? ahead_->Find(rel) : nullptr;
    if (ahead != nullptr) {
      st = *ahead;
    } else if (::lstat(path.c_str(), &st) != 0) {
      return std::nullopt;
    }
    if (!S_ISDIR(st.st_mode) || st.st_dev != root_dev_) return std::nullopt;
    DirScan s = scanner_.Scan(path, rel, d->tree, FileStatOf(st));
    if (s.needs_store) return std::nullopt;  // a changed directory: the walk scans it
    return PlannedScan{std::move(s), d->tree, FileStatOf(st)};
  };
  planned_.emplace(std::move(dirs), scan, helpers, kPlannedWindow);
}

void DirPrefetch::Release() {
  EndPlanned();
  scanner_.SetStatAhead(nullptr);
  ahead_.reset();  // it reads the cache
  cache_ = StatCache();
}

void DirPrefetch::StopIdleHelpers() {
  if (planned_ && !cold_) planned_->StopHelpers();
}

}  // namespace cairn::indexer
