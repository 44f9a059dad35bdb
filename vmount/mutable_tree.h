// MutableTree: an editable file tree over a stored root Tree (OSTree's mutable tree), the model
// behind a vmount.
//
// Every file, directory, symlink and node of the tree is an inode numbered from kRootIno up;
// numbers are never reused while the tree lives, so the kernel may cache them. A directory's
// stored Tree is read only when the directory is first needed (lookup, getattr, readdir): a
// mount of a large image costs what is visited. Each directory keeps the id of the Tree it was
// loaded from and a dirty flag; an edit sets the flag on the directory and every ancestor, so
// Commit writes new Trees only along changed paths and reuses the ids of everything else.
//
// Hard links: a stored tree lists them only in the root Tree's table. At load, the directories
// holding a multiply-linked file are read at once, so every name of such a file shares one
// inode from the start (st_nlink right); Commit rebuilds the table from the inodes with more
// than one name.
//
// File contents: a file keeps its stored content until its bytes change (write, truncate);
// then it is copied up into an upper file `upper_dir/N` (holes kept) and read and written
// there. A file made in this tree, or cut to nothing, is held in memory instead while it is
// small and has no holes (WriteInMemory; the caller journals those writes), and copied up
// when it outgrows that. Commit stores only the upper files and the files held in memory.
// Untouched files are never copied.
//
// Errors name the path and carry the POSIX condition (vmount/errors.h).
//
// Thread-safety: none. The caller (vmount/filesystem.h) serialises access with a lock.
#ifndef CAIRN_VMOUNT_MUTABLE_TREE_H_
#define CAIRN_VMOUNT_MUTABLE_TREE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cas/ingestor.h"
#include "cas/object_store.h"
#include "cas/tree.h"

namespace cairn::vmount {

using Ino = uint64_t;
inline constexpr Ino kRootIno = 1;

struct Timestamp {
  int64_t sec = 0;
  uint32_t nsec = 0;
  static Timestamp Now();
};

// What stat reports of one inode.
struct Attr {
  Ino ino = 0;
  cas::EntryType type = cas::EntryType::kRegular;
  uint32_t mode = 0;  // mode & 07777
  uint32_t uid = 0, gid = 0;
  Timestamp mtime;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units: the data bytes of a sparse file, not its holes
  uint32_t nlink = 1;
  uint32_t rdev_major = 0, rdev_minor = 0;
};

struct DirEntry {
  std::string name;
  Ino ino = 0;
  cas::EntryType type = cas::EntryType::kRegular;
};

// Where the bytes of a regular file are: read without holding the caller's lock.
struct FileData {
  uint64_t size = 0;
  int64_t upper = -1;  // >= 0: the upper file number; else the stored content below
  bool in_memory = false;  // held in memory (MutableTree::InMemoryBytes), not stored
  // Its content differs from the base's: false for a file still bound to its upper file after
  // a commit (open then) that has not been written since.
  bool changed = false;
  ObjectId content;
  bool sparse = false;
  std::vector<cas::Extent> extents;
};

// A new entry (mknod, mkdir, symlink, create).
struct NewEntry {
  cas::EntryType type = cas::EntryType::kRegular;
  uint32_t mode = 0644;
  uint32_t uid = 0, gid = 0;
  uint32_t rdev_major = 0, rdev_minor = 0;
  std::string target;  // symlinks
};

struct SetAttrRequest {
  std::optional<uint32_t> mode;  // & 07777
  std::optional<uint32_t> uid, gid;
  std::optional<uint64_t> size;  // REQUIRES: the file is copied up (CopyUp) first
  std::optional<Timestamp> mtime;
};

inline constexpr uint32_t kRenameNoReplace = 1;  // RENAME_NOREPLACE

class MutableTree {
 public:
  // A tree over the stored root Tree `root`. `store` must outlive the tree (or be replaced
  // with SetStore); upper files live in `upper_dir`, which must exist. Reads the root Tree and
  // the directories holding hard links: NotFound / Corruption from the store.
  static Result<std::unique_ptr<MutableTree>> Open(cas::ObjectStore* store, const ObjectId& root,
                                                   std::string upper_dir);
  ~MutableTree();
  MutableTree(const MutableTree&) = delete;
  MutableTree& operator=(const MutableTree&) = delete;

