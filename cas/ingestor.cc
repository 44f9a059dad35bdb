#include "cas/ingestor.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>

#include "base/heap_warmer.h"
#include "base/interrupt.h"
#include "base/sha256.h"
#include "cas/chunk_index.h"
#include "cas/x86_filter.h"

namespace cairn::cas {
namespace {
// Chunks being hashed and compressed at once: bounds memory to a few blocks.
constexpr size_t kMaxInFlight = 64;

// The chunk tasks of one file (PutStream, PutView), oldest first: each id goes into the file's
// ChunkIndex in file order as its task is collected.
class ChunkTasks {
 public:
  ChunkTasks(ChunkIndex* index, const std::string& name) : index_(index), name_(name) {}
  void Add(std::future<Result<ObjectId>> task, uint64_t size) {
    tasks_.push_back({std::move(task), size});
  }
  bool empty() const { return tasks_.empty(); }
  // More in flight than memory allows: collect before adding more.
  bool full() const { return tasks_.size() > kMaxInFlight; }
  // Waits for the oldest task and appends its chunk to the index.
  Status CollectOne() {
    Task t = std::move(tasks_.front());
    tasks_.pop_front();
    Result<ObjectId> r = t.id.get();
    if (!r) return std::move(r).error().WithContext("store " + name_);
    index_->chunks.push_back({*r, t.size});
    return Status();
  }
  // Waits for every task (so that what they point into may go); the first failure.
  Status Drain() {
    Status first;
    while (!empty()) {
      Status s = CollectOne();
      if (first.ok() && !s.ok()) first = s;
    }
    return first;
  }

 private:
  ChunkIndex* index_;
  const std::string& name_;
  struct Task {
    std::future<Result<ObjectId>> id;
    uint64_t size;  // of the chunk
  };
  std::deque<Task> tasks_;
};

}  // namespace

// Read buffers shared by every PutStream of one Ingestor, handed out as shared pointers that
// return them to the pool. A task may release its block after its future is ready, so every
// block keeps the pool alive. Blocks are allocated on first need (an ingest of small files
// never touches them) and reused most recently freed first, so that a session touches as few
// fresh pages as it can: a first touch costs about 18 us per 4 KiB page on this class of
// virtual machine, 50 times the cost of filling the page (docs/store-tuning.md).
class ReadBlockPool : public std::enable_shared_from_this<ReadBlockPool> {
 public:
  ReadBlockPool(size_t count, size_t size) : count_(count), size_(size) {}
  size_t block_size() const { return size_; }
  size_t count() const { return count_; }
  // A free block; null when every block is in use and `wait` is false.
  std::shared_ptr<char> Take(bool wait) {
    std::unique_lock lock(mu_);
    if (free_.empty() && storage_.size() < count_) {
      storage_.push_back({std::make_unique_for_overwrite<char[]>(size_), 0});
      free_.push_back(storage_.back().data.get());
    }
    if (!wait && free_.empty()) return nullptr;
    cv_.wait(lock, [this] { return !free_.empty(); });
    char* p = free_.back();
    free_.pop_back();
    return std::shared_ptr<char>(p, [self = shared_from_this()](char* q) {
      {
        std::lock_guard l(self->mu_);
        self->free_.push_back(q);
      }
      self->cv_.notify_one();
    });
  }

  // The first `n` bytes of `block` (one Take gave) are about to be written: the pages of those
  // never written yet are faulted in at once (base/heap_warmer.h: ~5.7 us a page against ~11
  // us for a fault on this VM), so a stream's reads fault no page of a block twice or singly.
  // Called by the block's holder only.
  void Prepare(char* block, size_t n) {
    n = std::min(n, size_);
    size_t i = 0, done = 0;
    {
      std::lock_guard lock(mu_);  // Take may grow the vectors meanwhile
      while (i < storage_.size() && storage_[i].data.get() != block) ++i;
      if (i == storage_.size() || storage_[i].touched >= n) return;
      done = storage_[i].touched;
    }
    PopulatePages(block + done, n - done);
    std::lock_guard lock(mu_);
    storage_[i].touched = std::max(storage_[i].touched, n);
  }

