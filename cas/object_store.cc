#include "cas/object_store.h"

#include "base/hex.h"

namespace cairn::cas {

Result<bool> ObjectStore::Contains(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto v, Get(Space::kObjectInfo, id.AsBytes()));
  return v.has_value();
}

Result<ObjectInfo> ObjectStore::Info(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto v, Get(Space::kObjectInfo, id.AsBytes()));
  if (!v) return Status::NotFound("object " + id.ToHex() + ": not in the repository");
  return DecodeObjectInfo(id, *v);
}

Result<DecodedObject> ObjectStore::Read(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto v, Get(Space::kObjects, id.AsBytes()));
  if (!v) return Status::NotFound("object " + id.ToHex() + ": not in the repository");
  return DecodeObject(id, *v);
}

Result<std::string> ObjectStore::ReadTyped(const ObjectId& id, ObjectType type) {
  CAIRN_ASSIGN_OR_RETURN(DecodedObject obj, Read(id));
  if (obj.type != type) {
    return Status::Corruption("read " + std::string(ObjectTypeName(type)) + " " + id.Short() +
                              ": object is a " + std::string(ObjectTypeName(obj.type)));
  }
  return std::move(obj.data);
}

Result<ObjectId> ObjectStore::ResolvePrefix(std::string_view hex) {
  CAIRN_ASSIGN_OR_RETURN(std::string prefix, NormalizeIdPrefix(hex));
  if (prefix.size() == ObjectId::kHexSize) {
    CAIRN_ASSIGN_OR_RETURN(ObjectId id, ObjectId::FromHex(prefix));
    CAIRN_ASSIGN_OR_RETURN(bool present, Contains(id));
    if (!present) return Status::NotFound("object " + prefix + ": not in the repository");
    return id;
  }
  // Scan by the whole bytes of the prefix, then filter on a trailing odd nibble.
  std::string bytes = *HexDecode(prefix.substr(0, prefix.size() & ~size_t{1}));
  std::vector<ObjectId> found;
  CAIRN_RETURN_IF_ERROR(Scan(Space::kObjectInfo, bytes, [&](std::string_view key, std::string_view) {
    if (key.size() != ObjectId::kSize) return true;
    auto id = ObjectId::FromBytes(key);
    if (id && id->ToHex().starts_with(prefix)) found.push_back(*id);
    return found.size() < 5;
  }));
  if (found.empty()) return Status::NotFound("object " + prefix + ": no object has this prefix");
  if (found.size() > 1) {
    std::string msg = "object " + prefix + ": ambiguous prefix, matches";
    for (const auto& id : found) msg += " " + id.Short();
    if (found.size() == 5) msg += " ...";
    return Status::Ambiguous(msg);
  }
  return found[0];
}

Status ObjectStore::ForEachObject(
    const std::function<bool(const ObjectId&, const ObjectInfo&)>& fn) {
  Status inner;
  CAIRN_RETURN_IF_ERROR(Scan(Space::kObjectInfo, "", [&](std::string_view k, std::string_view v) {
    auto id = ObjectId::FromBytes(k);
    if (!id) {
      inner = id.error();
      return false;
    }
    auto info = DecodeObjectInfo(*id, v);
    if (!info) {
      inner = info.error();
      return false;
    }
    return fn(*id, *info);
  }));
  return inner;
}

Status ObjectStore::ForEachRecord(
    const std::function<bool(const ObjectId&, std::string_view record)>& fn) {
  Status inner;
  CAIRN_RETURN_IF_ERROR(Scan(Space::kObjects, "", [&](std::string_view k, std::string_view v) {
    auto id = ObjectId::FromBytes(k);
    if (!id) {
      inner = id.error();
      return false;
    }
    return fn(*id, v);
  }));
  return inner;
}

}  // namespace cairn::cas
