// MutableTree: loading, lookups and the namespace edits. Contents and commit are in
// mutable_tree_data.cc.
#include "vmount/mutable_tree.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "base/rel_path.h"
#include "cas/tree_reader.h"
#include "vmount/errors.h"
#include "vmount/mutable_tree_node.h"
#include "vmount/posix_acl.h"

namespace cairn::vmount {

Timestamp Timestamp::Now() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return {ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

MutableTree::MutableTree(cas::ObjectStore* store, std::string upper_dir)
    : store_(store), upper_dir_(std::move(upper_dir)) {}

MutableTree::~MutableTree() {
  for (auto& n : nodes_)
    if (n->upper_fd >= 0) ::close(n->upper_fd);
}

Result<std::unique_ptr<MutableTree>> MutableTree::Open(cas::ObjectStore* store,
                                                       const ObjectId& root,
                                                       std::string upper_dir) {
  std::unique_ptr<MutableTree> t(new MutableTree(store, std::move(upper_dir)));
  Node* r = t->NewNode(cas::EntryType::kDirectory);
  r->tree_id = root;
  CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, cas::LoadTree(store, root));
  // Every name of a multiply-linked file must meet the same inode: read the directories that
  // hold them now, while the original paths are still the current ones.
  for (const auto& group : tree.hardlinks) {
    for (const auto& p : group) t->link_paths_.emplace(p, t->link_inos_.size());
    t->link_inos_.push_back(0);
  }
  CAIRN_RETURN_IF_ERROR(t->Load(r));
  for (const auto& group : tree.hardlinks) {
    for (const auto& p : group) {
      std::string_view parent = ParentOf(p);
      if (parent.empty()) continue;
      auto dir = t->LookupPath(parent);
      if (!dir) return dir.error().WithContext("read hard link " + p);
      CAIRN_ASSIGN_OR_RETURN(Node * d, t->GetDir(*dir, "read hard link"));
      CAIRN_RETURN_IF_ERROR(t->Load(d));
    }
  }
  t->link_paths_.clear();
  t->link_inos_.clear();
  return t;
}

MutableTree::Node* MutableTree::NewNode(cas::EntryType type) {
  nodes_.push_back(std::make_unique<Node>());
  Node* n = nodes_.back().get();
  n->ino = nodes_.size();
  n->type = type;
  if (n->is_dir()) n->loaded = false;
  return n;
}

Result<MutableTree::Node*> MutableTree::Get(Ino ino) {
  if (ino < 1 || ino > nodes_.size()) return FsError(ENOENT, "inode", std::to_string(ino));
  return nodes_[ino - 1].get();
}

Result<MutableTree::Node*> MutableTree::GetDir(Ino ino, std::string_view op) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (!n->is_dir()) return FsError(ENOTDIR, op, "inode " + std::to_string(ino));
  CAIRN_RETURN_IF_ERROR(Load(n));
  return n;
}

Status MutableTree::Load(Node* dir) {
  if (dir->loaded) return Status();
  CAIRN_ASSIGN_OR_RETURN(cas::Tree t, cas::LoadTree(store_, *dir->tree_id));
  dir->meta = std::move(t.meta);
  std::string prefix;
  if (!link_paths_.empty() && dir->ino != kRootIno) {
    CAIRN_ASSIGN_OR_RETURN(prefix, PathOf(dir->ino));
    prefix += "/";
  }
  for (auto& e : t.entries) {
    Node* c = nullptr;
    if (e.type == cas::EntryType::kDirectory) {
      c = NewNode(e.type);
      c->tree_id = e.id;
      c->parent = dir;
      c->name = e.name;
      dir->subdirs++;
    } else {
      auto link = link_paths_.empty() ? link_paths_.end() : link_paths_.find(prefix + e.name);
      if (link != link_paths_.end() && link_inos_[link->second] != 0) {
        c = nodes_[link_inos_[link->second] - 1].get();
      } else {
        c = NewNode(e.type);
        c->meta = std::move(e.meta);
        c->size = e.size;
        c->content = e.id;
        c->sparse = e.sparse;
        c->extents = std::move(e.extents);
        c->target = std::move(e.target);
        c->rdev_major = e.rdev_major;
        c->rdev_minor = e.rdev_minor;
        if (link != link_paths_.end()) link_inos_[link->second] = c->ino;
      }
      c->links.emplace_back(dir->ino, e.name);
    }
    dir->children.emplace(std::move(e.name), c->ino);
  }
  dir->loaded = true;
  return Status();
}

