// HeapWarmer: faults in heap pages on another thread, at a command's start, for the command to
// allocate from.
//
// A short-lived process touches every heap page for the first time, and on this class of
// virtual machine a first touch costs ~11 us per 4 KiB page (a fault, page-table updates through
// the hypervisor, zeroing): a warm incremental checkin of corpus v3 took ~7,300 faults, a third
// of its CPU time. Populating pages with madvise(MADV_POPULATE_WRITE) costs ~5.7 us a page and
// no fault; with jemalloc's huge pages (tools/main.cc) the blocks are 2 MiB pages, populated and
// mapped ~20x faster than 4 KiB ones. A HeapWarmer allocates `bytes` in blocks the allocator
// keeps once freed (under jemalloc's 8 MiB oversize threshold, which returns larger ones at
// once), populates them, and frees them: the command's next allocations come from those pages.
// It runs while the command opens its repository, when one core idles (docs/benchmarks.md,
// sessions 14 and 18).
//
// Thread-safety: the destructor joins the thread.
#ifndef CAIRN_BASE_HEAP_WARMER_H_
#define CAIRN_BASE_HEAP_WARMER_H_

#include <cstddef>
#include <thread>

namespace cairn {

// Faults in the whole pages inside [p, p + n): madvise(MADV_POPULATE_WRITE) where the kernel
// has it (Linux 5.14), else a write to each page (their contents are then zero).
void PopulatePages(char* p, size_t n);

class HeapWarmer {
 public:
  // Starts warming `bytes` (rounded up to whole blocks of 6 MiB).
  explicit HeapWarmer(size_t bytes);
  ~HeapWarmer();
  HeapWarmer(const HeapWarmer&) = delete;
  HeapWarmer& operator=(const HeapWarmer&) = delete;

  // 6 MiB: jemalloc maps the blocks in regions of 10 and 12 MiB, each whole 2 MiB pages. Blocks
  // of 4 MiB got regions of 6, 7, 8 and 10 MiB, and the 7 MiB one began 1 MiB past a huge-page
  // boundary: that MiB stayed 4 KiB pages, which the compression threads then faulted in one by
  // one (~150 of a warm incremental checkin's ~650 faults; docs/benchmarks.md, session 22).
  static constexpr size_t kBlockBytes = size_t{6} << 20;

 private:
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_BASE_HEAP_WARMER_H_
