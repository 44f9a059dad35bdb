// ContentReader: reads stored file contents back, verified, in order, with runs of consecutive
// chunks (about 1 MiB) fetched and decompressed ahead on a pool of threads.
//
// Thread-safety: Read and Stat may be called from many threads at once.
#ifndef CAIRN_CAS_CONTENT_READER_H_
#define CAIRN_CAS_CONTENT_READER_H_

#include <functional>
#include <memory>
#include <string_view>

#include "base/env.h"
#include "base/thread_pool.h"
#include "cas/ingestor.h"
#include "cas/object_store.h"

namespace cairn::cas {

class ContentReader {
 public:
  // `store` must outlive the reader.
  explicit ContentReader(ObjectStore* store, int threads = ThreadPool::DefaultThreads());

  // The content named by `id` (a Blob or a ChunkIndex). NotFound if absent, InvalidArgument if
  // the object is another type, Corruption if damaged.
  Result<FileContent> Stat(const ObjectId& id);
  // Passes the content to `sink` piece by piece, in order. Every piece is verified before it
  // is passed on; on Corruption the sink has received only verified bytes. An error from the
  // sink stops the read and is returned.
  Status Read(const ObjectId& id, const std::function<Status(std::string_view)>& sink);
  // Passes the content to `write` piece by piece with each piece's offset, from the reader's
  // threads: calls come in any order and may come at once, each piece verified before it is
  // passed (for an output that takes positional writes: the calling thread never holds a
  // piece, and no piece waits for the ones before it).
  // `progress`, if set, is called on the calling thread with each piece's size, in order. The
  // first error, from the store or from `write`, stops the read and is returned; pieces after
  // it may have been written.
  Status ReadAt(const ObjectId& id, const std::function<Status(uint64_t, std::string_view)>& write,
                const std::function<void(uint64_t)>& progress = nullptr);
  // The content as a SequentialFile that fetches and verifies one chunk at a time (no read
  // ahead), for a caller that pulls. Errors as Read, from Open or from the file's Read. The
  // reader's store must outlive the file.
  Result<std::unique_ptr<SequentialFile>> Open(const ObjectId& id);
  // Resolves the SHA-256 of a whole content (as `sha256sum` prints it) to the content's id.
  // NotFound when no stored content has that digest.
  Result<ObjectId> FindBySha256(const ObjectId& sha256);

 private:
  ObjectStore* store_;
  ThreadPool pool_;
};

}  // namespace cairn::cas

#endif  // CAIRN_CAS_CONTENT_READER_H_
