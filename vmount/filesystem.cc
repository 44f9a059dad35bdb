#include "vmount/filesystem.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "vmount/errors.h"
#include "vmount/posix_acl.h"

namespace cairn::vmount {

Result<std::unique_ptr<Filesystem>> Filesystem::Open(std::shared_ptr<cas::ObjectStore> store,
                                                     const ObjectId& root, Overlay* overlay,
                                                     FilesystemOptions options) {
  std::unique_ptr<Filesystem> fs(new Filesystem());
  std::string upper = overlay ? overlay->upper_dir() : "/nonexistent";
  CAIRN_ASSIGN_OR_RETURN(fs->tree_, MutableTree::Open(store.get(), root, upper));
  fs->store_ = std::move(store);
  fs->overlay_ = overlay;
  fs->cache_ = std::make_unique<ContentCache>(options.cache_bytes);
  fs->options_ = std::move(options);
  return fs;
}

Status Filesystem::Replay() {
  std::lock_guard lock(mu_);
  CAIRN_ASSIGN_OR_RETURN(auto records, overlay_->Records());
  for (size_t i = 0; i < records.size(); ++i) {
    Status s = ApplyJournalRecord(tree_.get(), records[i]);
    if (!s.ok()) return s.WithContext("replay journal record " + std::to_string(i + 1));
  }
  // A write after the last metadata record moved the mtime: the upper file has the latest.
  for (const auto& [ino, n] : tree_->Uppers()) CAIRN_RETURN_IF_ERROR(tree_->AttachUpper(ino, n));
  return Status();
}

bool Filesystem::dirty() {
  std::lock_guard lock(mu_);
  return tree_->dirty();
}

Status Filesystem::CheckWritable() {
  if (overlay_ == nullptr) return FsError(EROFS, "write", "read-only mount");
  if (!broken_.empty()) return Status::IOError("write: " + broken_);
  return Status();
}

Status Filesystem::DropJournaledLocked(bool journaled, Status failed) {
  if (!journaled || failed.ok()) return failed;
  Status s = overlay_->DropLast();
  if (!s.ok()) broken_ = "the journal holds an operation that failed (" + s.message() + ")";
  return failed;
}

Status Filesystem::JournalMetaOrRestoreLocked(Ino ino, const cas::Metadata& old) {
  Status s = JournalMetaLocked(ino);
  if (s.ok()) return s;
  Status undo = tree_->SetMetadata(ino, old);
  if (!undo.ok())
    broken_ = "a change the journal lacks could not be undone (" + undo.message() + ")";
  return s;
}

Status Filesystem::AppendLocked(JournalRecord r) {
  r.now = r.now.sec ? r.now : Timestamp::Now();
  return overlay_->Append(r);
}

Status Filesystem::JournalMetaLocked(Ino ino) {
  auto path = tree_->PathOf(ino);
  if (!path) return Status();  // no name left: nothing to commit
  JournalRecord r;
  r.op = JournalOp::kMeta;
  r.path = *path;
  CAIRN_ASSIGN_OR_RETURN(r.meta, tree_->Metadata(ino));
  return AppendLocked(std::move(r));
}

Status Filesystem::CopyUpLocked(Ino ino) {
  CAIRN_ASSIGN_OR_RETURN(FileData d, tree_->Data(ino));
  if (d.upper >= 0 && d.changed) return Status();
  // A file kept open across a commit stays bound to its upper file, but that binding is no edit
  // (Overlay::Reset): its first change since is journaled as a copy-up again.
  bool rebind = d.upper >= 0;
  uint64_t n = rebind ? static_cast<uint64_t>(d.upper) : overlay_->NextUpper();
  if (!rebind) CAIRN_RETURN_IF_ERROR(tree_->CopyUp(ino, n));
  auto path = tree_->PathOf(ino);
  if (!path) return Status();
  JournalRecord r;
  r.op = JournalOp::kCopyUp;
  r.path = *path;
  r.number = n;
  // The upper file must exist before its record (a replay attaches it), so the copy-up comes
  // first; unjournaled, later writes to the file would be lost on resume.
  Status s = AppendLocked(std::move(r));
  if (!s.ok() && !rebind) broken_ = "a copy-up could not be journaled (" + s.message() + ")";
  return s;
}

Result<Attr> Filesystem::Lookup(Ino parent, std::string_view name) {
  std::lock_guard lock(mu_);
  CAIRN_ASSIGN_OR_RETURN(Ino ino, tree_->Lookup(parent, name));
  return tree_->GetAttr(ino);
}

Result<Attr> Filesystem::GetAttr(Ino ino) {
  std::lock_guard lock(mu_);
  return tree_->GetAttr(ino);
}

Result<bool> Filesystem::JournalContentLocked(Ino ino, JournalOp op, uint64_t number,
                                              std::string_view data, Timestamp now) {
  auto path = tree_->PathOf(ino);
  if (!path) return false;  // no name left: nothing to commit
  JournalRecord r;
  r.op = op;
  r.path = *path;
  r.number = number;
  r.data = std::string(data);
  r.now = now;
  CAIRN_RETURN_IF_ERROR(AppendLocked(std::move(r)));
  return true;
}

Result<Attr> Filesystem::SetAttr(Ino ino, const SetAttrRequest& req) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  Timestamp now = Timestamp::Now();
  SetAttrRequest rest = req;
  if (req.size && tree_->TruncatesInMemory(ino, *req.size)) {
    CAIRN_ASSIGN_OR_RETURN(bool journaled,
                           JournalContentLocked(ino, JournalOp::kTruncate, *req.size, "", now));
    Status s = tree_->TruncateInMemory(ino, *req.size, now);
    if (!s.ok()) return DropJournaledLocked(journaled, std::move(s));
    rest.size.reset();
  } else if (req.size) {
    CAIRN_RETURN_IF_ERROR(CopyUpLocked(ino));
  }
  CAIRN_ASSIGN_OR_RETURN(cas::Metadata old, tree_->Metadata(ino));
  CAIRN_ASSIGN_OR_RETURN(Attr a, tree_->SetAttr(ino, rest, now));
  if (req.mode || req.uid || req.gid || req.mtime) {
    CAIRN_RETURN_IF_ERROR(JournalMetaOrRestoreLocked(ino, old));
  }
  return a;
}

