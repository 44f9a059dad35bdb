#include "indexer/dir_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "base/env.h"
#include "base/rel_path.h"
#include "cas/content_reader.h"
#include "cas/tree.h"
#include "indexer/fs_meta.h"

namespace cairn::indexer {
namespace {

constexpr int kMaxFilesInFlight = 128;
// Directories held open on the way down (WriteDir); below them, every kHeldLevels-th level.
constexpr int kHeldLevels = 64;

struct Fd {
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int fd;
};
using SharedFd = std::shared_ptr<Fd>;

std::string Join(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

// Whether xattr `name` is a security module's label, which the host's policy gives each new
// file and a checkout leaves as it is when the version holds none.
bool IsLsmLabel(std::string_view name) {
  return name == "security.selinux" || name == "security.apparmor" ||
         name.starts_with("security.SMACK64");
}

// Why Linux would not let the checkout set xattr `name` on an entry of `type`, or "" when it
// would: a namespace the kernel does not know (xattr(7)), which every file system refuses
// (EOPNOTSUPP); a user.* xattr on anything but a regular file or directory, which the kernel
// refuses (EPERM) because the permission bits of symbolic links and device nodes do not govern
// their xattrs (a tarball made elsewhere may hold either); or, for a checkout not `privileged`
// (TargetFs), a trusted.* or security.* one (a file capability, an SELinux label), which only root
// may set (CAP_SYS_ADMIN, CAP_SETFCAP), as such a checkout leaves owners and device nodes out.
std::string_view XattrNotHeld(std::string_view name, cas::EntryType type, bool privileged) {
  if (name.starts_with("user.")) {
    if (type == cas::EntryType::kRegular || type == cas::EntryType::kDirectory) return "";
    return "a user. xattr, which Linux holds on regular files and directories only";
  }
  for (std::string_view ns : {"trusted.", "security."}) {
    if (!name.starts_with(ns)) continue;
    if (privileged) return "";
    return ns == "trusted."                ? "a trusted. xattr, which only root may set"
           : name == "security.capability" ? "a file capability, which only root may set"
                                           : "a security. xattr, which only root may set";
  }
  if (name.starts_with("system.")) return "";
  return "outside the namespaces Linux holds (user., trusted., security., system.)";
}

// Removes every xattr of an entry that `m` does not hold (but LSM labels): the ACLs a new entry
// inherits from a default ACL above it, or what a directory kept by --force had. `fd` >= 0: an
// open file or directory; else `proc` reaches the entry (PathHandle).
Status RemoveOtherXattrs(int fd, const std::string& proc, const cas::Metadata& m,
                         const std::string& shown) {
  CAIRN_ASSIGN_OR_RETURN(const std::string names, ListXattrNames(fd, proc.c_str(), true, shown));
  for (std::string_view rest(names); !rest.empty();) {
    std::string name(rest.substr(0, rest.find('\0')));
    rest.remove_prefix(std::min(rest.size(), name.size() + 1));
    if (name.empty() || IsLsmLabel(name)) continue;
    auto held = std::lower_bound(m.xattrs.begin(), m.xattrs.end(), name,
                                 [](const auto& kv, const std::string& k) { return kv.first < k; });
    if (held != m.xattrs.end() && held->first == name) continue;
    int rc = fd >= 0 ? ::fremovexattr(fd, name.c_str()) : ::removexattr(proc.c_str(), name.c_str());
    if (rc != 0 && errno != ENODATA) {
      return ErrnoStatus("remove xattr " + name + " of", shown, errno);
    }
  }
  return Status();
}

// An entry the checkout made that it must not open to read or write (a symlink; a device node,
// fifo or socket, which an open could block on or act on), held by an O_PATH descriptor and
// changed through /proc/self/fd/N, which reaches that inode and is never followed further. By
// name, a chmod of a fifo follows a symlink another user who may write in the directory put in
// its place meanwhile (to a file outside the target, made setuid), and chown, xattrs and times
// would change whatever was renamed there. The entry is checked to be what was made: its type,
// and one name (not a hard link to a file elsewhere renamed over it).
class PathHandle {
 public:
  ~PathHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(int dirfd, const std::string& name, cas::EntryType type, const std::string& shown) {
    fd_ = ::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) return ErrnoStatus("open", shown, errno);
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("stat", shown, errno);
    if (EntryTypeOfMode(st.st_mode) != type || st.st_nlink != 1) {
      return Status::IOError("checkout " + shown +
                             ": replaced by another process while the checkout made it (the "
                             "target is changing)");
    }
    proc_ = "/proc/self/fd/" + std::to_string(fd_);
    return Status();
  }
  int fd() const { return fd_; }
  // A path to the inode, for calls that follow it.
  const std::string& proc() const { return proc_; }

 private:
  int fd_ = -1;
  std::string proc_;
};

// What a checkout may do to its target: give owners (root), and set trusted.* and security.*
// xattrs (root in the initial user namespace: root in another, as in a rootless container, has
// no CAP_SYS_ADMIN over the file system).
struct TargetFs {
  bool as_root = false;
  bool privileged_xattrs = false;
};

// Whether this process is in the initial user namespace (its uid map the identity over all ids).
bool InInitialUserNamespace() {
  Result<std::string> map = ReadFileToString(Env::Default(), "/proc/self/uid_map");
  if (!map) return true;  // no user namespaces
  unsigned long inside = 1, outside = 1, count = 0;
  return std::sscanf(map->c_str(), "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
         outside == 0 && count == 4294967295UL;
}

TargetFs ThisProcessTargetFs() {
  const bool root = ::geteuid() == 0;
  return {root, root && InInitialUserNamespace()};
}

// Why the file system dropped part of the time it was given (`kept`, for `m`), or "".
std::string TimeNotKept(const cas::Metadata& m, const struct timespec& kept) {
  if (kept.tv_sec == m.mtime_sec && kept.tv_nsec == static_cast<long>(m.mtime_nsec)) return "";
  auto time = [](int64_t sec, long nsec) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", nsec);
    return std::to_string(sec) + frac;
  };
  return "the file system cannot hold mtime " + time(m.mtime_sec, m.mtime_nsec) + " s (it kept " +
         time(kept.tv_sec, kept.tv_nsec) + " s)";
}

// Applies owner, mode, xattrs (but those Linux cannot hold: Writer::NoteLeftOutXattrs) and
// times to an entry of `type`. `fd` >= 0: an open file or directory; else the entry `name` in
// `dirfd`, which the checkout just made, through a PathHandle.
Status ApplyMetadata(int fd, int dirfd, const std::string& name, const cas::Metadata& m,
                     cas::EntryType type, const std::string& shown, const TargetFs& target) {
  const bool as_root = target.as_root;
  const bool is_symlink = type == cas::EntryType::kSymlink;
  PathHandle handle;
  if (fd < 0) CAIRN_RETURN_IF_ERROR(handle.Open(dirfd, name, type, shown));
  const std::string& proc = handle.proc();
  if (as_root) {
    int rc = fd >= 0 ? ::fchown(fd, m.uid, m.gid)
                     : ::fchownat(handle.fd(), "", m.uid, m.gid, AT_EMPTY_PATH);
    if (rc != 0) return ErrnoStatus("chown", shown, errno);
  }
  // What the kernel or an earlier tree put there goes first; the version's mode and xattrs
  // follow.
  CAIRN_RETURN_IF_ERROR(RemoveOtherXattrs(fd, proc, m, shown));
  // After chown, which clears security.capability; before chmod: a user.* xattr needs write
  // permission, which a read-only entry's mode takes from a user other than root. An ACL's
  // entries and the mode agree, so the chmod after it changes neither.
  for (const auto& [k, v] : m.xattrs) {
    if (!XattrNotHeld(k, type, target.privileged_xattrs).empty()) continue;
    int rc = fd >= 0 ? ::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0)
                     : ::setxattr(proc.c_str(), k.c_str(), v.data(), v.size(), 0);
    if (rc != 0) {
      const int err = errno;
      // ext4 holds a file's xattrs in its inode and one block: more is ENOSPC, as a full disk
      // is, and freeing space would not help. Only there, with blocks and inodes free, is it
      // taken for that (tmpfs out of inode space, btrfs out of metadata space, are full).
      constexpr long kExt = 0xEF53;
      struct statfs fs;
      if ((err == ENOSPC || err == E2BIG) &&
          (fd >= 0 ? ::fstatfs(fd, &fs) : ::statfs(proc.c_str(), &fs)) == 0 &&
          static_cast<long>(fs.f_type) == kExt && fs.f_ffree > 0 &&
          static_cast<uint64_t>(fs.f_bavail) * fs.f_bsize >= (uint64_t{1} << 20)) {
        size_t bytes = 0;
        for (const auto& [xk, xv] : m.xattrs) bytes += xk.size() + 1 + xv.size();
        return Status::NotSupported(
            "set xattr " + k + " on " + shown + ": the file system cannot hold this entry's " +
            std::to_string(m.xattrs.size()) + " xattrs (" + std::to_string(bytes) +
            " bytes; ext4 holds one block's worth); check the version out on one that can (XFS, "
            "btrfs, tmpfs) or as a tarball");
      }
      return ErrnoStatus("set xattr " + k + " on", shown, err);
    }
  }
  if (!is_symlink) {  // after chown, which clears setuid and setgid
    int rc = fd >= 0 ? ::fchmod(fd, m.mode) : ::chmod(proc.c_str(), m.mode);
    if (rc != 0) return ErrnoStatus("chmod", shown, errno);
  }
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = m.mtime_sec;
  ts[0].tv_nsec = ts[1].tv_nsec = m.mtime_nsec;
  int rc = fd >= 0 ? ::futimens(fd, ts) : ::utimensat(AT_FDCWD, proc.c_str(), ts, 0);
  if (rc != 0) return ErrnoStatus("set times of", shown, errno);
  // Every Linux file system holds a 32-bit time; beyond that, some clamp it without an error
  // (ext4: 1901 to 2446, XFS without bigtime: to 2038); and some keep whole seconds (ext4 with
  // 128-byte inodes), two (FAT) or 100 ns (NTFS). The checkout would not be exact: every entry's
  // time is read back (one fstat, ~1 us; the file systems under a --force target may differ).
  struct stat st;
  if (::fstat(fd >= 0 ? fd : handle.fd(), &st) != 0) return ErrnoStatus("stat", shown, errno);
  if (std::string why = TimeNotKept(m, st.st_mtim); !why.empty()) {
    return Status::NotSupported("set times of " + shown + ": " + why +
                                "; check the version out on one that can (tmpfs, btrfs, XFS "
                                "with bigtime, ext4 with 256-byte inodes) or as a tarball");
  }
  return Status();
}

class Writer {
 public:
  Writer(cas::ObjectStore* store, std::string target, int threads, const CheckoutOptions& o)
      : store_(store),
        reader_(store, threads),
        target_(std::move(target)),
        pool_(threads, "cairn-write"),
        options_(o),
        target_fs_(ThisProcessTargetFs()) {}

