// MutableTree: file contents (copy-up into upper files), attributes, and commit.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/rel_path.h"
#include "cas/content_reader.h"
#include "cas/tree_reader.h"
#include "indexer/file_reader.h"
#include "vmount/errors.h"
#include "vmount/mutable_tree.h"
#include "vmount/mutable_tree_node.h"
#include "vmount/posix_acl.h"

namespace cairn::vmount {
namespace {

Status WriteAll(int fd, std::string_view data, uint64_t offset, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status();
}

}  // namespace

std::string MutableTree::UpperPath(uint64_t n) const {
  return upper_dir_ + "/" + std::to_string(n);
}

Result<FileData> MutableTree::Data(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->type != cas::EntryType::kRegular) return FsError(EISDIR, "read", "inode");
  FileData d;
  d.size = n->size;
  d.upper = n->upper;
  d.in_memory = InMemory(n);
  d.changed = n->content_dirty;
  if (n->upper < 0 && !n->content_dirty) {
    d.content = n->content;
    d.sparse = n->sparse;
    d.extents = n->extents;
  }
  return d;
}

std::vector<std::pair<ObjectId, uint64_t>> MutableTree::FollowingFiles(Ino ino, size_t n) {
  std::vector<std::pair<ObjectId, uint64_t>> out;
  auto node = Get(ino);
  if (!node || (*node)->links.empty()) return out;
  auto [dir_ino, name] = (*node)->links.front();
  Node* dir = nodes_[dir_ino - 1].get();
  for (auto it = dir->children.upper_bound(name); it != dir->children.end() && out.size() < n; ++it) {
    const Node* c = nodes_[it->second - 1].get();
    if (c->type != cas::EntryType::kRegular || c->upper >= 0 || c->content_dirty || c->size == 0) {
      continue;
    }
    out.emplace_back(c->content, c->size);
  }
  return out;
}

Status MutableTree::CopyUp(Ino ino, uint64_t num) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->type != cas::EntryType::kRegular) return FsError(EINVAL, "copy up", "inode");
  if (n->upper >= 0) return Status();
  std::string path = UpperPath(num);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create upper file", path, errno);
  Status s;
  uint64_t end = 0;  // where the data written ends
  if (n->size > 0 && !n->content_dirty) {
    // The data regions go where their extents say; holes stay holes.
    std::vector<cas::Extent> regions =
        n->sparse ? n->extents : std::vector<cas::Extent>{{0, n->size}};
    size_t i = 0;
    uint64_t in = 0;
    end = regions.empty() ? 0 : regions.back().offset + regions.back().length;
    cas::ContentReader reader(store_, 2);
    s = reader.Read(n->content, [&](std::string_view piece) -> Status {
      while (!piece.empty()) {
        if (i >= regions.size()) return Status::Corruption("copy up: content longer than file");
        size_t k = static_cast<size_t>(std::min<uint64_t>(piece.size(), regions[i].length - in));
        CAIRN_RETURN_IF_ERROR(WriteAll(fd, piece.substr(0, k), regions[i].offset + in, path));
        piece.remove_prefix(k);
        in += k;
        if (in == regions[i].length) {
          ++i;
          in = 0;
        }
      }
      return Status();
    });
  } else if (InMemory(n)) {
    s = WriteAll(fd, n->bytes, 0, path);
    end = n->bytes.size();
  }
  // Only when a hole ends the file: ext4 writes a file truncated to 0 back at its close (its
  // auto_da_alloc heuristic), which made each new small file cost a disk write.
  if (s.ok() && end != n->size && ::ftruncate(fd, static_cast<off_t>(n->size)) != 0) {
    s = ErrnoStatus("truncate", path, errno);
  }
  if (!s.ok()) {
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  DropBytes(n);
  n->upper = static_cast<int64_t>(num);
  n->upper_fd = fd;
  n->content_dirty = true;
  MarkDirty(n);
  struct timespec ts[2] = {{0, UTIME_OMIT}, {n->meta.mtime_sec, n->meta.mtime_nsec}};
  ::futimens(fd, ts);  // the upper file's mtime is the file's (journal replay reads it)
  return Status();
}

Status MutableTree::AttachUpper(Ino ino, uint64_t num) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->type != cas::EntryType::kRegular) return FsError(EINVAL, "attach upper", "inode");
  (void)CloseUpper(n);
  DropBytes(n);
  struct stat st;
  std::string path = UpperPath(num);
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat upper file", path, errno);
  n->upper = static_cast<int64_t>(num);
  n->size = static_cast<uint64_t>(st.st_size);
  n->meta.mtime_sec = st.st_mtim.tv_sec;
  n->meta.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  n->content_dirty = true;
  MarkDirty(n);
  return Status();
}

