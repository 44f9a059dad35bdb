#include "indexer/path_tree.h"

#include <algorithm>
#include <utility>

#include "cas/tree_reader.h"
#include "indexer/tar_entry.h"

namespace cairn::indexer {

struct PathTree::Node {
  cas::EntryType type = cas::EntryType::kDirectory;
  cas::TreeEntry entry;    // non-directories: everything but the name
  cas::Metadata dir_meta;  // directories: their own metadata (not held when sealed)
  std::map<std::string, std::unique_ptr<Node>> children;  // byte order, as Trees want
  int link_group = -1;                                    // regular files joined by hard links
  ObjectId sealed;  // directories: the stored Tree that holds them; zero while held

  explicit Node(size_t* live) : live_(live) { ++*live_; }
  ~Node() { --*live_; }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

 private:
  size_t* live_;  // the tree's count of nodes held
};

namespace {

std::string ChildPath(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

void PatchSparse(cas::TreeEntry* e, const ObjectId& id, const std::vector<cas::Extent>& extents) {
  e->id = id;
  e->sparse = true;
  e->extents = extents;
}

}  // namespace

PathTree::PathTree(cas::Ingestor* ingestor, std::string tarball, Progress* progress, bool seal)
    : ingestor_(ingestor), tarball_(std::move(tarball)), progress_(progress), seal_(seal) {
  NewDefaultDir(&root_);
}

PathTree::~PathTree() = default;

Status PathTree::Leave(const std::vector<std::string>& parts, size_t depth) {
  if (open_.size() == depth && std::equal(open_.begin(), open_.end(), parts.begin())) {
    return Status();  // the same directory as the last entry's: the usual case
  }
  std::vector<std::string> now(parts.begin(), parts.begin() + static_cast<long>(depth));
  CAIRN_RETURN_IF_ERROR(SealAside(open_, now));
  open_ = std::move(now);
  return Status();
}

Status PathTree::AddDirectory(const std::vector<std::string>& parts, cas::Metadata meta) {
  if (parts.empty()) {
    root_->dir_meta = std::move(meta);
    return Status();
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Node> * slot, Slot(parts));
  if (*slot == nullptr || (*slot)->type != cas::EntryType::kDirectory) {
    Replace(slot, parts);
    NewDefaultDir(slot);
  } else if (!(*slot)->sealed.IsZero()) {
    CAIRN_RETURN_IF_ERROR(Unseal(slot->get(), JoinPath(parts)));
  }
  (*slot)->dir_meta = std::move(meta);
  return Status();
}

Status PathTree::AddFile(const std::vector<std::string>& parts, cas::TreeEntry entry) {
  auto node = std::make_unique<Node>(&live_);
  node->type = entry.type;
  node->entry = std::move(entry);
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Node> * slot, Slot(parts));
  Replace(slot, parts);
  *slot = std::move(node);
  return Status();
}

Status PathTree::AddHardlink(const std::vector<std::string>& parts,
                             std::vector<std::string> target_parts, const std::string& name,
                             const cas::TreeEntry* data) {
  const std::string shown = JoinPath(parts);
  if (parts.empty()) {
    return Status::InvalidArgument("read tarball " + tarball_ +
                                   ": the root is given as a hard link to '" + name + "'");
  }
  CAIRN_ASSIGN_OR_RETURN(Node * target, Find(target_parts));
  if (target == nullptr || target->type == cas::EntryType::kDirectory) {
    return Status::InvalidArgument("read tarball " + tarball_ + ": hard link '" + shown +
                                   "' names '" + name + "', which is not a file read before it");
  }
  if (data != nullptr && target->type != cas::EntryType::kRegular) {
    return Status::InvalidArgument("read tarball " + tarball_ + ": hard link '" + shown +
                                   "' holds data but names '" + name +
                                   "', which is not a regular file");
  }
  if (target->type == cas::EntryType::kRegular && target->link_group < 0) {
    target->link_group = next_group_++;
  }
  // The directories of the file's other names held again to give them `data`, sealed again
  // below with the target's.
  std::vector<std::vector<std::string>> held_again;
  if (data != nullptr) {
    CAIRN_RETURN_IF_ERROR(PatchLinks(
        target, [data](cas::TreeEntry* e) { *e = *data; }, &held_again));
  }
  auto node = std::make_unique<Node>(&live_);
  node->type = target->type;
  node->entry = target->entry;
  node->link_group = target->link_group;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Node> * slot, Slot(parts));
  if (slot->get() != target) {  // a link to itself changes nothing more
    Replace(slot, parts);
    *slot = std::move(node);
  }
  // The directories held again to give the other names `data` are sealed again at once (unless
  // the entries are in them); the target's, held again to find it, stays held until a link
  // names a file of another directory: a tarball of `cp -al` copies gives a run of links into
  // one directory, each of which sealed it again, a time quadratic in its size. Its Tree is what
  // it was (the hard link is the root Tree's), unless `data` changed it.
  for (const auto& dir : held_again) CAIRN_RETURN_IF_ERROR(SealAside(dir, open_));
  target_parts.pop_back();
  if (target_parts != linked_dir_) {
    CAIRN_RETURN_IF_ERROR(SealAside(linked_dir_, open_));
    linked_dir_ = std::move(target_parts);
  }
  return Status();
}

