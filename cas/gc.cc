#include "cas/gc.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "cas/chunk_index.h"
#include "cas/disk.h"
#include "cas/tree.h"
#include "cas/version.h"

namespace cairn::cas {
namespace {

// In the meta space while a compaction gc left to a later gc is pending (GcStats::compacted).
constexpr std::string_view kCompactPendingKey = "gc_compact_pending";

class Marker {
 public:
  Marker(ObjectStore* store, const GcOptions& o) : store_(store), options_(o) {}

  Status MarkVersion(const ObjectId& id) {
    if (!Visit(id)) return Status();
    CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(id, ObjectType::kVersion));
    CAIRN_ASSIGN_OR_RETURN(Version v, DecodeVersion(id, data));
    if (v.root_type == Version::RootType::kTree) return MarkTree(v.root);
    return MarkDisk(v.root);
  }

  std::unordered_set<ObjectId> marked;

 private:
  bool Visit(const ObjectId& id) {
    bool fresh = marked.insert(id).second;
    if (fresh && options_.on_progress && marked.size() % 4096 == 0) {
      options_.on_progress("mark", marked.size());
    }
    return fresh;
  }

  // A Disk reaches its filesystems' Trees, its view Tree, and the contents of raw partitions
  // and boot areas.
  Status MarkDisk(const ObjectId& id) {
    if (!Visit(id)) return Status();
    CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(id, ObjectType::kDisk));
    CAIRN_ASSIGN_OR_RETURN(Disk d, DecodeDisk(id, data));
    for (const auto& t : DiskTrees(d)) CAIRN_RETURN_IF_ERROR(MarkTree(t));
    for (const auto& c : DiskContents(d)) CAIRN_RETURN_IF_ERROR(MarkContent(c));
    return Status();
  }

  Status MarkTree(const ObjectId& id) {
    if (!Visit(id)) return Status();
    CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(id, ObjectType::kTree));
    CAIRN_ASSIGN_OR_RETURN(Tree t, DecodeTree(id, data));
    for (const auto& e : t.entries) {
      if (e.type == EntryType::kDirectory) {
        CAIRN_RETURN_IF_ERROR(MarkTree(e.id));
      } else if (e.type == EntryType::kRegular) {
        CAIRN_RETURN_IF_ERROR(MarkContent(e.id));
      }
    }
    return Status();
  }

  Status MarkContent(const ObjectId& id) {
    if (!Visit(id)) return Status();
    CAIRN_ASSIGN_OR_RETURN(ObjectInfo info, store_->Info(id));
    if (info.type != ObjectType::kChunkIndex) return Status();
    CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(id, ObjectType::kChunkIndex));
    CAIRN_ASSIGN_OR_RETURN(ChunkIndex index, DecodeChunkIndex(id, data));
    for (const auto& c : index.chunks) Visit(c.id);
    return Status();
  }

  ObjectStore* store_;
  const GcOptions& options_;
};

using DeadObjects = std::vector<std::pair<ObjectId, ObjectInfo>>;

// Reorders the dead Trees in [first, last) so that a Tree comes before every Tree it names
// (Kahn's algorithm over the dead ones, in id order among those ready together). A Tree that
// cannot be read names nothing here; the store holds no cycles, but were one there, its Trees
// would go last in id order.
Status OrderParentsFirst(ObjectStore* store, DeadObjects::iterator first,
                         DeadObjects::iterator last) {
  const size_t n = static_cast<size_t>(last - first);
  std::unordered_map<ObjectId, uint32_t> index;
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) index.emplace(first[i].first, static_cast<uint32_t>(i));
  std::vector<std::vector<uint32_t>> children(n);
  std::vector<uint32_t> parents(n, 0);
  for (size_t i = 0; i < n; ++i) {
    auto data = store->ReadTyped(first[i].first, ObjectType::kTree);
    if (!data) continue;
    auto tree = DecodeTree(first[i].first, *data);
    if (!tree) continue;
    for (const auto& e : tree->entries) {
      if (e.type != EntryType::kDirectory) continue;
      if (auto it = index.find(e.id); it != index.end()) {
        children[i].push_back(it->second);
        parents[it->second]++;
      }
    }
  }
  std::vector<uint32_t> order;
  order.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (parents[i] == 0) order.push_back(static_cast<uint32_t>(i));
  }
  for (size_t k = 0; k < order.size(); ++k) {
    for (uint32_t c : children[order[k]]) {
      if (--parents[c] == 0) order.push_back(c);
    }
  }
  for (size_t i = 0; i < n && order.size() < n; ++i) {
    if (parents[i] != 0) order.push_back(static_cast<uint32_t>(i));
  }
  DeadObjects sorted;
  sorted.reserve(n);
  for (uint32_t i : order) sorted.push_back(first[i]);
  std::copy(sorted.begin(), sorted.end(), first);
  return Status();
}

}  // namespace

