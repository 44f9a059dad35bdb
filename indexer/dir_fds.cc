#include "indexer/dir_fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace cairn::indexer {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The names in the directory open as `fd` but "." and "..".
Result<std::vector<std::string>> ListNames(int fd, const std::string& shown) {
  const int copy = ::dup(fd);  // closedir closes the one it was given
  if (copy < 0) return ErrnoStatus("list", shown, errno);
  DIR* dir = ::fdopendir(copy);
  if (dir == nullptr) {
    const int err = errno;
    ::close(copy);
    return ErrnoStatus("list", shown, err);
  }
  ::rewinddir(dir);  // the copy shares the original's offset
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* d = ::readdir(dir);
    if (d == nullptr) break;
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) {
      names.emplace_back(d->d_name);
    }
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return ErrnoStatus("list", shown, err);
  return names;
}

// Removes the entry `name` of `dirfd` if it is not a directory. *is_dir: whether it is one (and
// was left); nothing when there is no such entry.
Status RemoveIfNotDir(int dirfd, const std::string& name, const std::string& shown, bool* is_dir) {
  *is_dir = false;
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Status() : ErrnoStatus("remove", shown, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    *is_dir = true;
    return Status();
  }
  if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus("remove", shown, errno);
  }
  return Status();
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
                                const std::string& shown) {
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
  struct stat st;
  if (::fstat(path.fd, &st) != 0) return ErrnoStatus("stat", shown, errno);
  if ((st.st_mode & 0700) != 0700 && st.st_uid == ::geteuid() &&
      ::chmod(proc.c_str(), (st.st_mode & 07777) | 0700) != 0) {
    return ErrnoStatus("chmod", shown, errno);
  }
  auto fd = std::make_shared<Fd>(::open(proc.c_str(), kDirFlags & ~O_NOFOLLOW));
  if (fd->fd < 0) return ErrnoStatus("open directory", shown, errno);
  return fd;
}

Status RemoveBeneath(int dirfd, const std::string& name, const std::string& shown) {
  bool is_dir = false;
  CAIRN_RETURN_IF_ERROR(RemoveIfNotDir(dirfd, name, shown, &is_dir));
  if (!is_dir) return Status();
  // The directories from `dirfd` (levels[0]) down to the one being emptied, each with the
  // names it held when it was entered: a loop, not a recursion, since a target may hold a tree
  // of any depth.
  struct Level {
    SharedFd fd;  // null while released (HeldWhileBeneath)
    std::string name, shown;
    std::vector<std::string> names;
    size_t next = 0;
  };
  std::vector<Level> levels;
  levels.push_back({std::make_shared<Fd>(::dup(dirfd)), "", "", {}});
  if (levels[0].fd->fd < 0) return ErrnoStatus("remove", shown, errno);
  auto enter = [&](const std::string& n, const std::string& n_shown) -> Status {
    Level& top = levels.back();
    CAIRN_ASSIGN_OR_RETURN(SharedFd fd, OpenDirToWrite(top.fd->fd, n, true, n_shown));
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames(fd->fd, n_shown));
    if (!HeldWhileBeneath(levels.size() - 1)) top.fd.reset();
    levels.push_back({std::move(fd), n, n_shown, std::move(names)});
    return Status();
  };
  CAIRN_RETURN_IF_ERROR(enter(name, shown));
  while (levels.size() > 1) {
    Level& top = levels.back();
    if (top.next < top.names.size()) {
      const std::string& n = top.names[top.next++];
      const std::string n_shown = top.shown + "/" + n;
      CAIRN_RETURN_IF_ERROR(RemoveIfNotDir(top.fd->fd, n, n_shown, &is_dir));
      if (is_dir) CAIRN_RETURN_IF_ERROR(enter(n, n_shown));
      continue;
    }
    const std::string n = std::move(top.name), n_shown = std::move(top.shown);
    levels.pop_back();
    if (!levels.back().fd) {  // opened again by name from the nearest level held above it
      size_t held = levels.size() - 1;
      std::string rel;
      while (!levels[held].fd) rel = levels[held--].name + (rel.empty() ? "" : "/" + rel);
      CAIRN_ASSIGN_OR_RETURN(levels.back().fd,
                             OpenBeneath(levels[held].fd->fd, rel, levels.back().shown));
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
