#include "catalog/search_index.h"

#include <algorithm>
#include <unordered_map>

#include "base/coding.h"
#include "base/sha256.h"
#include "cas/chunk_index.h"
#include "cas/tree_reader.h"
#include "catalog/keys.h"

namespace cairn::catalog {
namespace {

// A "T" value: the counts, then the SHA-256 of each entry whose content is a chunk index, by
// the entry's position in the Tree (docs/format/catalog.md, index format 4). A value of format
// 3 ends after the counts: its Tree's digests are unknown, not absent.
struct IndexedValue {
  TreeCounts counts;
  std::vector<std::pair<uint64_t, ObjectId>> digests;  // (entry position, SHA-256), ascending
};

std::string EncodeIndexed(const TreeCounts& c,
                          const std::vector<std::pair<uint64_t, ObjectId>>& digests) {
  std::string out;
  for (uint64_t v : {c.files, c.dirs, c.symlinks, c.others, c.bytes}) PutVarint64(&out, v);
  PutVarint64(&out, digests.size());
  for (const auto& [pos, sha] : digests) {
    PutVarint64(&out, pos);
    out.append(sha.AsBytes());
  }
  return out;
}

Result<IndexedValue> DecodeIndexed(const ObjectId& tree, std::string_view in) {
  IndexedValue v;
  TreeCounts& c = v.counts;
  for (uint64_t* n : {&c.files, &c.dirs, &c.symlinks, &c.others, &c.bytes}) {
    if (!GetVarint64(&in, n)) {
      return Status::Corruption("catalog index of tree " + tree.Short() + ": bad counts");
    }
  }
  if (in.empty()) return v;  // format 3
  uint64_t n = 0;
  if (!GetVarint64(&in, &n) || n > in.size() / (1 + ObjectId::kSize)) {
    return Status::Corruption("catalog index of tree " + tree.Short() + ": bad digest count");
  }
  v.digests.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t pos = 0;
    if (!GetVarint64(&in, &pos) || in.size() < ObjectId::kSize ||
        (!v.digests.empty() && pos <= v.digests.back().first)) {
      return Status::Corruption("catalog index of tree " + tree.Short() + ": bad digest list");
    }
    v.digests.emplace_back(pos, *ObjectId::FromBytes(in.substr(0, ObjectId::kSize)));
    in.remove_prefix(ObjectId::kSize);
  }
  if (!in.empty()) {
    return Status::Corruption("catalog index of tree " + tree.Short() + ": trailing bytes");
  }
  return v;
}

class TreeIndexer {
 public:
  TreeIndexer(cas::ObjectStore* store, uint64_t one_chunk_below, KeySink* sink)
      : store_(store), one_chunk_below_(one_chunk_below), sink_(sink) {}

  // `base`: the same directory in the version this one derives from (zero: none). An entry
  // whose content the base Tree held too takes its SHA-256 from the base's index, unread.
  Result<TreeCounts> Visit(const ObjectId& id, const ObjectId& base) {
    if (auto it = done_.find(id); it != done_.end()) return it->second;
    CAIRN_ASSIGN_OR_RETURN(auto stored, store_->Get(cas::Space::kCatalog, keys::TreeIndexed(id)));
    if (stored) {
      CAIRN_ASSIGN_OR_RETURN(IndexedValue v, DecodeIndexed(id, *stored));
      done_.emplace(id, v.counts);
      return v.counts;
    }
    // The base first: what is kept of it is small, and a directory of a million entries is
    // then never decoded twice at once.
    CAIRN_ASSIGN_OR_RETURN(Base b, LoadBase(base));
    CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, cas::LoadTree(store_, id));
    if (sink_ != nullptr) sink_->trees.push_back(id);
    TreeCounts c;
    std::vector<std::pair<uint64_t, ObjectId>> digests;
    for (size_t i = 0; i < tree.entries.size(); ++i) {
      const cas::TreeEntry& e = tree.entries[i];
      std::string value(1, static_cast<char>(e.type));
      switch (e.type) {
        case cas::EntryType::kDirectory: {
          CAIRN_ASSIGN_OR_RETURN(TreeCounts sub, Visit(e.id, b.DirNamed(e.name)));
          c.files += sub.files;
          c.dirs += sub.dirs + 1;
          c.symlinks += sub.symlinks;
          c.others += sub.others;
          c.bytes += sub.bytes;
          out_.puts.emplace_back(keys::Up(e.id, id, e.name), "");
          break;
        }
        case cas::EntryType::kRegular: {
          c.files++;
          c.bytes += e.size;
          // A new Tree is mostly files that did not change (a directory with one changed file
          // is a new Tree): looking each one up cost 5-8 ms of an incremental checkin.
          ObjectId sha = e.id;
          if (e.sparse) {
            // The content is the data alone; a digest search asks for the file's bytes, holes
            // read as zeros, as sha256sum reads them. Hashing those costs the file's size, so
            // a larger sparse file is not indexed by digest (docs/format/catalog.md).
            if (e.size > kMaxSparseDigestSize) break;
            CAIRN_ASSIGN_OR_RETURN(sha, FileSha256(e));
          } else if (e.size >= one_chunk_below_) {
            if (auto known = b.digests.find(e.id); known != b.digests.end()) {
              sha = known->second;
            } else {
              CAIRN_ASSIGN_OR_RETURN(sha, ContentSha256(e.id));
            }
          }
          if (sha != e.id) {
            value.append(sha.AsBytes());  // the Tree holds the content id
            digests.emplace_back(i, sha);
          }
          out_.puts.emplace_back(keys::ShortDigest(sha, id, e.name), "");
          break;
        }
        case cas::EntryType::kSymlink: c.symlinks++; break;
        default: c.others++;
      }
      out_.puts.emplace_back(keys::Entry(e.name, id), std::move(value));
      CAIRN_RETURN_IF_ERROR(MaybeSend());
    }
    out_.puts.emplace_back(keys::TreeIndexed(id), EncodeIndexed(c, digests));
    CAIRN_RETURN_IF_ERROR(MaybeSend());
    done_.emplace(id, c);
    return c;
  }

