#include "indexer/dir_fds.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "indexer/fs_meta.h"

namespace cairn::indexer {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The names in the directory open as `fd` (just opened: read from its start) but "." and "..".
Result<std::vector<std::string>> ListNames(int fd, const std::string& shown) {
  std::vector<std::string> names;
  if (int err = ReadDirectoryNames(fd, &names); err != 0) return ErrnoStatus("list", shown, err);
  return names;
}

// A directory at `stx` that is the root of a mount, or on another device than `dev` (a btrfs
// subvolume): what is mounted beneath a target is not the target's, and a bind mount's
// directory may be anywhere.
bool MountedThere(const struct statx& stx, dev_t dev) {
  const bool mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0 &&
                          (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  return mount_root || makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev;
}

Status MountPoint(std::string_view op, const std::string& shown) {
  return Status::IOError(std::string(op) + " " + shown +
                         ": a mount point (what is mounted beneath the target is not removed: "
                         "unmount it first)");
}

// What RemoveIfNotDir found at a name.
enum class Found { kNothing, kRemoved, kDirectory };

// Removes the entry `name` of `dirfd`, on device `dev` (its st_dev), unless it is a directory;
// nothing when there is no such entry. A directory that is the root of a mount (or of another
// device: a btrfs subvolume) is refused: what is mounted beneath a target is not the target's,
// and a bind mount's directory may be anywhere. Errors name `shown()`.
Result<Found> RemoveIfNotDir(int dirfd, const std::string& name, dev_t dev,
                             const std::function<std::string()>& shown) {
  struct statx stx;
  if (::statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) != 0) {
    if (errno == ENOENT) return Found::kNothing;
    return ErrnoStatus("remove", shown(), errno);
  }
  if (S_ISDIR(stx.stx_mode)) {
    if (MountedThere(stx, dev)) return MountPoint("remove", shown());
    return Found::kDirectory;
  }
  if (::unlinkat(dirfd, name.c_str(), 0) != 0) {
    if (errno == ENOENT) return Found::kNothing;
    return ErrnoStatus("remove", shown(), errno);
  }
  return Found::kRemoved;
}

}  // namespace

Result<SharedFd> OpenBeneath(int from, std::string_view rel, const std::string& shown) {
  auto cur = std::make_shared<Fd>(::dup(from));
  if (cur->fd < 0) return ErrnoStatus("open directory", shown, errno);
  for (size_t start = 0; start < rel.size();) {
    const size_t slash = std::min(rel.find('/', start), rel.size());
    const std::string comp(rel.substr(start, slash - start));
    auto next = std::make_shared<Fd>(::openat(cur->fd, comp.c_str(), kDirFlags));
    if (next->fd < 0) return ErrnoStatus("open directory", shown, errno);
    cur = std::move(next);
    start = slash + 1;
  }
  return cur;
}