Result<std::string> MutableTree::PathOf(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  std::string name;
  if (!n->is_dir()) {
    if (n->links.empty()) return FsError(ENOENT, "path of", "inode " + std::to_string(ino));
    name = n->links.front().second;
    n = nodes_[n->links.front().first - 1].get();
  }
  std::vector<const std::string*> parts;
  for (Node* d = n; d->ino != kRootIno; d = d->parent) {
    if (d->parent == nullptr) return FsError(ENOENT, "path of", "inode " + std::to_string(ino));
    parts.push_back(&d->name);
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!out.empty()) out += '/';
    out += **it;
  }
  if (!name.empty()) out += (out.empty() ? "" : "/") + name;
  return out;
}

Result<MutableTree::Node*> MutableTree::Child(Node* dir, std::string_view name) {
  auto it = dir->children.find(name);
  if (it == dir->children.end()) return FsError(ENOENT, "lookup", name);
  return nodes_[it->second - 1].get();
}

Status MutableTree::CheckName(std::string_view name, std::string_view op) {
  if (name.size() > 255) return FsError(ENAMETOOLONG, op, name);
  if (!cas::IsSafeName(name)) return FsError(EINVAL, op, name);
  return Status();
}

Result<Ino> MutableTree::Lookup(Ino parent, std::string_view name) {
  CAIRN_ASSIGN_OR_RETURN(Node * dir, GetDir(parent, "lookup"));
  CAIRN_ASSIGN_OR_RETURN(Node * c, Child(dir, name));
  return c->ino;
}

Result<Ino> MutableTree::LookupPath(std::string_view path) {
  Ino cur = kRootIno;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view comp = path.substr(start, slash - start);
    start = slash + 1;
    if (comp.empty() || comp == ".") continue;
    CAIRN_ASSIGN_OR_RETURN(cur, Lookup(cur, comp));
  }
  return cur;
}

Attr MutableTree::AttrOf(const Node* n) const {
  Attr a;
  a.ino = n->ino;
  a.type = n->type;
  a.mode = n->meta.mode;
  a.uid = n->meta.uid;
  a.gid = n->meta.gid;
  a.mtime = {n->meta.mtime_sec, n->meta.mtime_nsec};
  if (n->is_dir()) {
    a.nlink = 2 + n->subdirs;
    a.size = 4096;
    a.blocks = 8;
    return a;
  }
  a.nlink = static_cast<uint32_t>(n->links.size());
  a.rdev_major = n->rdev_major;
  a.rdev_minor = n->rdev_minor;
  if (n->type == cas::EntryType::kSymlink) a.size = n->target.size();
  if (n->type == cas::EntryType::kRegular) {
    a.size = n->size;
    uint64_t data = n->size;
    if (n->upper < 0 && n->sparse) {
      data = 0;
      for (const auto& x : n->extents) data += x.length;
    }
    a.blocks = (data + 511) / 512;
    // An upper file keeps the holes: what it allocates is the data (du of a copied-up or
    // truncated-up sparse file read its whole size).
    struct stat st;
    if (n->upper >= 0 &&
        (n->upper_fd >= 0 ? ::fstat(n->upper_fd, &st)
                          : ::stat(UpperPath(static_cast<uint64_t>(n->upper)).c_str(), &st)) == 0) {
      a.blocks = static_cast<uint64_t>(st.st_blocks);
    }
  }
  return a;
}

Result<Attr> MutableTree::GetAttr(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->is_dir()) CAIRN_RETURN_IF_ERROR(Load(n));
  return AttrOf(n);
}

Result<std::vector<DirEntry>> MutableTree::ReadDir(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * dir, GetDir(ino, "read directory"));
  std::vector<DirEntry> out;
  out.reserve(dir->children.size());
  for (const auto& [name, c] : dir->children) out.push_back({name, c, nodes_[c - 1]->type});
  return out;
}

Result<std::string> MutableTree::ReadLink(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->type != cas::EntryType::kSymlink) return FsError(EINVAL, "readlink", "inode");
  return n->target;
}

void MutableTree::MarkDirty(Node* n) {
  if (!n->is_dir()) {
    for (const auto& [dir, name] : n->links) MarkDirty(nodes_[dir - 1].get());
    return;
  }
  for (Node* d = n; d != nullptr && !d->dirty; d = d->parent) d->dirty = true;
}

void MutableTree::Touch(Node* dir, Timestamp now) {
  dir->meta.mtime_sec = now.sec;
  dir->meta.mtime_nsec = now.nsec;
  MarkDirty(dir);
}

