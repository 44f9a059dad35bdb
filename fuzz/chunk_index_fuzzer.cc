// ChunkIndexes (docs/format/store.md) come from the store: DecodeChunkIndex must accept only a
// canonical encoding whose chunk sizes add up to the total, since readers seek by them.
#include "cas/chunk_index.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  auto index = fuzz::CheckCanonical(
      in, [](std::string_view b) { return cas::DecodeChunkIndex(ObjectId(), b); },
      cas::EncodeChunkIndex);
  if (!index) return 0;
  uint64_t sum = 0;
  for (const auto& c : index->chunks) {
    FUZZ_CHECK(c.size > 0, "an empty chunk");
    FUZZ_CHECK(sum + c.size > sum, "chunk sizes overflow");
    sum += c.size;
  }
  FUZZ_CHECK(sum == index->total_size, "chunk sizes do not add up to the total");
  return 0;
}
