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

ContentCache::ContentCache(size_t capacity_bytes, int ahead_threads) : capacity_(capacity_bytes) {
  for (int i = 0; i < ahead_threads; ++i) threads_.emplace_back([this] { AheadLoop(); });
}

ContentCache::~ContentCache() {
  {
    std::lock_guard lock(ahead_mu_);
    stop_ = true;
    queue_.clear();
  }
  ahead_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::shared_ptr<const void> ContentCache::FindLocked(const ObjectId& key) {
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.pos);
  return it->second.value;
}

std::shared_ptr<const void> ContentCache::Claim(const ObjectId& key) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (auto v = FindLocked(key)) return v;
    if (loading_.insert(key).second) return nullptr;
    // Another thread reads it: wait, then take its result (or, if it failed or did not fit,
    // read it here).
    loaded_cv_.wait(lock, [&] { return !loading_.contains(key); });
  }
}

void ContentCache::Finish(const ObjectId& key, std::shared_ptr<const void> value, size_t cost) {
  {
    std::lock_guard lock(mu_);
    loading_.erase(key);
    if (value != nullptr && cost <= capacity_ && !items_.contains(key)) {
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
  }
  loaded_cv_.notify_all();
}

void ContentCache::Clear() {
  {
    std::lock_guard lock(mu_);
    items_.clear();
    lru_.clear();
    used_ = 0;
  }
  std::lock_guard lock(ahead_mu_);
  queued_to_.clear();
}

Result<std::shared_ptr<const ContentCache::Layout>> ContentCache::ReadLayout(
    cas::ObjectStore* store, const ObjectId& id) {
  auto layout = std::make_shared<Layout>();
  CAIRN_ASSIGN_OR_RETURN(cas::DecodedObject obj, store->Read(id));  // verified against id
  if (obj.type == cas::ObjectType::kBlob) {
    layout->ids.push_back(id);
    layout->starts = {0, obj.data.size()};
    if (auto v = Claim(id); v == nullptr) {
      auto p = std::make_shared<const std::string>(std::move(obj.data));
      Finish(id, p, p->size() + 64);
    }
  } else if (obj.type == cas::ObjectType::kChunkIndex) {
    CAIRN_ASSIGN_OR_RETURN(cas::ChunkIndex index, cas::DecodeChunkIndex(id, obj.data));
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
  return std::shared_ptr<const Layout>(std::move(layout));
}

Result<std::shared_ptr<const ContentCache::Layout>> ContentCache::LayoutOf(cas::ObjectStore* store,
                                                                           const ObjectId& id) {
  ObjectId key = LayoutKey(id);
  if (auto v = Claim(key)) return std::static_pointer_cast<const Layout>(v);
  auto layout = ReadLayout(store, id);
  Finish(key, layout ? *layout : nullptr, layout ? 64 + (*layout)->ids.size() * 40 : 0);
  return layout;
}

Result<std::shared_ptr<const std::string>> ContentCache::Chunk(cas::ObjectStore* store,
                                                               const ObjectId& id) {
  if (auto v = Claim(id)) return std::static_pointer_cast<const std::string>(v);
  auto data = store->ReadTyped(id, cas::ObjectType::kBlob);
  if (!data) {
    Finish(id, nullptr, 0);
    return data.error();
  }
  auto p = std::make_shared<const std::string>(std::move(*data));
  Finish(id, p, p->size() + 64);
  return p;
}

Result<std::shared_ptr<const std::string>> ContentCache::ChunkOf(cas::ObjectStore* store,
                                                                 const Layout& layout, size_t i) {
  CAIRN_ASSIGN_OR_RETURN(auto chunk, Chunk(store, layout.ids[i]));
  if (chunk->size() != layout.starts[i + 1] - layout.starts[i]) {
    return Status::Corruption("read blob " + layout.ids[i].Short() + ": size differs from its index");
  }
  return chunk;
}

Status ContentCache::CopyData(cas::ObjectStore* store, const Layout& layout, uint64_t offset,
                              size_t n, char* dst) {
  if (offset + n > layout.starts.back()) {
    return Status::Corruption("read: content shorter than its entry says");
  }
  auto it = std::upper_bound(layout.starts.begin(), layout.starts.end(), offset);
  size_t i = static_cast<size_t>(it - layout.starts.begin()) - 1;
  while (n > 0) {
    CAIRN_ASSIGN_OR_RETURN(auto chunk, ChunkOf(store, layout, i));
    uint64_t in = offset - layout.starts[i];
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, chunk->size() - in));
    std::memcpy(dst, chunk->data() + in, k);
    dst += k;
    offset += k;
    n -= k;
    ++i;
  }
  return Status();
}

