#include "cas/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "tests/cas/test_util.h"

namespace cairn::cas {
namespace {

using testing::RandomBytes;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The digests of the chunks of `data`, in order.
std::vector<ObjectId> ChunkDigests(const ChunkerOptions& o, const std::string& data) {
  std::vector<ObjectId> out;
  size_t pos = 0;
  for (size_t len : ChunkLengths(o, Bytes(data))) {
    out.push_back(Sha256::Of(std::string_view(data).substr(pos, len)));
    pos += len;
  }
  return out;
}

// The chunker as docs/format/store.md states it, one byte at a time: the reference the fast
// scan must agree with cut for cut. Its gear table is derived here again from the format's seed.
size_t ReferenceBoundary(const ChunkerOptions& o, std::span<const uint8_t> data, bool at_end) {
  static const std::vector<uint64_t> gear = [] {
    std::vector<uint64_t> t(256);
    uint64_t x = 0x636169726e636463ULL;
    for (auto& v : t) {
      x += 0x9e3779b97f4a7c15ULL;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      v = z ^ (z >> 31);
    }
    return t;
  }();
  const size_t n = std::min(data.size(), o.max_size);
  if (n <= o.min_size) return (at_end || data.size() >= o.max_size) ? n : 0;
  const int bits = std::countr_zero(o.avg_size);
  const uint64_t hard = ~uint64_t{0} << (64 - (bits + 1));
  const uint64_t easy = ~uint64_t{0} << (64 - (bits - 1));
  uint64_t fp = 0;
  for (size_t i = o.min_size; i < n; ++i) {
    fp = (fp << 1) + gear[data[i]];
    if ((fp & (i < std::min(n, o.avg_size) ? hard : easy)) == 0) return i + 1;
  }
  return (n == o.max_size || at_end) ? n : 0;
}

TEST(ChunkerTest, DefaultOptionsAreValid) { EXPECT_TRUE(ChunkerOptions().Validate().ok()); }

TEST(ChunkerTest, ValidateRejectsBadOptions) {
  std::vector<ChunkerOptions> bad = {
      {32, 1024, 4096},               // min below 64
      {1024, 1024, 4096},             // min == avg
      {2048, 1024, 4096},             // min > avg
      {256, 4096, 4096},              // avg == max
      {256, 3000, 8192},              // avg not a power of two
      {1 << 20, 16 << 20, 128 << 20}  // max above 64 MiB
  };
  for (const auto& o : bad) {
    Status s = o.Validate();
    EXPECT_EQ(s.code(), Code::kInvalidArgument)
        << o.min_size << " " << o.avg_size << " " << o.max_size;
  }
  EXPECT_TRUE((ChunkerOptions{64, 128, 256}).Validate().ok());
  EXPECT_TRUE((ChunkerOptions{1 << 20, 16 << 20, 64 << 20}).Validate().ok());
}

TEST(ChunkerTest, EmptyInputHasNoChunks) {
  EXPECT_TRUE(ChunkLengths(ChunkerOptions(), {}).empty());
}

TEST(ChunkerTest, InputNoLongerThanMinIsOneChunk) {
  ChunkerOptions o;
  std::string data = RandomBytes(o.min_size, 3);
  EXPECT_EQ(ChunkLengths(o, Bytes(data)), std::vector<size_t>{o.min_size});
  // Without the end of the data, no decision can be made yet.
  EXPECT_EQ(FindChunkBoundary(o, Bytes(data), /*at_end=*/false), 0u);
}

TEST(ChunkerTest, CutsAreDeterministic) {
  ChunkerOptions o;
  std::string data = RandomBytes(8 << 20, 4);
  std::string copy = data;
  auto a = ChunkLengths(o, Bytes(data));
  auto b = ChunkLengths(o, Bytes(copy));
  EXPECT_EQ(a, b);
  EXPECT_GT(a.size(), 1u);
}

TEST(ChunkerTest, ChunksStayWithinMinAndMaxExceptTheLast) {
  for (ChunkerOptions o : {ChunkerOptions(), ChunkerOptions{256, 1024, 4096}}) {
    std::string data = RandomBytes(6 << 20, 5) + std::string(2 << 20, '\0') + RandomBytes(12345, 6);
    auto lengths = ChunkLengths(o, Bytes(data));
    ASSERT_GT(lengths.size(), 2u);
    EXPECT_EQ(std::accumulate(lengths.begin(), lengths.end(), size_t{0}), data.size());
    for (size_t i = 0; i + 1 < lengths.size(); ++i) {
      EXPECT_GE(lengths[i], o.min_size) << "chunk " << i;
      EXPECT_LE(lengths[i], o.max_size) << "chunk " << i;
    }
    EXPECT_GE(lengths.back(), 1u);
    EXPECT_LE(lengths.back(), o.max_size);
  }
}

TEST(ChunkerTest, DataWithoutCutPointsIsCutAtMaxSize) {
  ChunkerOptions o;
  std::string zeros(10 * o.max_size + 100, '\0');
  auto lengths = ChunkLengths(o, Bytes(zeros));
  ASSERT_EQ(lengths.size(), 11u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(lengths[i], o.max_size);
  EXPECT_EQ(lengths.back(), 100u);
  EXPECT_EQ(FindChunkBoundary(o, Bytes(zeros), /*at_end=*/false), o.max_size);
}

TEST(ChunkerTest, AverageChunkSizeIsNearTheTarget) {
  for (ChunkerOptions o : {ChunkerOptions(), ChunkerOptions{1024, 8192, 32768}}) {
    std::string data = RandomBytes(32 << 20, 7);
    auto lengths = ChunkLengths(o, Bytes(data));
    double mean = static_cast<double>(data.size()) / lengths.size();
    EXPECT_GT(mean, 0.5 * o.avg_size) << "avg " << o.avg_size;
    EXPECT_LT(mean, 2.0 * o.avg_size) << "avg " << o.avg_size;
  }
}

TEST(ChunkerTest, InsertingOneByteNearTheFrontChangesOnlyTheFirstChunks) {
  ChunkerOptions o;
  std::string original = RandomBytes(64 << 20, 8);
  std::string shifted = original;
  shifted.insert(shifted.begin() + 1000, '\x5a');
  auto before = ChunkDigests(o, original);
  auto after = ChunkDigests(o, shifted);
  std::set<ObjectId> before_set(before.begin(), before.end());
  ASSERT_GT(before.size(), 500u);
  size_t differing_prefix = 0;
  while (differing_prefix < after.size() && !before_set.contains(after[differing_prefix])) {
    ++differing_prefix;
  }
  EXPECT_LE(differing_prefix, 3u);
  for (size_t i = differing_prefix; i < after.size(); ++i) {
    EXPECT_TRUE(before_set.contains(after[i])) << "chunk " << i << " of " << after.size();
  }
  EXPECT_LE(before.size() - (after.size() - differing_prefix), 3u);
}

// Feeds the data in pieces of random sizes, as a reader of a stream would, and collects cuts.
std::vector<size_t> StreamingLengths(const ChunkerOptions& o, const std::string& data,
                                     uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<size_t> out;
  size_t start = 0, available = 0;
  while (start < data.size()) {
    bool at_end = available == data.size();
    size_t len = FindChunkBoundary(o, Bytes(data).subspan(start, available - start), at_end);
    if (len == 0) {
      EXPECT_FALSE(at_end);
      available = std::min(data.size(), available + 1 + rng() % (3 * o.max_size / 2));
      continue;
    }
    EXPECT_LE(start + len, available);
    out.push_back(len);
    start += len;
  }
  return out;
}

TEST(ChunkerTest, StreamingBoundariesEqualWholeBufferBoundaries) {
  for (ChunkerOptions o : {ChunkerOptions(), ChunkerOptions{256, 1024, 4096}}) {
    std::string data =
        RandomBytes(5 << 20, 9) + std::string(o.max_size * 3, 'a') + RandomBytes(777, 10);
    auto whole = ChunkLengths(o, Bytes(data));
    for (uint64_t seed : {1, 2, 3}) {
      EXPECT_EQ(StreamingLengths(o, data, seed), whole) << "seed " << seed;
    }
  }
}


// The two-lane scan against the byte loop: every cut on random data, on data with long runs
// and few cut points, on text, with windows ending before, inside and after the lanes, at the
// end of the data and not.
TEST(ChunkerTest, CutsEqualTheReferenceByteLoop) {
  std::string text;
  while (text.size() < (3 << 20)) text += "Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n";
  std::string runs;
  for (int i = 0; runs.size() < (3 << 20); ++i) runs += std::string(1 + (i * 7919) % 20000, char(i)) + RandomBytes(i % 300, i);
  const std::vector<std::string> inputs = {RandomBytes(6 << 20, 21), text, runs, std::string(1 << 20, '\0')};
  const std::vector<ChunkerOptions> options = {ChunkerOptions(), ChunkerOptions{256, 1024, 4096},
                                               ChunkerOptions{64, 128, 1 << 20},
                                               ChunkerOptions{4096, 16384, 300000},
                                               ChunkerOptions{8192, 1 << 20, 8 << 20}};
  std::mt19937_64 rng(5);
  size_t checked = 0, cuts_inside = 0;
  for (const ChunkerOptions& o : options) {
    for (const std::string& in : inputs) {
      auto all = Bytes(in);
      // Every chunk of the whole input, as ChunkLengths cuts it.
      size_t pos = 0;
      while (pos < all.size()) {
        auto rest = all.subspan(pos);
        size_t want = ReferenceBoundary(o, rest, true);
        ASSERT_EQ(FindChunkBoundary(o, rest, true), want) << "options " << o.min_size << "/" << o.avg_size
                                                          << "/" << o.max_size << " at " << pos;
        cuts_inside += want < std::min(rest.size(), o.max_size);
        pos += want;
        ++checked;
      }
      // Windows of random starts and lengths, at the end of the data or not.
      for (int k = 0; k < 200; ++k) {
        size_t start = rng() % all.size();
        size_t len = rng() % std::min(all.size() - start + 1, 2 * o.max_size + 1);
        auto w = all.subspan(start, len);
        for (bool at_end : {false, true}) {
          ASSERT_EQ(FindChunkBoundary(o, w, at_end), ReferenceBoundary(o, w, at_end))
              << "options " << o.min_size << "/" << o.avg_size << "/" << o.max_size << " window "
              << start << "+" << len << " at_end " << at_end;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(cuts_inside, 1000u);  // content cuts, not only max-size ones, were compared
  EXPECT_GT(checked, 5000u);
}

}  // namespace
}  // namespace cairn::cas
