// Typed objects and their stored encoding (docs/format/store.md).
//
// Every object is identified by the SHA-256 of its canonical uncompressed bytes. For a Blob those
// bytes are the file content itself, so a small file's id equals its `sha256sum`. The other types
// are encodings defined in docs/format/ that begin with their own magic.
#ifndef CAIRN_CAS_OBJECT_H_
#define CAIRN_CAS_OBJECT_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/object_id.h"
#include "base/result.h"

namespace cairn::cas {

// Stable numbers: stored on disk, never renumbered.
enum class ObjectType : uint8_t {
  kBlob = 1,        // file content: a whole small file or one chunk of a large one
  kChunkIndex = 2,  // a large file: its chunks in order (cas/chunk_index.h)
  kTree = 3,        // one directory
  kDisk = 4,        // a disk image's layout
  kVersion = 5,     // one version of an image
};

std::string_view ObjectTypeName(ObjectType type);
bool IsKnownObjectType(uint8_t type);

// Stored record codecs. Stable numbers.
// kZstdX86: zstd of the bytes after the x86 filter (cas/x86_filter.h), for x86 machine code.
enum class Codec : uint8_t { kRaw = 0, kZstd = 1, kZstdX86 = 2 };

// An object ready to be written: its id and the record the store keeps.
struct EncodedObject {
  ObjectId id;
  ObjectType type;
  uint64_t raw_size = 0;  // canonical uncompressed size
  std::string record;     // codec byte, type byte, varint raw_size, payload
};

// Hashes `raw` and builds its record, compressed with zstd at `zstd_level` when that shrinks it
// (0 disables compression); `x86_code`: `raw` is (part of) an x86 executable, compressed
// through the x86 filter (codec kZstdX86). Thread-safe; uses thread-local contexts.
EncodedObject EncodeObject(ObjectType type, std::string_view raw, int zstd_level, bool x86_code = false);
// As EncodeObject, but with the id already computed by the caller.
EncodedObject EncodeObjectWithId(const ObjectId& id, ObjectType type, std::string_view raw,
                                 int zstd_level, bool x86_code = false);

// Objects larger than this are refused when decoding: no object cairn writes comes close
// (blobs are at most the chunker's max, 64 MiB), so a larger size is damage.
inline constexpr uint64_t kMaxObjectSize = uint64_t{1} << 30;

struct DecodedObject {
  ObjectType type;
  std::string data;  // canonical bytes
};

// Decodes a record and verifies it against `id`. Corruption, naming the object, on any damage:
// unknown codec or type, a bad size, a zstd error, or bytes that do not hash to `id`.
Result<DecodedObject> DecodeObject(const ObjectId& id, std::string_view record);
// Corruption: `id` was read as a `wanted` but is a `found`.
Status WrongType(const ObjectId& id, ObjectType wanted, ObjectType found);
// As DecodeObject, into `out`, which must be exactly the object's size: Corruption also when the
// record holds another type than `type` or another size. For a reader that places many objects
// in one buffer (get) without an allocation, a zero fill and a copy for each. After an error,
// `out` holds unspecified, unverified bytes: the caller must not pass them on.
Status DecodeObjectInto(const ObjectId& id, ObjectType type, std::string_view record,
                        std::span<char> out);

// The id of the object a record holds: its canonical bytes, hashed (verify, for a record no
// info entry names). Corruption when the record does not decode.
Result<ObjectId> IdOfRecord(std::string_view record);

// Reads only the header of a record (no decompression, no verification).
struct RecordHeader {
  Codec codec;
  ObjectType type;
  uint64_t raw_size;
  size_t header_size;
};
Result<RecordHeader> ParseRecordHeader(const ObjectId& id, std::string_view record);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_OBJECT_H_
