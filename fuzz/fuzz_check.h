// What the fuzz targets (fuzz/README.md) assert, and what they share: a broken promise prints
// what was expected and aborts, which libFuzzer reports as a crash and saves the input.
#ifndef CAIRN_FUZZ_FUZZ_CHECK_H_
#define CAIRN_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/hex.h"
#include "cas/ingestor.h"

#define FUZZ_CHECK(cond, what)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace cairn::fuzz {

inline std::string_view Bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An ingestor's options for one small input per run: one thread and two read blocks of 256 KiB,
// not the defaults' threads per core and six 4 MiB blocks, allocated and freed for every input.
inline cas::IngestOptions SmallIngestOptions() {
  cas::IngestOptions o;
  o.threads = 1;
  o.read_block_size = 256 << 10;
  o.read_blocks = 2;
  return o;
}

// `in` cut at its first `max_parts - 1` NUL bytes into at most `max_parts` parts (inputs made of
// several texts); always `max_parts` parts, the missing ones empty.
inline std::vector<std::string_view> SplitAtNul(std::string_view in, size_t max_parts) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() + 1 < max_parts) {
    size_t nul = in.find('\0', start);
    if (nul == std::string_view::npos) break;
    parts.push_back(in.substr(start, nul - start));
    start = nul + 1;
  }
  parts.push_back(in.substr(start));
  parts.resize(max_parts);
  return parts;
}

// For a failed round trip: where `again` (re-encoded) first differs from `in` (accepted).
inline std::string FirstDifference(std::string_view again, std::string_view in) {
  size_t i = 0;
  while (i < again.size() && i < in.size() && again[i] == in[i]) ++i;
  return "a non-canonical encoding was accepted: at byte " + std::to_string(i) + " of " +
         std::to_string(in.size()) + ", accepted " + HexEncode(in.substr(i, 16)) + ", canonical " +
         HexEncode(again.substr(i, 16));
}

// A decoder of a canonical format (one value, one encoding): Corruption, or a value that
// encodes back to exactly `in`. Returns what `decode` returned.
template <typename Decode, typename Encode>
auto CheckCanonical(std::string_view in, Decode decode, Encode encode) {
  auto value = decode(in);
  if (!value) {
    FUZZ_CHECK(value.error().IsCorruption(), value.error().ToString());
    return value;
  }
  const std::string again = encode(*value);
  FUZZ_CHECK(again == in, FirstDifference(again, in));
  return value;
}

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_FUZZ_CHECK_H_