Result<std::string> Filesystem::ReadLink(Ino ino) {
  std::lock_guard lock(mu_);
  return tree_->ReadLink(ino);
}

Result<Attr> Filesystem::Make(Ino parent, std::string_view name, NewEntry e, uint32_t umask) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  CAIRN_ASSIGN_OR_RETURN(cas::Metadata pm, tree_->Metadata(parent));
  // The journal records the mode after the umask: a replay makes the same entry.
  if (DefaultAclIn(pm.xattrs) == nullptr && e.type != cas::EntryType::kSymlink) e.mode &= ~umask;
  if (pm.mode & S_ISGID) {
    e.gid = pm.gid;
    if (e.type == cas::EntryType::kDirectory) e.mode |= S_ISGID;
  }
  Timestamp now = Timestamp::Now();
  CAIRN_ASSIGN_OR_RETURN(std::string dir, tree_->PathOf(parent));
  JournalRecord r;
  r.op = JournalOp::kMake;
  r.path = dir;
  r.name = std::string(name);
  r.entry = e;
  r.now = now;
  CAIRN_RETURN_IF_ERROR(AppendLocked(std::move(r)));
  auto ino = tree_->Make(parent, name, e, now);
  if (!ino) return DropJournaledLocked(true, ino.status());
  return tree_->GetAttr(*ino);
}

Status Filesystem::Unlink(Ino parent, std::string_view name) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  Timestamp now = Timestamp::Now();
  CAIRN_ASSIGN_OR_RETURN(std::string dir, tree_->PathOf(parent));
  JournalRecord r;
  r.op = JournalOp::kUnlink;
  r.path = dir;
  r.name = std::string(name);
  r.now = now;
  CAIRN_RETURN_IF_ERROR(AppendLocked(std::move(r)));
  return DropJournaledLocked(true, tree_->Unlink(parent, name, now));
}

Status Filesystem::Rmdir(Ino parent, std::string_view name) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  Timestamp now = Timestamp::Now();
  CAIRN_ASSIGN_OR_RETURN(std::string dir, tree_->PathOf(parent));
  JournalRecord r;
  r.op = JournalOp::kRmdir;
  r.path = dir;
  r.name = std::string(name);
  r.now = now;
  CAIRN_RETURN_IF_ERROR(AppendLocked(std::move(r)));
  return DropJournaledLocked(true, tree_->Rmdir(parent, name, now));
}

