#define FUSE_USE_VERSION 312
#include "vmount/fuse_adapter.h"

#include <fuse3/fuse_lowlevel.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "vmount/errors.h"

namespace cairn::vmount {

struct FuseSession::Context {
  Filesystem* fs;
  double timeout;
};

namespace {

using Ctx = FuseSession::Context;
Ctx* C(fuse_req_t req) { return static_cast<Ctx*>(fuse_req_userdata(req)); }
Filesystem* F(fuse_req_t req) { return C(req)->fs; }

void ReplyError(fuse_req_t req, const Status& s) { fuse_reply_err(req, ToErrno(s)); }

mode_t TypeBits(cas::EntryType t) {
  switch (t) {
    case cas::EntryType::kRegular: return S_IFREG;
    case cas::EntryType::kDirectory: return S_IFDIR;
    case cas::EntryType::kSymlink: return S_IFLNK;
    case cas::EntryType::kCharDevice: return S_IFCHR;
    case cas::EntryType::kBlockDevice: return S_IFBLK;
    case cas::EntryType::kFifo: return S_IFIFO;
    case cas::EntryType::kSocket: return S_IFSOCK;
  }
  return S_IFREG;
}

void FillStat(const Attr& a, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = a.ino;
  st->st_mode = TypeBits(a.type) | (a.type == cas::EntryType::kSymlink ? 0777 : a.mode);
  st->st_nlink = a.nlink;
  st->st_uid = a.uid;
  st->st_gid = a.gid;
  st->st_rdev = makedev(a.rdev_major, a.rdev_minor);
  st->st_size = static_cast<off_t>(a.size);
  st->st_blocks = static_cast<blkcnt_t>(a.blocks);
  st->st_blksize = 4096;
  st->st_mtim = {a.mtime.sec, a.mtime.nsec};
  st->st_atim = st->st_mtim;
  st->st_ctim = st->st_mtim;
}

fuse_entry_param Entry(fuse_req_t req, const Attr& a) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof(e));
  e.ino = a.ino;
  e.generation = 1;
  FillStat(a, &e.attr);
  e.attr_timeout = C(req)->timeout;
  e.entry_timeout = C(req)->timeout;
  return e;
}

void ReplyEntry(fuse_req_t req, const Result<Attr>& a) {
  if (!a) return ReplyError(req, a.error());
  fuse_entry_param e = Entry(req, *a);
  fuse_reply_entry(req, &e);
}

void OpInit(void*, struct fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;  // every listing is cheap and wanted whole
  // A symlink's target never changes (a new one is a new inode): the kernel keeps it.
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // The umask comes with each make, unapplied: a directory's default ACL replaces it (acl(5)).
  if (conn->capable & FUSE_CAP_DONT_MASK) conn->want |= FUSE_CAP_DONT_MASK;
  conn->max_write = 1 << 20;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto a = F(req)->Lookup(parent, name);
  if (!a && a.error().IsNotFound() && ToErrno(a.error()) == ENOENT) {
    fuse_entry_param e;  // a negative entry: the kernel caches the absence too
    std::memset(&e, 0, sizeof(e));
    e.entry_timeout = C(req)->timeout;
    fuse_reply_entry(req, &e);
    return;
  }
  ReplyEntry(req, a);
}

void OpForget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

void OpGetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) {
  auto a = F(req)->GetAttr(ino);
  if (!a) return ReplyError(req, a.error());
  struct stat st;
  FillStat(*a, &st);
  fuse_reply_attr(req, &st, C(req)->timeout);
}

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               struct fuse_file_info*) {
  SetAttrRequest r;
  if (to_set & FUSE_SET_ATTR_MODE) r.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) r.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) r.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) r.size = static_cast<uint64_t>(attr->st_size);
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    r.mtime = Timestamp::Now();
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    r.mtime = Timestamp{attr->st_mtim.tv_sec, static_cast<uint32_t>(attr->st_mtim.tv_nsec)};
  }
  if (!r.mode && !r.uid && !r.gid && !r.size && !r.mtime) return OpGetattr(req, ino, nullptr);
  auto a = F(req)->SetAttr(ino, r);
  if (!a) return ReplyError(req, a.error());
  struct stat st;
  FillStat(*a, &st);
  fuse_reply_attr(req, &st, C(req)->timeout);
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  auto t = F(req)->ReadLink(ino);
  if (!t) return ReplyError(req, t.error());
  fuse_reply_readlink(req, t->c_str());
}

