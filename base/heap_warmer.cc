#include "base/heap_warmer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace cairn {

void PopulatePages(char* p, size_t n) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end <= begin) return;
  if (::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) == 0) return;
  for (uintptr_t a = begin; a < end; a += page) *reinterpret_cast<volatile char*>(a) = 0;
}

HeapWarmer::HeapWarmer(size_t bytes) {
  const size_t blocks = (bytes + kBlockBytes - 1) / kBlockBytes;
  if (blocks == 0) return;
  thread_ = std::thread([blocks] {
    // All blocks are held until the last is populated, so that the allocator hands out
    // distinct ones; then all go back to it.
    std::vector<char*> held;
    held.reserve(blocks);
    for (size_t i = 0; i < blocks; ++i) {
      auto* p = static_cast<char*>(std::malloc(kBlockBytes));
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
