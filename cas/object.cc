#include "cas/object.h"

#include <zstd.h>

#include <algorithm>
#include <memory>

#include "base/coding.h"
#include "base/sha256.h"
#include "cas/x86_filter.h"

namespace cairn::cas {
namespace {

// Inputs above this size at a level up to kDfastLevels are compressed with zstd's dfast strategy.
constexpr size_t kDfastMaxGreedy = 128 << 10;
constexpr int kDfastLevels = 4;

struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::unique_ptr<char[]> buffer;
  size_t buffer_size = 0;
  std::string filtered;  // the x86 filter's output, reused
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
ZstdContexts& Contexts() {
  thread_local ZstdContexts ctx;
  return ctx;
}

std::string ObjectName(ObjectType type, const ObjectId& id) {
  return std::string(ObjectTypeName(type)) + " " + id.Short();
}

}  // namespace

std::string_view ObjectTypeName(ObjectType type) {
  switch (type) {
    case ObjectType::kBlob: return "blob";
    case ObjectType::kChunkIndex: return "chunk-index";
    case ObjectType::kTree: return "tree";
    case ObjectType::kDisk: return "disk";
    case ObjectType::kVersion: return "version";
  }
  return "object";
}

bool IsKnownObjectType(uint8_t t) { return t >= 1 && t <= 5; }

EncodedObject EncodeObjectWithId(const ObjectId& id, ObjectType type, std::string_view raw,
                                 int zstd_level, bool x86_code) {
  EncodedObject out{id, type, raw.size(), {}};
  std::string header;
  header.push_back(static_cast<char>(Codec::kRaw));
  header.push_back(static_cast<char>(type));
  PutVarint64(&header, raw.size());
  if (zstd_level != 0 && raw.size() >= 64) {
    // Compress into a reused buffer (no zero-filling of a fresh one per object), then copy
    // exactly the bytes needed.
    ZstdContexts& ctx = Contexts();
    size_t bound = ZSTD_compressBound(raw.size());
    if (ctx.buffer_size < bound) {
      ctx.buffer.reset(new char[bound]);
      ctx.buffer_size = bound;
    }
    std::string_view input = raw;
    if (x86_code) {
      ctx.filtered.assign(raw);
      X86Filter(ctx.filtered.data(), ctx.filtered.size());
      input = ctx.filtered;
    }
    size_t n;
    if (input.size() > kDfastMaxGreedy && zstd_level <= kDfastLevels) {
      // zstd switches level 4 to its greedy strategy for inputs above 128 KiB (its parameter
      // tables by input size); on this data greedy cost 1.5x dfast's CPU for those chunks
      // (docs/store-tuning.md). Chunks of every size keep dfast at the low levels.
      ZSTD_CCtx_reset(ctx.c, ZSTD_reset_parameters);
      ZSTD_CCtx_setParameter(ctx.c, ZSTD_c_compressionLevel, zstd_level);
      ZSTD_CCtx_setParameter(ctx.c, ZSTD_c_strategy, ZSTD_dfast);
      n = ZSTD_compress2(ctx.c, ctx.buffer.get(), bound, input.data(), input.size());
    } else {
      n = ZSTD_compressCCtx(ctx.c, ctx.buffer.get(), bound, input.data(), input.size(), zstd_level);
    }
    if (!ZSTD_isError(n) && n < raw.size()) {
      header[0] = static_cast<char>(x86_code ? Codec::kZstdX86 : Codec::kZstd);
      out.record.reserve(header.size() + n);
      out.record = std::move(header);
      out.record.append(ctx.buffer.get(), n);
      return out;
    }
  }
  out.record.reserve(header.size() + raw.size());
  out.record = std::move(header);
  out.record.append(raw);
  return out;
}

EncodedObject EncodeObject(ObjectType type, std::string_view raw, int zstd_level, bool x86_code) {
  return EncodeObjectWithId(Sha256::Of(raw), type, raw, zstd_level, x86_code);
}

Result<RecordHeader> ParseRecordHeader(const ObjectId& id, std::string_view record) {
  std::string_view in = record;
  RecordHeader h;
  if (in.size() < 3) return Status::Corruption("read object " + id.Short() + ": truncated record");
  auto codec = static_cast<uint8_t>(in[0]);
  auto type = static_cast<uint8_t>(in[1]);
  in.remove_prefix(2);
  if (codec > 2) {
    return Status::Corruption("read object " + id.Short() + ": unknown codec " +
                              std::to_string(codec));
  }
  if (!IsKnownObjectType(type)) {
    return Status::Corruption("read object " + id.Short() + ": unknown type " +
                              std::to_string(type));
  }
  if (!GetVarint64(&in, &h.raw_size) || h.raw_size > kMaxObjectSize) {
    return Status::Corruption("read object " + id.Short() + ": bad size");
  }
  h.codec = static_cast<Codec>(codec);
  h.type = static_cast<ObjectType>(type);
  h.header_size = record.size() - in.size();
  return h;
}

namespace {
// A raw record's payload is its canonical bytes: Corruption unless it has the header's size.
Status CheckRawSize(const ObjectId& id, const RecordHeader& h, std::string_view payload) {
  if (payload.size() == h.raw_size) return Status();
  return Status::Corruption("read " + ObjectName(h.type, id) + ": size mismatch");
}

// Writes the canonical bytes of a record's payload to `out`, which holds exactly h.raw_size
// bytes; not checked against any id (`id` names it in errors).
Status DecodePayload(const ObjectId& id, const RecordHeader& h, std::string_view payload,
                     char* out) {
  if (h.codec == Codec::kRaw) {
    CAIRN_RETURN_IF_ERROR(CheckRawSize(id, h, payload));
    std::copy(payload.begin(), payload.end(), out);
    return Status();
  }
  size_t n = ZSTD_decompressDCtx(Contexts().d, out, h.raw_size, payload.data(), payload.size());
  if (ZSTD_isError(n) || n != h.raw_size) {
    return Status::Corruption("read " + ObjectName(h.type, id) + ": undecodable zstd data");
  }
  if (h.codec == Codec::kZstdX86) X86Unfilter(out, h.raw_size);
  return Status();
}

Result<DecodedObject> DecodeUnverified(const ObjectId& id, std::string_view record) {
  CAIRN_ASSIGN_OR_RETURN(RecordHeader h, ParseRecordHeader(id, record));
  DecodedObject out{h.type, {}};
  std::string_view payload = record.substr(h.header_size);
  if (h.codec == Codec::kRaw) {  // one copy, after the size check (no zero fill first)
    CAIRN_RETURN_IF_ERROR(CheckRawSize(id, h, payload));
    out.data.assign(payload);
    return out;
  }
  out.data.resize(h.raw_size);
  CAIRN_RETURN_IF_ERROR(DecodePayload(id, h, payload, out.data.data()));
  return out;
}
}  // namespace

Status WrongType(const ObjectId& id, ObjectType wanted, ObjectType found) {
  return Status::Corruption("read " + std::string(ObjectTypeName(wanted)) + " " + id.Short() +
                            ": object is a " + std::string(ObjectTypeName(found)));
}

Result<DecodedObject> DecodeObject(const ObjectId& id, std::string_view record) {
  CAIRN_ASSIGN_OR_RETURN(DecodedObject out, DecodeUnverified(id, record));
  if (Sha256::Of(out.data) != id) {
    return Status::Corruption("read " + ObjectName(out.type, id) + ": checksum mismatch");
  }
  return out;
}

Status DecodeObjectInto(const ObjectId& id, ObjectType type, std::string_view record,
                        std::span<char> out) {
  CAIRN_ASSIGN_OR_RETURN(RecordHeader h, ParseRecordHeader(id, record));
  if (h.type != type) return WrongType(id, type, h.type);
  if (h.raw_size != out.size()) {
    return Status::Corruption("read " + ObjectName(h.type, id) + ": holds " +
                              std::to_string(h.raw_size) + " bytes, not the " +
                              std::to_string(out.size()) + " its reader expects");
  }
  CAIRN_RETURN_IF_ERROR(DecodePayload(id, h, record.substr(h.header_size), out.data()));
  if (Sha256::Of(std::string_view(out.data(), out.size())) != id) {
    return Status::Corruption("read " + ObjectName(h.type, id) + ": checksum mismatch");
  }
  return Status();
}

Result<ObjectId> IdOfRecord(std::string_view record) {
  CAIRN_ASSIGN_OR_RETURN(DecodedObject out, DecodeUnverified(ObjectId(), record));
  return Sha256::Of(out.data);
}

}  // namespace cairn::cas
