// The stat cache (docs/format/catalog.md) is host state that a crash, a full disk or another
// program may have damaged: Decode must give a cache that encodes back to the same bytes (a
// file of an older format, which Decode still reads, to one that decodes to the same cache), or
// nothing (a damaged cache only costs time), never a crash.
#include "fuzz/fuzz_check.h"
#include "indexer/stat_cache.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  auto cache = indexer::StatCache::Decode(in, "/srv/golden");
  if (!cache) return 0;
  for (const auto& [rel, dir] : cache->dirs()) {
    FUZZ_CHECK(dir.names.size() == dir.files.size(), "as many names as files in '" + rel + "'");
  }
  const std::string again = cache->Encode("/srv/golden");
  for (const char* older : {"cairn-stat-cache-5\n", "cairn-stat-cache-6\n", "cairn-stat-cache-7\n",
                            "cairn-stat-cache-8\n"}) {
    if (!in.starts_with(older)) continue;
    auto back = indexer::StatCache::Decode(again, "/srv/golden");
    FUZZ_CHECK(back && back->dirs() == cache->dirs() && back->watch_token() == cache->watch_token(),
               std::string("a file of an older format (") + older +
                   ") encoded in the current one decodes to the same cache");
    return 0;
  }
  FUZZ_CHECK(again == in, fuzz::FirstDifference(again, in));
  return 0;
}