  // ---- reading ----
  Result<Ino> Lookup(Ino parent, std::string_view name);
  // The inode at a '/'-separated path from the root ("" is the root).
  Result<Ino> LookupPath(std::string_view path);
  Result<Attr> GetAttr(Ino ino);
  Result<std::vector<DirEntry>> ReadDir(Ino ino);
  Result<std::string> ReadLink(Ino ino);
  Result<FileData> Data(Ino ino);
  // The stored (not copied-up) contents of up to `n` regular files that follow `ino` in its
  // directory's order, with their sizes: what a reader of the directory reads next.
  std::vector<std::pair<ObjectId, uint64_t>> FollowingFiles(Ino ino, size_t n);
  Result<std::string> GetXattr(Ino ino, const std::string& name);
  Result<std::vector<std::string>> ListXattrs(Ino ino);
  // A path of `ino` from the root ("" for the root); NotFound for a file with no name left.
  Result<std::string> PathOf(Ino ino);

  // ---- editing; `now` becomes the mtime of what changes ----
  // In a directory with a default ACL, the new entry (but a symlink) inherits it as acl(5)
  // says (posix_acl.h, InheritAcl): its mode cut to the ACL's, the ACL as its access ACL, and a
  // directory the default ACL too.
  Result<Ino> Make(Ino parent, std::string_view name, const NewEntry& e, Timestamp now);
  Status Unlink(Ino parent, std::string_view name, Timestamp now);
  Status Rmdir(Ino parent, std::string_view name, Timestamp now);
  Status Rename(Ino parent, std::string_view name, Ino new_parent, std::string_view new_name,
                uint32_t flags, Timestamp now);
  Status Link(Ino ino, Ino new_parent, std::string_view new_name, Timestamp now);
  Result<Attr> SetAttr(Ino ino, const SetAttrRequest& req, Timestamp now);
  // flags: XATTR_CREATE / XATTR_REPLACE semantics (0: either).
  Status SetXattr(Ino ino, const std::string& name, std::string_view value, int flags);
  Status RemoveXattr(Ino ino, const std::string& name);
  // Replaces all metadata at once (journal replay).
  Status SetMetadata(Ino ino, const cas::Metadata& meta);
  Result<cas::Metadata> Metadata(Ino ino);

  // ---- contents ----
  // Writes the file's stored content into the new upper file `n` and reads it from there on.
  // No-op when the file is already copied up. REQUIRES: a regular file.
  Status CopyUp(Ino ino, uint64_t n);
  // Binds the file to the existing upper file `n` (journal replay): size and mtime from it.
  Status AttachUpper(Ino ino, uint64_t n);
  // REQUIRES: copied up.
  Result<size_t> Write(Ino ino, uint64_t offset, std::string_view data, Timestamp now);

  // Files held in memory. A regular file made in this tree starts there (empty) and stays
  // while it is at most kInMemoryFileBytes, has no holes, and the writes to it add up to at
  // most kInMemoryWrittenBytes (each write is journaled with its bytes, so this bounds the
  // journal); all of them together at most kInMemoryTotalBytes.
  static constexpr uint64_t kInMemoryFileBytes = 64 << 10;
  static constexpr uint64_t kInMemoryWrittenBytes = 256 << 10;
  static constexpr uint64_t kInMemoryTotalBytes = 64 << 20;
  // Whether writing `size` bytes at `offset` keeps the file in memory under those limits
  // (false for any file not held in memory).
  bool FitsInMemory(Ino ino, uint64_t offset, uint64_t size) const;
  // Whether truncating to `size` can be done in memory: a file held in memory that does not
  // grow, or any regular file not copied up cut to 0 (it is then held in memory, empty).
  bool TruncatesInMemory(Ino ino, uint64_t size) const;
  // REQUIRES: held in memory. Writes beyond the end fill the gap with zeros (journal replay;
  // a live mount checks FitsInMemory first).
  Result<size_t> WriteInMemory(Ino ino, uint64_t offset, std::string_view data, Timestamp now);
  // REQUIRES: held in memory, or a regular file not copied up and `size` 0.
  Status TruncateInMemory(Ino ino, uint64_t size, Timestamp now);
  // The bytes of a file held in memory; valid until the tree next changes.
  Result<std::string_view> InMemoryBytes(Ino ino);
  // An open descriptor of the upper file; owned by the tree, valid until Release brings the
  // open count to 0. REQUIRES: copied up.
  Result<int> UpperFd(Ino ino);
  // Open counting: the upper descriptor of a file is closed when its last open is released.
  void Opened(Ino ino);
  void Released(Ino ino);
  Status Fsync(Ino ino);

