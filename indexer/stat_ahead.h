// StatAhead: the lstat of every name the stat cache records, done in bulk before the walk needs
// them. An incremental checkin looks up every file of the tree to see whether it changed
// (indexer/dir_scan.h); one fstatat costs ~2.4 us on this VM (corpus v3: 8,331 names, 19-20 ms
// on one core). Submitted 256 at a time through io_uring, the kernel's io-wq worker runs them
// beside the caller's threads, from the repository's open on (indexer/dir_prefetch.h).
//
// The work is shared, never done twice: the lookups go through the cache's directories from the
// last to the first, the scans (which follow the walk) from the first on, and each directory is
// taken by whichever comes to it first (Claim). They meet somewhere in the middle. (Going the
// same way, each side redid half of the other's lookups: 8,330 + 4,166 for v3's 8,331 names.)
// Each directory's results become visible together, once all its lookups are back; a name whose
// lookup failed is looked up by the caller as before (errors are always the caller's own). The
// lookups stop at `max_entries` names: memory stays bounded (one struct stat per name covered)
// however large the tree.
//
// A result was true when it was taken, like any scan ahead of the walk: the checkin's start
// time (for racy ctimes, indexer/stat_cache.h) must be taken before StatAhead starts.
//
// Without io_uring (an old kernel, or one that forbids it) Start returns null.
//
// Thread-safety: Claim, Ready, Get and Find may be called from many threads while the lookups
// go on; the cache must not change while the StatAhead lives.
#ifndef CAIRN_INDEXER_STAT_AHEAD_H_
#define CAIRN_INDEXER_STAT_AHEAD_H_

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "indexer/stat_cache.h"

namespace cairn::indexer {

class StatAhead {
 public:
  // Default bound on the names looked up ahead (~10 MB of results).
  static constexpr size_t kDefaultMaxEntries = 65536;

  // Starts looking up, on a thread of its own, the names of `cache`'s directories under `root`
  // (absolute; "/" for the filesystem root). Null if `root` cannot be opened or io_uring cannot
  // be set up. `paused` (tests): nothing is looked up until Resume.
  static std::unique_ptr<StatAhead> Start(const std::string& root, const StatCache& cache,
                                          size_t max_entries = kDefaultMaxEntries,
                                          bool paused = false);
  StatAhead(const StatAhead&) = delete;
  StatAhead& operator=(const StatAhead&) = delete;
  // Stops submitting, waits for what is in flight.
  ~StatAhead();

  // The lookups of one cached directory, once all are back.
  class Results {
   public:
    Results() = default;
    // The lstat of the directory's entry `i`; null if that lookup failed (or there are none).
    const struct stat* at(size_t i) const { return ok_ != nullptr && ok_[i] ? &stats_[i] : nullptr; }

   private:
    friend class StatAhead;
    Results(const struct stat* stats, const uint8_t* ok) : stats_(stats), ok_(ok) {}
    const struct stat* stats_ = nullptr;
    const uint8_t* ok_ = nullptr;
  };
  // For a caller about to look up the names of cached directory `d` (an element of the cache's
  // dirs()): the results, once all are back, if the lookups ahead took `d` (waiting for those
  // still in flight: at the meeting point only); none (every at() null) if they did not, and
  // then they never will: `d` is the caller's. A directory not covered is the caller's too.
  Results Claim(const StatCacheDir* d) const;
  // The results for `d` if the lookups ahead took it and all are back; none otherwise. Does not
  // wait and does not claim.
  Results Ready(const StatCacheDir* d) const;
  // The lstat of entry `i` of `d`, or null: Ready(d).at(i).
  const struct stat* Get(const StatCacheDir* d, size_t i) const {
    return i < d->names.size() ? Ready(d).at(i) : nullptr;
  }
  // The lstat of the cached directory `rel` itself ("" for the root: null), looked up as an
  // entry of its parent; null as for Get.
  const struct stat* Find(const std::string& rel) const;
  // Blocks until every lookup is back (tests).
  void Wait();
  // Starts the lookups of a StatAhead started paused.
  void Resume();
  // Names covered (looked up, or to be).
  size_t covered() const { return stats_.size(); }
  // Names looked up so far (those of directories a scan claimed first are not).
  size_t submitted() const { return submitted_.load(std::memory_order_relaxed); }

 private:
  StatAhead(int root_fd, const StatCache& cache, size_t max_entries);
  void Run(void* ring);

  const int root_fd_;
  const StatCache& cache_;
  struct Dir {
    const std::string* rel;
    const StatCacheDir* dir;
    size_t first;  // index of its first name in stats_
  };
  std::vector<Dir> dirs_;
  std::unordered_map<const StatCacheDir*, uint32_t> index_;  // into dirs_
  std::vector<struct stat> stats_;
  std::vector<uint8_t> ok_;
  // Lookups not back yet, per directory; a directory's results are read only at 0, and
  // kAbandoned says they never will be (the lookups stopped first).
  static constexpr uint32_t kAbandoned = UINT32_MAX;
  std::unique_ptr<std::atomic<uint32_t>[]> pending_;
  // Who took each directory: kFree, kAhead (these lookups) or kCaller (a scan).
  enum : uint8_t { kFree, kAhead, kCaller };
  std::unique_ptr<std::atomic<uint8_t>[]> owner_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> go_{false};
  std::atomic<size_t> submitted_{0};
  std::thread thread_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_STAT_AHEAD_H_
