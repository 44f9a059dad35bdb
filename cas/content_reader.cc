#include "cas/content_reader.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <future>

#include "cas/chunk_index.h"

namespace cairn::cas {
namespace {
// Chunks fetched ahead of the one being passed to the sink.
constexpr size_t kReadAhead = 24;

// One chunk of a ChunkIndex, verified against its id (by the store) and its size.
Result<std::string> ReadChunk(ObjectStore* store, const ChunkRef& c) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(c.id, ObjectType::kBlob));
  if (data.size() != c.size) {
    return Status::Corruption("read blob " + c.id.Short() + ": size differs from its index");
  }
  return data;
}

// A read of `id`, an object of another type than Blob or ChunkIndex.
Status NotContent(const ObjectId& id, ObjectType type) {
  return Status::InvalidArgument("read " + id.Short() + ": object is a " +
                                 std::string(ObjectTypeName(type)) + ", not file content");
}

// A Blob or a ChunkIndex's chunks, pulled one at a time.
class ChunkFile final : public SequentialFile {
 public:
  ChunkFile(ObjectStore* store, std::vector<ChunkRef> chunks, std::string blob, uint64_t size)
      : store_(store), chunks_(std::move(chunks)), piece_(std::move(blob)), size_(size) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (at_ == piece_.size()) {
        if (next_ == chunks_.size()) break;
        const ChunkRef& c = chunks_[next_++];
        CAIRN_ASSIGN_OR_RETURN(piece_, ReadChunk(store_, c));
        at_ = 0;
        continue;
      }
      size_t k = std::min(n - done, piece_.size() - at_);
      std::copy_n(piece_.data() + at_, k, buf + done);
      at_ += k;
      done += k;
    }
    return done;
  }
  uint64_t Size() const override { return size_; }

 private:
  ObjectStore* store_;
  std::vector<ChunkRef> chunks_;
  size_t next_ = 0;
  std::string piece_;
  size_t at_ = 0;
  uint64_t size_;
};

}  // namespace

ContentReader::ContentReader(ObjectStore* store, int threads) : store_(store), pool_(threads) {}

Result<FileContent> ContentReader::Stat(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, store_->Info(id));
  FileContent out;
  out.id = id;
  out.type = info.type;
  if (info.type == ObjectType::kBlob) {
    out.size = info.raw_size;
    out.sha256 = id;
    return out;
  }
  if (info.type != ObjectType::kChunkIndex) {
    return NotContent(id, info.type);
  }
  CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(id, ObjectType::kChunkIndex));
  CAIRN_ASSIGN_OR_RETURN(ChunkIndex index, DecodeChunkIndex(id, data));
  out.size = index.total_size;
  out.sha256 = index.content_sha256;
  return out;
}

Status ContentReader::Read(const ObjectId& id,
                           const std::function<Status(std::string_view)>& sink) {
  CAIRN_ASSIGN_OR_RETURN(DecodedObject obj, store_->Read(id));
  if (obj.type == ObjectType::kBlob) return sink(obj.data);
  if (obj.type != ObjectType::kChunkIndex) {
    return NotContent(id, obj.type);
  }
  CAIRN_ASSIGN_OR_RETURN(ChunkIndex index, DecodeChunkIndex(id, obj.data));
  std::deque<std::future<Result<std::string>>> ahead;
  size_t next = 0;
  Status result;
  for (size_t i = 0; i < index.chunks.size(); ++i) {
    while (next < index.chunks.size() && ahead.size() < kReadAhead) {
      ahead.push_back(pool_.Submit([this, c = index.chunks[next]] { return ReadChunk(store_, c); }));
      ++next;
    }
    Result<std::string> piece = ahead.front().get();
    ahead.pop_front();
    if (!piece) {
      result = std::move(piece).error();
      break;
    }
    result = sink(*piece);
    if (!result.ok()) break;
  }
  for (auto& f : ahead) f.wait();  // the tasks capture nothing that dies before them
  return result;
}

Status ContentReader::ReadAt(const ObjectId& id,
                             const std::function<Status(uint64_t, std::string_view)>& write,
                             const std::function<void(uint64_t)>& progress) {
  CAIRN_ASSIGN_OR_RETURN(DecodedObject obj, store_->Read(id));
  if (obj.type == ObjectType::kBlob) {
    CAIRN_RETURN_IF_ERROR(write(0, obj.data));
    if (progress) progress(obj.data.size());
    return Status();
  }
  if (obj.type != ObjectType::kChunkIndex) {
    return NotContent(id, obj.type);
  }
  CAIRN_ASSIGN_OR_RETURN(ChunkIndex index, DecodeChunkIndex(id, obj.data));
  std::atomic<bool> failed{false};
  auto task = [this, &write, &failed](ChunkRef c, uint64_t offset) -> Status {
    if (failed.load(std::memory_order_relaxed)) return Status();  // the error is reported already
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadChunk(store_, c));
    return write(offset, data);
  };
  // Waited for in order: at most kReadAhead chunks are held, and errors come in content order.
  std::deque<std::pair<std::future<Status>, uint64_t>> ahead;
  size_t next = 0;
  uint64_t offset = 0;
  Status result;
  while (next < index.chunks.size() || !ahead.empty()) {
    while (result.ok() && next < index.chunks.size() && ahead.size() < kReadAhead) {
      const ChunkRef& c = index.chunks[next++];
      ahead.emplace_back(pool_.Submit([task, c, offset] { return task(c, offset); }), c.size);
      offset += c.size;
    }
    if (ahead.empty()) break;
    Status s = ahead.front().first.get();
    const uint64_t size = ahead.front().second;
    ahead.pop_front();
    if (!s.ok() && result.ok()) {
      result = s;
      failed.store(true, std::memory_order_relaxed);
    }
    if (result.ok() && progress) progress(size);
  }
  return result;
}

Result<std::unique_ptr<SequentialFile>> ContentReader::Open(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(DecodedObject obj, store_->Read(id));
  if (obj.type == ObjectType::kBlob) {
    uint64_t size = obj.data.size();
    return std::unique_ptr<SequentialFile>(new ChunkFile(store_, {}, std::move(obj.data), size));
  }
  if (obj.type != ObjectType::kChunkIndex) {
    return NotContent(id, obj.type);
  }
  CAIRN_ASSIGN_OR_RETURN(ChunkIndex index, DecodeChunkIndex(id, obj.data));
  return std::unique_ptr<SequentialFile>(
      new ChunkFile(store_, std::move(index.chunks), "", index.total_size));
}

Result<ObjectId> ContentReader::FindBySha256(const ObjectId& sha256) {
  CAIRN_ASSIGN_OR_RETURN(auto info, store_->Get(Space::kObjectInfo, sha256.AsBytes()));
  if (info) {
    CAIRN_ASSIGN_OR_RETURN(ObjectInfo i, DecodeObjectInfo(sha256, *info));
    if (i.type == ObjectType::kBlob) return sha256;
  }
  CAIRN_ASSIGN_OR_RETURN(auto v, store_->Get(Space::kContent, sha256.AsBytes()));
  if (!v) return Status::NotFound("content sha256 " + sha256.ToHex() + ": no stored file has it");
  return ObjectId::FromBytes(*v);
}

}  // namespace cairn::cas
