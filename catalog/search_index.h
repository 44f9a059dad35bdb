// The persistent search indexes (docs/format/catalog.md). Paths and contents are indexed per
// Tree, not per version: a Tree's entries, its links to the Trees that hold it and the digests
// of its files are written once, when the first version holding that Tree is recorded, and
// shared by every later one. A version adds only its root link and its packages. So a checkin
// indexes only the directories it changed, and a library of many similar versions stores its
// index about once. Queries go from a name or digest to the Trees holding it, then up the links
// to the roots and from the roots to the versions (catalog/search.cc).
#ifndef CAIRN_CATALOG_SEARCH_INDEX_H_
#define CAIRN_CATALOG_SEARCH_INDEX_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cas/gc.h"
#include "cas/object_store.h"
#include "cas/tree.h"
#include "catalog/inspect.h"

namespace cairn::catalog {

// A sparse file is indexed by the SHA-256 of its bytes, holes read as zeros, up to this size;
// a larger one is not indexed by digest (hashing its holes would cost its size).
inline constexpr uint64_t kMaxSparseDigestSize = uint64_t{1} << 30;

// What a Tree's subtree holds (the Tree itself not counted).
struct TreeCounts {
  uint64_t files = 0, dirs = 0, symlinks = 0, others = 0, bytes = 0;
};

using IndexKeys = std::vector<std::pair<std::string, std::string>>;  // catalog space

// The index keys of the Trees under a root that are not indexed yet.
struct TreeIndex {
  IndexKeys puts;      // those not given to a KeySink
  TreeCounts counts;   // of the root's subtree
};

// Takes index keys as they are made, so that the keys of a large tree (two per file) are never
// all held at once; it may move them out of the vector. An error stops the indexing.
struct KeySink {
  std::function<Status(IndexKeys&)> take;
  size_t batch_keys = 65536;  // keys held before they are given to `take`
  // Set by IndexTrees, on error too: the Trees it indexed (those not indexed before), and
  // whether any of their keys went to `take`. UndoTreeIndex takes those keys away again.
  std::vector<ObjectId> trees;
  bool sent = false;
};

// Walks down from `root`, stopping at Trees already indexed (their counts are stored), so the
// cost grows with what changed, not with the image. Errors of reading the store.
// `one_chunk_below`: the repository's chunker minimum (cas::ChunkerOptions::min_size). A file
// smaller than it was stored as one Blob, whose id is its SHA-256, so its content needs no
// lookup; larger ones may be chunked and are looked up. 0: every file is looked up.
// `sink`: when given, keys go to it in batches of sink->batch_keys as they are made, and
// `puts` keeps only the last, partial batch. `base`: the root Tree of a version this one
// derives from, or zero. A new Tree's chunked files whose content the Tree at the same path
// under `base` held too take their SHA-256 from that Tree's index instead of their chunk
// index (an incremental checkin of corpus v3: 216 chunk indexes read, 3-16 ms).
Result<TreeIndex> IndexTrees(cas::ObjectStore* store, const ObjectId& root,
                             uint64_t one_chunk_below = 0, KeySink* sink = nullptr,
                             const ObjectId& base = ObjectId());

// Deletes the keys of the Trees `sink.trees` if any went to the sink, for a caller whose
// version was not recorded after all: the catalog space is left as it was before IndexTrees.
// The Trees must still be in the store.
Status UndoTreeIndex(cas::ObjectStore* store, const KeySink& sink);

// Adds (or, with remove, deletes) the keys of version `v` with root Tree `root`: its root link
// and its packages. The Trees' own keys stay until gc removes the Trees.
void AddVersionKeys(cas::WriteBatch* batch, const ObjectId& v, const ObjectId& root,
                    const Inspection& inspection, bool remove = false);

// The gc hook that deletes the index keys of a Tree gc is removing (cas/gc.h). `store` must
// outlive the returned function.
cas::DeadTreeHook DropTreeIndex(cas::ObjectStore* store);

// Decoded value of an entry key: the entry's type, and for a regular file whose content is a
// chunk index, its whole-content SHA-256 (zero otherwise: a Blob's id is its SHA-256, and the
// Tree holds the id). Values written before index format 3 also carry the content id; it is
// read past.
struct EntryValue {
  cas::EntryType type = cas::EntryType::kRegular;
  ObjectId sha256;
};
Result<EntryValue> DecodeEntryValue(std::string_view v);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_SEARCH_INDEX_H_
