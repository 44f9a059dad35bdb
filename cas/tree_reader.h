// Reading stored Trees by path: lookup of one path, and a depth-first walk in canonical order.
#ifndef CAIRN_CAS_TREE_READER_H_
#define CAIRN_CAS_TREE_READER_H_

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "cas/object_store.h"
#include "cas/tree.h"

namespace cairn::cas {

Result<Tree> LoadTree(ObjectStore* store, const ObjectId& id);

// The entry at `path` ('/'-separated, relative to the root; "" or "/" is the root itself, as a
// directory entry named ""). NotFound naming the path.
Result<TreeEntry> LookupPath(ObjectStore* store, const ObjectId& root, std::string_view path);

// The Trees decoded for a series of lookups in one version, each decoded once (ResolvePath):
// every lookup decoded each Tree on its way again, the root's whole each time (~5 times a
// checkin, for catalog::InspectTree: a root of a million entries took ~5 full decodes).
// Holds what it decoded until destroyed: for a few lookups, not a walk of a tree.
class TreeCache {
 public:
  explicit TreeCache(ObjectStore* store) : store_(store) {}
  Result<std::shared_ptr<const Tree>> Get(const ObjectId& id);

 private:
  ObjectStore* store_;
  std::unordered_map<ObjectId, std::shared_ptr<const Tree>> trees_;
};

// The entry at `path` as a process chrooted into the tree sees it: symbolic links are followed
// in every directory component, and in the last one too when `follow_last` (or when the path
// ends in '/'); an absolute target starts again at the root, and ".." (in `path` or a target)
// never climbs above it. So nothing outside the tree is ever named. NotFound naming the path,
// also for a link with an empty target, for more than 40 links (Linux's limit: "too many
// levels of symbolic links") and for a path going on after what is not a directory ("file/",
// "file/.", "file/..": "... is not a directory"). `resolved`, if not null, is set to the path of
// the entry found, with no link in it ("" for the root): where the root Tree's hard-link table
// names it. With `cache`, the Trees are taken from it (and `store` is not read).
Result<TreeEntry> ResolvePath(ObjectStore* store, const ObjectId& root, std::string_view path,
                              bool follow_last, std::string* resolved = nullptr,
                              TreeCache* cache = nullptr);

// Calls fn(path, entry) for every entry beneath the Tree `id` in depth-first, byte order; `path`
// is relative to `id` with `prefix` prepended. fn returns false to stop descending into a
// directory entry.
Status WalkTree(ObjectStore* store, const ObjectId& id, const std::string& prefix,
                const std::function<bool(const std::string& path, const TreeEntry& e)>& fn);

// Passes the data of a regular file entry to `sink` with each piece's offset in the file, in
// order: the whole file for a dense one, its extents for a sparse one (holes are skipped).
// InvalidArgument unless `e` is a regular file.
Status ReadFileData(ObjectStore* store, const TreeEntry& e,
                    const std::function<Status(uint64_t offset, std::string_view)>& sink);

// A digest of a regular file's bytes, holes read as zeros, that costs its data, not its size:
// two entries of the same size, dense or sparse, holes anywhere, have the same bytes exactly
// when their digests are equal. Not the SHA-256 of the bytes.
Result<ObjectId> ZeroRunDigest(ObjectStore* store, const TreeEntry& e);

// Passes the logical content of a regular file entry to `sink`, holes expanded as zeros.
// InvalidArgument unless `e` is a regular file.
Status ReadFileEntry(ObjectStore* store, const TreeEntry& e,
                     const std::function<Status(std::string_view)>& sink);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_TREE_READER_H_
