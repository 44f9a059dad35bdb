// The persistent search indexes (docs/format/catalog.md): path, content digest and package, one
// set of keys per version, written in the same atomic batch as the version's ref and deleted by
// purge. Queries read only these keys, never Trees.
#ifndef CAIRN_CATALOG_SEARCH_INDEX_H_
#define CAIRN_CATALOG_SEARCH_INDEX_H_

#include <string>
#include <vector>

#include "cas/object_store.h"
#include "cas/tree.h"
#include "catalog/inspect.h"

namespace cairn::catalog {

struct IndexedEntry {
  std::string path;
  cas::EntryType type;
  ObjectId content;  // regular files
  ObjectId sha256;   // regular files: SHA-256 of the whole content
};

// Walks a version's root Tree once: every entry, and the counts of `counts`.
Result<std::vector<IndexedEntry>> CollectEntries(cas::ObjectStore* store, const ObjectId& root,
                                                 Inspection* counts);

// Adds (or, with remove, deletes) every index key of version `v`.
void AddIndexKeys(cas::WriteBatch* batch, const ObjectId& v,
                  const std::vector<IndexedEntry>& entries, const Inspection& inspection,
                  bool remove = false);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_SEARCH_INDEX_H_