NewEntry NewFor(fuse_req_t req, cas::EntryType type, mode_t mode) {
  const fuse_ctx* c = fuse_req_ctx(req);
  NewEntry e;
  e.type = type;
  e.mode = mode & 07777;
  e.uid = c->uid;
  e.gid = c->gid;
  return e;
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  cas::EntryType t;
  switch (mode & S_IFMT) {
    case S_IFREG: t = cas::EntryType::kRegular; break;
    case S_IFCHR: t = cas::EntryType::kCharDevice; break;
    case S_IFBLK: t = cas::EntryType::kBlockDevice; break;
    case S_IFIFO: t = cas::EntryType::kFifo; break;
    case S_IFSOCK: t = cas::EntryType::kSocket; break;
    default: return (void)fuse_reply_err(req, EINVAL);
  }
  NewEntry e = NewFor(req, t, mode);
  e.rdev_major = major(rdev);
  e.rdev_minor = minor(rdev);
  ReplyEntry(req, F(req)->Make(parent, name, e, fuse_req_ctx(req)->umask));
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  ReplyEntry(req, F(req)->Make(parent, name, NewFor(req, cas::EntryType::kDirectory, mode),
                               fuse_req_ctx(req)->umask));
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  NewEntry e = NewFor(req, cas::EntryType::kSymlink, 0777);
  e.target = link;
  ReplyEntry(req, F(req)->Make(parent, name, e, fuse_req_ctx(req)->umask));
}

void ReplyStatus(fuse_req_t req, const Status& s) { fuse_reply_err(req, s.ok() ? 0 : ToErrno(s)); }

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, F(req)->Unlink(parent, name));
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  ReplyStatus(req, F(req)->Rmdir(parent, name));
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  ReplyStatus(req, F(req)->Rename(parent, name, newparent, newname, flags));
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  ReplyEntry(req, F(req)->Link(ino, newparent, newname));
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  // Read-only: ENOSYS makes the kernel stop sending open and release at all (no_open), and
  // then it keeps every file's pages cached (FOPEN_KEEP_CACHE is its default for no_open).
  if (!F(req)->writable()) return (void)fuse_reply_err(req, ENOSYS);
  Status s = F(req)->Open(ino, (fi->flags & O_ACCMODE) != O_RDONLY);
  if (!s.ok()) return ReplyError(req, s);
  if (fi->flags & O_TRUNC) {  // libfuse asks for atomic_o_trunc: the truncate comes with open
    SetAttrRequest r;
    r.size = 0;
    auto a = F(req)->SetAttr(ino, r);
    if (!a) {
      F(req)->Release(ino);
      return ReplyError(req, a.error());
    }
  }
  fi->keep_cache = 1;  // every change passes through the kernel: its pages stay right
  fuse_reply_open(req, fi);
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              struct fuse_file_info* fi) {
  auto a = F(req)->Make(parent, name, NewFor(req, cas::EntryType::kRegular, mode),
                        fuse_req_ctx(req)->umask);
  if (!a) return ReplyError(req, a.error());
  Status s = F(req)->Open(a->ino, true);
  if (!s.ok()) return ReplyError(req, s);
  fi->keep_cache = 1;
  fuse_entry_param e = Entry(req, *a);
  fuse_reply_create(req, &e, fi);
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info*) {
  auto data = F(req)->Read(ino, static_cast<uint64_t>(off), size);
  if (!data) return ReplyError(req, data.error());
  fuse_reply_buf(req, data->data.data(), data->data.size());  // written from where it lies
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             struct fuse_file_info*) {
  auto n = F(req)->Write(ino, static_cast<uint64_t>(off), std::string_view(buf, size));
  if (!n) return ReplyError(req, n.error());
  fuse_reply_write(req, *n);
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) {
  F(req)->Release(ino);
  fuse_reply_err(req, 0);
}

void OpFsync(fuse_req_t req, fuse_ino_t ino, int, struct fuse_file_info*) {
  ReplyStatus(req, F(req)->Fsync(ino));
}

struct DirHandle {
  std::vector<DirEntry> entries;  // a snapshot at opendir: stable offsets
};

void OpOpendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  // Read-only: as for open (no_opendir; listings are cached with FOPEN_CACHE_DIR); readdir
  // then gets fh 0 and reads the directory itself, which never changes.
  if (!F(req)->writable()) return (void)fuse_reply_err(req, ENOSYS);
  auto entries = F(req)->ReadDir(ino);
  if (!entries) return ReplyError(req, entries.error());
  auto* h = new DirHandle{std::move(*entries)};
  fi->fh = reinterpret_cast<uint64_t>(h);
  if (!F(req)->writable()) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  fuse_reply_open(req, fi);
}

// Offsets: 1 and 2 follow "." and ".."; entry i is followed by i + 3.
void ReadDirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info* fi, bool plus) {
  DirHandle unopened;
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  if (h == nullptr) {
    auto entries = F(req)->ReadDir(ino);
    if (!entries) return ReplyError(req, entries.error());
    unopened.entries = std::move(*entries);
    h = &unopened;
  }
  std::vector<char> buf(size);
  size_t used = 0;
  for (off_t i = off; i < static_cast<off_t>(h->entries.size()) + 2; ++i) {
    const char* name;
    fuse_entry_param e;
    std::memset(&e, 0, sizeof(e));
    if (i < 2) {
      name = i == 0 ? "." : "..";
      e.attr.st_ino = ino;
      e.attr.st_mode = S_IFDIR;
    } else {
      const DirEntry& d = h->entries[static_cast<size_t>(i - 2)];
      name = d.name.c_str();
      if (plus) {
        auto a = F(req)->GetAttr(d.ino);
        if (!a) {
          if (used == 0) return ReplyError(req, a.error());
          break;
        }
        e = Entry(req, *a);
      } else {
        e.attr.st_ino = d.ino;
        e.attr.st_mode = TypeBits(d.type);
      }
    }
    size_t n = plus ? fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, i + 1)
                    : fuse_add_direntry(req, buf.data() + used, size - used, name, &e.attr, i + 1);
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, false);
}

void OpReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info* fi) {
  ReadDirCommon(req, ino, size, off, fi, true);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {

  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t ino, int, struct fuse_file_info*) {
  ReplyStatus(req, F(req)->Fsync(ino));
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  auto st = F(req)->StatFs();
  if (!st) return ReplyError(req, st.error());
  fuse_reply_statfs(req, &*st);
}

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  ReplyStatus(req, F(req)->SetXattr(ino, name, std::string_view(value, size), flags));
}

void ReplySized(fuse_req_t req, const std::string& v, size_t size) {
  if (size == 0) return (void)fuse_reply_xattr(req, v.size());
  if (v.size() > size) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, v.data(), v.size());
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  auto v = F(req)->GetXattr(ino, name);
  if (!v) return ReplyError(req, v.error());
  ReplySized(req, *v, size);
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  auto names = F(req)->ListXattrs(ino);
  if (!names) return ReplyError(req, names.error());
  std::string list;
  for (const auto& n : *names) list.append(n).push_back('\0');
  ReplySized(req, list, size);
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  ReplyStatus(req, F(req)->RemoveXattr(ino, name));
}

void OpLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info*) {
  auto r = F(req)->Lseek(ino, static_cast<uint64_t>(off), whence);
  if (!r) return ReplyError(req, r.error());
  fuse_reply_lseek(req, static_cast<off_t>(*r));
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops o;
  std::memset(&o, 0, sizeof(o));
  o.init = OpInit;
  o.lookup = OpLookup;
  o.forget = OpForget;
  o.getattr = OpGetattr;
  o.setattr = OpSetattr;
  o.readlink = OpReadlink;
  o.mknod = OpMknod;
  o.mkdir = OpMkdir;
  o.unlink = OpUnlink;
  o.rmdir = OpRmdir;
  o.symlink = OpSymlink;
  o.rename = OpRename;
  o.link = OpLink;
  o.open = OpOpen;
  o.read = OpRead;
  o.write = OpWrite;
  o.release = OpRelease;
  o.fsync = OpFsync;
  o.opendir = OpOpendir;
  o.readdir = OpReaddir;
  o.readdirplus = OpReaddirplus;
  o.releasedir = OpReleasedir;
  o.fsyncdir = OpFsyncdir;
  o.statfs = OpStatfs;
  o.setxattr = OpSetxattr;
  o.getxattr = OpGetxattr;
  o.listxattr = OpListxattr;
  o.removexattr = OpRemovexattr;
  o.create = OpCreate;
  o.lseek = OpLseek;
  return o;
}

}  // namespace

Result<std::unique_ptr<FuseSession>> FuseSession::Mount(Filesystem* fs, const FuseOptions& options) {
  static const fuse_lowlevel_ops kOps = MakeOps();
  std::unique_ptr<FuseSession> s(new FuseSession());
  s->ctx_ = std::make_unique<Context>(Context{fs, options.timeout});
  s->max_threads_ = options.max_threads;
  std::string o = "fsname=" + options.fsname + ",subtype=cairn,default_permissions";
  if (::geteuid() == 0) o += ",allow_other";
  if (!fs->writable()) o += ",ro";
  std::vector<std::string> argv = {"cairn", "-o", o};
  std::vector<char*> argp;
  for (auto& a : argv) argp.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argp.size()), argp.data());
  s->se_ = fuse_session_new(&args, &kOps, sizeof(kOps), s->ctx_.get());
  if (s->se_ == nullptr) return Status::IOError("mount " + options.mountpoint + ": fuse session failed");
  if (fuse_session_mount(s->se_, options.mountpoint.c_str()) != 0) {
    return Status::IOError("mount " + options.mountpoint + ": FUSE mount failed (is /dev/fuse there?)");
  }
  s->mounted_ = true;
  if (fuse_set_signal_handlers(s->se_) != 0) {
    return Status::IOError("mount " + options.mountpoint + ": cannot set signal handlers");
  }
  return s;
}

FuseSession::~FuseSession() {
  if (se_ == nullptr) return;
  fuse_remove_signal_handlers(se_);
  if (mounted_) fuse_session_unmount(se_);
  fuse_session_destroy(se_);
}

Status FuseSession::Run() {
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(max_threads_));
  // Idle workers are kept: ending and starting threads between bursts of read-ahead costs more
  // than their stacks.
  fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(max_threads_));
  int rc = fuse_session_loop_mt(se_, cfg);
  fuse_loop_cfg_destroy(cfg);
  if (rc < 0) return Status::IOError(std::string("serve mount: ") + std::strerror(-rc));
  return Status();
}

void FuseSession::Exit() { fuse_session_exit(se_); }

}  // namespace cairn::vmount