Result<Ino> MutableTree::Make(Ino parent, std::string_view name, const NewEntry& e,
                              Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * dir, GetDir(parent, "create"));
  CAIRN_RETURN_IF_ERROR(CheckName(name, "create"));
  if (dir->children.contains(name)) return FsError(EEXIST, "create", name);
  // The kernel never passes these (a symlink's target is a C string, and symlink(2) refuses an
  // empty one); a journal replayed after damage may, and no Tree may hold them (found by
  // fuzz/journal_fuzzer.cc).
  if (e.type == cas::EntryType::kSymlink &&
      (e.target.empty() || e.target.find('\0') != std::string::npos)) {
    return FsError(EINVAL, "create", name);
  }
  Node* c = NewNode(e.type);
  c->meta.mode = e.mode & 07777;
  if (const std::string* dflt = DefaultAclIn(dir->meta.xattrs);
      dflt && e.type != cas::EntryType::kSymlink) {
    // As a local file system does (acl(5)); Filesystem::Make left the umask out for it.
    if (auto acl = InheritAcl(*dflt, c->meta.mode, c->is_dir())) {
      c->meta.mode = acl->mode;
      if (!acl->access.empty()) c->meta.xattrs.emplace_back(kAclAccessXattr, acl->access);
      if (!acl->dflt.empty()) c->meta.xattrs.emplace_back(kAclDefaultXattr, acl->dflt);
    }
  }
  c->meta.uid = e.uid;
  c->meta.gid = e.gid;
  c->meta.mtime_sec = now.sec;
  c->meta.mtime_nsec = now.nsec;
  c->target = e.target;
  c->rdev_major = e.rdev_major;
  c->rdev_minor = e.rdev_minor;
  if (c->is_dir()) {
    c->loaded = true;
    c->parent = dir;
    c->name = std::string(name);
    dir->subdirs++;
  } else {
    c->links.emplace_back(dir->ino, std::string(name));
  }
  if (e.type == cas::EntryType::kRegular) c->content_dirty = true;  // the empty content
  dir->children.emplace(std::string(name), c->ino);
  Touch(dir, now);
  if (c->is_dir()) MarkDirty(c);
  return c->ino;
}

Status MutableTree::RemoveName(Node* dir, const std::string& name, Node* child, Timestamp now) {
  dir->children.erase(name);
  if (child->is_dir()) {
    dir->subdirs--;
    child->parent = nullptr;
  } else {
    auto it = std::find(child->links.begin(), child->links.end(), std::make_pair(dir->ino, name));
    if (it != child->links.end()) child->links.erase(it);
    MarkDirty(child);  // its other names' directories (hard links)
    if (child->links.empty() && child->opens == 0) DropBytes(child);  // gone for good
  }
  Touch(dir, now);
  return Status();
}

Status MutableTree::Unlink(Ino parent, std::string_view name, Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * dir, GetDir(parent, "unlink"));
  CAIRN_ASSIGN_OR_RETURN(Node * c, Child(dir, name));
  if (c->is_dir()) return FsError(EISDIR, "unlink", name);
  return RemoveName(dir, std::string(name), c, now);
}

Status MutableTree::Rmdir(Ino parent, std::string_view name, Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * dir, GetDir(parent, "rmdir"));
  CAIRN_ASSIGN_OR_RETURN(Node * c, Child(dir, name));
  if (!c->is_dir()) return FsError(ENOTDIR, "rmdir", name);
  CAIRN_RETURN_IF_ERROR(Load(c));
  if (!c->children.empty()) return FsError(ENOTEMPTY, "rmdir", name);
  return RemoveName(dir, std::string(name), c, now);
}

