// Content-defined chunking (FastCDC-style gear hash with normalized chunking).
//
// A pure function over bytes: the cut points depend only on the content, so an insertion near
// the front of a file changes only the chunks around it and the rest deduplicate. The gear
// table and masks are part of the on-disk format in effect (docs/format/store.md): changing them
// does not corrupt a repository but stops new data from deduplicating against old.
#ifndef CAIRN_CAS_CHUNKER_H_
#define CAIRN_CAS_CHUNKER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace cairn::cas {

struct ChunkerOptions {
  // Default: 16 KiB. No cut is made before this many bytes (except at the end of the data).
  size_t min_size = 16 << 10;
  // Default: 64 KiB. The expected chunk size; must be a power of two.
  size_t avg_size = 64 << 10;
  // Default: 256 KiB. A chunk never exceeds this.
  size_t max_size = 256 << 10;

  // InvalidArgument unless 64 <= min < avg < max <= 64 MiB and avg is a power of two.
  Status Validate() const;
};

// Returns the length of the chunk that starts at data[0].
// - If a cut point lies within data (or data.size() >= max_size), returns it (<= max_size).
// - Else, if at_end, returns data.size() (the tail chunk).
// - Else returns 0: more data is needed to decide.
// REQUIRES: options.Validate().ok().
size_t FindChunkBoundary(const ChunkerOptions& options, std::span<const uint8_t> data, bool at_end);

// All chunk lengths of a whole buffer, in order. Their sum is data.size().
std::vector<size_t> ChunkLengths(const ChunkerOptions& options, std::span<const uint8_t> data);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_CHUNKER_H_