  Result<CheckoutResult> Run(const ObjectId& root) {
    CAIRN_RETURN_IF_ERROR(PrepareTarget());
    CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, LoadTree(root, target_));
    for (const auto& group : tree.hardlinks) {
      for (const auto& p : group) {
        if (!cas::IsSafeRelativePath(p)) {
          return Status::Corruption("checkout: hard link path '" + p + "' is not a safe path");
        }
      }
      for (size_t i = 1; i < group.size(); ++i) link_members_.insert(group[i]);
      // Every directory on the way to a name of the group, up to the root, stays open to its
      // owner until the links are made (a non-root checkout may not write into 0555).
      for (const auto& p : group) {
        for (std::string_view d = ParentOf(p); !d.empty(); d = ParentOf(d)) {
          if (!link_dirs_.insert(std::string(d)).second) break;
        }
      }
    }
    CAIRN_ASSIGN_OR_RETURN(SharedFd fd, OpenDir(AT_FDCWD, target_, target_));
    NoteLeftOutXattrs(".", tree.meta, cas::EntryType::kDirectory);
    Status s = WriteDir(fd, "", tree, 0);
    Status w = WaitAll();
    if (s.ok()) s = w;
    if (s.ok()) s = MakeLinks(fd->fd, tree.hardlinks);
    if (s.ok())
      s = ApplyMetadata(fd->fd, -1, "", tree.meta, cas::EntryType::kDirectory, target_, target_fs_);
    CAIRN_RETURN_IF_ERROR(s);
    result_.dirs++;
    return result_;
  }