Result<int> MutableTree::UpperFd(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->upper < 0) return Status::Internal("upper fd of inode " + std::to_string(ino) + ": not copied up");
  if (n->upper_fd < 0) {
    std::string path = UpperPath(static_cast<uint64_t>(n->upper));
    n->upper_fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (n->upper_fd < 0) return ErrnoStatus("open upper file", path, errno);
  }
  return n->upper_fd;
}

Status MutableTree::CloseUpper(Node* n) {
  if (n->upper_fd < 0) return Status();
  int fd = n->upper_fd;
  n->upper_fd = -1;
  if (::close(fd) != 0) return ErrnoStatus("close upper file", std::to_string(n->upper), errno);
  return Status();
}

void MutableTree::Opened(Ino ino) {
  if (auto n = Get(ino)) (*n)->opens++;
}

void MutableTree::Released(Ino ino) {
  auto n = Get(ino);
  if (!n || --(*n)->opens > 0) return;
  (*n)->opens = 0;
  (void)CloseUpper(*n);
  if ((*n)->links.empty()) DropBytes(*n);  // no name and no open: nobody reads it again
}

bool MutableTree::InMemory(const Node* n) {
  return n->type == cas::EntryType::kRegular && n->content_dirty && n->upper < 0;
}

void MutableTree::DropBytes(Node* n) {
  in_memory_bytes_ -= n->bytes.size();
  std::string().swap(n->bytes);
  n->written = 0;
}

bool MutableTree::FitsInMemory(Ino ino, uint64_t offset, uint64_t size) const {
  if (ino < 1 || ino > nodes_.size()) return false;
  const Node* n = nodes_[ino - 1].get();
  if (!InMemory(n) || offset > n->size) return false;  // a hole: copied up, holes kept
  uint64_t end = std::max(n->size, offset + size);
  return end <= kInMemoryFileBytes && n->written + size <= kInMemoryWrittenBytes &&
         in_memory_bytes_ + (end - n->size) <= kInMemoryTotalBytes;
}

bool MutableTree::TruncatesInMemory(Ino ino, uint64_t size) const {
  if (ino < 1 || ino > nodes_.size()) return false;
  const Node* n = nodes_[ino - 1].get();
  if (n->type != cas::EntryType::kRegular) return false;
  return InMemory(n) ? size <= n->size : (n->upper < 0 && size == 0);
}

Result<size_t> MutableTree::WriteInMemory(Ino ino, uint64_t offset, std::string_view data,
                                          Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (!InMemory(n)) return Status::Internal("write in memory: inode " + std::to_string(ino) + " is not held in memory");
  // What FitsInMemory promised the live write; a journal replayed after damage may ask more (a
  // hole, gigabytes: found by fuzz/journal_fuzzer.cc).
  if (offset > n->size || data.size() > kInMemoryFileBytes ||
      offset > kInMemoryFileBytes - data.size()) {
    return Status::Internal("write in memory: " + std::to_string(data.size()) + " bytes at " +
                            std::to_string(offset) + " of inode " + std::to_string(ino) +
                            " do not fit in memory");
  }
  uint64_t end = std::max(n->size, offset + data.size());
  in_memory_bytes_ += end - n->bytes.size();
  n->bytes.resize(end, '\0');
  n->bytes.replace(offset, data.size(), data);
  n->size = end;
  n->written += data.size();
  n->meta.mtime_sec = now.sec;
  n->meta.mtime_nsec = now.nsec;
  MarkDirty(n);
  return data.size();
}

Status MutableTree::TruncateInMemory(Ino ino, uint64_t size, Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (!InMemory(n)) {
    if (n->type != cas::EntryType::kRegular || n->upper >= 0 || size != 0) {
      return Status::Internal("truncate in memory: inode " + std::to_string(ino) + " is not held in memory");
    }
    n->content_dirty = true;  // the stored content is dropped: held in memory, empty
    n->sparse = false;
    n->extents.clear();
    n->bytes.clear();
    n->written = 0;
  }
  if (size > n->size) {  // TruncatesInMemory: only shorter (a journal after damage may ask more)
    return Status::Internal("truncate in memory: inode " + std::to_string(ino) + " to " +
                            std::to_string(size) + " bytes would grow it");
  }
  in_memory_bytes_ -= n->bytes.size();
  n->bytes.resize(size, '\0');
  in_memory_bytes_ += n->bytes.size();
  n->size = size;
  n->meta.mtime_sec = now.sec;
  n->meta.mtime_nsec = now.nsec;
  MarkDirty(n);
  return Status();
}