 private:
  const size_t count_, size_;
  std::mutex mu_;
  std::condition_variable cv_;
  struct Block {
    std::unique_ptr<char[]> data;
    size_t touched;  // the bytes Prepare faulted in
  };
  std::vector<Block> storage_;
  std::vector<char*> free_;
};

Ingestor::Ingestor(ObjectStore* store, IngestOptions options)
    : store_(store),
      options_(std::move(options)),
      pool_(options_.threads, "cairn-store"),
      hash_pool_(1, "cairn-hash") {
  // Every stream may wait for a block while holding one (the carry), so there are more
  // blocks than streams that may run at once (one per caller thread, a few).
  const size_t count = std::max<size_t>(options_.read_blocks, 4);
  const size_t size = std::max<size_t>(options_.read_block_size, 4096) + options_.chunker.max_size;
  blocks_ = std::make_shared<ReadBlockPool>(count, size);
}

Ingestor::~Ingestor() {
  if (flushing_.valid()) flushing_.wait();
}

int Ingestor::LevelFor(size_t size) const {
  // Objects smaller than the chunker's minimum are whole small files and Trees: they are many,
  // they hold a small share of the bytes, and a higher level costs little on them.
  if (options_.zstd_level == 0) return 0;
  if (size < options_.chunker.min_size) return std::max(options_.zstd_level, options_.small_zstd_level);
  return options_.zstd_level;
}

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
  // Interrupted (base/interrupt.h): nothing more is written, and the caller undoes the rest.
  if (InterruptSignal() != 0) return InterruptedStatus();
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

Result<ObjectId> Ingestor::StoreObject(const ObjectId& id, ObjectType type, std::string_view data,
                                       bool x86_code) {
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
  CAIRN_RETURN_IF_ERROR(Add(EncodeObjectWithId(id, type, data, LevelFor(data.size()), x86_code)));
  return id;
}

Result<ObjectId> Ingestor::StoreChunk(std::string_view data, bool x86_code) {
  return StoreObject(Sha256::Of(data), ObjectType::kBlob, data, x86_code);
}

Result<ObjectId> Ingestor::PutObject(ObjectType type, std::string_view canonical) {
  return StoreObject(Sha256::Of(canonical), type, canonical);
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
  const bool x86_code = IsX86Elf(data);
  if (rest.empty()) {
    CAIRN_ASSIGN_OR_RETURN(ObjectId id, StoreChunk(""));
    index.chunks.push_back({id, 0});
  }
  while (!rest.empty()) {
    size_t len = FindChunkBoundary(options_.chunker, rest, /*at_end=*/true);
    std::string_view piece(reinterpret_cast<const char*>(rest.data()), len);
    CAIRN_ASSIGN_OR_RETURN(ObjectId id, StoreChunk(piece, x86_code));
    index.chunks.push_back({id, len});
    rest = rest.subspan(len);
  }
  index.content_sha256 = index.chunks.size() == 1 ? index.chunks[0].id : Sha256::Of(data);
  return FinishFile(index);
}

Result<FileContent> Ingestor::PutStream(SequentialFile* file, const std::string& name) {
  // Read blocks come from the Ingestor's pool (never zero-filled); a block goes back when the
  // last chunk task and the hash task that point into it are done. Chunks point into the read
  // blocks until they are stored; the pool has enough blocks for the chunk tasks and the hash
  // thread to lag behind the reader by a few.
  const size_t block_size = blocks_->block_size() - options_.chunker.max_size;
  const size_t block_count = blocks_->count();
  Sha256 whole;
  ChunkIndex index;
  ChunkTasks in_flight(&index, name);
  std::deque<std::future<void>> hashing;
  // Waits for every task that uses `whole` or a block, so that both may be destroyed.
  auto drain = [&]() -> Status {
    Status first = in_flight.Drain();
    for (auto& h : hashing) h.get();
    hashing.clear();
    return first;
  };

  const char* carry = nullptr;
  size_t carry_size = 0;
  std::shared_ptr<char> previous;  // holds the carried bytes until they are copied
  std::string carry_copy;          // or they are here (see below)
  bool at_end = false;
  uint64_t read_so_far = 0;  // bytes read from `file` so far
  bool first = true, x86_code = false;  // an x86 executable: its chunks go through the x86 filter
  while (!at_end) {
    // Blocks are held by the tasks pointing into them, and a task's captures live as long as
    // its future: when none is free, collecting the oldest futures is what frees one (a plain
    // wait would wait for futures only this thread can release, and hung). With none left to
    // collect, the last holders are workers about to drop a finished task: wait for them.
    std::shared_ptr<char> block = blocks_->Take(/*wait=*/false);
    while (!block) {
      if (!in_flight.empty()) {
        Status s = in_flight.CollectOne();
        if (!s.ok()) {
          (void)drain();
          return s;
        }
      } else if (!hashing.empty()) {
        hashing.front().get();
        hashing.pop_front();
      } else {
        // Other streams of this Ingestor hold every block. Waiting while holding one (the
        // carry) could deadlock when as many streams as blocks all wait: keep the carry (less
        // than a chunk) aside and wait empty-handed.
        if (previous) {
          carry_copy.assign(carry, carry_size);
          carry = carry_copy.data();
          previous.reset();
        }
        block = blocks_->Take(/*wait=*/true);
        break;
      }
      block = blocks_->Take(/*wait=*/false);
    }
    if (const uint64_t size = file->Size(); size > read_so_far) {  // the bytes still to come
      blocks_->Prepare(block.get(), carry_size + std::min<uint64_t>(block_size, size - read_so_far));
    }
    if (carry_size > 0) std::memcpy(block.get(), carry, carry_size);
    previous.reset();
    Result<size_t> n = file->Read(block.get() + carry_size, block_size);
    if (!n) {
      (void)drain();
      return std::move(n).error();
    }
    at_end = *n < block_size;
    stats_.bytes_in += *n;
    read_so_far += *n;
    if (first) x86_code = IsX86Elf(std::string_view(block.get(), *n));
    first = false;
    // The whole-content SHA-256 runs on its own thread, in block order.
    hashing.push_back(hash_pool_.Submit(
        [&whole, block, off = carry_size, len = *n] { whole.Update(block.get() + off, len); }));
    while (hashing.size() > block_count / 2) {
      hashing.front().get();
      hashing.pop_front();
    }
    const size_t size = carry_size + *n;
    std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(block.get()), size);
    size_t pos = 0;
    while (pos < size) {
      size_t len = FindChunkBoundary(options_.chunker, data.subspan(pos), at_end);
      if (len == 0) break;
      std::string_view piece(block.get() + pos, len);
      auto task = [this, block, piece, x86_code] { return StoreChunk(piece, x86_code); };
      in_flight.Add(pool_.Submit(std::move(task)), len);
      pos += len;
      while (in_flight.full()) {
        Status s = in_flight.CollectOne();
        if (!s.ok()) {
          (void)drain();
          return s;
        }
      }
    }
    carry = block.get() + pos;
    carry_size = size - pos;
    previous = std::move(block);
  }
  previous.reset();
  CAIRN_RETURN_IF_ERROR(drain());
  for (const auto& c : index.chunks) index.total_size += c.size;
  if (index.chunks.empty()) {  // an empty file is the empty Blob
    CAIRN_ASSIGN_OR_RETURN(ObjectId id, StoreChunk(""));
    index.chunks.push_back({id, 0});
  }
  index.content_sha256 = whole.Finish();
  return FinishFile(index);
}

