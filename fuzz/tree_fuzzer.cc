// Trees (docs/format/tree.md) come from the store, and a repository may come from anywhere:
// DecodeTree must refuse what is not a canonical encoding, so that one directory has exactly one
// id (the Merkle tree's promise), and must never accept a name a checkout could be led out of
// its target by.
#include <string>

#include "cas/tree.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  auto tree = fuzz::CheckCanonical(
      in, [](std::string_view b) { return cas::DecodeTree(ObjectId(), b); }, cas::EncodeTree);
  if (!tree) return 0;
  for (const auto& e : tree->entries) FUZZ_CHECK(cas::IsSafeName(e.name), e.name);
  for (const auto& group : tree->hardlinks) {
    FUZZ_CHECK(group.size() >= 2, "a hard link group of one name");
    for (const auto& path : group) FUZZ_CHECK(cas::IsSafeRelativePath(path), path);
  }
  return 0;
}