 private:
  Status PrepareTarget() {
    std::error_code ec;
    auto st = std::filesystem::symlink_status(target_, ec);
    if (ec || st.type() == std::filesystem::file_type::not_found) {
      if (::mkdir(target_.c_str(), 0700) != 0) return ErrnoStatus("create", target_, errno);
      return Status();
    }
    if (st.type() != std::filesystem::file_type::directory) {
      return Status::InvalidArgument("checkout " + target_ + ": target exists and is not a directory");
    }
    const bool empty = std::filesystem::is_empty(target_, ec);
    // A target that cannot be listed is named as such, not as "not empty" (with a pointer to
    // --force, which cannot help).
    if (ec) return ErrnoStatus("list", target_, ec.value());
    if (!empty && !options_.force) {
      return Status::InvalidArgument("checkout " + target_ +
                                     ": target is not empty (use --force to write into it)");
    }
    return Status();
  }

  // The Tree of directory `shown` (as the messages name it): an error names it, as a file's
  // names the file.
  Result<cas::Tree> LoadTree(const ObjectId& id, const std::string& shown) {
    Result<std::string> data = store_->ReadTyped(id, cas::ObjectType::kTree);
    Result<cas::Tree> tree = data ? cas::DecodeTree(id, *data) : Result<cas::Tree>(data.error());
    if (!tree) {
      return Status(tree.error().code(), "checkout " + shown + ": " + tree.error().message());
    }
    return tree;
  }