Result<ReadBytes> ContentCache::Read(cas::ObjectStore* store, const FileData& d, uint64_t offset,
                                     size_t size) {
  if (offset >= d.size || size == 0) return ReadBytes{};
  size = static_cast<size_t>(std::min<uint64_t>(size, d.size - offset));
  CAIRN_ASSIGN_OR_RETURN(auto layout, LayoutOf(store, d.content));
  if (!d.sparse) {
    if (offset + size > layout->starts.back()) {
      return Status::Corruption("read: content shorter than its entry says");
    }
    auto it = std::upper_bound(layout->starts.begin(), layout->starts.end(), offset);
    size_t i = static_cast<size_t>(it - layout->starts.begin()) - 1;
    if (offset + size <= layout->starts[i + 1]) {  // inside one chunk: no copy
      CAIRN_ASSIGN_OR_RETURN(auto chunk, ChunkOf(store, *layout, i));
      std::string_view v(chunk->data() + (offset - layout->starts[i]), size);
      return ReadBytes{std::move(chunk), v};
    }
    auto buf = std::make_shared_for_overwrite<char[]>(size);
    CAIRN_RETURN_IF_ERROR(CopyData(store, *layout, offset, size, buf.get()));
    std::string_view v(buf.get(), size);
    return ReadBytes{std::move(buf), v};
  }
  auto buf = std::make_shared<char[]>(size);  // zeros: the holes
  uint64_t data_pos = 0;  // data-space offset of the current extent
  const uint64_t end = offset + size;
  for (const auto& x : d.extents) {
    uint64_t lo = std::max(offset, x.offset), hi = std::min(end, x.offset + x.length);
    if (lo < hi) {
      CAIRN_RETURN_IF_ERROR(CopyData(store, *layout, data_pos + (lo - x.offset),
                                     static_cast<size_t>(hi - lo), buf.get() + (lo - offset)));
    }
    data_pos += x.length;
    if (x.offset >= end) break;
  }
  std::string_view v(buf.get(), size);
  return ReadBytes{std::move(buf), v};
}

void ContentCache::LoadAhead(cas::ObjectStore* store, const Want& w) {
  auto layout = LayoutOf(store, w.content);
  if (!layout) return;
  const auto& starts = (*layout)->starts;
  // The chunk holding `from`, then on to the one holding `to - 1`.
  size_t i = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), w.from) - starts.begin());
  i = i == 0 ? 0 : i - 1;
  for (; i < (*layout)->ids.size() && starts[i] < w.to; ++i) {
    if (!Chunk(store, (*layout)->ids[i])) return;
  }
}

void ContentCache::AheadLoop() {
  for (;;) {
    Load load;
    {
      std::unique_lock lock(ahead_mu_);
      ahead_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      load = std::move(queue_.front());
      queue_.pop_front();
    }
    LoadAhead(load.store.get(), load.want);
  }
}

void ContentCache::Prefetch(std::shared_ptr<cas::ObjectStore> store, const std::vector<Want>& wants,
                            size_t min_new) {
  size_t queued = 0;
  {
    std::lock_guard lock(ahead_mu_);
    if (stop_) return;
    std::vector<Want> fresh;
    bool first_new = false;
    for (size_t i = 0; i < wants.size(); ++i) {
      Want w = wants[i];
      if (w.from >= w.to) continue;
      auto it = queued_to_.find(w.content);
      if (it != queued_to_.end()) {
        // Queued at least half-way to `to` already: a later read queues the rest in one go.
        if (it->second >= w.from + (w.to - w.from) / 2) continue;
        w.from = std::max(w.from, it->second);
      }
      first_new |= i == 0;
      fresh.push_back(w);
    }
    if (fresh.empty() || (fresh.size() < min_new && !first_new)) return;
    if (queued_to_.size() + fresh.size() > kMaxTracked) queued_to_.clear();
    for (const Want& w : fresh) {
      if (queue_.size() >= kMaxQueued) break;
      uint64_t& to = queued_to_[w.content];
      to = std::max(to, w.to);
      queue_.push_back(Load{store, w});
      queued++;
    }
  }
  if (queued == 1) ahead_cv_.notify_one();
  if (queued > 1) ahead_cv_.notify_all();
}

void ContentCache::Restart(const ObjectId& content) {
  std::lock_guard lock(ahead_mu_);
  queued_to_.erase(content);
}

}  // namespace cairn::vmount
