#include "indexer/stat_ahead.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "base/rel_path.h"
#include "base/thread_name.h"

namespace cairn::indexer {
namespace {

// Lookups in flight at once: 64 left the workers waiting on the submitter (17 ms for corpus
// v3's names), 256 kept them busy (7-10 ms); more gained nothing.
constexpr unsigned kRingEntries = 256;
// Answers waited for at once.
constexpr size_t kWaitBatch = 16;

constexpr unsigned kNeeded = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID |
                             STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE | STATX_BLOCKS;

void ToStat(const struct statx& x, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
  st->st_ino = x.stx_ino;
  st->st_mode = x.stx_mode;
  st->st_nlink = x.stx_nlink;
  st->st_uid = x.stx_uid;
  st->st_gid = x.stx_gid;
  st->st_rdev = makedev(x.stx_rdev_major, x.stx_rdev_minor);
  st->st_size = static_cast<off_t>(x.stx_size);
  st->st_blksize = x.stx_blksize;
  st->st_blocks = static_cast<blkcnt_t>(x.stx_blocks);
  st->st_atim = {x.stx_atime.tv_sec, x.stx_atime.tv_nsec};
  st->st_mtim = {x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec};
  st->st_ctim = {x.stx_ctime.tv_sec, x.stx_ctime.tv_nsec};
}

}  // namespace

std::unique_ptr<StatAhead> StatAhead::Start(const std::string& root, const StatCache& cache,
                                            size_t max_entries, bool paused) {
  int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  auto ring = std::make_unique<io_uring>();
  if (io_uring_queue_init(kRingEntries, ring.get(), 0) != 0) {
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<StatAhead> a(new StatAhead(fd, cache, max_entries));
  if (!paused) a->go_.store(true, std::memory_order_relaxed);
  a->thread_ = std::thread([p = a.get(), r = ring.release()] {
    NameThisThread("cairn-statahead");
    p->go_.wait(false, std::memory_order_acquire);
    p->Run(r);
    io_uring_queue_exit(r);
    delete r;
  });
  return a;
}

StatAhead::StatAhead(int root_fd, const StatCache& cache, size_t max_entries)
    : root_fd_(root_fd), cache_(cache) {
  size_t n = 0;
  for (const auto& [rel, d] : cache.dirs()) {
    if (n + d.names.size() > max_entries) break;
    index_.emplace(&d, static_cast<uint32_t>(dirs_.size()));
    dirs_.push_back({&rel, &d, n});
    n += d.names.size();
  }
  stats_.resize(n);
  ok_.assign(n, 0);
  pending_.reset(new std::atomic<uint32_t>[dirs_.size()]);
  owner_.reset(new std::atomic<uint8_t>[dirs_.size()]);
  for (size_t i = 0; i < dirs_.size(); ++i) {
    pending_[i].store(static_cast<uint32_t>(dirs_[i].dir->names.size()), std::memory_order_relaxed);
    owner_[i].store(kFree, std::memory_order_relaxed);
  }
}

StatAhead::~StatAhead() {
  stop_.store(true, std::memory_order_relaxed);
  Resume();
  if (thread_.joinable()) thread_.join();
  ::close(root_fd_);
}

void StatAhead::Resume() {
  go_.store(true, std::memory_order_release);
  go_.notify_all();
}

void StatAhead::Wait() {
  if (thread_.joinable()) thread_.join();
}

void StatAhead::Run(void* r) {
  auto* ring = static_cast<io_uring*>(r);
  // One slot per lookup in flight: its path and the kernel's answer stay put until it is back.
  struct Slot {
    std::string path;
    struct statx x;
    size_t entry;
    uint32_t dir;
  };
  std::vector<Slot> slots(kRingEntries);
  std::vector<uint32_t> free_slots;
  for (uint32_t s = kRingEntries; s-- > 0;) free_slots.push_back(s);
  // Directories from the last to the first (the scans come from the first); `next` counts down
  // to the next one to take, `dir` is the one being submitted (npos: none).
  size_t next = dirs_.size(), dir = std::string::npos, name = 0, in_flight = 0;
  auto done = [&] {
    // Whatever was taken and will not be complete now: its waiters give up on it.
    for (size_t i = 0; i < dirs_.size(); ++i) {
      if (owner_[i].load(std::memory_order_acquire) == kAhead &&
          pending_[i].load(std::memory_order_acquire) != 0) {
        pending_[i].store(kAbandoned, std::memory_order_release);
        pending_[i].notify_all();
      }
    }
  };
  for (;;) {
    // Fill the ring.
    bool queued = false;
    while (!stop_.load(std::memory_order_relaxed) && !free_slots.empty()) {
      if (dir == std::string::npos || name == dirs_[dir].dir->names.size()) {
        // The next directory no scan has taken. One without names is complete as it is.
        dir = std::string::npos;
        while (next > 0) {
          uint8_t free = kFree;
          if (owner_[--next].compare_exchange_strong(free, kAhead, std::memory_order_acq_rel)) {
            dir = next;
            break;
          }
        }
        if (dir == std::string::npos) break;
        name = 0;
        continue;
      }
      const Dir& d = dirs_[dir];
      if (d.rel->size() + 1 + d.dir->names[name].size() >= PATH_MAX) {
        // The kernel refuses the path at once; the scan looks it up itself (indexer/fs_meta.h,
        // PathAt).
        if (pending_[dir].fetch_sub(1, std::memory_order_release) == 1) pending_[dir].notify_all();
        ++name;
        continue;
      }
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (sqe == nullptr) break;
      uint32_t s = free_slots.back();
      free_slots.pop_back();
      Slot& slot = slots[s];
      slot.path.assign(*d.rel);
      if (!slot.path.empty()) slot.path += '/';
      slot.path += d.dir->names[name];
      slot.entry = d.first + name;
      slot.dir = static_cast<uint32_t>(dir);
      io_uring_prep_statx(sqe, root_fd_, slot.path.c_str(), AT_SYMLINK_NOFOLLOW, kNeeded, &slot.x);
      io_uring_sqe_set_data64(sqe, s);
      ++name;
      ++in_flight;
      submitted_.fetch_add(1, std::memory_order_relaxed);
      queued = true;
    }
    if (in_flight == 0) {
      done();
      return;
    }
    // Woken for a batch of answers, not for each: each wakeup is a switch between threads
    // (~170 of them per checkin of v3 when woken for each).
    const unsigned want = static_cast<unsigned>(std::min<size_t>(in_flight, kWaitBatch));
    io_uring_cqe* cqe = nullptr;
    // Submitted whenever some are not yet: the kernel stops submitting at a request it refuses
    // before it starts (it answers that one at once), and leaves the rest in the ring.
    int rc = queued || io_uring_sq_ready(ring) > 0 ? io_uring_submit_and_wait(ring, want)
                                                   : io_uring_wait_cqe_nr(ring, &cqe, want);
    if (rc < 0 && rc != -EINTR) {
      // The ring failed (not seen in practice). Lookups may still be in flight, and the kernel
      // writes into their slots until each is back, so the slots are left allocated (once, at
      // most 256 of them) and nothing waits on a ring that may never answer. Directories not
      // complete are given up: their scans look their names up themselves.
      stop_.store(true, std::memory_order_relaxed);
      new std::vector<Slot>(std::move(slots));
      done();
      return;
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      Slot& slot = slots[io_uring_cqe_get_data64(cqe)];
      if (cqe->res == 0 && (slot.x.stx_mask & kNeeded) == kNeeded) {
        ToStat(slot.x, &stats_[slot.entry]);
        ok_[slot.entry] = 1;
      }
      if (pending_[slot.dir].fetch_sub(1, std::memory_order_release) == 1) {
        pending_[slot.dir].notify_all();
      }
      free_slots.push_back(static_cast<uint32_t>(io_uring_cqe_get_data64(cqe)));
      --in_flight;
    }
    io_uring_cq_advance(ring, seen);
  }
}

StatAhead::Results StatAhead::Claim(const StatCacheDir* d) const {
  auto it = index_.find(d);
  if (it == index_.end()) return {};
  const uint32_t i = it->second;
  uint8_t free = kFree;
  if (owner_[i].compare_exchange_strong(free, kCaller, std::memory_order_acq_rel) ||
      free == kCaller) {
    return {};
  }
  // Taken by the lookups: wait for those still in flight.
  for (uint32_t left = pending_[i].load(std::memory_order_acquire); left != 0;
       left = pending_[i].load(std::memory_order_acquire)) {
    if (left == kAbandoned) return {};
    pending_[i].wait(left, std::memory_order_acquire);
  }
  const size_t first = dirs_[i].first;
  return Results(stats_.data() + first, ok_.data() + first);
}

StatAhead::Results StatAhead::Ready(const StatCacheDir* d) const {
  auto it = index_.find(d);
  if (it == index_.end() || owner_[it->second].load(std::memory_order_acquire) != kAhead ||
      pending_[it->second].load(std::memory_order_acquire) != 0) {
    return {};
  }
  const size_t first = dirs_[it->second].first;
  return Results(stats_.data() + first, ok_.data() + first);
}

const struct stat* StatAhead::Find(const std::string& rel) const {
  if (rel.empty()) return nullptr;
  const std::string_view base = BaseName(rel);
  const StatCacheDir* p = cache_.Find(std::string(ParentOf(rel)));
  if (p == nullptr) return nullptr;
  // Names are in the Tree's order: raw bytes.
  auto it = std::lower_bound(p->names.begin(), p->names.end(), base,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it == p->names.end() || *it != base) return nullptr;
  return Get(p, static_cast<size_t>(it - p->names.begin()));
}

}  // namespace cairn::indexer
