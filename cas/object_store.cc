#include "cas/object_store.h"

#include <deque>

#include "base/hex.h"

namespace cairn::cas {
namespace {
Status MissingRecord(const ObjectId& id, uint64_t position) {
  return Status::Corruption("object " + id.ToHex() + ": its record (position " +
                            std::to_string(position) + ") is missing");
}
}  // namespace

Result<bool> ObjectStore::Contains(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto v, Get(Space::kObjectInfo, id.AsBytes()));
  return v.has_value();
}

Result<ObjectInfo> ObjectStore::Info(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto v, Get(Space::kObjectInfo, id.AsBytes()));
  if (!v) return Status::NotFound("object " + id.ToHex() + ": not in the repository");
  return DecodeObjectInfo(id, *v);
}

Result<bool> ObjectStore::GetView(Space space, std::string_view key,
                                  const std::function<void(std::string_view)>& fn) {
  CAIRN_ASSIGN_OR_RETURN(auto v, Get(space, key));
  if (!v) return false;
  fn(*v);
  return true;
}

Result<std::optional<ObjectInfo>> ObjectStore::CurrentInfo(
    const ObjectId& id, const std::unordered_map<ObjectId, std::optional<ObjectInfo>>& local) {
  if (auto it = local.find(id); it != local.end()) return it->second;
  CAIRN_ASSIGN_OR_RETURN(auto v, Get(Space::kObjectInfo, id.AsBytes()));
  if (!v) return std::optional<ObjectInfo>();
  CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, DecodeObjectInfo(id, *v));
  return std::optional<ObjectInfo>(info);
}

namespace {
// The undo of `raw`'s puts (Ingestor::Abort, UndoTreeIndex): a delete of each key.
uint64_t UndoBytes(std::span<const RawOp> raw) {
  uint64_t n = 0;
  for (const RawOp& op : raw) {
    if (op.put) n += op.key.size() + ObjectStore::kUndoBytesPerDelete;
  }
  return n;
}
}  // namespace

Status ObjectStore::Write(const WriteBatch& batch, const WriteOptions& options) {
  std::vector<RawOp> raw;
  raw.reserve(batch.ops().size() * 2);
  auto plain = [&](const WriteBatch::Op& op) {
    raw.push_back({op.kind == WriteBatch::Op::kPut, op.space, op.key, op.value});
  };
  if (!batch.has_objects()) {
    for (const auto& op : batch.ops()) plain(op);
    if (options.bulk) CAIRN_RETURN_IF_ERROR(HoldUndoRoom(UndoBytes(raw)));
    return WriteRaw(raw, options);
  }
  std::lock_guard lock(write_mu_);
  if (next_position_ == 0) {
    CAIRN_ASSIGN_OR_RETURN(auto last, LastKey(Space::kObjects));
    next_position_ = 1;
    if (last) {
      auto p = RecordPosition(*last);
      if (!p) return Status::Corruption("read object records: a key is not a position");
      next_position_ = *p + 1;
    }
  }
  uint64_t next = next_position_;
  std::deque<std::string> storage;  // record keys and info values; a deque never moves them
  std::unordered_map<ObjectId, std::optional<ObjectInfo>> local;
  for (const auto& op : batch.ops()) {
    if (op.kind == WriteBatch::Op::kPut || op.kind == WriteBatch::Op::kDelete) {
      plain(op);
      continue;
    }
    auto id = ObjectId::FromBytes(op.key);
    if (!id) return id.error();
    CAIRN_ASSIGN_OR_RETURN(std::optional<ObjectInfo> current, CurrentInfo(*id, local));
    if (op.kind == WriteBatch::Op::kPutObject) {
      if (current) continue;
      ObjectInfo info{op.type, op.raw_size, op.value.size(), next++};
      raw.push_back({true, Space::kObjects, storage.emplace_back(RecordKey(info.position)), op.value});
      raw.push_back({true, Space::kObjectInfo, op.key, storage.emplace_back(EncodeObjectInfo(info))});
      local[*id] = info;
    } else {
      if (!current) continue;
      raw.push_back({false, Space::kObjects, storage.emplace_back(RecordKey(current->position)), {}});
      raw.push_back({false, Space::kObjectInfo, op.key, {}});
      local[*id] = std::nullopt;
    }
  }
  if (options.bulk) CAIRN_RETURN_IF_ERROR(HoldUndoRoom(UndoBytes(raw)));
  CAIRN_RETURN_IF_ERROR(WriteRaw(raw, options));
  next_position_ = next;
  return Status();
}

Result<DecodedObject> ObjectStore::Read(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, Info(id));
  return ReadRecord(id, info.position);
}

Result<DecodedObject> ObjectStore::ReadRecord(const ObjectId& id, uint64_t position) {
  Result<DecodedObject> out = Status::Internal("unset");
  CAIRN_ASSIGN_OR_RETURN(bool found, GetView(Space::kObjects, RecordKey(position),
                                             [&](std::string_view rec) { out = DecodeObject(id, rec); }));
  if (!found) {
    return MissingRecord(id, position);
  }
  return out;
}

Result<std::string> ObjectStore::ReadTyped(const ObjectId& id, ObjectType type) {
  CAIRN_ASSIGN_OR_RETURN(DecodedObject obj, Read(id));
  if (obj.type != type) {
    return WrongType(id, type, obj.type);
  }
  return std::move(obj.data);
}

Status ObjectStore::ReadInto(const ObjectId& id, ObjectType type, std::span<char> out) {
  CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, Info(id));
  Status s = Status::Internal("unset");
  CAIRN_ASSIGN_OR_RETURN(
      bool found, GetView(Space::kObjects, RecordKey(info.position),
                          [&](std::string_view rec) { s = DecodeObjectInto(id, type, rec, out); }));
  if (!found) {
    return MissingRecord(id, info.position);
  }
  return s;
}

Result<ObjectInfo> ObjectStore::CheckedInfo(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, Info(id));
  Result<RecordHeader> h = Status::Internal("unset");
  CAIRN_ASSIGN_OR_RETURN(bool found,
                         GetView(Space::kObjects, RecordKey(info.position),
                                 [&](std::string_view rec) { h = ParseRecordHeader(id, rec); }));
  if (!found) return MissingRecord(id, info.position);
  if (!h) return h.error();
  if (h->type != info.type || h->raw_size != info.raw_size) {
    return Status::Corruption(
        "read object " + id.Short() + ": its info (" + std::string(ObjectTypeName(info.type)) +
        ", " + std::to_string(info.raw_size) + " bytes) disagrees with its record (" +
        std::string(ObjectTypeName(h->type)) + ", " + std::to_string(h->raw_size) + " bytes)");
  }
  return info;
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
    const std::function<bool(uint64_t position, std::string_view record)>& fn) {
  Status inner;
  CAIRN_RETURN_IF_ERROR(Scan(Space::kObjects, "", [&](std::string_view k, std::string_view v) {
    auto position = RecordPosition(k);
    if (!position) {
      inner = Status::Corruption("read object records: a key of " + std::to_string(k.size()) +
                                 " bytes is not a position");
      return false;
    }
    return fn(*position, v);
  }));
  return inner;
}

Status ObjectStore::UndoRecovering(const std::function<Status()>& undo) {
  Status s = undo();
  if (s.code() != Code::kNoSpace) return s;
  CAIRN_RETURN_IF_ERROR(Recover());
  return undo();
}

}  // namespace cairn::cas