Status Filesystem::Rename(Ino parent, std::string_view name, Ino new_parent,
                          std::string_view new_name, uint32_t flags) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  CAIRN_ASSIGN_OR_RETURN(std::string from, tree_->PathOf(parent));
  CAIRN_ASSIGN_OR_RETURN(std::string to, tree_->PathOf(new_parent));
  Timestamp now = Timestamp::Now();
  JournalRecord r;
  r.op = JournalOp::kRename;
  r.path = from;
  r.name = std::string(name);
  r.path2 = to;
  r.name2 = std::string(new_name);
  r.number = flags;
  r.now = now;
  CAIRN_RETURN_IF_ERROR(AppendLocked(std::move(r)));
  return DropJournaledLocked(true, tree_->Rename(parent, name, new_parent, new_name, flags, now));
}

Result<Attr> Filesystem::Link(Ino ino, Ino new_parent, std::string_view new_name) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  CAIRN_ASSIGN_OR_RETURN(std::string file, tree_->PathOf(ino));
  CAIRN_ASSIGN_OR_RETURN(std::string to, tree_->PathOf(new_parent));
  Timestamp now = Timestamp::Now();
  JournalRecord r;
  r.op = JournalOp::kLink;
  r.path = file;
  r.path2 = to;
  r.name2 = std::string(new_name);
  r.now = now;
  CAIRN_RETURN_IF_ERROR(AppendLocked(std::move(r)));
  CAIRN_RETURN_IF_ERROR(DropJournaledLocked(true, tree_->Link(ino, new_parent, new_name, now)));
  return tree_->GetAttr(ino);
}

Status Filesystem::Open(Ino ino, bool for_writing) {
  std::lock_guard lock(mu_);
  if (for_writing) CAIRN_RETURN_IF_ERROR(CheckWritable());
  tree_->Opened(ino);
  return Status();
}

void Filesystem::Release(Ino ino) {
  std::lock_guard lock(mu_);
  tree_->Released(ino);
}

namespace {
// Read-ahead (ContentCache::Prefetch): when a file is started, the first bytes of the files
// after it in its directory, queued a batch at a time; and the bytes after a read of a large
// file, queued again when half of them are read.
constexpr size_t kPrefetchFiles = 16;
constexpr uint64_t kPrefetchFileBytes = 256 << 10;
constexpr uint64_t kPrefetchAheadBytes = 1 << 20;
}  // namespace

Result<ReadBytes> Filesystem::Read(Ino ino, uint64_t offset, size_t size) {
  std::shared_ptr<cas::ObjectStore> store;
  FileData d;
  int fd = -1;
  std::vector<std::pair<ObjectId, uint64_t>> next_files;
  {
    std::lock_guard lock(mu_);
    CAIRN_ASSIGN_OR_RETURN(d, tree_->Data(ino));
    if (d.in_memory) {
      CAIRN_ASSIGN_OR_RETURN(std::string_view bytes, tree_->InMemoryBytes(ino));
      bytes = offset < bytes.size() ? bytes.substr(offset, size) : std::string_view();
      auto buf = std::make_shared_for_overwrite<char[]>(bytes.size());
      std::copy(bytes.begin(), bytes.end(), buf.get());
      std::string_view v(buf.get(), bytes.size());
      return ReadBytes{std::move(buf), v};
    }
    if (d.upper >= 0) {
      CAIRN_ASSIGN_OR_RETURN(fd, tree_->UpperFd(ino));
    } else if (offset == 0) {
      next_files = tree_->FollowingFiles(ino, kPrefetchFiles);
    }
    store = store_;
  }
  if (fd < 0) {
    if (offset == 0) cache_->Restart(d.content);
    if (!next_files.empty()) {
      std::vector<ContentCache::Want> ahead;
      for (auto& [content, file_size] : next_files) {
        ahead.push_back({content, 0, std::min(file_size, kPrefetchFileBytes)});
      }
      cache_->Prefetch(store, ahead, kPrefetchFiles / 2);
    }
    // The kernel asks for 128 KiB at a time; a chunk is 16-256 KiB.
    if (!d.sparse && offset + size < d.size) {
      uint64_t from = offset + size;
      cache_->Prefetch(store, {{d.content, from, std::min(d.size, from + kPrefetchAheadBytes)}}, 1);
    }
    return cache_->Read(store.get(), d, offset, size);
  }
  // The descriptor stays open while this file is: the kernel reads only through an open file.
  auto buf = std::make_shared_for_overwrite<char[]>(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf.get() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read upper file", std::to_string(d.upper), errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  std::string_view v(buf.get(), done);
  return ReadBytes{std::move(buf), v};
}

Result<size_t> Filesystem::Write(Ino ino, uint64_t offset, std::string_view data) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  Timestamp now = Timestamp::Now();
  if (tree_->FitsInMemory(ino, offset, data.size())) {
    // Journaled with its bytes before the write is answered, like every change.
    CAIRN_ASSIGN_OR_RETURN(bool journaled,
                           JournalContentLocked(ino, JournalOp::kWrite, offset, data, now));
    auto n = tree_->WriteInMemory(ino, offset, data, now);
    if (!n) return DropJournaledLocked(journaled, n.status());
    return *n;
  }
  CAIRN_RETURN_IF_ERROR(CopyUpLocked(ino));
  return tree_->Write(ino, offset, data, now);
}

