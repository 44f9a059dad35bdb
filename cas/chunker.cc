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

namespace {

// The gear hash after byte i is sum over k of kGear[p[i - k]] << k: a byte shifts out of the
// 64-bit word 64 steps later, so the hash at any position is the hash of at most its last 64
// bytes (from `origin` on, where the hash starts at 0). Returns the hash before position `at`.
uint64_t HashBefore(const uint8_t* p, size_t origin, size_t at) {
  uint64_t fp = 0;
  for (size_t k = at - origin > 64 ? at - 64 : origin; k < at; ++k) fp = (fp << 1) + kGear[p[k]];
  return fp;
}

// The first position i in [from, to) whose hash (of bytes origin..i) has none of `mask`'s bits
// set; `to` if there is none.
//
// One hash is a chain of dependent shift-adds, two cycles a byte. Two independent lanes, one on
// each half of a 2 * kLane window (the second started kLane bytes on, its hash rebuilt from the
// 64 bytes before it), run in the same loop and double the bytes per cycle. A cut in the first
// lane is the answer; one in the second is once the first lane has been scanned to its end.
size_t FirstCut(const uint8_t* p, size_t origin, size_t from, size_t to, uint64_t mask) {
  constexpr size_t kLane = 4096;
  size_t i = from;
  uint64_t fa = HashBefore(p, origin, i);
  while (to - i >= 2 * kLane) {
    const size_t j = i + kLane;
    uint64_t fb = HashBefore(p, origin, j);
    for (size_t k = 0; k < kLane; ++k) {
      fa = (fa << 1) + kGear[p[i + k]];
      fb = (fb << 1) + kGear[p[j + k]];
      if ((fa & mask) == 0) return i + k;
      if ((fb & mask) == 0) {
        for (size_t m = k + 1; m < kLane; ++m) {
          fa = (fa << 1) + kGear[p[i + m]];
          if ((fa & mask) == 0) return i + m;
        }
        return j + k;
      }
    }
    fa = fb;
    i = j + kLane;
  }
  for (; i < to; ++i) {
    fa = (fa << 1) + kGear[p[i]];
    if ((fa & mask) == 0) return i;
  }
  return to;
}

}  // namespace

size_t FindChunkBoundary(const ChunkerOptions& o, std::span<const uint8_t> data, bool at_end) {
  const size_t n = data.size() < o.max_size ? data.size() : o.max_size;
  if (n <= o.min_size) return (at_end || data.size() >= o.max_size) ? n : 0;
  // Normalized chunking (level 1): a harder mask before the average size, an easier one after,
  // which narrows the size distribution around avg_size. The hash starts at min_size.
  const int bits = std::countr_zero(o.avg_size);
  const size_t normal = n < o.avg_size ? n : o.avg_size;
  const uint8_t* p = data.data();
  size_t cut = FirstCut(p, o.min_size, o.min_size, normal, TopMask(bits + 1));
  if (cut < normal) return cut + 1;
  cut = FirstCut(p, o.min_size, normal, n, TopMask(bits - 1));
  if (cut < n) return cut + 1;
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
