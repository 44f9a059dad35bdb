// ChunkIndex: the object that stands for a large file's content (type kChunkIndex).
// Encoding in docs/format/store.md.
#ifndef CAIRN_CAS_CHUNK_INDEX_H_
#define CAIRN_CAS_CHUNK_INDEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"

namespace cairn::cas {

struct ChunkRef {
  ObjectId id;  // a Blob
  uint64_t size;
};

struct ChunkIndex {
  uint64_t total_size = 0;
  ObjectId content_sha256;  // SHA-256 of the whole content (what `sha256sum` prints)
  std::vector<ChunkRef> chunks;
};

std::string EncodeChunkIndex(const ChunkIndex& index);
// Corruption, naming `id`, if the bytes are not a valid encoding or the sizes do not add up.
Result<ChunkIndex> DecodeChunkIndex(const ObjectId& id, std::string_view data);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_CHUNK_INDEX_H_
