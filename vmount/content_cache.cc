#include "vmount/content_cache.h"

#include <algorithm>
#include <cstring>

#include "cas/chunk_index.h"

namespace cairn::vmount {
namespace {

ObjectId LayoutKey(const ObjectId& id) {
  std::array<uint8_t, ObjectId::kSize> b;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(~id.data()[i]);
  return ObjectId(b);
}

}  // namespace

std::shared_ptr<const void> ContentCache::Find(const ObjectId& key) {
  std::lock_guard lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.pos);
  return it->second.value;
}

void ContentCache::Insert(const ObjectId& key, std::shared_ptr<const void> value, size_t cost) {
  std::lock_guard lock(mu_);
  if (items_.contains(key) || cost > capacity_) return;
  lru_.push_front(key);
  items_.emplace(key, Item{std::move(value), cost, lru_.begin()});
  used_ += cost;
  while (used_ > capacity_ && !lru_.empty()) {
    auto it = items_.find(lru_.back());
    used_ -= it->second.cost;
    items_.erase(it);
    lru_.pop_back();
  }
}

void ContentCache::Clear() {
  std::lock_guard lock(mu_);
  items_.clear();
  lru_.clear();
  used_ = 0;
}

Result<std::shared_ptr<const ContentCache::Layout>> ContentCache::LayoutOf(cas::ObjectStore* store,
                                                                           const ObjectId& id) {
  ObjectId key = LayoutKey(id);
  if (auto v = Find(key)) return std::static_pointer_cast<const Layout>(v);
  auto layout = std::make_shared<Layout>();
  CAIRN_ASSIGN_OR_RETURN(cas::ObjectInfo info, store->Info(id));
  if (info.type == cas::ObjectType::kBlob) {
    layout->ids.push_back(id);
    layout->starts = {0, info.raw_size};
  } else if (info.type == cas::ObjectType::kChunkIndex) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(id, cas::ObjectType::kChunkIndex));
    CAIRN_ASSIGN_OR_RETURN(cas::ChunkIndex index, cas::DecodeChunkIndex(id, data));
    uint64_t pos = 0;
    for (const auto& c : index.chunks) {
      layout->ids.push_back(c.id);
      layout->starts.push_back(pos);
      pos += c.size;
    }
    layout->starts.push_back(pos);
  } else {
    return Status::Corruption("read " + id.Short() + ": not file content");
  }
  Insert(key, layout, 64 + layout->ids.size() * 40);
  return std::shared_ptr<const Layout>(layout);
}

Result<std::shared_ptr<const std::string>> ContentCache::Chunk(cas::ObjectStore* store,
                                                               const ObjectId& id) {
  if (auto v = Find(id)) return std::static_pointer_cast<const std::string>(v);
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(id, cas::ObjectType::kBlob));
  auto p = std::make_shared<const std::string>(std::move(data));
  Insert(id, p, p->size() + 64);
  return p;
}

Status ContentCache::CopyData(cas::ObjectStore* store, const Layout& layout, uint64_t offset,
                              size_t n, char* dst) {
  if (offset + n > layout.starts.back()) {
    return Status::Corruption("read: content shorter than its entry says");
  }
  auto it = std::upper_bound(layout.starts.begin(), layout.starts.end(), offset);
  size_t i = static_cast<size_t>(it - layout.starts.begin()) - 1;
  while (n > 0) {
    CAIRN_ASSIGN_OR_RETURN(auto chunk, Chunk(store, layout.ids[i]));
    uint64_t in = offset - layout.starts[i];
    if (chunk->size() != layout.starts[i + 1] - layout.starts[i]) {
      return Status::Corruption("read blob " + layout.ids[i].Short() + ": size differs from its index");
    }
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, chunk->size() - in));
    std::memcpy(dst, chunk->data() + in, k);
    dst += k;
    offset += k;
    n -= k;
    ++i;
  }
  return Status();
}

Result<std::string> ContentCache::Read(cas::ObjectStore* store, const FileData& d,
                                       uint64_t offset, size_t size) {
  if (offset >= d.size || size == 0) return std::string();
  size = static_cast<size_t>(std::min<uint64_t>(size, d.size - offset));
  std::string out(size, '\0');
  CAIRN_ASSIGN_OR_RETURN(auto layout, LayoutOf(store, d.content));
  if (!d.sparse) {
    CAIRN_RETURN_IF_ERROR(CopyData(store, *layout, offset, size, out.data()));
    return out;
  }
  uint64_t data_pos = 0;  // data-space offset of the current extent
  const uint64_t end = offset + size;
  for (const auto& x : d.extents) {
    uint64_t lo = std::max(offset, x.offset), hi = std::min(end, x.offset + x.length);
    if (lo < hi) {
      CAIRN_RETURN_IF_ERROR(CopyData(store, *layout, data_pos + (lo - x.offset),
                                     static_cast<size_t>(hi - lo), out.data() + (lo - offset)));
    }
    data_pos += x.length;
    if (x.offset >= end) break;
  }
  return out;
}

void ContentCache::PrefetchOne(cas::ObjectStore* store, const ObjectId& content, uint64_t from,
                               uint64_t max_bytes) {
  auto layout = LayoutOf(store, content);
  if (!layout) return;
  const auto& starts = (*layout)->starts;
  // The chunk holding `from`, then on while the bytes loaded stay under max_bytes.
  size_t i = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), from) - starts.begin());
  i = i == 0 ? 0 : i - 1;
  for (uint64_t loaded = 0; i < (*layout)->ids.size() && loaded < max_bytes; ++i) {
    if (!Chunk(store, (*layout)->ids[i])) return;
    loaded += starts[i + 1] - starts[i];
  }
}

void ContentCache::Prefetch(std::shared_ptr<cas::ObjectStore> store,
                            std::vector<std::pair<ObjectId, uint64_t>> items, uint64_t max_bytes) {
  for (auto& [content, from] : items) {
    if (queued_.load() >= kMaxQueued) return;
    queued_++;
    pool_->Submit([this, store, content = content, from = from, max_bytes] {
      PrefetchOne(store.get(), content, from, max_bytes);
      queued_--;
    });
  }
}

}  // namespace cairn::vmount