Result<std::string_view> MutableTree::InMemoryBytes(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (!InMemory(n)) return Status::Internal("read in memory: inode " + std::to_string(ino) + " is not held in memory");
  return std::string_view(n->bytes);
}

Status MutableTree::Fsync(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->upper_fd >= 0 && ::fsync(n->upper_fd) != 0) {
    return ErrnoStatus("fsync upper file", std::to_string(n->upper), errno);
  }
  return Status();
}

Result<size_t> MutableTree::Write(Ino ino, uint64_t offset, std::string_view data, Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(int fd, UpperFd(ino));
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  CAIRN_RETURN_IF_ERROR(WriteAll(fd, data, offset, UpperPath(static_cast<uint64_t>(n->upper))));
  n->size = std::max(n->size, offset + data.size());
  n->meta.mtime_sec = now.sec;
  n->meta.mtime_nsec = now.nsec;
  n->content_dirty = true;
  MarkDirty(n);
  struct timespec ts[2] = {{0, UTIME_OMIT}, {now.sec, now.nsec}};
  ::futimens(fd, ts);
  return data.size();
}

Result<Attr> MutableTree::SetAttr(Ino ino, const SetAttrRequest& req, Timestamp now) {
  CAIRN_ASSIGN_OR_RETURN(Node * n, Get(ino));
  if (n->is_dir()) CAIRN_RETURN_IF_ERROR(Load(n));
  if (req.size) {
    if (n->type != cas::EntryType::kRegular) return FsError(EINVAL, "truncate", "inode");
    CAIRN_ASSIGN_OR_RETURN(int fd, UpperFd(ino));
    if (::ftruncate(fd, static_cast<off_t>(*req.size)) != 0) {
      return ErrnoStatus("truncate upper file", std::to_string(n->upper), errno);
    }
    n->size = *req.size;
    n->content_dirty = true;
    if (!req.mtime) {
      n->meta.mtime_sec = now.sec;
      n->meta.mtime_nsec = now.nsec;
    }
  }
  if (req.mode) {
    n->meta.mode = *req.mode & 07777;
    for (auto& [k, v] : n->meta.xattrs) {
      if (k == kAclAccessXattr) v = AclWithMode(v, n->meta.mode);  // chmod rewrites the ACL
    }
  }
  if (req.uid) n->meta.uid = *req.uid;
  if (req.gid) n->meta.gid = *req.gid;
  if (req.mtime) {
    n->meta.mtime_sec = req.mtime->sec;
    n->meta.mtime_nsec = req.mtime->nsec;
  }
  if (n->upper >= 0 && (req.size || req.mtime)) {
    CAIRN_ASSIGN_OR_RETURN(int fd, UpperFd(ino));
    struct timespec ts[2] = {{0, UTIME_OMIT}, {n->meta.mtime_sec, n->meta.mtime_nsec}};
    ::futimens(fd, ts);
  }
  MarkDirty(n);
  return AttrOf(n);
}

Result<cas::TreeEntry> MutableTree::EntryOf(Node* n, const std::string& name,
                                            cas::Ingestor* ingestor, const std::string& path) {
  cas::TreeEntry e;
  e.name = name;
  e.type = n->type;
  e.meta = n->meta;
  e.target = n->target;
  e.rdev_major = n->rdev_major;
  e.rdev_minor = n->rdev_minor;
  if (n->type != cas::EntryType::kRegular) return e;
  if (n->content_dirty && !n->committed) {
    Node::Committed c;
    if (n->upper < 0) {  // held in memory
      CAIRN_ASSIGN_OR_RETURN(cas::FileContent fc, ingestor->PutBytes(n->bytes));
      c.content = fc.id;
      c.size = n->bytes.size();
    } else {
      std::string upper = UpperPath(static_cast<uint64_t>(n->upper));
      struct stat st;
      if (::stat(upper.c_str(), &st) != 0) return ErrnoStatus("stat upper file", upper, errno);
      indexer::CheckinOptions o;
      o.update_stat_cache = false;
      CAIRN_ASSIGN_OR_RETURN(indexer::FileOut out,
                             indexer::ReadAndStoreFile(ingestor, upper, path, st, o));
      c.content = out.content.id;
      c.size = static_cast<uint64_t>(st.st_size);
      c.sparse = out.sparse;
      c.extents = std::move(out.extents);
    }
    n->committed = std::move(c);
  }
  if (n->committed) {
    e.id = n->committed->content;
    e.size = n->committed->size;
    e.sparse = n->committed->sparse;
    e.extents = n->committed->extents;
  } else {
    e.id = n->content;
    e.size = n->size;
    e.sparse = n->sparse;
    e.extents = n->extents;
  }
  return e;
}