  TreeIndex Take(const TreeCounts& root) {
    out_.counts = root;
    return std::move(out_);
  }

 private:
  Status MaybeSend() {
    if (sink_ == nullptr || out_.puts.size() < sink_->batch_keys) return Status();
    sink_->sent = true;
    Status s = sink_->take(out_.puts);
    out_.puts.clear();
    return s;
  }

  // The base of a Tree being indexed: its subdirectories (by name) and the digests its index
  // holds (by content id). Empty when there is no base or it is not indexed.
  struct Base {
    std::vector<std::pair<std::string, ObjectId>> dirs;  // sorted by name
    std::unordered_map<ObjectId, ObjectId> digests;      // content id -> SHA-256

    ObjectId DirNamed(const std::string& name) const {
      auto it = std::lower_bound(dirs.begin(), dirs.end(), name,
                                 [](const std::pair<std::string, ObjectId>& d,
                                    const std::string& n) { return d.first < n; });
      return it == dirs.end() || it->first != name ? ObjectId() : it->second;
    }
  };

  Result<Base> LoadBase(const ObjectId& base) {
    Base b;
    if (base.IsZero()) return b;
    CAIRN_ASSIGN_OR_RETURN(auto stored, store_->Get(cas::Space::kCatalog, keys::TreeIndexed(base)));
    if (!stored) return b;
    CAIRN_ASSIGN_OR_RETURN(IndexedValue v, DecodeIndexed(base, *stored));
    CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, cas::LoadTree(store_, base));
    for (const auto& [pos, sha] : v.digests) {
      if (pos >= tree.entries.size() || tree.entries[pos].type != cas::EntryType::kRegular) {
        return Status::Corruption("catalog index of tree " + base.Short() + ": a digest of entry " +
                                  std::to_string(pos) + ", which is not a file");
      }
      // A sparse file's digest is of its bytes, not of its content (the data alone).
      if (!tree.entries[pos].sparse) b.digests.emplace(tree.entries[pos].id, sha);
    }
    for (auto& e : tree.entries) {
      if (e.type == cas::EntryType::kDirectory) b.dirs.emplace_back(std::move(e.name), e.id);
    }
    return b;
  }

  // The SHA-256 of a file's bytes, holes read as zeros.
  Result<ObjectId> FileSha256(const cas::TreeEntry& e) {
    Sha256 h;
    CAIRN_RETURN_IF_ERROR(cas::ReadFileEntry(store_, e, [&](std::string_view piece) {
      h.Update(piece);
      return Status();
    }));
    return h.Finish();
  }

  // A Blob's id is the SHA-256 of its bytes; a chunked file's is in its ChunkIndex.
  Result<ObjectId> ContentSha256(const ObjectId& content) {
    CAIRN_ASSIGN_OR_RETURN(cas::ObjectInfo info, store_->Info(content));
    if (info.type != cas::ObjectType::kChunkIndex) return content;
    CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(content, cas::ObjectType::kChunkIndex));
    CAIRN_ASSIGN_OR_RETURN(cas::ChunkIndex index, cas::DecodeChunkIndex(content, data));
    return index.content_sha256;
  }

  cas::ObjectStore* store_;
  const uint64_t one_chunk_below_;
  KeySink* sink_;
  std::unordered_map<ObjectId, TreeCounts> done_;
  TreeIndex out_;
};

}  // namespace

