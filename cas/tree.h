// Tree: one directory of an image, as an object (type kTree). Encoding: docs/format/tree.md.
//
// A Tree holds its own directory's metadata and its entries sorted by raw name bytes. A
// subdirectory entry names the child Tree by id, so the ids form a Merkle tree: an unchanged
// directory has the same id in every image and is stored once. Hard links live only in the
// root Tree's hardlink table (groups of paths), so that no other Tree's id depends on where
// the other names of a file are.
#ifndef CAIRN_CAS_TREE_H_
#define CAIRN_CAS_TREE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"

namespace cairn::cas {

// Stable numbers (on disk).
enum class EntryType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kSymlink = 3,
  kCharDevice = 4,
  kBlockDevice = 5,
  kFifo = 6,
  kSocket = 7,
};
std::string_view EntryTypeName(EntryType type);
// The type letter of `find -printf %y` / `ls -l`: f d l c b p s.
char EntryTypeLetter(EntryType type);

using Xattrs = std::vector<std::pair<std::string, std::string>>;  // sorted by name

struct Metadata {
  uint32_t mode = 0;  // permission bits with setuid, setgid and sticky (mode & 07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  Xattrs xattrs;

  bool operator==(const Metadata&) const = default;
};

// A data region of a sparse file: `length` bytes at `offset`; the rest of the file is holes.
struct Extent {
  uint64_t offset;
  uint64_t length;
  bool operator==(const Extent&) const = default;
};

struct TreeEntry {
  std::string name;  // raw bytes: no '/', no NUL, not "." or ".."
  EntryType type = EntryType::kRegular;
  // kDirectory: the child Tree (which holds the directory's own metadata). Others: the content
  // (a Blob or ChunkIndex) of a regular file; unused otherwise.
  ObjectId id;
  Metadata meta;     // unused for kDirectory
  uint64_t size = 0; // kRegular: logical size (holes included)
  // kRegular: a sparse file has holes; its data regions (in order, possibly none) are
  // `extents`, and their concatenated bytes are the content `id`. Holes read as zeros.
  bool sparse = false;
  std::vector<Extent> extents;
  std::string target;      // kSymlink: the link target (raw bytes)
  uint32_t rdev_major = 0;  // kCharDevice, kBlockDevice
  uint32_t rdev_minor = 0;

  bool operator==(const TreeEntry&) const = default;
};

struct Tree {
  Metadata meta;  // the directory's own
  std::vector<TreeEntry> entries;
  // Root Tree only: each group lists the paths (relative to the root, '/'-separated, sorted)
  // of the names of one multiply-linked file; groups sorted by first path.
  std::vector<std::vector<std::string>> hardlinks;
};

// REQUIRES: ValidateTree(tree) is ok (CanonicalizeTree makes it so or says why not).
std::string EncodeTree(const Tree& tree);
// Corruption naming `id` unless the bytes are a canonical, valid encoding (sorted unique
// names, safe names, known types).
Result<Tree> DecodeTree(const ObjectId& id, std::string_view data);

// Sorts entries, xattrs and hardlink groups into canonical order, then ValidateTree.
Status CanonicalizeTree(Tree* tree);
// InvalidArgument, naming the entry, unless DecodeTree would accept EncodeTree(tree): sorted
// unique safe names, known types, metadata GetMetadata accepts, extents in order inside the
// size, symbolic link targets not empty and without NUL, hardlink groups of two or more safe
// paths, sorted and unique.
Status ValidateTree(const Tree& tree);
// The encoding of Metadata inside a Tree (docs/format/tree.md), for other records that carry
// it. GetMetadata returns false unless the bytes are valid: mode <= 07777, nanoseconds below a
// second, xattr names non-empty, sorted and unique.
void PutMetadata(std::string* out, const Metadata& m);
bool GetMetadata(std::string_view* in, Metadata* m);

// Whether `name` is safe as one path component: non-empty, no '/', no NUL, not "." or "..".
bool IsSafeName(std::string_view name);
// Whether `path` is a safe relative path: '/'-separated components, each IsSafeName.
bool IsSafeRelativePath(std::string_view path);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_TREE_H_
