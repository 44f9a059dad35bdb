// Ingestor: writes file contents and other objects into an ObjectStore, fast and in bounded
// memory.
//
// A file is cut into content-defined chunks (cas/chunker.h). Each chunk is hashed, looked up
// (chunks the store already holds are not written again), compressed and added to a write
// batch, on a pool of worker threads. A file of one chunk is a Blob, whose id is the file's
// SHA-256; a larger file is a ChunkIndex listing its Blobs, and the store maps the file's whole
// SHA-256 to it (Space::kContent), so a user can find any file by its `sha256sum`.
//
// Objects are written in bulk (no write-ahead log); Finish() makes them durable. Callers make
// a ref durable only after Finish() returns, so a crash never leaves a ref to a lost object.
//
// Thread-safety: PutStream, PutBytes and PutObject may be called from many threads at once
// (not from this Ingestor's own workers). Finish must not race with them.
#ifndef CAIRN_CAS_INGESTOR_H_
#define CAIRN_CAS_INGESTOR_H_

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "base/env.h"
#include "base/thread_pool.h"
#include "cas/chunk_index.h"
#include "cas/chunker.h"
#include "cas/object_store.h"

namespace cairn::cas {

struct IngestOptions {
  ChunkerOptions chunker;
  // zstd level for object records; 0 stores raw. Default: 4 (docs/store-tuning.md).
  int zstd_level = 4;
  // zstd level for objects smaller than chunker.min_size (small files and Trees), when higher
  // than zstd_level. Default: 4.
  int small_zstd_level = 4;
  // A batch is written once it holds this many bytes. Default: 1 MiB. Smaller batches let the
  // allocator reuse the pages of the last one (first touches of fresh pages are dear here,
  // base/heap_warmer.h): a warm full checkin of corpus v3 took 0.95 s with 1 MiB against 1.20 s
  // with 8 MiB, and the incremental one 128 against 135 ms (docs/benchmarks.md, session 14).
  size_t batch_bytes = 1 << 20;
  // Worker threads. Default: the number of cores.
  int threads = ThreadPool::DefaultThreads();
  // PutStream reads a file `read_block_size` bytes at a time into `read_blocks` reused buffers
  // (memory: read_blocks * (read_block_size + chunker.max_size)). Defaults: 4 MiB, 6.
  size_t read_block_size = 4 << 20;
  size_t read_blocks = 6;
};

// What a stored file's content is.
struct FileContent {
  ObjectId id;  // a Blob (one chunk) or a ChunkIndex
  ObjectType type = ObjectType::kBlob;
  uint64_t size = 0;
  ObjectId sha256;  // of the whole content; equals id for a Blob
};

struct IngestStats {
  std::atomic<uint64_t> bytes_in{0};       // content bytes given to the ingestor
  std::atomic<uint64_t> objects_new{0};    // objects written
  std::atomic<uint64_t> objects_dup{0};    // objects the store already held
  std::atomic<uint64_t> bytes_new{0};      // uncompressed bytes of objects written
  std::atomic<uint64_t> bytes_stored{0};   // record bytes written
};

class ReadBlockPool;

class Ingestor {
 public:
  // `store` must outlive the Ingestor. REQUIRES: options.chunker.Validate().ok().
  Ingestor(ObjectStore* store, IngestOptions options);
  ~Ingestor();

  // Stores everything `file` yields until its end. `name` is used in error messages.
  Result<FileContent> PutStream(SequentialFile* file, const std::string& name);
  // Stores a content held in memory.
  Result<FileContent> PutBytes(std::string_view data);
  // As PutBytes, for a large content in memory the caller holds (a mapped file): the chunks
  // are hashed and compressed on the worker threads, in place. `data` must stay valid and
  // unchanged until it returns. Before any byte of a piece of `data` is read, `prepare` (if
  // set) is called with the piece's offset and size (read_block_size bytes at a time, in
  // order; MappedFile::Populate), and an error it returns ends the put with that error.
  // `name` is used in error messages.
  Result<FileContent> PutView(std::string_view data, const std::string& name,
                              const std::function<Status(size_t offset, size_t n)>& prepare = {});
  // Stores a non-content object (Tree, Disk, Version).
  Result<ObjectId> PutObject(ObjectType type, std::string_view canonical);
  // Adds a key-value update to the next batch (indexes written with the objects they name).
  void PutKey(Space space, std::string_view key, std::string_view value);

