#include "catalog/search_index.h"

#include "cas/chunk_index.h"
#include "cas/tree_reader.h"
#include "catalog/keys.h"

namespace cairn::catalog {

Result<std::vector<IndexedEntry>> CollectEntries(cas::ObjectStore* store, const ObjectId& root,
                                                 Inspection* counts) {
  std::vector<IndexedEntry> out;
  Status inner;
  CAIRN_RETURN_IF_ERROR(cas::WalkTree(store, root, "", [&](const std::string& path,
                                                           const cas::TreeEntry& e) {
    IndexedEntry ie{path, e.type, e.id, e.id};
    switch (e.type) {
      case cas::EntryType::kRegular: {
        counts->files++;
        counts->bytes += e.size;
        auto info = store->Info(e.id);
        if (!info) {
          inner = info.error();
          return false;
        }
        if (info->type == cas::ObjectType::kChunkIndex) {
          auto data = store->ReadTyped(e.id, cas::ObjectType::kChunkIndex);
          auto index = data ? cas::DecodeChunkIndex(e.id, *data) : Result<cas::ChunkIndex>(data.error());
          if (!index) {
            inner = index.error();
            return false;
          }
          ie.sha256 = index->content_sha256;
        }
        break;
      }
      case cas::EntryType::kDirectory: counts->dirs++; break;
      case cas::EntryType::kSymlink: counts->symlinks++; break;
      default: counts->others++;
    }
    out.push_back(std::move(ie));
    return true;
  }));
  CAIRN_RETURN_IF_ERROR(inner);
  return out;
}

void AddIndexKeys(cas::WriteBatch* batch, const ObjectId& v,
                  const std::vector<IndexedEntry>& entries, const Inspection& inspection,
                  bool remove) {
  auto put = [&](const std::string& k, std::string_view value) {
    if (remove) {
      batch->Delete(cas::Space::kCatalog, k);
    } else {
      batch->Put(cas::Space::kCatalog, k, value);
    }
  };
  for (const auto& e : entries) {
    std::string value(1, static_cast<char>(e.type));
    if (e.type == cas::EntryType::kRegular) value.append(e.content.AsBytes());
    put(keys::Path(e.path, v), value);
    // Basename keys are shared by every version holding the path: never deleted (a stale one
    // only costs a lookup that finds no version).
    if (!remove) batch->Put(cas::Space::kCatalog, keys::Basename(e.path), "");
    if (e.type == cas::EntryType::kRegular) put(keys::Digest(e.sha256, v, e.path), "");
  }
  for (const auto& p : inspection.packages) put(keys::Package(p.name, v), p.version);
}

}  // namespace cairn::catalog
