#include "cas/object.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_initStaticCCtx, ZSTD_estimateCCtxSize_usingCParams
#include <zstd.h>

#include <sched.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "base/coding.h"
#include "base/sha256.h"
#include "cas/x86_filter.h"

namespace cairn::cas {
namespace {

// Inputs above this size at a level up to kDfastLevels are compressed with zstd's dfast strategy.
constexpr size_t kDfastMaxGreedy = 128 << 10;
constexpr int kDfastLevels = 4;
// Inputs above this size (a Tree of a huge directory, a ChunkIndex of a huge file; chunks are
// smaller) are compressed straight into their record as it grows: a buffer of their bound was
// allocated and kept by the compressor for the process's life (~310 MB after the Tree of a
// directory of a million 255-byte names).
constexpr size_t kStreamedAbove = 4 << 20;

// A zstd compression context over a workspace sized once, for inputs up to `limit` bytes at
// the highest level seen. A dynamic context resized its workspace whenever its inputs changed
// size class (shrunk after a run of small objects, grown at the next chunk), and each regrowth
// took fresh pages and zeroed its match tables again (~1.4 MB at level 4): 3-4% of a warm
// incremental checkin's CPU, and most of its page faults in zstd (docs/benchmarks.md, session
// 16). A static context never resizes: its tables are zeroed once, then only invalidated by
// zstd's window index (zstd_cwksp.h keeps tables it knows valid without zeroing them).
class SizedContext {
 public:
  explicit SizedContext(size_t limit) : limit_(limit) {}
  // The context for `level`, grown once when a higher level comes; null if zstd refuses it.
  ZSTD_CCtx* For(int level) {
    if (c_ != nullptr && level <= level_) return c_;
    // zstd's parameters depend on the input's size class (up to 16, 128 and 256 KiB): the
    // workspace holds the largest of those up to the limit, and the dfast strategy forced on
    // large inputs.
    size_t need = 0;
    for (size_t size : {size_t{16} << 10, size_t{128} << 10, size_t{256} << 10}) {
      if (size > limit_) break;
      ZSTD_compressionParameters p = ZSTD_getCParams(level, size, 0);
      need = std::max(need, ZSTD_estimateCCtxSize_usingCParams(p));
      p.strategy = ZSTD_dfast;
      need = std::max(need, ZSTD_estimateCCtxSize_usingCParams(p));
    }
    if (need > size_) {
      workspace_.reset(new char[need]);  // 16-byte aligned; zstd needs 8
      size_ = need;
    }
    c_ = ZSTD_initStaticCCtx(workspace_.get(), size_);
    level_ = level;
    return c_;
  }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  ZSTD_CCtx* c_ = nullptr;  // inside workspace_
  std::unique_ptr<char[]> workspace_;
  size_t size_ = 0;
  int level_ = 0;
};

// What compressing an object needs: contexts for small objects (small files, Trees) and for
// chunks, so that compressing small objects never zeroes the tables a chunk needs; a dynamic
// context for inputs above the largest chunk; the output and x86 filter buffers.
struct Compressor {
  SizedContext small{16 << 10};
  SizedContext chunks{256 << 10};
  ZSTD_CCtx* fallback = ZSTD_createCCtx();
  std::unique_ptr<char[]> buffer;
  size_t buffer_size = 0;
  std::string filtered;  // the x86 filter's output
  ~Compressor() { ZSTD_freeCCtx(fallback); }
  // The context for an input of `size` bytes at `level`; null: use `fallback`.
  ZSTD_CCtx* For(size_t size, int level) {
    if (size <= small.limit()) return small.For(level);
    if (size <= chunks.limit()) return chunks.For(level);
    return nullptr;
  }
};

// Compressors kept by CPU, not by thread. A checkin compresses on five threads (the file tasks,
// the chunk tasks, the walk's Trees) but only as many run at once as there are cores, and a
// compressor costs ~1.8 MB of match tables faulted in and zeroed at its first use: one per
// thread was ~8 MB and ~400 page faults of each warm incremental checkin (docs/benchmarks.md,
// session 17). A thread takes the compressor of the CPU it runs on (its tables are likely in
// that core's cache), else a spare one, else another CPU's, else a new one; compressors shared
// most-recently-used first without regard to the CPU made a full checkin 10% slower (session
// 16), their tables moving between the cores' caches.
class CompressorPool {
 public:
  static CompressorPool& Get() {
    static CompressorPool* pool = new CompressorPool;  // never destroyed: threads may outlive exit
    return *pool;
  }

  Compressor* Take() {
    const unsigned cpu = Cpu();
    if (cpu < slots_.size()) {
      if (Compressor* c = slots_[cpu].exchange(nullptr, std::memory_order_acquire)) return c;
    }
    {
      std::lock_guard lock(mu_);
      if (!spare_.empty()) {
        Compressor* c = spare_.back();
        spare_.pop_back();
        return c;
      }
    }
    for (auto& slot : slots_) {
      if (Compressor* c = slot.exchange(nullptr, std::memory_order_acquire)) return c;
    }
    std::lock_guard lock(mu_);
    all_.push_back(std::make_unique<Compressor>());
    return all_.back().get();
  }

  void Give(Compressor* c) {
    const unsigned cpu = Cpu();
    Compressor* empty = nullptr;
    if (cpu < slots_.size() &&
        slots_[cpu].compare_exchange_strong(empty, c, std::memory_order_release)) {
      return;
    }
    std::lock_guard lock(mu_);
    spare_.push_back(c);
  }

 private:
  CompressorPool() : slots_(std::max(1, ::get_nprocs_conf())) {}
  static unsigned Cpu() {
    int cpu = ::sched_getcpu();
    return cpu < 0 ? 0 : static_cast<unsigned>(cpu);
  }