Result<GcStats> CollectGarbage(ObjectStore* store, const std::vector<ObjectId>& roots,
                               const GcOptions& options) {
  Marker marker(store, options);
  for (const auto& r : roots) CAIRN_RETURN_IF_ERROR(marker.MarkVersion(r));
  GcStats stats;
  stats.reachable = marker.marked.size();
  DeadObjects dead;
  CAIRN_RETURN_IF_ERROR(store->ForEachObject([&](const ObjectId& id, const ObjectInfo& info) {
    stats.objects++;
    if (!marker.marked.contains(id)) dead.emplace_back(id, info);
    return true;
  }));
  // What refers to an object goes before it (a Version before its Disk or root Tree, a Disk
  // before its Trees and contents, a Tree before its subtrees and the contents of its files, a
  // ChunkIndex before its chunks; object ids in order within a type, but for Trees). The
  // batches are written in order, so a gc killed between two of them leaves whole objects that
  // nothing reaches, never one that names a deleted object: verify would call that damage, and
  // the catalog's mark that a Tree is indexed stands for its whole subtree.
  std::stable_sort(dead.begin(), dead.end(), [](const auto& a, const auto& b) {
    return static_cast<int>(a.second.type) > static_cast<int>(b.second.type);
  });
  {
    auto is_tree = [](const auto& d) { return d.second.type == ObjectType::kTree; };
    auto first = std::find_if(dead.begin(), dead.end(), is_tree);
    auto last = std::find_if_not(first, dead.end(), is_tree);
    if (!options.dry_run) CAIRN_RETURN_IF_ERROR(OrderParentsFirst(store, first, last));
  }
  static_assert(ObjectType::kVersion > ObjectType::kDisk && ObjectType::kDisk > ObjectType::kTree &&
                ObjectType::kTree > ObjectType::kChunkIndex &&
                ObjectType::kChunkIndex > ObjectType::kBlob);
  WriteBatch batch;
  uint64_t done = 0;
  auto write = [&]() -> Status {
    CAIRN_RETURN_IF_ERROR(store->Write(batch, WriteOptions{.sync = false}));
    batch.Clear();
    if (options.after_sweep_batch && !options.after_sweep_batch()) {
      return Status::Internal("gc: stopped after " + std::to_string(done) + " deletions");
    }
    return Status();
  };
  for (const auto& [id, info] : dead) {
    stats.deleted++;
    stats.deleted_raw_bytes += info.raw_size;
    stats.deleted_stored_bytes += info.stored_size;
    if (options.dry_run) continue;
    if (info.type == ObjectType::kChunkIndex) {
      auto data = store->ReadTyped(id, ObjectType::kChunkIndex);
      auto index = data ? DecodeChunkIndex(id, *data) : Result<ChunkIndex>(data.error());
      if (index) batch.Delete(Space::kContent, index->content_sha256.AsBytes());
    }
    if (info.type == ObjectType::kTree && options.on_dead_tree) {
      // A damaged Tree's keys stay (harmless: they lead to no version); gc goes on.
      auto data = store->ReadTyped(id, ObjectType::kTree);
      auto tree = data ? DecodeTree(id, *data) : Result<Tree>(data.error());
      if (tree) CAIRN_RETURN_IF_ERROR(options.on_dead_tree(id, *tree, &batch));
    }
    batch.DeleteObject(id);
    ++done;
    if (batch.ByteSize() > options.sweep_batch_bytes) CAIRN_RETURN_IF_ERROR(write());
    if (options.on_progress && done % 4096 == 0) options.on_progress("sweep", done);
  }
  if (!batch.empty()) CAIRN_RETURN_IF_ERROR(write());
  // A compaction readers kept gc from is done by the next gc, whatever it deletes.
  CAIRN_ASSIGN_OR_RETURN(auto pending, store->Get(Space::kMeta, kCompactPendingKey));
  if (!options.dry_run && (!dead.empty() || pending)) {
    CAIRN_RETURN_IF_ERROR(store->Flush());
    bool may = true;
    if (options.may_compact) {
      CAIRN_ASSIGN_OR_RETURN(may, options.may_compact());
    }
    WriteBatch note;
    if (may) {
      CAIRN_RETURN_IF_ERROR(store->Compact());
      if (pending) note.Delete(Space::kMeta, kCompactPendingKey);
    } else if (!pending) {
      note.Put(Space::kMeta, kCompactPendingKey, "");
    }
    if (!note.empty()) CAIRN_RETURN_IF_ERROR(store->Write(note, WriteOptions{.sync = true}));
    stats.compacted = may;
  }
  return stats;
}

}  // namespace cairn::cas