namespace {

// The directories above an entry of directory `path` (the root excluded), as the limits count
// them.
size_t DepthBeneath(const std::string& path) {
  return path.empty() ? 0 : static_cast<size_t>(std::count(path.begin(), path.end(), '/')) + 1;
}

Status BeyondLimits(const std::string& entry, size_t depth) {
  std::string why = BeyondPathLimits(entry, depth);
  if (why.empty()) return Status();
  return Status::NotSupported("commit: " + why + ": no checkin could take the version again");
}

}  // namespace

Status MutableTree::CheckStoredLimits(const ObjectId& id, const std::string& path) {
  Status beyond;
  CAIRN_RETURN_IF_ERROR(
      cas::WalkTree(store_, id, path, [&](const std::string& entry, const cas::TreeEntry&) {
        // The directories above `entry`, the root excluded: one per slash.
        if (beyond.ok()) beyond = BeyondLimits(entry, std::count(entry.begin(), entry.end(), '/'));
        return beyond.ok();
      }));
  return beyond;
}

Result<ObjectId> MutableTree::CommitDir(Node* dir, cas::Ingestor* ingestor, const std::string& path,
                                        bool moved) {
  moved = moved || dir->moved;
  if (!dir->loaded || (!dir->dirty && dir->tree_id && dir->ino != kRootIno)) {
    if (moved) CAIRN_RETURN_IF_ERROR(CheckStoredLimits(*dir->tree_id, path));
    return *dir->tree_id;
  }
  cas::Tree t;
  t.meta = dir->meta;
  const size_t depth = DepthBeneath(path);
  for (const auto& [name, ino] : dir->children) {
    Node* c = nodes_[ino - 1].get();
    std::string child_path = path.empty() ? name : path + "/" + name;
    CAIRN_RETURN_IF_ERROR(BeyondLimits(child_path, depth));
    if (c->is_dir()) {
      cas::TreeEntry e;
      e.name = name;
      e.type = c->type;
      CAIRN_ASSIGN_OR_RETURN(e.id, CommitDir(c, ingestor, child_path, moved));
      t.entries.push_back(std::move(e));
    } else {
      CAIRN_ASSIGN_OR_RETURN(cas::TreeEntry e, EntryOf(c, name, ingestor, child_path));
      t.entries.push_back(std::move(e));
    }
  }
  if (dir->ino == kRootIno) {
    for (const auto& n : nodes_) {
      if (n->is_dir() || n->links.size() < 2) continue;
      std::vector<std::string> group;
      for (const auto& [d, name] : n->links) {
        CAIRN_ASSIGN_OR_RETURN(std::string p, PathOf(d));
        group.push_back(p.empty() ? name : p + "/" + name);
      }
      std::sort(group.begin(), group.end());
      t.hardlinks.push_back(std::move(group));
    }
    std::sort(t.hardlinks.begin(), t.hardlinks.end());
  }
  CAIRN_ASSIGN_OR_RETURN(ObjectId id, ingestor->PutObject(cas::ObjectType::kTree, cas::EncodeTree(t)));
  dir->committed_tree = id;
  return id;
}

Result<ObjectId> MutableTree::Commit(cas::Ingestor* ingestor) {
  for (auto& n : nodes_) {  // results of an earlier, failed commit
    n->committed.reset();
    n->committed_tree.reset();
  }
  return CommitDir(nodes_[0].get(), ingestor, "", /*moved=*/false);
}

void MutableTree::Rebase(cas::ObjectStore* store, std::vector<uint64_t>* freed_uppers) {
  store_ = store;
  for (auto& n : nodes_) {
    if (n->committed_tree) {
      n->tree_id = *n->committed_tree;
      n->committed_tree.reset();
    }
    if (n->is_dir()) {
      n->dirty = false;
      n->moved = false;  // where it is now, in the new base
      continue;
    }
    if (n->committed) {
      n->content = n->committed->content;
      n->sparse = n->committed->sparse;
      n->extents = std::move(n->committed->extents);
      n->committed.reset();
      DropBytes(n.get());
      n->content_dirty = false;
    }
    if (n->upper >= 0 && n->opens == 0 && (!n->content_dirty || n->links.empty())) {
      (void)CloseUpper(n.get());
      freed_uppers->push_back(static_cast<uint64_t>(n->upper));
      n->upper = -1;
    }
  }
}

std::vector<std::pair<Ino, uint64_t>> MutableTree::Uppers() const {
  std::vector<std::pair<Ino, uint64_t>> out;
  for (const auto& n : nodes_)
    if (n->upper >= 0) out.emplace_back(n->ino, static_cast<uint64_t>(n->upper));
  return out;
}

}  // namespace cairn::vmount
