// WriteBatch: objects and key-value updates applied to an ObjectStore atomically.
//
// Thread-safety: not thread-safe; build a batch in one thread.
#ifndef CAIRN_CAS_WRITE_BATCH_H_
#define CAIRN_CAS_WRITE_BATCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cas/object.h"

namespace cairn::cas {

// Key spaces of a repository (RocksDB column families). Stable numbers, never renumbered.
enum class Space : uint8_t {
  kObjects = 0,     // position (RecordKey) -> record (written only through PutObject)
  kObjectInfo = 1,  // ObjectId -> type, raw size, stored size, position (only through PutObject)
  kContent = 2,     // whole-content SHA-256 of a large file -> its chunk-index ObjectId
  kMeta = 3,        // repository settings and counters
  kRefs = 4,        // the catalog's mutable names (catalog/)
  kCatalog = 5,     // the catalog's records and search indexes (catalog/)
  kStatCache = 6,   // no longer written: the stat cache is a host file (indexer/stat_cache.h); a
                    // checkin empties what older versions of cairn left here
};
constexpr int kNumSpaces = 7;
std::string_view SpaceName(Space space);

class WriteBatch {
 public:
  struct Op {
    // kPutObject and kDeleteObject name an object by id (key); ObjectStore::Write turns them
    // into the record and info entries, numbering new records (docs/format/store.md).
    enum Kind : uint8_t { kPut, kDelete, kPutObject, kDeleteObject } kind;
    Space space;
    std::string key;
    std::string value;        // kPut: the value; kPutObject: the record
    ObjectType type{};        // kPutObject only
    uint64_t raw_size = 0;    // kPutObject only
  };

  // Adds the object: its record and info entry. Writing an object that is present is a no-op.
  void PutObject(const EncodedObject& object);
  void PutObject(EncodedObject&& object);
  // REQUIRES: space is neither kObjects nor kObjectInfo.
  void Put(Space space, std::string_view key, std::string_view value);
  // As Put, taking the key and value over instead of copying them.
  void PutOwned(Space space, std::string&& key, std::string&& value);
  // Any space: tests use it on kObjects and kObjectInfo to damage a repository.
  void Delete(Space space, std::string_view key);
  // Removes an object (gc only).
  void DeleteObject(const ObjectId& id);
  // Moves the operations of `other` to the end of this batch.
  void Append(WriteBatch&& other);

  const std::vector<Op>& ops() const { return ops_; }
  bool has_objects() const { return objects_ > 0; }
  size_t ByteSize() const { return bytes_; }
  bool empty() const { return ops_.empty(); }
  void Clear() {
    ops_.clear();
    bytes_ = 0;
    objects_ = 0;
  }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
  size_t objects_ = 0;  // kPutObject and kDeleteObject ops
};

// The kObjectInfo value of an object.
struct ObjectInfo {
  ObjectType type;
  uint64_t raw_size;
  uint64_t stored_size;
  uint64_t position = 0;  // the kObjects key of its record (RecordKey)
};
// The kObjects key of the record at `position`: 8 bytes, big-endian, so keys sort in write order.
std::string RecordKey(uint64_t position);
// The position a kObjects key names; nullopt when the key is not 8 bytes.
std::optional<uint64_t> RecordPosition(std::string_view key);
std::string EncodeObjectInfo(const ObjectInfo& info);
Result<ObjectInfo> DecodeObjectInfo(const ObjectId& id, std::string_view value);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_WRITE_BATCH_H_
