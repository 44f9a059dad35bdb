// PlannedScans: directories scanned ahead of a walk by helper threads, when the walk's order is
// known before it starts.
//
// An incremental checkin's stat cache names every directory of the tree as it was last checked
// in. Sorted as a depth-first walk meets them, those names let helpers scan directories the
// walk has not discovered yet: on a cold cache many helpers keep many inode reads in flight
// where the walk, which learns a directory's children only by reading it, waits for one at a
// time. On a warm cache a helper during the walk gains nothing (the walk's own scans are near
// their one-thread floor; docs/benchmarks.md, session 9), so on a warm one DirPrefetch
// (indexer/dir_prefetch.h) runs a single helper, and only while the repository opens.
//
// Each planned directory is a slot, taken exactly once: by a helper, which scans it and leaves
// the result, or by the walk, which scans it itself when no helper has started it. The walk
// never waits for a helper unless a helper is scanning that very directory. Helpers stay at most
// `window` entries (as the plan counts them) ahead of the walk, so memory is bounded whatever
// the tree's size.
//
// Thread-safety: Take is called by one thread (the walk); helpers are internal. The destructor
// stops the helpers and joins them; `scan` must stay callable until then.
#ifndef CAIRN_INDEXER_PLANNED_SCANS_H_
#define CAIRN_INDEXER_PLANNED_SCANS_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/thread_name.h"

namespace cairn::indexer {

// Orders relative paths ("" first, then "a", "a/b", "a-c", ...) as a depth-first walk visiting
// each directory's entries in raw byte order meets them: '/' sorts before every byte.
bool WalkOrderLess(const std::string& a, const std::string& b);

template <typename Scan>
class PlannedScans {
 public:
  struct Dir {
    std::string rel;   // relative to the walk's root
    uint64_t entries;  // as planned (for the window)
  };
  // Scans the directory of slot `rel`; nullopt when the helper cannot (the walk then scans it).
  using ScanFn = std::function<std::optional<Scan>(const std::string& rel)>;

  // `dirs` in any order (sorted here by WalkOrderLess). Starts `helpers` threads, which call
  // `scan` concurrently.
  // REQUIRES: helpers >= 1, window >= 1.
  PlannedScans(std::vector<Dir> dirs, ScanFn scan, int helpers, uint64_t window)
      : scan_(std::move(scan)), window_(window) {
    std::sort(dirs.begin(), dirs.end(),
              [](const Dir& a, const Dir& b) { return WalkOrderLess(a.rel, b.rel); });
    slots_ = std::make_unique<Slot[]>(dirs.size());
    n_ = dirs.size();
    uint64_t before = 0;
    index_.reserve(dirs.size());
    for (size_t i = 0; i < dirs.size(); ++i) {
      slots_[i].entries_before = before;
      before += dirs[i].entries;
      index_.emplace(std::move(dirs[i].rel), i);
    }
    rels_.resize(n_);
    for (auto& [rel, i] : index_) rels_[i] = &rel;
    for (int k = 0; k < helpers; ++k)
      threads_.emplace_back([this] {
        NameThisThread("cairn-scan");
        Help();
      });
  }
  PlannedScans(const PlannedScans&) = delete;
  PlannedScans& operator=(const PlannedScans&) = delete;
  ~PlannedScans() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Helpers stop after the directory each is scanning (not joined: the destructor joins them).
  // Take goes on: it returns the scans made, and nullopt for the rest.
  void StopHelpers() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }

  // The walk reached directory `rel`: its scan if a helper made it (waiting if one is making it
  // now), else nullopt and the slot is the walk's to scan. Also nullopt for unplanned names.
  std::optional<Scan> Take(const std::string& rel) {
    auto it = index_.find(rel);
    if (it == index_.end()) return std::nullopt;
    const size_t i = it->second;
    if (i + 1 > walked_.load(std::memory_order_relaxed)) {
      // Sequentially consistent with the helper's count-then-check in Help: either the helper
      // sees the new position before it waits, or this sees the helper waiting and wakes it.
      walked_.store(i + 1);
      if (helpers_waiting_.load() != 0) {
        std::lock_guard lock(mu_);
        cv_.notify_all();
      }
    }
    Slot& s = slots_[i];
    int state = kFree;
    if (s.state.compare_exchange_strong(state, kTaken, std::memory_order_acq_rel))
      return std::nullopt;
    if (state == kBusy) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return s.state.load(std::memory_order_acquire) != kBusy; });
      state = s.state.load(std::memory_order_acquire);
    }
    if (state != kReady) return std::nullopt;  // the helper could not scan it
    std::optional<Scan> out = std::move(s.scan);
    s.scan.reset();
    s.state.store(kTaken, std::memory_order_relaxed);
    return out;
  }

 private:
  enum : int { kFree, kBusy, kReady, kFailed, kTaken };
  struct Slot {
    std::atomic<int> state{kFree};
    uint64_t entries_before = 0;
    std::optional<Scan> scan;
  };

  // Whether slot i is more than the window ahead of the walk.
  bool TooFarAhead(size_t i) const {
    size_t w = walked_.load();
    uint64_t walk_at = w < n_ ? slots_[w].entries_before : slots_[n_ - 1].entries_before;
    return slots_[i].entries_before > walk_at + window_;
  }

  void Help() {
    for (;;) {
      size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_) return;
      if (i < walked_.load(std::memory_order_acquire)) continue;  // the walk is past it
      if (TooFarAhead(i)) {
        std::unique_lock lock(mu_);
        helpers_waiting_.fetch_add(1);
        cv_.wait(lock, [&] { return stop_ || !TooFarAhead(i); });
        helpers_waiting_.fetch_sub(1);
        if (stop_) return;
      }
      if (stop_.load(std::memory_order_acquire)) return;
      Slot& s = slots_[i];
      int state = kFree;
      if (!s.state.compare_exchange_strong(state, kBusy, std::memory_order_acq_rel)) continue;
      s.scan = scan_(*rels_[i]);
      s.state.store(s.scan ? kReady : kFailed, std::memory_order_release);
      {
        std::lock_guard lock(mu_);
        cv_.notify_all();
      }
    }
  }

  ScanFn scan_;
  const uint64_t window_;
  size_t n_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<const std::string*> rels_;  // slot -> its name in index_
  std::atomic<size_t> next_{0};           // the next slot a helper looks at
  std::atomic<size_t> walked_{0};         // 1 + the last slot the walk reached
  std::atomic<int> helpers_waiting_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};  // set under mu_
  std::vector<std::thread> threads_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_PLANNED_SCANS_H_