Result<FileContent> Ingestor::PutView(std::string_view data, const std::string& name,
                                      const std::function<Status(size_t, size_t)>& prepare) {
  if (data.size() <= options_.chunker.min_size) {
    if (prepare) CAIRN_RETURN_IF_ERROR(prepare(0, data.size()));
    return PutBytes(data);
  }
  stats_.bytes_in += data.size();
  const size_t piece = std::max<size_t>(options_.read_block_size, options_.chunker.max_size);
  Sha256 whole;
  ChunkIndex index;
  index.total_size = data.size();
  ChunkTasks in_flight(&index, name);
  std::deque<std::future<void>> hashing;  // the whole-content SHA-256, a piece at a time
  Status failed;
  std::span<const uint8_t> all(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  bool x86_code = false;
  size_t ready = 0;  // bytes prepared so far
  size_t pos = 0;    // where the next chunk starts
  while (pos < data.size() && failed.ok()) {
    // A boundary is decided by at most max_size bytes: prepare the next piece before those
    // run past what is prepared.
    if (ready < data.size() && pos + options_.chunker.max_size > ready) {
      const size_t n = std::min(piece, data.size() - ready);
      if (prepare) {
        if (Status s = prepare(ready, n); !s.ok()) {
          failed = s;
          break;
        }
      }
      if (ready == 0) x86_code = IsX86Elf(data);
      hashing.push_back(hash_pool_.Submit([&whole, p = data.data() + ready, n] { whole.Update(p, n); }));
      ready += n;
      continue;
    }
    const bool at_end = ready == data.size();
    size_t len = FindChunkBoundary(options_.chunker, all.subspan(pos, ready - pos), at_end);
    std::string_view chunk(data.data() + pos, len);
    in_flight.Add(pool_.Submit([this, chunk, x86_code] { return StoreChunk(chunk, x86_code); }),
                  len);
    pos += len;
    while (in_flight.full() && failed.ok()) failed = in_flight.CollectOne();
  }
  if (Status s = in_flight.Drain(); failed.ok()) failed = s;
  for (auto& h : hashing) h.get();
  if (!failed.ok()) return failed;
  index.content_sha256 = index.chunks.size() == 1 ? index.chunks[0].id : whole.Finish();
  return FinishFile(index);
}

WriteBatch Ingestor::TakeBatch() {
  WriteBatch rest;
  std::lock_guard lock(mu_);
  std::swap(rest, batch_);
  pending_.clear();
  return rest;
}

Status Ingestor::Finish() {
  CAIRN_RETURN_IF_ERROR(WritePending());
  CAIRN_RETURN_IF_ERROR(store_->Flush());
  // The last moment an interrupt can still undo the whole command.
  return InterruptSignal() != 0 ? InterruptedStatus() : Status();
}

Status Ingestor::WritePending() {
  WriteBatch rest = TakeBatch();
  if (rest.empty()) return Status();
  return store_->Write(rest, WriteOptions{.bulk = true});
}

void Ingestor::StartFlush() {
  if (flushing_.valid()) return;
  Status pending = WritePending();
  flushing_ = std::async(std::launch::async, [this, pending] {
    return pending.ok() ? store_->Flush() : pending;
  });
}

Status Ingestor::WaitFlush() { return flushing_.valid() ? flushing_.get() : Status(); }

Status Ingestor::Finish(WriteBatch final) {
  CAIRN_RETURN_IF_ERROR(WaitFlush());
  CAIRN_RETURN_IF_ERROR(WritePending());
  // Everything `final` names is durable before `final` is written.
  CAIRN_RETURN_IF_ERROR(store_->FlushAll());
  // The last moment an interrupt still undoes the whole command; once `final` is written, the
  // command has done its work and ends as if it had not been interrupted.
  if (InterruptSignal() != 0) return InterruptedStatus();
  CAIRN_RETURN_IF_ERROR(store_->Write(final, WriteOptions{.sync = true}));
  std::lock_guard lock(mu_);
  final_written_ = true;
  return Status();
}

Status Ingestor::Abort(const std::function<Status()>& first) {
  (void)WaitFlush();  // the undo follows whatever that flush made durable
  {
    std::lock_guard lock(mu_);
    if (final_written_) return Status();
  }
  if (first) CAIRN_RETURN_IF_ERROR(first());
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
  // The disk filled: the store refuses writes until reopened. The undo goes through the log.
  CAIRN_RETURN_IF_ERROR(
      store_->UndoRecovering([&] { return store_->Write(undo, WriteOptions{.sync = true}); }));
  Status s = store_->Flush();
  // The undo is durable already, in the synced log, which the next open replays: a flush the
  // full disk refused leaves it there (the tables of deletes undoing a checkin of 20,000 small
  // files did not fit in the store's 4 MiB reserve; tests/cli/full_disk_test.cc).
  return s.code() == Code::kNoSpace ? Status() : s;
}

Status WithUndo(Status failure, const Status& undo, std::string_view command) {
  if (undo.ok()) return failure;
  return failure.WithContext(std::string(command) + " (undo failed: " + undo.message() +
                             "; what it stored is referenced by nothing: `cairn gc` removes it)");
}

}  // namespace cairn::cas