Status MutableTree::Rename(Ino parent, std::string_view name, Ino new_parent,
                           std::string_view new_name, uint32_t flags, Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * from, GetDir(parent, "rename"));
  CAIRN_ASSIGN_OR_RETURN(Node * to, GetDir(new_parent, "rename"));
  CAIRN_RETURN_IF_ERROR(CheckName(new_name, "rename"));
  if (flags & ~kRenameNoReplace) return FsError(EINVAL, "rename", name);
  CAIRN_ASSIGN_OR_RETURN(Node * src, Child(from, name));
  auto existing = to->children.find(new_name);
  if (existing != to->children.end()) {
    if (flags & kRenameNoReplace) return FsError(EEXIST, "rename", new_name);
    Node* dst = nodes_[existing->second - 1].get();
    if (dst == src) return Status();  // two names of one file: nothing to do (POSIX)
    if (src->is_dir()) {
      if (!dst->is_dir()) return FsError(ENOTDIR, "rename", new_name);
      CAIRN_RETURN_IF_ERROR(Load(dst));
      if (!dst->children.empty()) return FsError(ENOTEMPTY, "rename", new_name);
    } else if (dst->is_dir()) {
      return FsError(EISDIR, "rename", new_name);
    }
  }
  if (src->is_dir()) {
    for (Node* d = to; d != nullptr; d = d->parent) {
      if (d == src) return FsError(EINVAL, "rename", name);  // into itself
    }
  }
  if (existing != to->children.end()) {
    CAIRN_RETURN_IF_ERROR(
        RemoveName(to, std::string(new_name), nodes_[existing->second - 1].get(), now));
  }
  from->children.erase(std::string(name));
  to->children.emplace(std::string(new_name), src->ino);
  if (src->is_dir()) {
    from->subdirs--;
    to->subdirs++;
    src->parent = to;
    src->name = std::string(new_name);
    src->moved = true;
  } else {
    for (auto& l : src->links) {
      if (l.first == from->ino && l.second == name) {
        l = {to->ino, std::string(new_name)};
        break;
      }
    }
    MarkDirty(src);
  }
  Touch(from, now);
  Touch(to, now);
  return Status();
}

Status MutableTree::Link(Ino ino, Ino new_parent, std::string_view new_name, Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->is_dir()) return FsError(EPERM, "link", new_name);
  if (n->links.empty()) return FsError(ENOENT, "link", new_name);
  CAIRN_ASSIGN_OR_RETURN(Node * dir, GetDir(new_parent, "link"));
  CAIRN_RETURN_IF_ERROR(CheckName(new_name, "link"));
  if (dir->children.contains(new_name)) return FsError(EEXIST, "link", new_name);
  dir->children.emplace(std::string(new_name), n->ino);
  n->links.emplace_back(dir->ino, std::string(new_name));
  Touch(dir, now);
  return Status();
}

Result<cas::Metadata> MutableTree::Metadata(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->is_dir()) CAIRN_RETURN_IF_ERROR(Load(n));
  return n->meta;
}

Status MutableTree::SetMetadata(Ino ino, const cas::Metadata& meta) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->is_dir()) CAIRN_RETURN_IF_ERROR(Load(n));
  n->meta = meta;
  MarkDirty(n);
  return Status();
}

Result<std::string> MutableTree::GetXattr(Ino ino, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(cas::Metadata m, Metadata(ino));
  for (const auto& [k, v] : m.xattrs)
    if (k == name) return v;
  return FsError(ENODATA, "get xattr", name);
}

Result<std::vector<std::string>> MutableTree::ListXattrs(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(cas::Metadata m, Metadata(ino));
  std::vector<std::string> out;
  for (const auto& [k, v] : m.xattrs) out.push_back(k);
  return out;
}

Status MutableTree::SetXattr(Ino ino, const std::string& name, std::string_view value, int flags) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->is_dir()) CAIRN_RETURN_IF_ERROR(Load(n));
  if (name.empty() || name.size() > 255) return FsError(ERANGE, "set xattr", name);
  auto& x = n->meta.xattrs;
  auto it = std::lower_bound(x.begin(), x.end(), name,
                             [](const auto& kv, const std::string& k) { return kv.first < k; });
  bool present = it != x.end() && it->first == name;
  if (present && (flags & XATTR_CREATE)) return FsError(EEXIST, "set xattr", name);
  if (!present && (flags & XATTR_REPLACE)) return FsError(ENODATA, "set xattr", name);
  if (name == kAclAccessXattr) {
    // The mode follows the ACL; an ACL the mode can say alone is not kept (posix_acl.h).
    CAIRN_ASSIGN_OR_RETURN(AclMode acl, ModeOfAcl(value));
    n->meta.mode = (n->meta.mode & ~0777u) | acl.permissions;
    if (acl.minimal) {
      if (present) x.erase(it);
      MarkDirty(n);
      return Status();
    }
  }
  if (present) {
    it->second = std::string(value);
  } else {
    x.insert(it, {name, std::string(value)});
  }
  MarkDirty(n);
  return Status();
}

Status MutableTree::RemoveXattr(Ino ino, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->is_dir()) CAIRN_RETURN_IF_ERROR(Load(n));
  auto& x = n->meta.xattrs;
  auto it = std::find_if(x.begin(), x.end(), [&](const auto& kv) { return kv.first == name; });
  if (it == x.end()) return FsError(ENODATA, "remove xattr", name);
  x.erase(it);
  MarkDirty(n);
  return Status();
}

bool MutableTree::dirty() const { return nodes_[0]->dirty; }

}  // namespace cairn::vmount
