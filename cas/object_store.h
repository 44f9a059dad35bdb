// ObjectStore: the content-addressed store every other module writes into.
//
// Implementations (RocksDB on disk, in-memory for tests) provide the raw key spaces; this base
// class adds the typed, verified object operations on top, so verification cannot be forgotten
// by any implementation. Every object read is checked against its id: a mismatch is Corruption
// naming the object, never wrong bytes.
//
// Thread-safety: all methods are safe to call concurrently from many threads. Across processes,
// one process writes at a time (see cas/repository.h); readers in other processes see a
// consistent snapshot as of their open.
#ifndef CAIRN_CAS_OBJECT_STORE_H_
#define CAIRN_CAS_OBJECT_STORE_H_

#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"
#include "cas/object.h"
#include "cas/write_batch.h"

namespace cairn::cas {

struct WriteOptions {
  // When true, the write (and every earlier one) is on stable storage when Write returns.
  // Default: false.
  bool sync = false;
  // Bulk object ingest: skip the write-ahead log. Such writes become durable only at the next
  // Flush() (FlushAll() for spaces other than the object spaces); a crash before it loses them,
  // which is harmless as long as nothing that refers to them (a ref) is written before it.
  // A failed command undoes its bulk puts (Ingestor::Abort), so room for that undo is held
  // before they are written (HoldUndoRoom). Default: false.
  bool bulk = false;
};

// One update of one key space, as a backend applies it.
struct RawOp {
  bool put;  // false: delete
  Space space;
  std::string_view key;
  std::string_view value;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Applies the batch atomically. Objects become a record under the next free position and an
  // info entry naming it (docs/format/store.md); putting a present object, or deleting an
  // absent one, does nothing.
  Status Write(const WriteBatch& batch, const WriteOptions& options);

  // ---- raw key spaces (implemented by each backend) ----
  // Applies the updates atomically, in order.
  virtual Status WriteRaw(std::span<const RawOp> ops, const WriteOptions& options) = 0;
  // nullopt when the key is absent.
  virtual Result<std::optional<std::string>> Get(Space space, std::string_view key) = 0;
  // As Get, but passes the value to fn without copying it; false when the key is absent.
  virtual Result<bool> GetView(Space space, std::string_view key,
                               const std::function<void(std::string_view value)>& fn);
  // The largest key of the space; nullopt when it is empty.
  virtual Result<std::optional<std::string>> LastKey(Space space) = 0;
  // Calls fn for each key starting with `prefix`, in byte order, until fn returns false.
  virtual Status Scan(Space space, std::string_view prefix,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
  // Makes every completed write durable, including bulk ones (which may only go to kObjects,
  // kObjectInfo, kContent and kStatCache).
  virtual Status Flush() = 0;
  // As Flush(), and makes every other space's completed writes durable too, bulk ones included
  // (so bulk writes may go to any space before it): the bulk ones in one atomic step, then the
  // logged ones.
  virtual Status FlushAll() { return Flush(); }
  virtual bool read_only() const = 0;
  // Gives the space of deleted objects back to the file system (gc). Default: nothing to do.
  virtual Status Compact() { return Status(); }
  // After a write failed on a full disk: drops what was not yet durable and makes the store
  // take writes again (RocksDB refuses every write once a flush failed: RocksStore closes and
  // reopens it), so that a small undo can be written. Default: nothing to do.
  virtual Status Recover() { return Status(); }
  // Runs `undo` (writes); when it fails for lack of space, Recover()s and runs it once more.
  Status UndoRecovering(const std::function<Status()>& undo);
  // Holds room, should a later write fail on a full disk, for undoing `bytes` more of this
  // store's writes (their deletes, through the log, after Recover()): RocksStore grows the
  // reserve it holds by as much. NoSpace, naming the store, when the disk has no room left for
  // it: the caller fails then and undoes what it wrote, while that undo still fits. Write()
  // calls it before each bulk write, counting a delete of each key put (the key's size plus
  // kUndoBytesPerDelete). Default: nothing to do.
  virtual Status HoldUndoRoom(uint64_t bytes) { return Status(); }
  // A delete's size in the log beyond its key (tag, column family, key length: 3-7 bytes).
  static constexpr uint64_t kUndoBytesPerDelete = 8;

  // ---- typed objects (shared by all backends) ----
  // Whether the object is stored. Cheap: reads only the info entry.
  Result<bool> Contains(const ObjectId& id);
  // NotFound names the object; Corruption if the stored bytes do not match the id.
  Result<DecodedObject> Read(const ObjectId& id);
  // As Read, and Corruption unless the object has type `type`.
  Result<std::string> ReadTyped(const ObjectId& id, ObjectType type);
  // As ReadTyped, into `out`, which must be exactly the object's size (Corruption otherwise).
  // After an error `out` holds unspecified, unverified bytes.
  Status ReadInto(const ObjectId& id, ObjectType type, std::span<char> out);
  Result<ObjectInfo> Info(const ObjectId& id);
  // As Info, checked against the header of the record it names: Corruption, naming the object,
  // when their type or size differ (the info entry is not covered by the object's hash). Reads
  // the record, decompresses nothing. For a reader that sizes its output before reading.
  Result<ObjectInfo> CheckedInfo(const ObjectId& id);
  // Resolves a hex prefix (>= 8 digits, or a full id) to the one object it names.
  // InvalidArgument for malformed text, NotFound, or Ambiguous listing some candidates.
  Result<ObjectId> ResolvePrefix(std::string_view hex);
  // Calls fn for every object's info in id order, until fn returns false.
  Status ForEachObject(const std::function<bool(const ObjectId&, const ObjectInfo&)>& fn);
  // Reads the record at `position` and verifies it against `id` (verify, which knows both).
  Result<DecodedObject> ReadRecord(const ObjectId& id, uint64_t position);
  // Calls fn with every stored record and its position, in position order, until fn returns
  // false (for verify).
  Status ForEachRecord(const std::function<bool(uint64_t position, std::string_view record)>& fn);

 private:
  // The object's info as the batch being translated leaves it, else as stored.
  Result<std::optional<ObjectInfo>> CurrentInfo(
      const ObjectId& id, const std::unordered_map<ObjectId, std::optional<ObjectInfo>>& local);

  std::mutex write_mu_;        // object writes: positions are handed out in write order
  uint64_t next_position_ = 0;  // 0: not read yet
};

}  // namespace cairn::cas

#endif  // CAIRN_CAS_OBJECT_STORE_H_