  // Writes what is pending and makes every object durable (ObjectStore::Flush).
  Status Finish();
  // Writes what is pending, without making it durable: every object put so far can be read
  // from the store (by this process) after it.
  Status WritePending();
  // Writes what is pending and starts making it durable (ObjectStore::Flush) on another
  // thread, so that the caller can prepare what it will pass to Finish(final) meanwhile.
  // Objects put after it are made durable by Finish. At most once per session.
  void StartFlush();
  // As Finish(), then writes `final` (updates that name this session's objects, such as a
  // new version's refs) in one synced, logged batch: a crash leaves all of `final` or none of
  // it, and never `final` without the objects it names. Unlogged writes to other spaces made
  // before it (a large index) are flushed before it too (ObjectStore::FlushAll).
  // Once `final` is written, Abort() does nothing: deleting the objects alone could leave refs
  // to nothing.
  Status Finish(WriteBatch final);
  // Undoes the session after a failure: deletes every object this Ingestor wrote, so that the
  // store holds what it held before; nothing once Finish(final) wrote `final`. `first`, when
  // given, is the caller's undo of what it wrote beside the objects (keys that name them: a
  // version's index), run before the objects go (no cut may leave a key naming a deleted
  // object) and not at all once `final` is written. Both run after StartFlush's flush has
  // ended: an undo may reopen the store (ObjectStore::UndoRecovering), and reopening it under
  // that flush crashed a checkin failing on a full disk (SIGSEGV in RocksDB's Flush). REQUIRES:
  // no concurrent Put*; this process is the only writer (cas/repository.h guarantees it).
  Status Abort(const std::function<Status()>& first = nullptr);

  const IngestStats& stats() const { return stats_; }
  ObjectStore* store() const { return store_; }
  const IngestOptions& options() const { return options_; }

 private:
  // Hashes, dedups and (if new) compresses and queues one chunk. Returns its id.
  // `x86_code`: the chunk is part of an x86 executable (compressed through the x86 filter).
  Result<ObjectId> StoreChunk(std::string_view data, bool x86_code = false);
  // Dedups (the pending batch, then the store) and, if new, compresses and queues an object.
  Result<ObjectId> StoreObject(const ObjectId& id, ObjectType type, std::string_view data,
                               bool x86_code = false);
  Status Add(EncodedObject obj);
  Status AddToBatch(WriteBatch::Op op);
  Status WriteIfFull(std::unique_lock<std::mutex>& lock);
  WriteBatch TakeBatch();  // the pending batch, leaving an empty one
  int LevelFor(size_t size) const;
  Result<FileContent> FinishFile(ChunkIndex& index);
  // Waits for StartFlush's flush (OK when none was started): once it returns OK, what was put
  // before StartFlush is durable.
  Status WaitFlush();

  ObjectStore* store_;
  IngestOptions options_;
  ThreadPool pool_;
  ThreadPool hash_pool_;  // one thread: whole-content SHA-256 of large files, in order
  std::shared_ptr<ReadBlockPool> blocks_;  // PutStream's read buffers
  IngestStats stats_;
  std::shared_future<Status> flushing_;  // StartFlush's flush (invalid: none started)

  mutable std::mutex mu_;  // guards batch_ and pending_
  WriteBatch batch_;
  std::unordered_set<ObjectId> pending_;  // ids in batch_, not yet visible in the store
  bool final_written_ = false;            // Finish(final) wrote `final`: Abort does nothing
  std::vector<ObjectId> written_;         // every new object of this session, for Abort
  std::vector<std::pair<Space, std::string>> written_keys_;  // PutKey keys, for Abort
};

// `failure`, and when the undo after it (`undo`, Ingestor::Abort's) failed too, with that said:
// what `command` stored is then referenced by nothing, and `cairn gc` removes it.
Status WithUndo(Status failure, const Status& undo, std::string_view command);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_INGESTOR_H_