  // The directory `rel` (as the messages name it).
  std::string Shown(const std::string& rel) const {
    return rel.empty() ? target_ : target_ + "/" + rel;
  }

  // The directory `rel`, `depth` levels deep (not a multiple of kHeldLevels), opened again by
  // name from the nearest level kept open above it (kept_.back()), never following a symlink.
  Result<SharedFd> Reopen(const std::string& rel, int depth) {
    if (kept_.empty()) return Status::Internal("checkout " + Shown(rel) + ": no level kept open");
    const size_t steps = static_cast<size_t>(depth % kHeldLevels);
    std::vector<std::string_view> names;  // the deepest first
    for (std::string_view r = rel; names.size() < steps && !r.empty(); r = ParentOf(r)) {
      names.push_back(BaseName(r));
    }
    SharedFd cur = kept_.back();
    for (size_t i = names.size(); i-- > 0;) {
      auto next = std::make_shared<Fd>(::openat(cur->fd, std::string(names[i]).c_str(),
                                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next->fd < 0) return ErrnoStatus("open directory", Shown(rel), errno);
      cur = std::move(next);
    }
    return cur;
  }

  // Opens directory `name` of `parent` (AT_FDCWD: `name` is a path) to write into it, never
  // following a symlink. With --force it may be an earlier checkout's, which its owner cannot
  // write into (0555, 0444, 0000): such a directory of the user's is given u+rwx until its mode
  // is set, through a descriptor of it, never by name (a reviewer swapped the name for a
  // symbolic link between the check and a chmod by name, and root's checkout chmodded the
  // link's target).
  Result<SharedFd> OpenDir(int parent, const std::string& name, const std::string& shown) {
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    if (!options_.force) {
      auto fd = std::make_shared<Fd>(::openat(parent, name.c_str(), kFlags));
      if (fd->fd < 0) return ErrnoStatus("open directory", shown, errno);
      return fd;
    }
    Fd path(::openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (path.fd < 0) return ErrnoStatus("open directory", shown, errno);
    const std::string proc = "/proc/self/fd/" + std::to_string(path.fd);
    struct stat st;
    if (::fstat(path.fd, &st) != 0) return ErrnoStatus("stat", shown, errno);
    if ((st.st_mode & 0700) != 0700 && st.st_uid == ::geteuid() &&
        ::chmod(proc.c_str(), (st.st_mode & 07777) | 0700) != 0) {
      return ErrnoStatus("chmod", shown, errno);
    }
    auto fd = std::make_shared<Fd>(::open(proc.c_str(), kFlags & ~O_NOFOLLOW));
    if (fd->fd < 0) return ErrnoStatus("open directory", shown, errno);
    return fd;
  }

  // With --force an entry of the same name may exist: remove it unless both are directories.
  Status ClearName(int dirfd, const std::string& name, bool want_dir, const std::string& shown) {
    if (!options_.force) return Status();
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status();
    if (S_ISDIR(st.st_mode)) {
      if (want_dir) return Status();  // made writable as it is opened (OpenDir)
      std::error_code ec;
      std::filesystem::remove_all("/proc/self/fd/" + std::to_string(dirfd) + "/" + name, ec);
      if (ec) return ErrnoStatus("remove", shown, ec.value());
      return Status();
    }
    if (::unlinkat(dirfd, name.c_str(), 0) != 0) return ErrnoStatus("remove", shown, errno);
    return Status();
  }

  // Writes the entries of `tree` into `dirfd`, the directory `rel`, `depth` levels beneath the
  // target. The first kHeldLevels levels, and every kHeldLevels-th beneath, stay open while a
  // subdirectory is written; any other level is closed meanwhile and opened again by name from
  // the nearest kept above it (Reopen): one descriptor per level failed a tree 4,096 deep under
  // `ulimit -n 1024` (EMFILE). (Through ".." with an inode check, a reviewer made a deleted
  // level's inode number come back outside the target, and the rest of it was written there.)
  Status WriteDir(SharedFd& dirfd, const std::string& rel, const cas::Tree& tree, int depth) {
    for (const auto& e : tree.entries) {
      std::string path = Join(rel, e.name);
      std::string shown = target_ + "/" + path;
      CAIRN_RETURN_IF_ERROR(ClearName(dirfd->fd, e.name, e.type == cas::EntryType::kDirectory, shown));
      switch (e.type) {
        case cas::EntryType::kDirectory: {
          CAIRN_ASSIGN_OR_RETURN(cas::Tree child, LoadTree(e.id, shown));
          NoteLeftOutXattrs(path, child.meta, cas::EntryType::kDirectory);
          if (::mkdirat(dirfd->fd, e.name.c_str(), 0700) != 0 && errno != EEXIST) {
            return ErrnoStatus("create directory", shown, errno);
          }
          CAIRN_ASSIGN_OR_RETURN(SharedFd fd, OpenDir(dirfd->fd, e.name, shown));
          const bool keep = depth >= kHeldLevels && depth % kHeldLevels == 0;
          const bool release = depth > kHeldLevels && !keep;
          if (keep) kept_.push_back(dirfd);
          if (release) dirfd.reset();
          Status written = WriteDir(fd, path, child, depth + 1);
          if (keep) kept_.pop_back();
          CAIRN_RETURN_IF_ERROR(written);
          if (release) {
            CAIRN_ASSIGN_OR_RETURN(dirfd, Reopen(rel, depth));
          }
          // Every child exists now (file contents may still be in flight, which does not
          // touch the directory), so its metadata can be final, but for the directories that
          // lead to hard links: those get theirs once the links are made (MakeLinks).
          if (link_dirs_.contains(path)) {
            link_dir_meta_[path] = child.meta;
          } else {
            CAIRN_RETURN_IF_ERROR(ApplyMetadata(fd->fd, -1, "", child.meta,
                                                cas::EntryType::kDirectory, shown, target_fs_));
          }
          result_.dirs++;
          break;
        }
        case cas::EntryType::kRegular:
          if (link_members_.contains(path)) break;  // linked to its group's first name later
          NoteLeftOutXattrs(path, e.meta, e.type);
          CAIRN_RETURN_IF_ERROR(SubmitFile(dirfd, e, shown));
          break;
        case cas::EntryType::kSymlink:
          if (::symlinkat(e.target.c_str(), dirfd->fd, e.name.c_str()) != 0) {
            return ErrnoStatus("create symlink", shown, errno);
          }
          NoteLeftOutXattrs(path, e.meta, e.type);
          CAIRN_RETURN_IF_ERROR(
              ApplyMetadata(-1, dirfd->fd, e.name, e.meta, e.type, shown, target_fs_));
          break;
        default: {
          mode_t kind = e.type == cas::EntryType::kCharDevice    ? S_IFCHR
                        : e.type == cas::EntryType::kBlockDevice ? S_IFBLK
                        : e.type == cas::EntryType::kFifo        ? S_IFIFO
                                                                 : S_IFSOCK;
          dev_t dev = makedev(e.rdev_major, e.rdev_minor);
          if (::mknodat(dirfd->fd, e.name.c_str(), kind | 0600, dev) != 0) {
            // Only a user with CAP_MKNOD may make a device node; as another the checkout goes on
            // without it, as it goes on without owners, and says so.
            if (errno == EPERM && (S_ISCHR(kind) || S_ISBLK(kind))) {
              result_.left_out.push_back({path, "a device node, which only root may create"});
              break;
            }
            return ErrnoStatus("create node", shown, errno);
          }
          NoteLeftOutXattrs(path, e.meta, e.type);
          CAIRN_RETURN_IF_ERROR(
              ApplyMetadata(-1, dirfd->fd, e.name, e.meta, e.type, shown, target_fs_));
        }
      }
    }
    return Status();
  }

  // Names in left_out each xattr of `m`, the metadata of the entry at `path`, that ApplyMetadata
  // leaves out (the walk's thread only: in walk order).
  void NoteLeftOutXattrs(const std::string& path, const cas::Metadata& m, cas::EntryType type) {
    for (const auto& [k, v] : m.xattrs) {
      std::string_view why = XattrNotHeld(k, type, target_fs_.privileged_xattrs);
      if (!why.empty())
        result_.left_out.push_back({"xattr " + k + " of " + path, std::string(why)});
    }
  }

  Status SubmitFile(const SharedFd& dirfd, const cas::TreeEntry& e, const std::string& shown) {
    // Created here, in walk order, so that the directory is complete when the walk leaves it.
    auto fd = std::make_shared<Fd>(::openat(
        dirfd->fd, e.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd->fd < 0) return ErrnoStatus("create", shown, errno);
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return in_flight_ < kMaxFilesInFlight; });
      ++in_flight_;
    }
    jobs_.push_back(pool_.Submit([this, fd, e, shown] {
      Status s = WriteFile(fd->fd, e, shown);
      {
        std::lock_guard lock(mu_);
        --in_flight_;
      }
      cv_.notify_one();
      return s;
    }));
    // Collect finished jobs now and then so the list stays short.
    while (jobs_.size() > 2 * kMaxFilesInFlight) {
      Status s = jobs_.front().get();
      jobs_.pop_front();
      CAIRN_RETURN_IF_ERROR(s);
    }
    return Status();
  }