  std::vector<std::atomic<Compressor*>> slots_;  // by CPU; null while taken
  std::mutex mu_;
  std::vector<Compressor*> spare_;                // given back while their CPU's slot was full
  std::vector<std::unique_ptr<Compressor>> all_;  // every compressor made
};

// A compressor taken from the pool for one object.
class CompressorLease {
 public:
  CompressorLease() : c_(CompressorPool::Get().Take()) {}
  ~CompressorLease() { CompressorPool::Get().Give(c_); }
  CompressorLease(const CompressorLease&) = delete;
  CompressorLease& operator=(const CompressorLease&) = delete;
  Compressor& operator*() const { return *c_; }

 private:
  Compressor* c_;
};

// A thread's decompression context (small: one-shot decompression allocates no window).
ZSTD_DCtx* Decompressor() {
  struct Holder {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    ~Holder() { ZSTD_freeDCtx(d); }
  };
  thread_local Holder h;
  return h.d;
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

namespace {

// Compresses `input` (with its content size in the frame, as ZSTD_compress2 writes it) onto the
// end of `*record`, which grows as the output does; false, with `*record` as it was, when zstd
// fails or the output would not be smaller than the input.
bool CompressStreamed(ZSTD_CCtx* cctx, std::string_view input, int level, bool dfast,
                      std::string* record) {
  const size_t start = record->size();
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (dfast) ZSTD_CCtx_setParameter(cctx, ZSTD_c_strategy, ZSTD_dfast);
  ZSTD_CCtx_setPledgedSrcSize(cctx, input.size());
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  const size_t most = input.size() - 1;  // the output must be smaller than the input
  size_t room = std::min(input.size() / 8 + (64 << 10), most);
  size_t pos = 0;
  for (;;) {
    record->resize(start + room);
    ZSTD_outBuffer out{record->data() + start, room, pos};
    const size_t left = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
    pos = out.pos;
    if (ZSTD_isError(left)) break;
    if (left == 0) {
      record->resize(start + pos);
      return true;
    }
    if (room == most) break;
    room = std::min(room * 2, most);
  }
  record->resize(start);
  return false;
}

}  // namespace

EncodedObject EncodeObjectWithId(const ObjectId& id, ObjectType type, std::string_view raw,
                                 int zstd_level, bool x86_code) {
  EncodedObject out{id, type, raw.size(), {}};
  std::string header;
  header.push_back(static_cast<char>(Codec::kRaw));
  header.push_back(static_cast<char>(type));
  PutVarint64(&header, raw.size());
  if (zstd_level != 0 && raw.size() >= 64) {
    CompressorLease lease;
    Compressor& ctx = *lease;
    std::string_view input = raw;
    if (x86_code) {
      ctx.filtered.assign(raw);
      X86Filter(ctx.filtered.data(), ctx.filtered.size());
      input = ctx.filtered;
    }
    // zstd switches level 4 to its greedy strategy for inputs above 128 KiB (its parameter
    // tables by input size); on this data greedy cost 1.5x dfast's CPU for those chunks
    // (docs/store-tuning.md). Chunks of every size keep dfast at the low levels.
    const bool force_dfast = input.size() > kDfastMaxGreedy && zstd_level <= kDfastLevels;
    const Codec codec = x86_code ? Codec::kZstdX86 : Codec::kZstd;
    if (input.size() > kStreamedAbove) {
      if (CompressStreamed(ctx.fallback, input, zstd_level, force_dfast, &header)) {
        header[0] = static_cast<char>(codec);
        out.record = std::move(header);
        return out;
      }
    } else {
      // Compress into a reused buffer (no zero-filling of a fresh one per object), then copy
      // exactly the bytes needed.
      const size_t bound = ZSTD_compressBound(input.size());
      if (ctx.buffer_size < bound) {
        ctx.buffer.reset(new char[bound]);
        ctx.buffer_size = bound;
      }
      auto compress = [&](ZSTD_CCtx* cctx) {
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, zstd_level);
        if (force_dfast) ZSTD_CCtx_setParameter(cctx, ZSTD_c_strategy, ZSTD_dfast);
        return ZSTD_compress2(cctx, ctx.buffer.get(), bound, input.data(), input.size());
      };
      ZSTD_CCtx* sized = ctx.For(input.size(), zstd_level);
      size_t n = sized != nullptr ? compress(sized) : 0;
      if (sized == nullptr || ZSTD_isError(n)) n = compress(ctx.fallback);
      if (!ZSTD_isError(n) && n < raw.size()) {
        header[0] = static_cast<char>(codec);
        out.record.reserve(header.size() + n);
        out.record = std::move(header);
        out.record.append(ctx.buffer.get(), n);
        return out;
      }
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
  size_t n = ZSTD_decompressDCtx(Decompressor(), out, h.raw_size, payload.data(), payload.size());
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
  // cairn's zstd frames carry their content size (ZSTD_compress2 writes it): a header that
  // claims another size is damage, found before a buffer is sized by the claim (up to
  // kMaxObjectSize: a damaged record made every read of it allocate and zero 1 GiB).
  if (const auto frame = ZSTD_getFrameContentSize(payload.data(), payload.size());
      frame != h.raw_size) {
    return Status::Corruption("read " + ObjectName(h.type, id) + ": header claims " +
                              std::to_string(h.raw_size) + " bytes, " +
                              (frame == ZSTD_CONTENTSIZE_ERROR || frame == ZSTD_CONTENTSIZE_UNKNOWN
                                   ? std::string("no zstd frame size")
                                   : "its zstd frame " + std::to_string(frame)));
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