Result<SharedFd> OpenDirToWrite(int parent, const std::string& name, bool make_writable,
                                const std::string& shown, const dev_t* same_device) {
  if (!make_writable) {
    auto fd = std::make_shared<Fd>(::openat(parent, name.c_str(), kDirFlags));
    if (fd->fd < 0) return ErrnoStatus("open directory", shown, errno);
    return fd;
  }
  // O_PATH: a directory its owner may not read (0000, 0300) cannot be opened O_RDONLY before
  // its mode is changed, and fchmod does not take an O_PATH descriptor: /proc/self/fd does.
  Fd path(::openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (path.fd < 0) return ErrnoStatus("open directory", shown, errno);
  const std::string proc = "/proc/self/fd/" + std::to_string(path.fd);
  // The directory opened, not the name looked at before: what is mounted there meanwhile is
  // seen here.
  struct statx st;
  if (::statx(path.fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_UID, &st) != 0) {
    return ErrnoStatus("stat", shown, errno);
  }
  if (same_device != nullptr && MountedThere(st, *same_device)) {
    return MountPoint("open directory", shown);
  }
  // Root is not held back by a directory's mode (and would otherwise change the mode of any
  // directory of its own, a bind mount's too).
  if ((st.stx_mode & 0700) != 0700 && st.stx_uid == ::geteuid() && ::geteuid() != 0 &&
      ::chmod(proc.c_str(), (st.stx_mode & 07777) | 0700) != 0) {
    return ErrnoStatus("chmod", shown, errno);
  }
  auto fd = std::make_shared<Fd>(::open(proc.c_str(), kDirFlags & ~O_NOFOLLOW));
  if (fd->fd < 0) return ErrnoStatus("open directory", shown, errno);
  return fd;
}

Status RemoveBeneath(int dirfd, const std::string& name, const std::string& shown) {
  // The directories from `dirfd` (levels[0]) down to the one being emptied, each with the
  // names it held when it was entered: a loop, not a recursion, since a target may hold a tree
  // of any depth; each holds its name only (a path each was memory in the square of the depth).
  struct Level {
    SharedFd fd;  // null while released (HeldWhileBeneath)
    dev_t dev = 0;
    std::string name;  // in the level above
    std::vector<std::string> names;
    size_t next = 0;
  };
  std::vector<Level> levels;
  // `shown`, the path of level 1, and what lies beneath it down to level `depth`, then `child`.
  auto shown_at = [&](size_t depth, const std::string* child) {
    std::string out = shown;
    for (size_t i = 2; i <= depth && i < levels.size(); ++i) out += "/" + levels[i].name;
    if (child != nullptr) out += "/" + *child;
    return out;
  };
  {
    struct stat st;
    if (::fstat(dirfd, &st) != 0) return ErrnoStatus("remove", shown, errno);
    levels.push_back({std::make_shared<Fd>(::dup(dirfd)), st.st_dev, "", {}});
    if (levels[0].fd->fd < 0) return ErrnoStatus("remove", shown, errno);
  }
  // Enters directory `n` of the deepest level (gone meanwhile: nothing to remove).
  auto enter = [&](const std::string& n) -> Status {
    Level& top = levels.back();
    const size_t depth = levels.size();  // of `n`
    auto n_shown = [&] { return depth == 1 ? shown : shown_at(depth - 1, &n); };
    Result<SharedFd> fd = OpenDirToWrite(top.fd->fd, n, true, n_shown(), &top.dev);
    if (!fd) {
      struct stat gone;
      if (::fstatat(top.fd->fd, n.c_str(), &gone, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
        return Status();
      }
      return fd.error();
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames((*fd)->fd, n_shown()));
    if (!HeldWhileBeneath(depth - 1)) top.fd.reset();
    levels.push_back({std::move(*fd), top.dev, n, std::move(names)});
    return Status();
  };
  {
    CAIRN_ASSIGN_OR_RETURN(Found found,
                           RemoveIfNotDir(dirfd, name, levels[0].dev, [&] { return shown; }));
    if (found != Found::kDirectory) return Status();
  }
  CAIRN_RETURN_IF_ERROR(enter(name));
  while (levels.size() > 1) {
    Level& top = levels.back();
    if (top.next < top.names.size()) {
      const std::string& n = top.names[top.next++];
      const size_t depth = levels.size() - 1;
      CAIRN_ASSIGN_OR_RETURN(
          Found found, RemoveIfNotDir(top.fd->fd, n, top.dev, [&] { return shown_at(depth, &n); }));
      if (found == Found::kDirectory) CAIRN_RETURN_IF_ERROR(enter(n));
      continue;
    }
    const std::string n_shown = shown_at(levels.size() - 1, nullptr);
    const std::string n = std::move(top.name);
    levels.pop_back();
    if (!levels.back().fd) {  // opened again by name from the nearest level held above it
      size_t held = levels.size() - 1;
      std::string rel;
      while (!levels[held].fd) rel = levels[held--].name + (rel.empty() ? "" : "/" + rel);
      CAIRN_ASSIGN_OR_RETURN(levels.back().fd, OpenBeneath(levels[held].fd->fd, rel,
                                                           shown_at(levels.size() - 1, nullptr)));
    }
    if (::unlinkat(levels.back().fd->fd, n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoStatus("remove", n_shown, errno);
    }
  }
  return Status();
}

std::string DirCursor::Shown(size_t depth) const {
  std::string s = shown_;
  for (size_t i = 0; i < depth; ++i) s += "/" + comps_[i];
  return s;
}

Result<SharedFd> DirCursor::Open(std::string_view rel) {
  if (fds_.empty()) {
    auto root = std::make_shared<Fd>(::dup(root_));
    if (root->fd < 0) return ErrnoStatus("open directory", shown_, errno);
    fds_.push_back(std::move(root));
  }
  std::vector<std::string_view> want;
  for (size_t start = 0; start < rel.size();) {
    const size_t slash = std::min(rel.find('/', start), rel.size());
    want.push_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  size_t common = 0;
  while (common < want.size() && common < comps_.size() && want[common] == comps_[common]) {
    ++common;
  }
  comps_.resize(common);
  fds_.resize(common + 1);
  if (!fds_.back()) {  // released: opened again from the nearest held above it
    size_t held = common;
    while (!fds_[held]) --held;
    std::string path;
    for (size_t i = held; i < common; ++i) path += (path.empty() ? "" : "/") + comps_[i];
    CAIRN_ASSIGN_OR_RETURN(fds_.back(), OpenBeneath(fds_[held]->fd, path, Shown(common)));
  }
  for (size_t i = common; i < want.size(); ++i) {
    comps_.emplace_back(want[i]);
    auto next = std::make_shared<Fd>(::openat(fds_[i]->fd, comps_.back().c_str(), kDirFlags));
    if (next->fd < 0) {
      Status s = ErrnoStatus("open directory", Shown(i + 1), errno);
      comps_.pop_back();  // a descriptor for each component, and the root's
      return s;
    }
    if (!HeldWhileBeneath(i)) fds_[i].reset();
    fds_.push_back(std::move(next));
  }
  return fds_.back();
}

}  // namespace cairn::indexer