  Status WriteFile(int fd, const cas::TreeEntry& e, const std::string& shown) {
    size_t extent = 0;
    uint64_t in_extent = 0;
    Status s = reader_.Read(e.id, [&](std::string_view piece) -> Status {
      while (!piece.empty()) {
        uint64_t off;
        size_t n = piece.size();
        if (e.sparse) {
          if (extent >= e.extents.size()) {
            return Status::Corruption("checkout " + shown + ": content longer than its extents");
          }
          const cas::Extent& x = e.extents[extent];
          off = x.offset + in_extent;
          n = static_cast<size_t>(std::min<uint64_t>(n, x.length - in_extent));
        } else {
          off = in_extent;
        }
        ssize_t w = ::pwrite(fd, piece.data(), n, static_cast<off_t>(off));
        if (w < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus("write", shown, errno);
        }
        piece.remove_prefix(static_cast<size_t>(w));
        in_extent += static_cast<uint64_t>(w);
        if (e.sparse && in_extent == e.extents[extent].length) {
          ++extent;
          in_extent = 0;
        }
      }
      return Status();
    });
    if (!s.ok()) return s.WithContext("checkout " + shown);
    // A content of another length than the entry says would leave a file of another size
    // (dense) or zeros where data should be (sparse): the tree and its content disagree.
    if (e.sparse ? extent != e.extents.size() : in_extent != e.size) {
      return Status::Corruption("checkout " + shown + ": content does not match the entry's " +
                                (e.sparse ? "extents" : "size"));
    }
    if (e.sparse && ::ftruncate(fd, static_cast<off_t>(e.size)) != 0) {
      return ErrnoStatus("truncate", shown, errno);
    }
    CAIRN_RETURN_IF_ERROR(ApplyMetadata(fd, -1, e.name, e.meta, e.type, shown, target_fs_));
    std::lock_guard lock(mu_);
    result_.files++;
    result_.bytes += e.size;
    if (options_.progress) options_.progress->Add(1, e.size);
    return Status();
  }

