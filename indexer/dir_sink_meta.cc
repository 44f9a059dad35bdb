#include "indexer/dir_sink_meta.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "base/env.h"
#include "indexer/fs_meta.h"

namespace cairn::indexer {
namespace {

// Whether xattr `name` is a security module's label, which the host's policy gives each new
// file and a checkout leaves as it is when the version holds none.
bool IsLsmLabel(std::string_view name) {
  return name == "security.selinux" || name == "security.apparmor" ||
         name.starts_with("security.SMACK64");
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

// Whether this process is in the initial user namespace (its uid map the identity over all ids).
bool InInitialUserNamespace() {
  Result<std::string> map = ReadFileToString(Env::Default(), "/proc/self/uid_map");
  if (!map) return true;  // no user namespaces
  unsigned long inside = 1, outside = 1, count = 0;
  return std::sscanf(map->c_str(), "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
         outside == 0 && count == 4294967295UL;
}

// Why the file system dropped part of the time it was given (`kept`, for `m`), or "".
std::string TimeNotKept(const cas::Metadata& m, const struct timespec& kept) {
  if (kept.tv_sec == m.mtime_sec && kept.tv_nsec == static_cast<long>(m.mtime_nsec)) return "";
  auto time = [](int64_t sec, long nsec) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", nsec);
    return std::to_string(sec) + frac;
  };
  // Where to go instead depends on what was lost: the range (ext4 holds 1901-2446 whatever its
  // inode size) or the precision.
  const char* where = kept.tv_sec != m.mtime_sec
                          ? "tmpfs, btrfs, XFS with bigtime; ext4 holds 1901 to 2446 at most"
                          : "tmpfs, btrfs, XFS, ext4 with 256-byte inodes";
  return "the file system cannot hold mtime " + time(m.mtime_sec, m.mtime_nsec) + " s (it kept " +
         time(kept.tv_sec, kept.tv_nsec) + " s); check the version out on one that can (" + where +
         ") or as a tarball";
}

}  // namespace

// XattrNotHeld: what Linux would refuse, and why (dir_sink_meta.h).
std::string_view XattrNotHeld(std::string_view name, size_t value_size, cas::EntryType type,
                              bool privileged) {
  // XATTR_NAME_MAX and XATTR_SIZE_MAX: no Linux file system takes more (ERANGE, E2BIG).
  if (name.size() > 255) return "a name longer than the 255 bytes Linux holds";
  if (value_size > 65536) return "a value larger than the 65,536 bytes Linux holds";
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

TargetFs ThisProcessTargetFs() {
  const bool root = ::geteuid() == 0;
  return {root, root && InInitialUserNamespace()};
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
    if (!XattrNotHeld(k, v.size(), type, target.privileged_xattrs).empty()) continue;
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
    return Status::NotSupported("set times of " + shown + ": " + why);
  }
  return Status();
}

}  // namespace cairn::indexer
