// ContentCache: random-access reads of stored file contents for a mount, through a bounded
// cache of decompressed, verified chunks shared by all threads, with read-ahead.
//
// A read maps the file's logical range onto its data regions (holes read as zeros), then onto
// its chunks; each chunk is read from the store once (ObjectStore::ReadTyped verifies it
// against its id) and kept while the cache has room (least recently used goes first). A chunk
// being loaded by one thread is waited for by another that wants it, not read twice.
//
// Thread-safety: all methods may be called concurrently.
#ifndef CAIRN_VMOUNT_CONTENT_CACHE_H_
#define CAIRN_VMOUNT_CONTENT_CACHE_H_

#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cas/object_store.h"
#include "vmount/mutable_tree.h"

namespace cairn::vmount {

// Bytes read, for a reply: `data` points into what `owner` keeps alive (a cached chunk when
// the read falls inside one, so that it is passed to the kernel without being copied first).
struct ReadBytes {
  std::shared_ptr<const void> owner;
  std::string_view data;
};

class ContentCache {
 public:
  // capacity_bytes: decompressed bytes kept (FilesystemOptions::cache_bytes).
  // ahead_threads: threads loading read-ahead. Default for mounts: 2 (one per core here).
  explicit ContentCache(size_t capacity_bytes, int ahead_threads = 2);
  // Waits for the read-ahead threads (they finish the load at hand, drop the rest).
  ~ContentCache();

  // Up to `size` bytes of the stored file `d` from `offset` (fewer at its end). Corruption
  // naming the object when a chunk fails verification; never wrong bytes.
  // REQUIRES: d.upper < 0.
  Result<ReadBytes> Read(cas::ObjectStore* store, const FileData& d, uint64_t offset,
                         size_t size);
  // Drops everything (the store changed).
  void Clear();

  // A load wanted ahead of reads: the data-space bytes [from, to) of a content.
  struct Want {
    ObjectId content;
    uint64_t from = 0;
    uint64_t to = 0;
  };
  // Queues `wants` for the read-ahead threads, for reads likely to follow (tar, cp and package
  // managers read a directory's files one after another, and a cold read waits on the disk for
  // each). A content's bytes already queued up to `to` are skipped, and nothing is queued
  // unless at least `min_new` wants (or the first) are new, so the threads wake once per
  // batch, not once per read: on this kind of machine a wake-up costs more than a cached
  // read. Errors are dropped (the real read reports them); beyond kMaxQueued waiting loads,
  // wants are dropped too. The loads keep `store` alive.
  void Prefetch(std::shared_ptr<cas::ObjectStore> store, const std::vector<Want>& wants,
                size_t min_new);
  // Forgets how far `content` was queued (a reader started it again: what was loaded may have
  // been evicted since).
  void Restart(const ObjectId& content);

 private:
  struct Layout {  // the chunks of one content, with their start offsets
    std::vector<ObjectId> ids;
    std::vector<uint64_t> starts;  // starts.back() is the total size
  };
  struct Item {
    std::shared_ptr<const void> value;
    size_t cost;
    std::list<ObjectId>::iterator pos;
  };
  struct Load {
    std::shared_ptr<cas::ObjectStore> store;
    Want want;
  };
  Result<std::shared_ptr<const Layout>> LayoutOf(cas::ObjectStore* store, const ObjectId& id);
  Result<std::shared_ptr<const std::string>> Chunk(cas::ObjectStore* store, const ObjectId& id);
  // The chunk i of `layout`, checked against the size the layout gives it.
  Result<std::shared_ptr<const std::string>> ChunkOf(cas::ObjectStore* store, const Layout& layout,
                                                     size_t i);
  // Copies data-space bytes [offset, offset + n) of content `layout` to dst.
  Status CopyData(cas::ObjectStore* store, const Layout& layout, uint64_t offset, size_t n,
                  char* dst);
  // Reads the object `id`: a Blob is its own one chunk (cached here too, so a small file costs
  // one store read), a ChunkIndex lists them.
  Result<std::shared_ptr<const Layout>> ReadLayout(cas::ObjectStore* store, const ObjectId& id);
  std::shared_ptr<const void> FindLocked(const ObjectId& key);
  // The cached value of `key`; or, when absent, nullptr after marking `key` as loading by the
  // caller, who must then call Finish(key, ...). Waits while another thread loads it.
  std::shared_ptr<const void> Claim(const ObjectId& key);
  // Caches `value` (null: the load failed) and wakes the threads waiting for `key`.
  void Finish(const ObjectId& key, std::shared_ptr<const void> value, size_t cost);
  void AheadLoop();
  void LoadAhead(cas::ObjectStore* store, const Want& w);

  static constexpr size_t kMaxQueued = 256;
  // Bound of queued_to_: past it, it is forgotten (and contents may be loaded ahead again).
  static constexpr size_t kMaxTracked = 16384;

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable loaded_cv_;  // a chunk in loading_ finished
  size_t used_ = 0;
  std::list<ObjectId> lru_;  // front: most recent
  std::unordered_map<ObjectId, Item> items_;
  // Layouts are keyed by their content id with this id's bytes flipped, so they share the LRU.
  std::unordered_set<ObjectId> loading_;  // chunks and layouts being read from the store

  std::mutex ahead_mu_;
  std::condition_variable ahead_cv_;
  std::deque<Load> queue_;
  std::unordered_map<ObjectId, uint64_t> queued_to_;  // how far each content was queued
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_CONTENT_CACHE_H_