Result<TreeIndex> IndexTrees(cas::ObjectStore* store, const ObjectId& root,
                             uint64_t one_chunk_below, KeySink* sink, const ObjectId& base) {
  TreeIndexer indexer(store, one_chunk_below, sink);
  CAIRN_ASSIGN_OR_RETURN(TreeCounts c, indexer.Visit(root, base));
  return indexer.Take(c);
}

Status UndoTreeIndex(cas::ObjectStore* store, const KeySink& sink) {
  if (!sink.sent) return Status();
  cas::DeadTreeHook drop = DropTreeIndex(store);
  cas::WriteBatch batch;
  for (const ObjectId& id : sink.trees) {
    auto tree = cas::LoadTree(store, id);
    // A Tree the store lost with a failed flush (reopened after a full disk) took its keys
    // with it: they were written after it, and a flush takes every space at once.
    if (!tree && tree.error().code() == Code::kNotFound) continue;
    CAIRN_RETURN_IF_ERROR(tree.status());
    CAIRN_RETURN_IF_ERROR(drop(id, *tree, &batch));
    if (batch.ops().size() >= sink.batch_keys) {  // deletes, in batches as the keys went
      CAIRN_RETURN_IF_ERROR(store->Write(batch, cas::WriteOptions{.sync = true}));
      batch.Clear();
    }
  }
  if (batch.empty()) return Status();
  return store->Write(batch, cas::WriteOptions{.sync = true});
}

void AddVersionKeys(cas::WriteBatch* batch, const ObjectId& v, const ObjectId& root,
                    const Inspection& inspection, bool remove) {
  auto put = [&](const std::string& k, std::string_view value) {
    if (remove) {
      batch->Delete(cas::Space::kCatalog, k);
    } else {
      batch->Put(cas::Space::kCatalog, k, value);
    }
  };
  put(keys::Root(root, v), "");
  for (const auto& p : inspection.packages) {
    std::string name = DpkgName(p, inspection);
    put(keys::Package(name, v), p.version);
    // Before index format 5 a foreign architecture's package was keyed by its bare name.
    if (remove && name != p.name) batch->Delete(cas::Space::kCatalog, keys::Package(p.name, v));
  }
}

Result<EntryValue> DecodeEntryValue(std::string_view v) {
  EntryValue out;
  if (v.empty()) return Status::Corruption("catalog entry index: empty value");
  out.type = static_cast<cas::EntryType>(v[0]);
  v.remove_prefix(1);
  if (out.type != cas::EntryType::kRegular || v.empty()) return out;
  // Format 3: the SHA-256 alone. Format 2: the content id, then the SHA-256 when it differs.
  if (v.size() != ObjectId::kSize && v.size() != 2 * ObjectId::kSize) {
    return Status::Corruption("catalog entry index: bad file value");
  }
  out.sha256 = *ObjectId::FromBytes(v.substr(v.size() - ObjectId::kSize));
  return out;
}

cas::DeadTreeHook DropTreeIndex(cas::ObjectStore* store) {
  return [store](const ObjectId& id, const cas::Tree& tree, cas::WriteBatch* batch) -> Status {
    for (const auto& e : tree.entries) {
      std::string entry = keys::Entry(e.name, id);
      if (e.type == cas::EntryType::kDirectory) {
        batch->Delete(cas::Space::kCatalog, keys::Up(e.id, id, e.name));
      } else if (e.type == cas::EntryType::kRegular) {
        CAIRN_ASSIGN_OR_RETURN(auto v, store->Get(cas::Space::kCatalog, entry));
        if (v) {
          auto ev = DecodeEntryValue(*v);
          if (ev) {
            const ObjectId& sha = ev->sha256.IsZero() ? e.id : ev->sha256;
            batch->Delete(cas::Space::kCatalog, keys::ShortDigest(sha, id, e.name));
            batch->Delete(cas::Space::kCatalog, keys::Digest(sha, id, e.name));  // format 2
          }
        }
      }
      batch->Delete(cas::Space::kCatalog, entry);
    }
    // Links to the Trees that held this one: those are dead too (a live parent keeps its
    // children alive), and their own hooks may not have run yet.
    std::vector<std::string> ups;
    CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, keys::UpPrefix(id),
                                      [&](std::string_view k, std::string_view) {
                                        ups.emplace_back(k);
                                        return true;
                                      }));
    for (const auto& k : ups) batch->Delete(cas::Space::kCatalog, k);
    batch->Delete(cas::Space::kCatalog, keys::TreeIndexed(id));
    return Status();
  };
}

}  // namespace cairn::catalog