Result<const cas::TreeEntry*> PathTree::FindFile(const std::vector<std::string>& parts) {
  CAIRN_ASSIGN_OR_RETURN(Node * node, Find(parts));
  if (node == nullptr || node->type == cas::EntryType::kDirectory) return nullptr;
  return &node->entry;
}

Status PathTree::SetSparse(const std::vector<std::string>& parts, const ObjectId& id,
                           const std::vector<cas::Extent>& extents) {
  CAIRN_ASSIGN_OR_RETURN(Node * node, Find(parts));
  if (node == nullptr || node->type != cas::EntryType::kRegular) {
    return Status::InvalidArgument("read tarball " + tarball_ + ": '" + JoinPath(parts) +
                                   "' is not a regular file");
  }
  return PatchLinks(
      node, [&](cas::TreeEntry* e) { PatchSparse(e, id, extents); }, nullptr);
}

// Applies `patch` to the regular file `node` and to every other name of it (its hard-link
// group): the names in sealed directories are held again first, and those directories go to
// `held_again` (may be null).
Status PathTree::PatchLinks(Node* node, const std::function<void(cas::TreeEntry*)>& patch,
                            std::vector<std::vector<std::string>>* held_again) {
  patch(&node->entry);
  if (node->link_group < 0) return Status();
  std::vector<std::string> sealed;
  for (const auto& [p, group] : sealed_links_)
    if (group == node->link_group) sealed.push_back(p);
  for (const auto& p : sealed) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> link_parts, SplitName(p, tarball_));
    CAIRN_RETURN_IF_ERROR(Find(link_parts).status());
    link_parts.pop_back();
    if (held_again != nullptr) held_again->push_back(std::move(link_parts));
  }
  PatchGroup(root_.get(), node->link_group, patch);
  return Status();
}

Result<PathTree::Root> PathTree::Store() {
  cas::Tree tree;
  CAIRN_ASSIGN_OR_RETURN(Counts c, MakeTree(root_.get(), "", &tree));
  // The hard links, every one now in sealed_links_.
  std::map<int, std::vector<std::string>> groups;
  for (auto& [path, group] : sealed_links_) groups[group].push_back(path);
  for (auto& [group, paths] : groups) {
    if (paths.size() < 2) continue;
    std::sort(paths.begin(), paths.end());
    tree.hardlinks.push_back(std::move(paths));
  }
  std::sort(tree.hardlinks.begin(), tree.hardlinks.end());
  CAIRN_RETURN_IF_ERROR(cas::CanonicalizeTree(&tree));
  Root root;
  CAIRN_ASSIGN_OR_RETURN(root.id,
                         ingestor_->PutObject(cas::ObjectType::kTree, cas::EncodeTree(tree)));
  root.counts = c;
  return root;
}

// Applies `patch` to the held members of hardlink `group` beneath `dir` (PatchLinks holds the
// sealed ones first).
void PathTree::PatchGroup(Node* dir, int group, const std::function<void(cas::TreeEntry*)>& patch) {
  for (auto& [name, child] : dir->children) {
    if (child->type == cas::EntryType::kDirectory) {
      PatchGroup(child.get(), group, patch);
    } else if (child->link_group == group) {
      patch(&child->entry);
    }
  }
}

PathTree::Node* PathTree::NewDefaultDir(std::unique_ptr<Node>* slot) {
  *slot = std::make_unique<Node>(&live_);
  (*slot)->dir_meta.mode = 0755;
  return slot->get();
}

// The slot for `parts` in the tree, creating missing parent directories and holding sealed
// ones again.
Result<std::unique_ptr<PathTree::Node>*> PathTree::Slot(const std::vector<std::string>& parts) {
  Node* dir = root_.get();
  std::string rel;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    std::unique_ptr<Node>& child = dir->children[parts[i]];
    rel = ChildPath(rel, parts[i]);
    if (child == nullptr) NewDefaultDir(&child);
    if (child->type != cas::EntryType::kDirectory) {
      return Status::InvalidArgument("read tarball " + tarball_ + ": entry '" + JoinPath(parts) +
                                     "' lies beneath '" + rel + "', which is not a directory");
    }
    if (!child->sealed.IsZero()) CAIRN_RETURN_IF_ERROR(Unseal(child.get(), rel));
    dir = child.get();
  }
  return &dir->children[parts.back()];
}

// The node at `parts`, holding the sealed directories on the way again; null if none.
Result<PathTree::Node*> PathTree::Find(const std::vector<std::string>& parts) {
  Node* n = root_.get();
  std::string rel;
  for (const auto& p : parts) {
    if (n->type != cas::EntryType::kDirectory) return nullptr;
    if (!n->sealed.IsZero()) CAIRN_RETURN_IF_ERROR(Unseal(n, rel));
    auto it = n->children.find(p);
    if (it == n->children.end() || it->second == nullptr) return nullptr;
    n = it->second.get();
    rel = ChildPath(rel, p);
  }
  return n;
}

