// Store statistics: what a repository holds and how well it deduplicates and compresses.
#ifndef CAIRN_CAS_STORE_STATS_H_
#define CAIRN_CAS_STORE_STATS_H_

#include <array>
#include <cstdint>

#include "cas/object_store.h"

namespace cairn::cas {

struct StoreStats {
  uint64_t objects = 0;
  std::array<uint64_t, 6> objects_by_type{};  // indexed by ObjectType
  uint64_t content_bytes = 0;  // uncompressed bytes of unique Blobs
  uint64_t raw_bytes = 0;      // uncompressed bytes of all objects
  uint64_t stored_bytes = 0;   // record bytes of all objects
};

// One scan of the info space: no object is read.
Result<StoreStats> ComputeStoreStats(ObjectStore* store);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_STORE_STATS_H_
