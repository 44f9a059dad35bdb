#include "cas/ingestor.h"

#include <deque>
#include <future>

#include "base/sha256.h"
#include "cas/chunk_index.h"

namespace cairn::cas {
namespace {
// Bytes read from a file at a time. Chunks point into these blocks until they are stored.
constexpr size_t kBlockSize = 4 << 20;
// Chunks being hashed and compressed at once: bounds memory to a few blocks.
constexpr size_t kMaxInFlight = 64;
}  // namespace

Ingestor::Ingestor(ObjectStore* store, IngestOptions options)
    : store_(store), options_(std::move(options)), pool_(options_.threads) {}

Ingestor::~Ingestor() = default;

Status Ingestor::WriteIfFull(std::unique_lock<std::mutex>& lock) {
  if (batch_.ByteSize() < options_.batch_bytes) return Status();
  WriteBatch full;
  std::swap(full, batch_);
  pending_.clear();
  lock.unlock();
  // Between here and the write, another thread may not find an object of `full` and store it
  // again: harmless, the bytes are identical.
  return store_->Write(full, WriteOptions{.sync = false, .bulk = true});
}

Status Ingestor::Add(EncodedObject obj) {
  std::unique_lock lock(mu_);
  if (!pending_.insert(obj.id).second) {
    stats_.objects_dup++;
    return Status();
  }
  written_.push_back(obj.id);
  stats_.objects_new++;
  stats_.bytes_new += obj.raw_size;
  stats_.bytes_stored += obj.record.size();
  batch_.PutObject(std::move(obj));
  return WriteIfFull(lock);
}

void Ingestor::PutKey(Space space, std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  batch_.Put(space, key, value);
  written_keys_.emplace_back(space, std::string(key));
}

Result<ObjectId> Ingestor::StoreChunkWithId(const ObjectId& id, std::string_view data) {
  {
    std::lock_guard lock(mu_);
    if (pending_.contains(id)) {
      stats_.objects_dup++;
      return id;
    }
  }
  CAIRN_ASSIGN_OR_RETURN(bool present, store_->Contains(id));
  if (present) {
    stats_.objects_dup++;
    return id;
  }
  CAIRN_RETURN_IF_ERROR(
      Add(EncodeObjectWithId(id, ObjectType::kBlob, data, options_.zstd_level)));
  return id;
}

Result<ObjectId> Ingestor::StoreChunk(std::string_view data) {
  return StoreChunkWithId(Sha256::Of(data), data);
}

Result<ObjectId> Ingestor::PutObject(ObjectType type, std::string_view canonical) {
  ObjectId id = Sha256::Of(canonical);
  {
    std::lock_guard lock(mu_);
    if (pending_.contains(id)) return id;
  }
  CAIRN_ASSIGN_OR_RETURN(bool present, store_->Contains(id));
  if (present) return id;
  CAIRN_RETURN_IF_ERROR(Add(EncodeObjectWithId(id, type, canonical, options_.zstd_level)));
  return id;
}

Result<FileContent> Ingestor::FinishFile(ChunkIndex& index) {
  FileContent out;
  out.size = index.total_size;
  out.sha256 = index.content_sha256;
  if (index.chunks.size() == 1) {
    out.id = index.chunks[0].id;  // a one-chunk file is its Blob, whose id is its SHA-256
    out.type = ObjectType::kBlob;
    return out;
  }
  CAIRN_ASSIGN_OR_RETURN(out.id, PutObject(ObjectType::kChunkIndex, EncodeChunkIndex(index)));
  out.type = ObjectType::kChunkIndex;
  // Only a missing or different entry is written: Abort deletes the keys of this session, and
  // must not delete an entry that an earlier session made durable.
  CAIRN_ASSIGN_OR_RETURN(auto entry, store_->Get(Space::kContent, out.sha256.AsBytes()));
  if (!entry || *entry != out.id.AsBytes()) {
    PutKey(Space::kContent, out.sha256.AsBytes(), out.id.AsBytes());
  }
  return out;
}

Result<FileContent> Ingestor::PutBytes(std::string_view data) {
  stats_.bytes_in += data.size();
  ChunkIndex index;
  index.total_size = data.size();
  std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (rest.empty()) {
    CAIRN_ASSIGN_OR_RETURN(ObjectId id, StoreChunk(""));
    index.chunks.push_back({id, 0});
  }
  while (!rest.empty()) {
    size_t len = FindChunkBoundary(options_.chunker, rest, /*at_end=*/true);
    std::string_view piece(reinterpret_cast<const char*>(rest.data()), len);
    CAIRN_ASSIGN_OR_RETURN(ObjectId id, StoreChunk(piece));
    index.chunks.push_back({id, len});
    rest = rest.subspan(len);
  }
  index.content_sha256 = index.chunks.size() == 1 ? index.chunks[0].id : Sha256::Of(data);
  return FinishFile(index);
}

Result<FileContent> Ingestor::PutStream(SequentialFile* file, const std::string& name) {
  Sha256 whole;
  ChunkIndex index;
  std::deque<std::future<Result<ObjectId>>> in_flight;
  std::deque<uint64_t> in_flight_sizes;
  auto collect_one = [&]() -> Status {
    Result<ObjectId> r = in_flight.front().get();
    in_flight.pop_front();
    if (!r) return std::move(r).error().WithContext("store " + name);
    index.chunks.push_back({*r, in_flight_sizes.front()});
    in_flight_sizes.pop_front();
    return Status();
  };
  auto drain = [&]() -> Status {
    Status first;
    while (!in_flight.empty()) {
      Status s = collect_one();
      if (first.ok() && !s.ok()) first = s;
    }
    return first;
  };

  std::string carry;
  bool at_end = false;
  while (!at_end) {
    auto block = std::make_shared<std::string>();
    block->resize(carry.size() + kBlockSize);
    std::memcpy(block->data(), carry.data(), carry.size());
    Result<size_t> n = file->Read(block->data() + carry.size(), kBlockSize);
    if (!n) {
      (void)drain();
      return std::move(n).error();
    }
    at_end = *n < kBlockSize;
    whole.Update(block->data() + carry.size(), *n);
    block->resize(carry.size() + *n);
    stats_.bytes_in += *n;

    std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(block->data()), block->size());
    size_t pos = 0;
    while (pos < data.size()) {
      size_t len = FindChunkBoundary(options_.chunker, data.subspan(pos), at_end);
      if (len == 0) break;
      std::string_view piece(block->data() + pos, len);
      in_flight.push_back(pool_.Submit([this, block, piece] { return StoreChunk(piece); }));
      in_flight_sizes.push_back(len);
      pos += len;
      while (in_flight.size() > kMaxInFlight) {
        Status s = collect_one();
        if (!s.ok()) {
          (void)drain();
          return s;
        }
      }
    }
    carry.assign(block->data() + pos, block->size() - pos);
  }
  CAIRN_RETURN_IF_ERROR(drain());
  for (const auto& c : index.chunks) index.total_size += c.size;
  if (index.chunks.empty()) {  // an empty file is the empty Blob
    CAIRN_ASSIGN_OR_RETURN(ObjectId id, StoreChunk(""));
    index.chunks.push_back({id, 0});
  }
  index.content_sha256 = whole.Finish();
  return FinishFile(index);
}

Status Ingestor::Finish() {
  WriteBatch rest;
  {
    std::lock_guard lock(mu_);
    std::swap(rest, batch_);
    pending_.clear();
  }
  if (!rest.empty()) CAIRN_RETURN_IF_ERROR(store_->Write(rest, WriteOptions{.bulk = true}));
  return store_->Flush();
}

Status Ingestor::Abort() {
  WriteBatch undo;
  {
    std::lock_guard lock(mu_);
    batch_.Clear();
    pending_.clear();
    for (const auto& id : written_) undo.DeleteObject(id);
    written_.clear();
    for (const auto& [space, key] : written_keys_) undo.Delete(space, key);
    written_keys_.clear();
  }
  if (undo.empty()) return Status();
  CAIRN_RETURN_IF_ERROR(store_->Write(undo, WriteOptions{.sync = true}));
  return store_->Flush();
}

}  // namespace cairn::cas
