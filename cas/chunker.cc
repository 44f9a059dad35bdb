#include "cas/chunker.h"

#include <array>
#include <bit>
#include <string>

namespace cairn::cas {
namespace {

// 256 pseudo-random 64-bit values from splitmix64 with a fixed seed: fixed forever.
constexpr std::array<uint64_t, 256> MakeGearTable() {
  std::array<uint64_t, 256> t{};
  uint64_t x = 0x636169726e636463ULL;  // "cairncdc"
  for (auto& v : t) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    v = z ^ (z >> 31);
  }
  return t;
}
constexpr std::array<uint64_t, 256> kGear = MakeGearTable();

// A mask of `bits` ones at the top of the word: with the shift-left gear hash the top bits
// depend on the last 64 bytes, the widest window the hash has.
constexpr uint64_t TopMask(int bits) { return bits <= 0 ? 0 : ~uint64_t{0} << (64 - bits); }

}  // namespace

Status ChunkerOptions::Validate() const {
  if (min_size < 64 || min_size >= avg_size || avg_size >= max_size || max_size > (64u << 20) ||
      !std::has_single_bit(avg_size)) {
    return Status::InvalidArgument(
        "chunker options min=" + std::to_string(min_size) + " avg=" + std::to_string(avg_size) +
        " max=" + std::to_string(max_size) +
        ": need 64 <= min < avg < max <= 64 MiB and avg a power of two");
  }
  return Status();
}

size_t FindChunkBoundary(const ChunkerOptions& o, std::span<const uint8_t> data, bool at_end) {
  const size_t n = data.size() < o.max_size ? data.size() : o.max_size;
  if (n <= o.min_size) return (at_end || data.size() >= o.max_size) ? n : 0;
  // Normalized chunking (level 1): a harder mask before the average size, an easier one after,
  // which narrows the size distribution around avg_size.
  const int bits = std::countr_zero(o.avg_size);
  const uint64_t mask_hard = TopMask(bits + 1);
  const uint64_t mask_easy = TopMask(bits - 1);
  const size_t normal = n < o.avg_size ? n : o.avg_size;
  const uint8_t* p = data.data();
  uint64_t fp = 0;
  size_t i = o.min_size;
  for (; i < normal; ++i) {
    fp = (fp << 1) + kGear[p[i]];
    if ((fp & mask_hard) == 0) return i + 1;
  }
  for (; i < n; ++i) {
    fp = (fp << 1) + kGear[p[i]];
    if ((fp & mask_easy) == 0) return i + 1;
  }
  if (n == o.max_size || at_end) return n;
  return 0;
}

std::vector<size_t> ChunkLengths(const ChunkerOptions& o, std::span<const uint8_t> data) {
  std::vector<size_t> out;
  while (!data.empty()) {
    size_t len = FindChunkBoundary(o, data, /*at_end=*/true);
    out.push_back(len);
    data = data.subspan(len);
  }
  return out;
}

}  // namespace cairn::cas
