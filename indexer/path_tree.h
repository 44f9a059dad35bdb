// PathTree: the tree of paths a tarball is read into (indexer/tar_source.cc): each entry's
// metadata and content id, by path, in any order, until the Trees are stored bottom-up.
//
// Memory stays bounded by the directories still open, not by the tarball: a directory the
// entries have left is stored as its Tree and only that Tree's id is held ("sealed"). An entry
// that comes back to a sealed directory loads its Tree again ("unsealed"), one level per
// directory on its path; a Tree changed that way is stored again, and the first one is left for
// `cairn gc`. Hard links to regular files form groups, recorded in the root Tree; the members in
// sealed directories are kept by path. Beyond the open directories, the tree keeps the counts of
// each sealed Tree (~80 bytes each) and those paths of hard links: neither is in held().
//
// Thread-safety: none; one thread at a time.
#ifndef CAIRN_INDEXER_PATH_TREE_H_
#define CAIRN_INDEXER_PATH_TREE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/object_id.h"
#include "base/progress.h"
#include "base/result.h"
#include "base/status.h"
#include "cas/ingestor.h"
#include "cas/tree.h"

namespace cairn::indexer {

// Paths are given as their components (indexer/tar_entry.h: SplitName); the root is no
// components. Errors name the tarball ("read tarball T: ...") and come as InvalidArgument for a
// path the tree cannot hold, or as the store's errors when a Tree is stored or loaded again.
class PathTree {
 public:
  // What a stored Tree holds, its own directory included.
  struct Counts {
    uint64_t files = 0;
    uint64_t bytes = 0;
    uint64_t dirs = 0;
  };
  // The root Tree, as Store stored it.
  struct Root {
    ObjectId id;
    Counts counts;
  };

  // Trees are stored through `ingestor` (not owned; must outlive the PathTree); `tarball` is
  // named in errors; each Tree stored adds nothing to `progress` but lets it redraw (may be
  // null). With `seal` false nothing is sealed: every entry is held until Store (a reference).
  PathTree(cas::Ingestor* ingestor, std::string tarball, Progress* progress, bool seal);
  ~PathTree();
  PathTree(const PathTree&) = delete;
  PathTree& operator=(const PathTree&) = delete;

  // The next entry lies in the directory `parts[0, depth)`: the directories the entries were
  // in and have left are sealed. Errors storing a Tree. REQUIRES: depth <= parts.size().
  Status Leave(const std::vector<std::string>& parts, size_t depth);

  // A directory at `parts` (the root when empty) gets `meta`. A directory already there keeps
  // its entries; anything else there is replaced, and a missing parent directory is made with
  // mode 0755, owner 0:0, mtime 0. InvalidArgument when a parent is not a directory.
  Status AddDirectory(const std::vector<std::string>& parts, cas::Metadata meta);
  // A non-directory `entry` (everything but its name; its type set) at `parts`, replacing what
  // was there, parents as AddDirectory. REQUIRES: parts is not empty.
  Status AddFile(const std::vector<std::string>& parts, cas::TreeEntry entry);
  // A hard link at `parts` to the entry at `target_parts`, which the tarball spells `name`: a
  // link to a regular file joins its hardlink group, a link to anything else is a copy of it.
  // With `data` (a regular file: its metadata and content, as a cpio archive gives them with a
  // file's last name), every name of the file takes them, also those already added. InvalidArgument
  // when no non-directory was added at `target_parts`, `parts` is the root, or `data` is given
  // for a link to anything but a regular file. `data` is not retained.
  Status AddHardlink(const std::vector<std::string>& parts, std::vector<std::string> target_parts,
                     const std::string& name, const cas::TreeEntry* data = nullptr);

  // The non-directory entry at `parts`, the sealed directories on its path held again; null
  // when there is none. The pointer is valid until the next call that changes the tree.
  Result<const cas::TreeEntry*> FindFile(const std::vector<std::string>& parts);
  // Records the regular file at `parts`, and every hard link to it, sparse: content `id` holds
  // its `extents`. InvalidArgument when there is no regular file at `parts`. REQUIRES: FindFile
  // found it, and the tree was not changed since.
  Status SetSparse(const std::vector<std::string>& parts, const ObjectId& id,
                   const std::vector<cas::Extent>& extents);

  // Stores the Trees still held and the root Tree, with its hardlink groups. REQUIRES: called
  // once, last.
  Result<Root> Store();

  // The nodes held now: the root, and one for each entry of a directory not sealed.
  size_t held() const { return live_; }
  // Trees stored so far (directories sealed, some of them again after being held again).
  size_t seals() const { return seals_; }

 private:
  struct Node;  // path_tree.cc

  Node* NewDefaultDir(std::unique_ptr<Node>* slot);
  Result<std::unique_ptr<Node>*> Slot(const std::vector<std::string>& parts);
  Result<Node*> Find(const std::vector<std::string>& parts);
  Node* Held(const std::vector<std::string>& parts);
  Status SealAside(const std::vector<std::string>& dir, const std::vector<std::string>& keep);
  void Replace(std::unique_ptr<Node>* slot, const std::vector<std::string>& parts);
  Result<Counts> Seal(Node* dir, const std::string& rel);
  Result<Counts> MakeTree(Node* dir, const std::string& rel, cas::Tree* tree);
  Status Unseal(Node* dir, const std::string& rel);
  Status PatchLinks(Node* node, const std::function<void(cas::TreeEntry*)>& patch,
                    std::vector<std::vector<std::string>>* held_again);
  static void PatchGroup(Node* dir, int group, const std::function<void(cas::TreeEntry*)>& patch);

  cas::Ingestor* ingestor_;
  std::string tarball_;
  Progress* progress_;
  const bool seal_;  // seal the directories the entries left
  size_t live_ = 0;  // nodes held (each Node counts itself in and out); outlives root_
  size_t seals_ = 0;
  std::unique_ptr<Node> root_;
  int next_group_ = 0;
  // Members of hard-link groups in sealed directories, by path.
  std::map<std::string, int> sealed_links_;
  // What each sealed Tree holds.
  std::unordered_map<ObjectId, Counts> counts_;
  // The directory of the last entry: the directories beneath its root that entries have not
  // left.
  std::vector<std::string> open_;
  // The directory of the last hard link's target, held again to find it (AddHardlink): left
  // held for the next link into it, sealed when one names a file elsewhere or by Store.
  std::vector<std::string> linked_dir_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_PATH_TREE_H_
