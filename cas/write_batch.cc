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
  PutVarint64(&v, info.position);
  return v;
}

std::string RecordKey(uint64_t position) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, position >>= 8) k[i] = static_cast<char>(position & 0xff);
  return k;
}

std::optional<uint64_t> RecordPosition(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  uint64_t p = 0;
  for (char c : key) p = (p << 8) | static_cast<unsigned char>(c);
  return p;
}

Result<ObjectInfo> DecodeObjectInfo(const ObjectId& id, std::string_view v) {
  ObjectInfo info;
  if (v.empty() || !IsKnownObjectType(static_cast<uint8_t>(v[0]))) {
    return Status::Corruption("read object info " + id.Short() + ": bad type");
  }
  info.type = static_cast<ObjectType>(v[0]);
  v.remove_prefix(1);
  if (!GetVarint64(&v, &info.raw_size) || !GetVarint64(&v, &info.stored_size) ||
      !GetVarint64(&v, &info.position)) {
    return Status::Corruption("read object info " + id.Short() + ": truncated");
  }
  if (!v.empty()) return Status::Corruption("read object info " + id.Short() + ": trailing bytes");
  return info;
}

void WriteBatch::PutObject(EncodedObject&& object) {
  bytes_ += ObjectId::kSize + 16 + object.record.size();
  ++objects_;
  ops_.push_back({Op::kPutObject, Space::kObjects, std::string(object.id.AsBytes()),
                  std::move(object.record), object.type, object.raw_size});
}

void WriteBatch::PutObject(const EncodedObject& object) { PutObject(EncodedObject(object)); }

void WriteBatch::Put(Space space, std::string_view key, std::string_view value) {
  assert(space != Space::kObjects && space != Space::kObjectInfo);
  bytes_ += key.size() + value.size();
  ops_.push_back({Op::kPut, space, std::string(key), std::string(value), {}, 0});
}

void WriteBatch::PutOwned(Space space, std::string&& key, std::string&& value) {
  assert(space != Space::kObjects && space != Space::kObjectInfo);
  bytes_ += key.size() + value.size();
  ops_.push_back({Op::kPut, space, std::move(key), std::move(value), {}, 0});
}

void WriteBatch::Delete(Space space, std::string_view key) {
  bytes_ += key.size();
  ops_.push_back({Op::kDelete, space, std::string(key), {}, {}, 0});
}

void WriteBatch::DeleteObject(const ObjectId& id) {
  ++objects_;
  ops_.push_back({Op::kDeleteObject, Space::kObjects, std::string(id.AsBytes()), {}, {}, 0});
  bytes_ += ObjectId::kSize;
}

void WriteBatch::Append(WriteBatch&& other) {
  if (ops_.empty()) {
    *this = std::move(other);
  } else {
    ops_.reserve(ops_.size() + other.ops_.size());
    for (auto& op : other.ops_) ops_.push_back(std::move(op));
    bytes_ += other.bytes_;
    objects_ += other.objects_;
  }
  other.Clear();
}

}  // namespace cairn::cas