// The node at `parts` if it is held (no sealed directory on the way), else null.
PathTree::Node* PathTree::Held(const std::vector<std::string>& parts) {
  Node* n = root_.get();
  for (const auto& p : parts) {
    if (n->type != cas::EntryType::kDirectory || !n->sealed.IsZero()) return nullptr;
    auto it = n->children.find(p);
    if (it == n->children.end() || it->second == nullptr) return nullptr;
    n = it->second.get();
  }
  return n;
}

// Seals what the directory `dir` holds beyond the directory `keep`: the subtree where the
// two paths part, on `dir`'s side.
Status PathTree::SealAside(const std::vector<std::string>& dir,
                           const std::vector<std::string>& keep) {
  if (!seal_) return Status();
  size_t same = 0;
  while (same < dir.size() && same < keep.size() && dir[same] == keep[same]) ++same;
  if (same == dir.size()) return Status();
  std::vector<std::string> aside(dir.begin(), dir.begin() + static_cast<long>(same) + 1);
  Node* n = Held(aside);
  if (n == nullptr || n->type != cas::EntryType::kDirectory || !n->sealed.IsZero()) {
    return Status();
  }
  return Seal(n, JoinPath(aside)).status();
}

// The entry at `slot` (named `parts`) is about to be replaced: if it is a directory, the
// hard links beneath it that sealed Trees hold go with it.
void PathTree::Replace(std::unique_ptr<Node>* slot, const std::vector<std::string>& parts) {
  if (*slot == nullptr || (*slot)->type != cas::EntryType::kDirectory) return;
  const std::string prefix = JoinPath(parts) + "/";
  auto it = sealed_links_.lower_bound(prefix);
  while (it != sealed_links_.end() && it->first.starts_with(prefix)) it = sealed_links_.erase(it);
}

// Stores the Tree of `dir` (named `rel`), sealing its held subdirectories first, and holds
// only its id from then on. Returns what it holds.
Result<PathTree::Counts> PathTree::Seal(Node* dir, const std::string& rel) {
  cas::Tree tree;
  CAIRN_ASSIGN_OR_RETURN(Counts c, MakeTree(dir, rel, &tree));
  CAIRN_ASSIGN_OR_RETURN(ObjectId id,
                         ingestor_->PutObject(cas::ObjectType::kTree, cas::EncodeTree(tree)));
  dir->children.clear();
  dir->dir_meta = cas::Metadata();
  dir->sealed = id;
  counts_[id] = c;
  ++seals_;
  return c;
}

// Fills `tree` with `dir`'s entries (its subdirectories sealed first); the hard links among
// them go to sealed_links_.
Result<PathTree::Counts> PathTree::MakeTree(Node* dir, const std::string& rel, cas::Tree* tree) {
  tree->meta = dir->dir_meta;
  Counts c;
  c.dirs = 1;
  if (progress_) progress_->Add(0, 0);
  for (auto& [name, child] : dir->children) {
    const std::string path = ChildPath(rel, name);
    cas::TreeEntry e;
    if (child->type == cas::EntryType::kDirectory) {
      if (child->sealed.IsZero()) CAIRN_RETURN_IF_ERROR(Seal(child.get(), path).status());
      const Counts& sub = counts_.at(child->sealed);
      c.files += sub.files;
      c.bytes += sub.bytes;
      c.dirs += sub.dirs;
      e.id = child->sealed;
      e.type = cas::EntryType::kDirectory;
    } else {
      e = child->entry;
      if (child->link_group >= 0) sealed_links_[path] = child->link_group;
      if (e.type == cas::EntryType::kRegular) {
        c.files++;
        c.bytes += e.size;
      }
    }
    e.name = name;
    tree->entries.push_back(std::move(e));
  }
  CAIRN_RETURN_IF_ERROR(cas::CanonicalizeTree(tree));
  return c;
}

// Holds `dir`'s entries again, from its stored Tree: its subdirectories stay sealed.
Status PathTree::Unseal(Node* dir, const std::string& rel) {
  CAIRN_RETURN_IF_ERROR(ingestor_->WritePending());  // the Tree may still be pending
  CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, cas::LoadTree(ingestor_->store(), dir->sealed));
  dir->dir_meta = std::move(tree.meta);
  for (auto& e : tree.entries) {
    auto child = std::make_unique<Node>(&live_);
    child->type = e.type;
    std::string name = std::move(e.name);
    if (e.type == cas::EntryType::kDirectory) {
      child->sealed = e.id;
    } else {
      e.name.clear();
      child->entry = std::move(e);
      auto link = sealed_links_.find(ChildPath(rel, name));
      if (link != sealed_links_.end()) {
        child->link_group = link->second;
        sealed_links_.erase(link);
      }
    }
    dir->children.emplace(std::move(name), std::move(child));
  }
  dir->sealed = ObjectId();
  return Status();
}

}  // namespace cairn::indexer
