#include "cas/chunk_index.h"

#include "base/coding.h"
#include "cas/object.h"

namespace cairn::cas {
namespace {
constexpr std::string_view kMagic("cairn-chunk-index-1\n", 20);
}

std::string EncodeChunkIndex(const ChunkIndex& index) {
  std::string out(kMagic);
  PutVarint64(&out, index.total_size);
  out.append(index.content_sha256.AsBytes());
  PutVarint64(&out, index.chunks.size());
  for (const auto& c : index.chunks) {
    out.append(c.id.AsBytes());
    PutVarint64(&out, c.size);
  }
  return out;
}

Result<ChunkIndex> DecodeChunkIndex(const ObjectId& id, std::string_view in) {
  auto bad = [&](const char* what) {
    return Status::Corruption("decode chunk-index " + id.Short() + ": " + what);
  };
  if (!in.starts_with(kMagic)) return bad("bad magic");
  in.remove_prefix(kMagic.size());
  ChunkIndex out;
  std::string_view digest;
  uint64_t count;
  if (!GetVarint64(&in, &out.total_size) || !GetBytes(&in, ObjectId::kSize, &digest) ||
      !GetVarint64(&in, &count)) {
    return bad("truncated header");
  }
  out.content_sha256 = *ObjectId::FromBytes(digest);
  if (count > in.size() / (ObjectId::kSize + 1)) return bad("chunk count exceeds data");
  // An empty file and a file of one chunk are Blobs (Ingestor::FinishFile): one content, one id.
  if (count < 2) return bad("fewer than two chunks");
  out.chunks.reserve(count);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view raw;
    ChunkRef c;
    if (!GetBytes(&in, ObjectId::kSize, &raw) || !GetVarint64(&in, &c.size)) {
      return bad("truncated chunk list");
    }
    c.id = *ObjectId::FromBytes(raw);
    // Readers size their buffers by these before any chunk is read (no sum can wrap: the count
    // is bounded by the record's length).
    if (c.size > kMaxObjectSize) return bad("a chunk larger than any object");
    if (c.size == 0) return bad("an empty chunk");
    sum += c.size;
    out.chunks.push_back(c);
  }
  if (!in.empty()) return bad("trailing bytes");
  if (sum != out.total_size) return bad("chunk sizes do not add up to the file size");
  return out;
}

}  // namespace cairn::cas
