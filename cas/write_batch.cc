#include "cas/write_batch.h"

#include <cassert>

#include "base/coding.h"

namespace cairn::cas {

std::string_view SpaceName(Space space) {
  switch (space) {
    case Space::kObjects: return "objects";
    case Space::kObjectInfo: return "object_info";
    case Space::kContent: return "content";
    case Space::kMeta: return "meta";
    case Space::kRefs: return "refs";
    case Space::kCatalog: return "catalog";
    case Space::kStatCache: return "stat_cache";
  }
  return "unknown";
}

std::string EncodeObjectInfo(const ObjectInfo& info) {
  std::string v;
  v.push_back(static_cast<char>(info.type));
  PutVarint64(&v, info.raw_size);
  PutVarint64(&v, info.stored_size);
  return v;
}

Result<ObjectInfo> DecodeObjectInfo(const ObjectId& id, std::string_view v) {
  ObjectInfo info;
  if (v.empty() || !IsKnownObjectType(static_cast<uint8_t>(v[0]))) {
    return Status::Corruption("read object info " + id.Short() + ": bad type");
  }
  info.type = static_cast<ObjectType>(v[0]);
  v.remove_prefix(1);
  if (!GetVarint64(&v, &info.raw_size) || !GetVarint64(&v, &info.stored_size)) {
    return Status::Corruption("read object info " + id.Short() + ": truncated");
  }
  return info;
}

void WriteBatch::PutObject(EncodedObject&& object) {
  std::string key(object.id.AsBytes());
  std::string info = EncodeObjectInfo({object.type, object.raw_size, object.record.size()});
  bytes_ += 2 * key.size() + info.size() + object.record.size();
  ops_.push_back({Op::kPut, Space::kObjects, key, std::move(object.record)});
  ops_.push_back({Op::kPut, Space::kObjectInfo, std::move(key), std::move(info)});
}

void WriteBatch::PutObject(const EncodedObject& object) { PutObject(EncodedObject(object)); }

void WriteBatch::Put(Space space, std::string_view key, std::string_view value) {
  assert(space != Space::kObjects && space != Space::kObjectInfo);
  bytes_ += key.size() + value.size();
  ops_.push_back({Op::kPut, space, std::string(key), std::string(value)});
}

void WriteBatch::Delete(Space space, std::string_view key) {
  bytes_ += key.size();
  ops_.push_back({Op::kDelete, space, std::string(key), {}});
}

void WriteBatch::DeleteObject(const ObjectId& id) {
  ops_.push_back({Op::kDelete, Space::kObjects, std::string(id.AsBytes()), {}});
  ops_.push_back({Op::kDelete, Space::kObjectInfo, std::string(id.AsBytes()), {}});
  bytes_ += 2 * ObjectId::kSize;
}

}  // namespace cairn::cas
