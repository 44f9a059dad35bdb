// ContentCache: random-access reads of stored file contents for a mount, through a bounded
// cache of decompressed, verified chunks shared by all threads.
//
// A read maps the file's logical range onto its data regions (holes read as zeros), then onto
// its chunks; each chunk is read from the store once (ObjectStore::ReadTyped verifies it
// against its id) and kept while the cache has room (least recently used goes first).
//
// Thread-safety: all methods may be called concurrently.
#ifndef CAIRN_VMOUNT_CONTENT_CACHE_H_
#define CAIRN_VMOUNT_CONTENT_CACHE_H_

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/thread_pool.h"
#include "cas/object_store.h"
#include "vmount/mutable_tree.h"

namespace cairn::vmount {

class ContentCache {
 public:
  // capacity_bytes: decompressed bytes kept. Default for mounts: 256 MiB.
  explicit ContentCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Up to `size` bytes of the stored file `d` from `offset` (fewer at its end). Corruption
  // naming the object when a chunk fails verification; never wrong bytes.
  // REQUIRES: d.upper < 0.
  Result<std::string> Read(cas::ObjectStore* store, const FileData& d, uint64_t offset,
                           size_t size);
  // Drops everything (the store changed).
  void Clear();

  // Loads up to `max_bytes` of each content into the cache on background threads, for reads
  // likely to follow: tar, cp and package managers read a directory's files one after another,
  // and a cold read waits on the disk for each. Errors are dropped (the real read reports
  // them); work beyond kMaxQueued waiting contents is dropped too. The tasks keep `store` alive.
  // Each item: a content and the data-space offset to load from.
  void Prefetch(std::shared_ptr<cas::ObjectStore> store,
                std::vector<std::pair<ObjectId, uint64_t>> items, uint64_t max_bytes);

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
  Result<std::shared_ptr<const Layout>> LayoutOf(cas::ObjectStore* store, const ObjectId& id);
  Result<std::shared_ptr<const std::string>> Chunk(cas::ObjectStore* store, const ObjectId& id);
  // Copies data-space bytes [offset, offset + n) of content `layout` to dst.
  Status CopyData(cas::ObjectStore* store, const Layout& layout, uint64_t offset, size_t n,
                  char* dst);
  std::shared_ptr<const void> Find(const ObjectId& key);
  void Insert(const ObjectId& key, std::shared_ptr<const void> value, size_t cost);

  static constexpr int kMaxQueued = 64;
  void PrefetchOne(cas::ObjectStore* store, const ObjectId& content, uint64_t from, uint64_t max_bytes);

  const size_t capacity_;
  std::mutex mu_;
  size_t used_ = 0;
  std::list<ObjectId> lru_;  // front: most recent
  std::unordered_map<ObjectId, Item> items_;
  // Layouts are keyed by their content id with this id's bytes flipped, so they share the LRU.
  std::atomic<int> queued_{0};
  // Last: destroyed first, so its tasks finish before the cache they fill goes.
  std::unique_ptr<ThreadPool> pool_ = std::make_unique<ThreadPool>(4);
};

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_CONTENT_CACHE_H_
