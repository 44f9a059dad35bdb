#include "base/heap_warmer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "base/thread_name.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace cairn {

void PopulatePages(char* p, size_t n) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end <= begin) return;
  // In pieces of 64 pages: the kernel holds the process's mmap lock through each call, and a
  // thread creating a thread or mapping memory meanwhile waits for it (~6 ms for 4 MiB here).
  const uintptr_t piece = 64 * page;
  for (uintptr_t a = begin; a < end; a += piece) {
    const uintptr_t n = std::min(piece, end - a);
    if (::madvise(reinterpret_cast<void*>(a), n, MADV_POPULATE_WRITE) == 0) continue;
    for (uintptr_t q = a; q < a + n; q += page) *reinterpret_cast<volatile char*>(q) = 0;
  }
}

HeapWarmer::HeapWarmer(size_t bytes) {
  const size_t blocks = (bytes + kBlockBytes - 1) / kBlockBytes;
  if (blocks == 0) return;
  thread_ = std::thread([blocks] {
    NameThisThread("cairn-warm");
    // All blocks are held until the last is populated, so that the allocator hands out
    // distinct ones; then all go back to it.
    std::vector<char*> held;
    held.reserve(blocks);
    for (size_t i = 0; i < blocks; ++i) {
      // Aligned to 2 MiB, so that with jemalloc's huge pages (tools/main.cc) a block is two
      // whole huge pages.
      auto* p = static_cast<char*>(std::aligned_alloc(size_t{2} << 20, kBlockBytes));
      if (p == nullptr) break;
      PopulatePages(p, kBlockBytes);
      held.push_back(p);
    }
    for (char* p : held) std::free(p);
  });
}

HeapWarmer::~HeapWarmer() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace cairn
