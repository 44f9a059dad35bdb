#include "indexer/dir_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "cas/tree_reader.h"
#include "indexer/fs_meta.h"

namespace cairn::indexer {

Result<std::string> WalkRoot(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return ErrnoStatus("checkin", path, errno);
  std::string root(real);
  ::free(real);
  return root;
}

DirScanner::DirScanner(std::string root, const StatCache& cache, cas::ObjectStore* store,
                       const CheckinOptions& options)
    : root_(std::move(root)), old_cache_(cache), store_(store), options_(options) {
  root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

DirScanner::~DirScanner() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

DirScan DirScanner::Scan(const std::string& path, const std::string& rel, const ObjectId& parent,
                         const FileStat& self) const {
  // A directory whose inode and ctime are as recorded has the recorded names (creating,
  // removing or renaming an entry changes the ctime), so entry i is the parent's entry i, and
  // the directory need not even be listed: on ext4 listing a directory costs more than
  // looking up each of its names (v3: 931 directories listed and looked up in 26 ms, looked
  // up in 17). Should a recorded name be gone after all, the directory is listed. A directory
  // with entries left out as unreadable (SubtreeCounts::incomplete) keeps no names, and is
  // listed: with every entry left out, its record looks like that of an empty directory.
  // If every entry's inode and ctime are as recorded too, its Tree is the parent's unless a
  // subdirectory changed, and neither the parent's Tree nor the entries' xattrs are read.
  // The root is always built (it holds the hard-link table).
  const StatCacheDir* d = parent.IsZero() ? nullptr : old_cache_.Find(rel);
  const bool as_recorded = d != nullptr && d->tree == parent && !rel.empty() && d->self == self;
  if (as_recorded && d->names.size() == d->files.size() && d->below.incomplete == 0) {
    DirScan scan = ScanNames(path, rel, parent, d, /*listed=*/false, d);
    if (scan.status.ok() || !scan.status.IsNotFound()) return scan;
  }
  return ScanNames(path, rel, parent, as_recorded ? d : nullptr, /*listed=*/true, d);
}

namespace {

// How a scan looks up its names: in the directory it listed, or, when it does not list it, from
// the root as "rel/name". Opening and closing each directory were two of the walk's ~10 system
// calls per directory, at ~1.5 us each on this VM (931 directories in corpus v3); the kernel's
// lookup of the few more components costs a fraction of that.
class NameLookup {
 public:
  Status List(const std::string& path, std::vector<std::string>* names) {
    Status s = dir_.Open(path, names);
    at_ = dir_.fd();
    return s;
  }
  // Without the root (`root_fd` -1), the directory is opened for lookups.
  Status FromRoot(int root_fd, const std::string& path, const std::string& rel) {
    if (root_fd < 0) {
      Status s = dir_.OpenForLookup(path);
      at_ = dir_.fd();
      return s;
    }
    at_ = root_fd;
    path_ = rel + "/";
    prefix_ = path_.size();
    return Status();
  }
  bool from_root() const { return prefix_ != 0; }
  // lstat; -1 with errno on failure.
  int Lstat(const std::string& name, struct stat* st) {
    if (prefix_ == 0) return ::fstatat(at_, name.c_str(), st, AT_SYMLINK_NOFOLLOW);
    path_.resize(prefix_);
    path_ += name;
    PathAt p(at_, path_);
    if (p.error() != 0) {
      errno = p.error();
      return -1;
    }
    return ::fstatat(p.at(), p.name(), st, AT_SYMLINK_NOFOLLOW);
  }

 private:
  OpenDirectory dir_;
  int at_ = -1;
  std::string path_;  // from the root: "rel/" and the name looked up last
  size_t prefix_ = 0;
};

}  // namespace

// `d`: the stat cache's record of the directory when its own inode and ctime are as recorded
// (null otherwise). `listed`: the names come from listing the directory, else from `d`; a
// recorded name that is gone is then NotFound. `recorded`: the cache's record of the directory
// whatever its inode and ctime (null if none), whose names may have been looked up ahead.
// Optimistic (`d` records as many entries as there are names): entries whose inode and ctime
// are as recorded are taken on trust (ScannedEntry::same) without reading the parent's Tree,
// and if all are, the directory is reused (DirScan::reuse); otherwise Distrust takes what was
// trusted from that Tree.
DirScan DirScanner::ScanNames(const std::string& path, const std::string& rel,
                              const ObjectId& parent, const StatCacheDir* d, bool listed,
                              const StatCacheDir* recorded) const {
  DirScan scan;
  NameLookup lookup;
  std::vector<std::string> names;
  if (listed) {
    scan.status = lookup.List(path, &names);
  } else {
    names = d->names;
    scan.status = lookup.FromRoot(root_fd_, path, rel);
  }
  if (!scan.status.ok()) return scan;
  const bool optimistic = d != nullptr && d->files.size() == names.size();
  if (!parent.IsZero() && !optimistic) {
    scan.status = LoadParent(rel, parent, &scan);
    if (!scan.status.ok()) return scan;
  }
  bool all_same = optimistic;
  // The recorded names may have been looked up ahead; a listed directory's names are mostly
  // the recorded ones (both lists are in raw byte order).
  const StatAhead::Results ready =
      ahead_ != nullptr && recorded != nullptr ? ahead_->Claim(recorded) : StatAhead::Results();
  size_t r = 0;  // listed: the recorded names before `r` sort before the current name
  scan.entries.resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    ScannedEntry& e = scan.entries[i];
    e.name = std::move(names[i]);
    const struct stat* ahead = nullptr;
    if (!listed) {
      ahead = ready.at(i);
    } else if (recorded != nullptr) {
      while (r < recorded->names.size() && recorded->names[r] < e.name) ++r;
      if (r < recorded->names.size() && recorded->names[r] == e.name) ahead = ready.at(r);
    }
    if (ahead != nullptr) {
      e.st = *ahead;
    } else if (lookup.Lstat(e.name, &e.st) != 0) {
      // Not listed: the directory itself may be gone or replaced (ENOTDIR looked up from the
      // root); listing it then says what happened.
      if ((errno == ENOENT || (errno == ENOTDIR && lookup.from_root())) && !listed) {
        scan.status = Status::NotFound(ChildPath(path, e.name) + ": recorded, and gone");
        return scan;
      }
      e.status = errno == ENOENT
                     ? Status::IOError("checkin " + root_ + ": " + ChildRel(rel, e.name) +
                                       " vanished during the walk (the tree is changing)")
                     : ErrnoStatus("stat", ChildPath(path, e.name), errno);
      all_same = false;
      continue;
    }
    std::optional<cas::EntryType> type = EntryTypeOfMode(e.st.st_mode);
    if (!type) {
      e.status = Status::NotSupported("read " + ChildPath(path, e.name) + ": unknown file type");
      all_same = false;
      continue;
    }
    e.type = *type;
    if (optimistic && FileStatOf(e.st) == d->files[i] &&
        !(e.type == cas::EntryType::kRegular && e.st.st_nlink > 1)) {  // links need content
      e.same = true;
      continue;
    }
    all_same = false;
    if (e.type == cas::EntryType::kRegular && !optimistic) {
      e.unchanged = Unchanged(scan, e.name, e.st);
      if (e.unchanged != std::string::npos) {
        // Setting or removing an xattr changes the ctime: with the ctime unchanged, the
        // parent's entry holds the file's xattrs.
        e.xattrs = scan.parent.entries[e.unchanged].meta.xattrs;
        continue;
      }
    }
    ReadDetails(ChildPath(path, e.name), &e);
  }
  if (optimistic && !all_same) {
    scan.status = Distrust(path, rel, parent, &scan);
    if (!scan.status.ok()) return scan;
  }
  scan.reuse = optimistic && all_same;
  scan.unlisted = !listed;
  return scan;
}

// An optimistic scan met a change: what it took on trust (ScannedEntry::same) comes from the
// parent's Tree after all, or is read where that Tree does not hold it. Directories stay
// `same`: their metadata is in their own Tree, not in their entry here.
Status DirScanner::Distrust(const std::string& path, const std::string& rel, const ObjectId& parent,
                            DirScan* scan) const {
  CAIRN_RETURN_IF_ERROR(LoadParent(rel, parent, scan));
  for (ScannedEntry& e : scan->entries) {
    if (e.status.ok() && e.type == cas::EntryType::kRegular) {
      e.unchanged = Unchanged(*scan, e.name, e.st);
    }
    if (!e.same) continue;
    const cas::TreeEntry* p = ParentEntry(*scan, e.name);
    if (p == nullptr || p->type != e.type) {  // not as recorded after all: read it
      e.same = false;
      ReadDetails(ChildPath(path, e.name), &e);
      continue;
    }
    if (e.type == cas::EntryType::kDirectory) continue;
    e.same = false;
    e.xattrs = p->meta.xattrs;
    e.target = p->target;
  }
  return Status();
}

// Reads an entry's xattrs and, for a symlink, its target; a failure goes to e->status.
void DirScanner::ReadDetails(const std::string& child, ScannedEntry* e) {
  Result<cas::Xattrs> x = ReadXattrs(child);
  if (!x) {
    e->status = x.error();
    return;
  }
  e->xattrs = std::move(*x);
  if (e->type == cas::EntryType::kSymlink) {
    Result<std::string> t = ReadLinkTarget(child, e->st.st_size);
    if (!t) {
      e->status = t.error();
      return;
    }
    e->target = std::move(*t);
  }
}

// Reads the directory's Tree in the parent version, and takes the stat cache's record of the
// directory if it describes that Tree.
Status DirScanner::LoadParent(const std::string& rel, const ObjectId& id, DirScan* scan) const {
  cas::ObjectStore* store = store_.load(std::memory_order_acquire);
  if (store == nullptr) {
    scan->needs_store = true;
    return Status::Internal("scan " + ChildPath(root_, rel) + ": the store is not open yet");
  }
  CAIRN_ASSIGN_OR_RETURN(scan->parent, cas::LoadTree(store, id));
  scan->parent_loaded = true;
  const StatCacheDir* d = old_cache_.Find(rel);
  if (d != nullptr && d->tree == id && d->files.size() == scan->parent.entries.size())
    scan->cached = d;
  return Status();
}

// The entry `name` of the parent version's directory, or null.
const cas::TreeEntry* DirScanner::ParentEntry(const DirScan& scan, const std::string& name) {
  const auto& es = scan.parent.entries;
  auto it =
      std::lower_bound(es.begin(), es.end(), name,
                       [](const cas::TreeEntry& e, const std::string& n) { return e.name < n; });
  return it != es.end() && it->name == name ? &*it : nullptr;
}

// The subdirectory `name`'s Tree in the parent version; zero if it had none. In a directory
// taken as recorded, the cache's record of the subdirectory names it: records are saved
// together, so it was the subdirectory's Tree in the Tree recorded for this directory.
ObjectId DirScanner::ParentDir(const DirScan& scan, const std::string& rel,
                               const std::string& name) const {
  if (scan.reuse) {
    const StatCacheDir* d = old_cache_.Find(ChildRel(rel, name));
    return d != nullptr ? d->tree : ObjectId();
  }
  const cas::TreeEntry* e = ParentEntry(scan, name);
  return e != nullptr && e->type == cas::EntryType::kDirectory ? e->id : ObjectId();
}

// The index in the parent version's directory of the entry of regular file `name` if the file
// is unchanged since the parent was checked in: its size and mtime as in the entry, its inode
// and ctime as the stat cache recorded for that entry. npos otherwise.
size_t DirScanner::Unchanged(const DirScan& scan, const std::string& name,
                             const struct stat& st) const {
  if (scan.cached == nullptr) return std::string::npos;
  const cas::TreeEntry* p = ParentEntry(scan, name);
  if (p == nullptr || p->type != cas::EntryType::kRegular ||
      p->size != static_cast<uint64_t>(st.st_size) || p->meta.mtime_sec != st.st_mtim.tv_sec ||
      p->meta.mtime_nsec != static_cast<uint32_t>(st.st_mtim.tv_nsec) ||
      (p->sparse && options_.holes != CheckinOptions::HoleRule::kSeekData)) {
    return std::string::npos;
  }
  size_t i = static_cast<size_t>(p - scan.parent.entries.data());
  return scan.cached->files[i] == FileStatOf(st) ? i : std::string::npos;
}

}  // namespace cairn::indexer