  Status WaitAll() {
    Status first;
    for (auto& j : jobs_) {
      Status s = j.get();
      if (first.ok() && !s.ok()) first = s;
    }
    jobs_.clear();
    return first;
  }

  // Opens the directory holding `path` beneath `root`, component by component, never
  // following a symlink. Returns the descriptor and sets *name to the last component.
  Result<SharedFd> OpenParent(int root, const std::string& path, std::string* name) {
    auto cur = std::make_shared<Fd>(::dup(root));
    size_t start = 0;
    for (;;) {
      size_t slash = path.find('/', start);
      if (slash == std::string::npos) {
        *name = path.substr(start);
        return cur;
      }
      std::string comp = path.substr(start, slash - start);
      auto next = std::make_shared<Fd>(
          ::openat(cur->fd, comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next->fd < 0) return ErrnoStatus("open directory", target_ + "/" + path, errno);
      cur = next;
      start = slash + 1;
    }
  }

  Status MakeLinks(int root, const std::vector<std::vector<std::string>>& groups) {
    for (const auto& g : groups) {
      std::string first_name;
      CAIRN_ASSIGN_OR_RETURN(SharedFd first_dir, OpenParent(root, g[0], &first_name));
      struct stat st;
      if (::fstatat(first_dir->fd, first_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG(st.st_mode)) {
        return Status::Corruption("checkout: hard link target '" + g[0] + "' is not a file");
      }
      for (size_t i = 1; i < g.size(); ++i) {
        std::string name;
        CAIRN_ASSIGN_OR_RETURN(SharedFd dir, OpenParent(root, g[i], &name));
        if (::linkat(first_dir->fd, first_name.c_str(), dir->fd, name.c_str(), 0) != 0) {
          return ErrnoStatus("link", target_ + "/" + g[i], errno);
        }
        // Each name counts, as in the checkin's and the tarball's counts.
        result_.files++;
        result_.bytes += static_cast<uint64_t>(st.st_size);
      }
    }
    // A directory before its parent (reverse order puts "a/b" before "a"), so that each is
    // still open to its owner while one beneath it is reached.
    for (auto it = link_dir_meta_.rbegin(); it != link_dir_meta_.rend(); ++it) {
      const std::string& rel = it->first;
      std::string name;
      CAIRN_ASSIGN_OR_RETURN(SharedFd parent, OpenParent(root, rel, &name));
      Fd dir(::openat(parent->fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (dir.fd < 0) return ErrnoStatus("open directory", target_ + "/" + rel, errno);
      CAIRN_RETURN_IF_ERROR(ApplyMetadata(dir.fd, -1, "", it->second, cas::EntryType::kDirectory,
                                          target_ + "/" + rel, target_fs_));
    }
    return Status();
  }

  cas::ObjectStore* store_;
  cas::ContentReader reader_;
  std::string target_;
  ThreadPool pool_;
  const CheckoutOptions& options_;
  const TargetFs target_fs_;
  CheckoutResult result_;
  std::set<std::string> link_members_;
  // The levels kept open beneath the first kHeldLevels on the way to the directory being
  // written, the deepest last (WriteDir).
  std::vector<SharedFd> kept_;
  std::deque<std::future<Status>> jobs_;
  // The directories that hold a name of a hard-link group, and their ancestors (not the root);
  // their metadata is applied after the links are made, from link_dir_meta_.
  std::set<std::string> link_dirs_;
  std::map<std::string, cas::Metadata> link_dir_meta_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
};

}  // namespace

Result<CheckoutResult> DirSink::Checkout(cas::ObjectStore* store, const ObjectId& root,
                                         const CheckoutOptions& options) {
  Writer w(store, target_, threads_, options);
  return w.Run(root);
}

}  // namespace cairn::indexer
