// Diff of two versions (of the same image or not): entries added, removed, modified and changed
// in metadata only (naming which metadata), and the package-level diff (added, removed,
// upgraded, downgraded). Subtrees with equal ids are skipped, so the cost grows with the size of
// the change, not of the image.
#ifndef CAIRN_CATALOG_DIFF_H_
#define CAIRN_CATALOG_DIFF_H_

#include <string>
#include <vector>

#include "cas/object_store.h"
#include "cas/tree.h"
#include "catalog/catalog.h"

namespace cairn::catalog {

struct DiffEntry {
  enum class Kind { kAdded, kRemoved, kModified, kMetadata };
  Kind kind;
  std::string path;
  cas::EntryType type;             // in B (in A when removed)
  std::vector<std::string> changed;  // for kModified/kMetadata: "content", "type", "mode",
                                     // "uid", "gid", "mtime", "xattrs", "target", "rdev", "sparse"
  uint64_t size_a = 0, size_b = 0;
};

struct PackageChange {
  enum class Kind { kAdded, kRemoved, kUpgraded, kDowngraded };
  Kind kind;
  std::string name, old_version, new_version;
};

struct DiffResult {
  std::vector<DiffEntry> entries;  // in path order
  std::vector<PackageChange> packages;
  uint64_t trees_compared = 0;     // Trees loaded: the cost
};

// Compares the trees of `a` and `b` beneath `path` ("" for everything).
Result<DiffResult> DiffVersions(cas::ObjectStore* store, const VersionRef& a, const VersionRef& b,
                                const std::string& path);

std::string_view DiffKindName(DiffEntry::Kind kind);
std::string_view PackageChangeName(PackageChange::Kind kind);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_DIFF_H_