  // ---- commit ----
  // Stores every changed file and a new Tree for every changed directory; returns the new root
  // Tree's id. Unchanged subtrees keep their ids, unread directories are not read. The tree
  // is unchanged by Commit; call Rebase once the version is recorded.
  Result<ObjectId> Commit(cas::Ingestor* ingestor);
  // After a successful Commit recorded as the new base: every directory becomes clean, every
  // stored-again file reads from the store (its upper file is closed and returned in
  // `freed_uppers` for deletion) unless it is open, in which case it stays copied up.
  // REQUIRES: `store` holds what Commit wrote (it may be a reopened store).
  void Rebase(cas::ObjectStore* store, std::vector<uint64_t>* freed_uppers);
  // The upper files still in use (after Rebase, for the new journal), as (ino, n).
  std::vector<std::pair<Ino, uint64_t>> Uppers() const;
  // Whether anything changed since open or the last Rebase.
  bool dirty() const;
  void SetStore(cas::ObjectStore* store) { store_ = store; }
  const std::string& upper_dir() const { return upper_dir_; }

 private:
  struct Node;
  MutableTree(cas::ObjectStore* store, std::string upper_dir);
  Result<Node*> Get(Ino ino);
  Result<Node*> GetDir(Ino ino, std::string_view op);
  Status Load(Node* dir);
  Node* NewNode(cas::EntryType type);
  void MarkDirty(Node* n);
  void Touch(Node* dir, Timestamp now);
  Status RemoveName(Node* dir, const std::string& name, Node* child, Timestamp now);
  std::string UpperPath(uint64_t n) const;
  Attr AttrOf(const Node* n) const;
  Result<Node*> Child(Node* dir, std::string_view name);
  Status CheckName(std::string_view name, std::string_view op);
  Result<cas::TreeEntry> EntryOf(Node* n, const std::string& name, cas::Ingestor* ingestor,
                                 const std::string& path);
  // The Tree of `dir`, the directory `path` (`moved`: it or a directory above it was renamed
  // since the base), stored through `ingestor`; NotSupported for an entry beyond the limits of
  // base/rel_path.h, which no checkin could take again.
  Result<ObjectId> CommitDir(Node* dir, cas::Ingestor* ingestor, const std::string& path,
                             bool moved);
  // NotSupported when an entry beneath the stored Tree `id` of directory `path` is beyond the
  // limits of base/rel_path.h (the Trees of a subtree that was moved, which Commit reuses).
  Status CheckStoredLimits(const ObjectId& id, const std::string& path);
  Status CloseUpper(Node* n);
  static bool InMemory(const Node* n);
  void DropBytes(Node* n);

  cas::ObjectStore* store_;
  std::string upper_dir_;
  std::vector<std::unique_ptr<Node>> nodes_;  // index ino - 1
  uint64_t in_memory_bytes_ = 0;  // the bytes of all files held in memory
  // Only during Open: the original paths of multiply-linked files with their group's index, and
  // each group's inode once made (0 before).
  std::map<std::string, size_t> link_paths_;
  std::vector<Ino> link_inos_;
};

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_MUTABLE_TREE_H_
