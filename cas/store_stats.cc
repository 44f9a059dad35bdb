#include "cas/store_stats.h"

namespace cairn::cas {

Result<StoreStats> ComputeStoreStats(ObjectStore* store) {
  StoreStats s;
  CAIRN_RETURN_IF_ERROR(store->ForEachObject([&](const ObjectId&, const ObjectInfo& info) {
    s.objects++;
    s.objects_by_type[static_cast<size_t>(info.type)]++;
    if (info.type == ObjectType::kBlob) s.content_bytes += info.raw_size;
    s.raw_bytes += info.raw_size;
    s.stored_bytes += info.stored_size;
    return true;
  }));
  return s;
}

}  // namespace cairn::cas