Status Filesystem::Fsync(Ino ino) {
  std::lock_guard lock(mu_);
  if (overlay_ == nullptr) return Status();
  CAIRN_RETURN_IF_ERROR(tree_->Fsync(ino));
  return overlay_->Sync();
}

Result<uint64_t> Filesystem::Lseek(Ino ino, uint64_t offset, int whence) {
  std::lock_guard lock(mu_);
  CAIRN_ASSIGN_OR_RETURN(FileData d, tree_->Data(ino));
  if (d.upper >= 0) {
    CAIRN_ASSIGN_OR_RETURN(int fd, tree_->UpperFd(ino));
    off_t r = ::lseek(fd, static_cast<off_t>(offset), whence);
    if (r < 0) return FsError(errno, "seek", "upper file");
    return static_cast<uint64_t>(r);
  }
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return FsError(EINVAL, "seek", "file");
  if (offset >= d.size) return FsError(ENXIO, "seek", "file");
  if (!d.sparse) return whence == SEEK_DATA ? offset : d.size;
  for (const auto& x : d.extents) {
    if (x.offset + x.length <= offset) continue;
    if (whence == SEEK_DATA) return std::max(offset, x.offset);
    return offset < x.offset ? offset : x.offset + x.length;  // extents never touch
  }
  if (whence == SEEK_DATA) return FsError(ENXIO, "seek", "file");
  return offset;
}

Result<std::vector<DirEntry>> Filesystem::ReadDir(Ino ino) {
  std::lock_guard lock(mu_);
  return tree_->ReadDir(ino);
}

Result<std::string> Filesystem::GetXattr(Ino ino, const std::string& name) {
  std::lock_guard lock(mu_);
  return tree_->GetXattr(ino, name);
}

Result<std::vector<std::string>> Filesystem::ListXattrs(Ino ino) {
  std::lock_guard lock(mu_);
  return tree_->ListXattrs(ino);
}

Status Filesystem::SetXattr(Ino ino, const std::string& name, std::string_view value, int flags) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  CAIRN_ASSIGN_OR_RETURN(cas::Metadata old, tree_->Metadata(ino));
  CAIRN_RETURN_IF_ERROR(tree_->SetXattr(ino, name, value, flags));
  return JournalMetaOrRestoreLocked(ino, old);
}

Status Filesystem::RemoveXattr(Ino ino, const std::string& name) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(CheckWritable());
  CAIRN_ASSIGN_OR_RETURN(cas::Metadata old, tree_->Metadata(ino));
  CAIRN_RETURN_IF_ERROR(tree_->RemoveXattr(ino, name));
  return JournalMetaOrRestoreLocked(ino, old);
}

Result<struct statvfs> Filesystem::StatFs() {
  struct statvfs st;
  if (::statvfs(options_.statfs_path.c_str(), &st) != 0) {
    return ErrnoStatus("statfs", options_.statfs_path, errno);
  }
  return st;
}

Status Filesystem::Exclusive(
    const std::function<Status(MutableTree&, std::shared_ptr<cas::ObjectStore>&)>& fn) {
  std::lock_guard lock(mu_);
  Status s = fn(*tree_, store_);
  if (s.ok()) broken_.clear();
  return s;
}

}  // namespace cairn::vmount
