#include "cas/content_reader.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <vector>

#include "cas/chunk_index.h"

namespace cairn::cas {
namespace {
// Consecutive chunks are read as runs of about this many bytes: one task, one buffer and one
// write for a run, not for every chunk (64 KiB on average). Per chunk, a task of its own, a
// zero-filled string and a write of its own cost get 0.4 s of CPU on a 1.6 GB file.
constexpr uint64_t kRunBytes = 1 << 20;
// Runs fetched ahead of the one being passed on, at least (ReadAt: one per thread, twice over).
// Read holds each run's bytes until it is passed on: 4 MiB or so per Read.
constexpr size_t kRunsAhead = 4;

// Chunks [first, end) of a ChunkIndex, `offset` bytes into the content.
struct Run {
  size_t first = 0;
  size_t end = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

std::vector<Run> SplitRuns(const std::vector<ChunkRef>& chunks) {
  std::vector<Run> runs;
  Run run;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (run.end > run.first && run.bytes + chunks[i].size > kRunBytes) {
      runs.push_back(run);
      run = Run{i, i, run.offset + run.bytes, 0};
    }
    run.end = i + 1;
    run.bytes += chunks[i].size;
  }
  if (run.end > run.first) runs.push_back(run);
  return runs;
}

// Reads a run's chunks into `out` (run.bytes long), each verified against its id and size.
// `*good`, if set, is the length of the verified bytes before an error.
Status ReadRun(ObjectStore* store, const std::vector<ChunkRef>& chunks, const Run& run, char* out,
               uint64_t* good = nullptr) {
  uint64_t done = 0;
  Status s;
  for (size_t i = run.first; i < run.end && s.ok(); ++i) {
    s = store->ReadInto(chunks[i].id, ObjectType::kBlob, {out + done, chunks[i].size});
    if (s.ok()) done += chunks[i].size;
  }
  if (good) *good = done;
  return s;
}

// A run's bytes (`size` of them verified), and the error that ended it early. Not a string: a
// string is zero-filled before the chunks overwrite it.
struct RunBuffer {
  std::unique_ptr<char[]> data;
  uint64_t size = 0;
  Status status;
};

// Waits for every future in `ahead` when the reading frame ends, however it ends: the tasks read
// the frame's locals, and an exception (bad_alloc in a task, rethrown by get()) must not unwind
// past tasks still running.
template <typename T>
class WaitForAll {
 public:
  explicit WaitForAll(std::deque<std::future<T>>& ahead) : ahead_(ahead) {}
  ~WaitForAll() {
    for (auto& f : ahead_) f.wait();
  }
  WaitForAll(const WaitForAll&) = delete;
  WaitForAll& operator=(const WaitForAll&) = delete;

 private:
  std::deque<std::future<T>>& ahead_;
};

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

ContentReader::ContentReader(ObjectStore* store, int threads)
    : store_(store), pool_(threads, "cairn-fetch") {}

Result<FileContent> ContentReader::Stat(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, store_->CheckedInfo(id));
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
  const std::vector<Run> runs = SplitRuns(index.chunks);
  std::deque<std::future<RunBuffer>> ahead;
  WaitForAll wait_all(ahead);
  size_t next = 0;
  Status result;
  for (size_t i = 0; i < runs.size(); ++i) {
    while (next < runs.size() && ahead.size() < kRunsAhead) {
      ahead.push_back(pool_.Submit([this, &index, run = runs[next]] {
        RunBuffer buf{std::make_unique_for_overwrite<char[]>(run.bytes), 0, {}};
        buf.status = ReadRun(store_, index.chunks, run, buf.data.get(), &buf.size);
        return buf;
      }));
      ++next;
    }
    RunBuffer piece = ahead.front().get();
    ahead.pop_front();
    // The verified bytes before a damaged chunk still go out, as a reader of a pipe expects.
    if (piece.size > 0) result = sink(std::string_view(piece.data.get(), piece.size));
    if (result.ok()) result = piece.status;
    if (!result.ok()) break;
  }
  return result;  // wait_all waits for the tasks still running: they read `index`
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
  const std::vector<Run> runs = SplitRuns(index.chunks);
  std::atomic<bool> failed{false};
  auto task = [this, &index, &write, &failed](const Run& run) -> Status {
    if (failed.load(std::memory_order_relaxed)) return Status();  // the error is reported already
    // Each thread reuses one buffer (grown, and zero-filled, only when a run is larger than any
    // before): it writes the run before it takes the next.
    thread_local std::vector<char> buf;
    if (buf.size() < run.bytes) buf.resize(run.bytes);
    CAIRN_RETURN_IF_ERROR(ReadRun(store_, index.chunks, run, buf.data()));
    return write(run.offset, std::string_view(buf.data(), run.bytes));
  };
  // Runs in flight, in order: runs[done] is the front's (progress goes in order).
  std::deque<std::future<Status>> ahead;
  WaitForAll wait_all(ahead);
  const size_t runs_ahead = std::max(kRunsAhead, 2 * static_cast<size_t>(pool_.size()));
  size_t next = 0, done = 0;
  Status result;
  while (next < runs.size() || !ahead.empty()) {
    while (result.ok() && next < runs.size() && ahead.size() < runs_ahead) {
      const Run& run = runs[next++];
      ahead.push_back(pool_.Submit([&task, &run] { return task(run); }));
    }
    if (ahead.empty()) break;
    Status s = ahead.front().get();
    ahead.pop_front();
    const uint64_t size = runs[done++].bytes;
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
