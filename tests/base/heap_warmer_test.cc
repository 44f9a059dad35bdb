#include "base/heap_warmer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace cairn {
namespace {

// Resident pages of [p, p + n) (p page-aligned), by mincore.
size_t Resident(char* p, size_t n) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((n + page - 1) / page);
  EXPECT_EQ(::mincore(p, n, v.data()), 0);
  size_t r = 0;
  for (unsigned char c : v) r += c & 1;
  return r;
}

// Fresh anonymous pages are not resident until touched; PopulatePages makes every whole page
// inside the range resident (and zero), and no page outside it.
TEST(HeapWarmerTest, PopulatePagesFaultsInExactlyTheWholePagesOfTheRange) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t n = 64 * page;
  auto* p = static_cast<char*>(::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(Resident(p, n), 0u);
  // From the middle of page 2 to the middle of page 12: pages 3..11 are whole.
  PopulatePages(p + 2 * page + 100, 10 * page);
  EXPECT_EQ(Resident(p, 3 * page), 0u) << "pages before the range's first whole page";
  EXPECT_EQ(Resident(p + 3 * page, 9 * page), 9u);
  EXPECT_EQ(Resident(p + 12 * page, n - 12 * page), 0u) << "the partial last page and beyond";
  for (size_t i = 3 * page; i < 12 * page; ++i) ASSERT_EQ(p[i], 0);
  PopulatePages(p, 0);
  PopulatePages(p + 1, page - 2);  // no whole page
  EXPECT_EQ(Resident(p, page), 0u);
  ::munmap(p, n);
}

// A warmer gives its blocks back: the process can allocate and use memory as before, and the
// destructor waits for the thread (no warmer outlives its scope; ASan sees no leak).
TEST(HeapWarmerTest, GivesItsMemoryBackAndJoins) {
  { HeapWarmer none(0); }
  {
    HeapWarmer w(3 * HeapWarmer::kBlockBytes - 1);  // three blocks
    auto* q = static_cast<char*>(std::malloc(HeapWarmer::kBlockBytes));
    ASSERT_NE(q, nullptr);
    std::memset(q, 7, HeapWarmer::kBlockBytes);
    EXPECT_EQ(q[HeapWarmer::kBlockBytes - 1], 7);
    std::free(q);
  }
}

}  // namespace
}  // namespace cairn
