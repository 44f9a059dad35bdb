#include "indexer/watch_events.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/hex.h"
#include "base/rel_path.h"
#include "indexer/dir_scan.h"

namespace cairn::indexer {
namespace {

constexpr uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                           IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                           IN_DONT_FOLLOW | IN_ONLYDIR;
// On a file with several names (InotifyTree::NoteName).
constexpr uint32_t kInodeMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DONT_FOLLOW;

// The directory vanished or was replaced by something else before it could be watched or
// listed: the events of its parent tell of that.
bool Vanished(int err) { return err == ENOENT || err == ENOTDIR || err == ELOOP; }

Result<std::string> NewInstance() {
  char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("watch", "getrandom", errno);
    got += static_cast<size_t>(n);
  }
  return HexEncode(std::string_view(bytes, sizeof(bytes)));
}

constexpr const char* kMountInfo = "/proc/self/mountinfo";

// Reads the open mount table to its end (so that its next change is reported anew) and returns
// it; "" if it cannot be read.
std::string ReadToEnd(int fd) {
  std::string table;
  if (::lseek(fd, 0, SEEK_SET) != 0) return table;
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return table;
    table.append(buf, static_cast<size_t>(n));
  }
}

// The files loop devices are attached to, as the kernel names them now
// (/sys/block/loopN/loop/backing_file: a path in this process's root). A name ending
// " (deleted)" is given both with and without that ending: a file named so is rare, and
// reporting its directory once too often costs a stat of it.
std::vector<std::string> LoopBackingFiles() {
  std::vector<std::string> files;
  DIR* d = ::opendir("/sys/block");
  if (d == nullptr) return files;
  while (const dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, "loop", 4) != 0) continue;
    const std::string attr = std::string("/sys/block/") + e->d_name + "/loop/backing_file";
    int fd = ::open(attr.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // no file attached
    std::string name = ReadToEnd(fd);
    ::close(fd);
    while (!name.empty() && name.back() == '\n') name.pop_back();
    if (name.empty()) continue;
    constexpr std::string_view kDeleted = " (deleted)";
    if (name.ends_with(kDeleted)) files.push_back(name.substr(0, name.size() - kDeleted.size()));
    files.push_back(std::move(name));
  }
  ::closedir(d);
  return files;
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U  // Linux 6.8
#endif

// The unique IDs (never reused, unlike mountinfo's first field) of the mounts on `points`, as
// text; nullopt when they cannot all be had (a kernel before Linux 6.8).
std::optional<std::string> MountIds(const std::vector<std::string>& points) {
  std::string ids;
  for (const std::string& point : points) {
    struct statx sx;
    if (::statx(AT_FDCWD, point.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID_UNIQUE,
                &sx) != 0 ||
        (sx.stx_mask & STATX_MNT_ID_UNIQUE) == 0) {
      return std::nullopt;
    }
    ids.append(std::to_string(sx.stx_mnt_id)).push_back(' ');
  }
  return ids;
}

}  // namespace

std::vector<std::string> MountsBeneath(std::string_view table, const std::string& root) {
  std::vector<std::string> out;
  while (!table.empty()) {
    size_t eol = table.find('\n');
    std::string_view line = table.substr(0, eol);
    table = eol == std::string_view::npos ? std::string_view() : table.substr(eol + 1);
    // Fields: id, parent id, major:minor, root, mount point, ...
    size_t at = 0;
    for (int field = 0; field < 4 && at != std::string_view::npos; ++field) {
      at = line.find(' ', at);
      if (at != std::string_view::npos) ++at;
    }
    if (at == std::string_view::npos) continue;
    std::string_view escaped = line.substr(at, line.find(' ', at) - at);
    std::string point;  // spaces, tabs, newlines and backslashes come as \ooo
    for (size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '\\' && i + 3 < escaped.size() &&
          escaped.substr(i + 1, 3).find_first_not_of("01234567") == std::string_view::npos) {
        point.push_back(static_cast<char>((escaped[i + 1] - '0') * 64 + (escaped[i + 2] - '0') * 8 +
                                          (escaped[i + 3] - '0')));
        i += 3;
      } else {
        point.push_back(escaped[i]);
      }
    }
    if (point == root || Beneath(point, root)) out.push_back(std::move(point));
  }
  return out;
}

std::optional<std::string_view> UnwatchableFilesystem(uint32_t f_type) {
  switch (f_type) {
    case 0x6969:
      return "NFS";
    case 0x517B:
      return "SMB";
    case 0xFF534D42:
      return "CIFS";
    case 0xFE534D42:
      return "SMB2";
    case 0x65735546:
      return "FUSE";
    case 0x00C36400:
      return "Ceph";
    case 0x01021997:
      return "9P";
    case 0x5346414F:
      return "AFS";
    default:
      return std::nullopt;
  }
}

Result<std::unique_ptr<InotifyTree>> InotifyTree::Open(const std::string& root) {
  std::unique_ptr<InotifyTree> t(new InotifyTree());
  t->root_ = root;
  CAIRN_ASSIGN_OR_RETURN(t->instance_, NewInstance());
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) return ErrnoStatus("watch", root, errno);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("watch " + root + ": not a directory");
  t->root_dev_ = st.st_dev;
  t->root_ino_ = st.st_ino;
  // The root's directory, held: paths beneath it are resolved through it, not through its
  // ancestors, which may be renamed while the watcher runs (and renamed back before a checkin).
  t->root_fd_ = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t->root_fd_ < 0) return ErrnoStatus("watch", root, errno);
  if (::fstat(t->root_fd_, &st) != 0) return ErrnoStatus("watch", root, errno);
  if (st.st_dev != t->root_dev_ || st.st_ino != t->root_ino_) {
    return Status::IOError("watch " + root + ": replaced while the watcher started");
  }
  t->root_proc_ = "/proc/self/fd/" + std::to_string(t->root_fd_);
  struct statfs fs;
  if (::statfs(root.c_str(), &fs) != 0) return ErrnoStatus("watch", root, errno);
  if (auto name = UnwatchableFilesystem(static_cast<uint32_t>(fs.f_type))) {
    return Status::InvalidArgument("watch " + root + ": on a " + std::string(*name) +
                                   " filesystem, whose changes made elsewhere raise no events");
  }
  // Opened, and read once, before the first watch: a mount from then on is seen.
  t->mounts_fd_ = ::open(kMountInfo, O_RDONLY | O_CLOEXEC);
  if (t->mounts_fd_ < 0) {
    return Status::IOError(ErrnoStatus("watch " + root + ": open", kMountInfo, errno).message() +
                           " (mounts beneath the tree would go unseen)");
  }
  t->mounts_ = MountsBeneath(ReadToEnd(t->mounts_fd_), root);
  t->mount_ids_ = MountIds(t->mounts_);
  t->fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (t->fd_ < 0) return ErrnoStatus("watch", root, errno);
  CAIRN_RETURN_IF_ERROR(t->AddTree("", false));
  auto it = t->wds_.find("");
  if (it == t->wds_.end()) return Status::IOError("watch " + root + ": the root vanished");
  t->root_wd_ = it->second;
  return t;
}

InotifyTree::~InotifyTree() {
  if (fd_ >= 0) ::close(fd_);
  if (mounts_fd_ >= 0) ::close(mounts_fd_);
  if (root_fd_ >= 0) ::close(root_fd_);
}

std::string InotifyTree::Resolve(const std::string& rel) const {
  return rel.empty() ? root_proc_ + "/." : root_proc_ + "/" + rel;
}

Status InotifyTree::AddTree(const std::string& top, bool dirty) {
  std::vector<std::string> todo = {top};
  while (!todo.empty()) {
    std::string rel = std::move(todo.back());
    todo.pop_back();
    const std::string path = rel.empty() ? root_ : ChildPath(root_, rel);  // for messages
    const std::string at = Resolve(rel);
    if (rel == top && !rel.empty()) {  // listed directories checked their children below
      struct stat st;
      if (::lstat(at.c_str(), &st) != 0) {
        if (Vanished(errno)) continue;
        return ErrnoStatus("watch", path, errno);
      }
      if (S_ISDIR(st.st_mode) && st.st_dev != root_dev_) boundaries_.insert(rel);
      if (!S_ISDIR(st.st_mode) || st.st_dev != root_dev_) continue;
    }
    int wd = ::inotify_add_watch(fd_, at.c_str(), kMask);
    if (wd < 0) {
      if (Vanished(errno)) continue;
      if (errno == ENOSPC) {
        return Status::IOError("watch " + path +
                               ": the inotify watch limit is reached "
                               "(/proc/sys/fs/inotify/max_user_watches)");
      }
      return ErrnoStatus("watch", path, errno);
    }
    if (auto it = paths_.find(wd); it != paths_.end() && it->second != rel) aliased_ = true;
    SetPath(wd, rel);
    if (dirty) Dirty(rel);
    int dfd = ::open(at.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
      if (Vanished(errno)) continue;
      return ErrnoStatus("watch", path, errno);
    }
    DIR* dir = ::fdopendir(dfd);
    if (dir == nullptr) {
      int err = errno;
      ::close(dfd);
      return ErrnoStatus("watch", path, err);
    }
    while (struct dirent* e = ::readdir(dir)) {
      const char* name = e->d_name;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
      // Every entry is looked at: a file with several names gets an inode watch (NoteName);
      // in a directory new to the watcher (made, or moved in), a name of a file with other
      // names raised no IN_CREATE: checked here as NewName would have.
      struct stat st;
      if (::fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (dirty) lost_epoch_ = epoch_;  // gone: it may have been a second name
        continue;                         // else an event says
      }
      std::string child = ChildRel(rel, name);
      if (!S_ISDIR(st.st_mode)) {
        NoteName(child, st);
        if (dirty && SecondName(st)) lost_epoch_ = epoch_;
      } else if (st.st_dev == root_dev_) {
        todo.push_back(std::move(child));
      } else {
        boundaries_.insert(std::move(child));  // a mount point, or a btrfs subvolume
      }
    }
    ::closedir(dir);
  }
  return Status::Ok();
}

void InotifyTree::SetPath(int wd, const std::string& rel) {
  auto [it, added] = paths_.try_emplace(wd, rel);
  if (!added && it->second != rel) {
    auto old = wds_.find(it->second);
    if (old != wds_.end() && old->second == wd) wds_.erase(old);
    it->second = rel;
  }
  wds_[rel] = wd;
}

void InotifyTree::Forget(int wd) {
  auto it = paths_.find(wd);
  if (it == paths_.end()) return;
  auto rev = wds_.find(it->second);
  if (rev != wds_.end() && rev->second == wd) wds_.erase(rev);
  paths_.erase(it);
}

void InotifyTree::MoveTree(const std::string& from, const std::string& to) {
  std::vector<std::pair<int, std::string>> moved;
  if (auto it = wds_.find(from); it != wds_.end()) moved.emplace_back(it->second, to);
  for (auto it = wds_.lower_bound(from + "/"); it != wds_.end() && Beneath(it->first, from); ++it) {
    moved.emplace_back(it->second, to + it->first.substr(from.size()));
  }
  for (const auto& [wd, rel] : moved) SetPath(wd, rel);
  // The directories are at paths the stat cache does not know, and a directory made in the
  // moved one before it was watched has no watch yet: walk the new place.
  if (!AddTree(to, true).ok()) lost_ = true;
}

void InotifyTree::HandleEvents(std::string_view data) {
  size_t off = 0;
  while (data.size() - off >= sizeof(struct inotify_event)) {
    struct inotify_event ev;
    std::memcpy(&ev, data.data() + off, sizeof(ev));
    const char* name_at = data.data() + off + sizeof(ev);
    off += sizeof(ev);
    if (ev.len > data.size() - off) break;
    off += ev.len;
    std::string name(name_at, ::strnlen(name_at, ev.len));
    if (ev.mask & IN_Q_OVERFLOW) {
      lost_ = true;
      continue;
    }
    auto it = paths_.find(ev.wd);
    if (it == paths_.end()) {
      if (auto in = inodes_.find(ev.wd); in != inodes_.end()) {
        if (ev.mask & IN_IGNORED) {  // the file is gone
          inode_wds_.erase({in->second.dev, in->second.ino});
          inodes_.erase(in);
        } else {
          // Written or changed through any name or descriptor: the directories of the names
          // known, some of which may have raised no event (a descriptor opened through a
          // name removed since reports to that name's old directory only).
          for (const std::string& dir : in->second.dirs) Dirty(dir);
        }
      }
      continue;  // else a watch already removed
    }
    const std::string rel = it->second;
    if (ev.wd == root_wd_ &&
        (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT))) {
      root_gone_ = true;
    }
    if (ev.mask & IN_IGNORED) {
      Forget(ev.wd);
      continue;
    }
    Dirty(rel);
    if (!name.empty() && !(ev.mask & IN_ISDIR)) {
      const std::string child = ChildRel(rel, name);
      if (ev.mask & (IN_CREATE | IN_MOVED_TO)) {
        // A name made by link(2), or a second name renamed into place (GNU `ln -f` links to a
        // temporary name and renames it) or moved in from outside the tree.
        if (ev.mask & IN_MOVED_TO) unchecked_moves_.erase(ev.cookie);  // checked here instead
        NewName(child);
      } else if ((ev.mask & IN_MOVED_FROM) && unchecked_.erase(child) != 0) {
        unchecked_moves_.insert(ev.cookie);
      } else if (UnnamedFile(child)) {
        // Written through an O_TMPFILE descriptor: reported here, in the directory the file
        // was made in, whatever name linkat(2) has given it since, in any directory (a name
        // with one link, which has no inode watch). Where is not known: vouch for nothing.
        lost_epoch_ = epoch_;
      }
    }
    if (name.empty() || !(ev.mask & IN_ISDIR)) continue;
    const std::string child = ChildRel(rel, name);
    Dirty(child);
    if (ev.mask & IN_CREATE) {
      if (!AddTree(child, true).ok()) lost_ = true;
    } else if (ev.mask & IN_MOVED_FROM) {
      moved_from_[ev.cookie] = child;
    } else if (ev.mask & IN_MOVED_TO) {
      auto from = moved_from_.find(ev.cookie);
      if (from == moved_from_.end()) {  // moved in from outside the tree
        if (!AddTree(child, true).ok()) lost_ = true;
      } else {
        std::string old = std::move(from->second);
        moved_from_.erase(from);
        if (wds_.count(child) != 0) {
          // Onto a watched directory: an exchange (RENAME_EXCHANGE, whose second half names
          // the other directory's watch by a path this one now holds) or a rename over an
          // empty directory. Rebuilt from scratch rather than untangled.
          lost_ = true;
        } else {
          MoveTree(old, child);
        }
      }
    }
  }
}

void InotifyTree::NewName(const std::string& rel) {
  // A name made for a file that had one already (link(2)): a write through it is reported in
  // this directory only, not in those of the file's other names, which may lie in subtrees a
  // checkin takes unseen. Which those are is not known: the epoch is not vouched for. (A name
  // replaced by another file before this lstat is missed: the blind spot in watch.h.)
  struct stat st;
  if (::lstat(Resolve(rel).c_str(), &st) != 0) {
    // Gone already: what it was is not known. If it was renamed within the tree in this batch,
    // its new name is checked instead (HandleEvents); else Settle vouches for nothing before.
    unchecked_.insert(rel);
    return;
  }
  if (SecondName(st)) lost_epoch_ = epoch_;
  NoteName(rel, st);
}

void InotifyTree::NoteName(const std::string& rel, const struct stat& st) {
  const std::pair<dev_t, ino_t> key(st.st_dev, st.st_ino);
  std::string dir(ParentOf(rel));
  if (auto known = inode_wds_.find(key); known != inode_wds_.end()) {
    inodes_[known->second].dirs.insert(std::move(dir));
    return;
  }
  if (st.st_nlink < 2) return;
  if (inodes_.size() >= kMaxInodeWatches) {
    inodes_blind_ = true;
    return;
  }
  // IN_MASK_CREATE: a name that became a watched directory meanwhile keeps its watch's mask.
  int wd = ::inotify_add_watch(fd_, Resolve(rel).c_str(), kInodeMask | IN_MASK_CREATE);
  if (wd < 0) {
    if (errno == EACCES || errno == EPERM) {
      // A file the watcher may not read (inotify wants read access): left unwatched, a gap
      // watch.h states, rather than vouching for nothing while it exists.
    } else if (Vanished(errno) || errno == EEXIST) {
      lost_epoch_ = epoch_;  // replaced since the lstat: its events tell of the new one
    } else {
      inodes_blind_ = true;  // the watch limit
    }
    return;
  }
  inode_wds_[key] = wd;
  inodes_[wd] = InodeWatch{st.st_dev, st.st_ino, {std::move(dir)}};
}

bool InotifyTree::UnnamedFile(const std::string& rel) const {
  // The kernel names an O_TMPFILE file's entry "#INODE" (d_tmpfile), in no directory listing.
  const std::string_view name = BaseName(rel);
  if (name.size() < 2 || name[0] != '#' ||
      name.find_first_not_of("0123456789", 1) != std::string_view::npos) {
    return false;
  }
  struct stat st;
  return ::lstat(Resolve(rel).c_str(), &st) != 0 && errno == ENOENT;
}

bool InotifyTree::SecondName(const struct stat& st) {
  // A fifo, symlink or device with several names too: a chmod or chown through one marks only
  // its own directory.
  return !S_ISDIR(st.st_mode) && st.st_nlink > 1;
}

void InotifyTree::Settle() {
  // A directory moved out of the tree: whatever holds its path by now (a new directory, or the
  // same one moved back in, which inotify gives back the same watch) cannot be told apart from
  // it by its watch, so nothing is removed: the watches are rebuilt.
  if (!moved_from_.empty()) lost_ = true;
  moved_from_.clear();
  // A name made and removed (or moved out of the tree) before it was looked at: it may have
  // been a second name of a file, written through (watch.h).
  if (!unchecked_.empty() || !unchecked_moves_.empty()) lost_epoch_ = epoch_;
  unchecked_.clear();
  unchecked_moves_.clear();
  if (lost_) Recover();
}

void InotifyTree::Recover() {
  lost_ = false;
  aliased_ = false;
  lost_epoch_ = epoch_;
  // Events still queued on the old descriptor are dropped with it: no earlier token is vouched
  // for, and each directory is watched again before it is listed.
  if (fd_ >= 0) ::close(fd_);
  paths_.clear();
  wds_.clear();
  moved_from_.clear();
  boundaries_.clear();
  inodes_.clear();
  inode_wds_.clear();
  inodes_blind_ = false;
  root_wd_ = -1;
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  blind_ = fd_ < 0 || !AddTree("", false).ok();
  if (auto it = wds_.find(""); it != wds_.end()) root_wd_ = it->second;
  struct stat st;
  if (::lstat(root_.c_str(), &st) != 0 || st.st_dev != root_dev_ || st.st_ino != root_ino_) {
    root_gone_ = true;  // another directory at the root's path: not the tree watched
  }
}

void InotifyTree::MountsChanged() {
  // Only mounts at or beneath the root matter (the walk keeps a mount point as an empty
  // directory): one elsewhere on the host costs nothing. The mount points are listed in the
  // table's order, so any mount or unmount beneath the root changes the list.
  std::vector<std::string> now = MountsBeneath(ReadToEnd(mounts_fd_), root_);
  // A mount replaced by another at the same point between two reads (umount, mount) leaves the
  // lines as they were, mount ID and device included (both are reused at once): the mounts'
  // unique IDs tell. Without them (a kernel before 6.8), any change of the table while
  // something is mounted beneath the root is taken as one beneath it.
  std::optional<std::string> ids = MountIds(now);
  if (now != mounts_ || (!now.empty() && (!ids || !mount_ids_ || *ids != *mount_ids_))) {
    lost_ = true;
  }
  mounts_ = std::move(now);
  mount_ids_ = std::move(ids);
}

Status InotifyTree::Drain() {
  // The root's held descriptor delays its IN_DELETE_SELF until it is closed: a root removed
  // shows as one without links.
  struct stat root;
  if (::fstat(root_fd_, &root) != 0 || root.st_nlink == 0) root_gone_ = true;
  pollfd mounts{mounts_fd_, POLLPRI, 0};
  if (::poll(&mounts, 1, 0) > 0 && (mounts.revents & (POLLPRI | POLLERR)) != 0) MountsChanged();
  alignas(struct inotify_event) char buf[64 * 1024];
  while (fd_ >= 0) {  // none after a recovery that could not open one: blind_ says so
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return ErrnoStatus("watch", root_, errno);
    HandleEvents(std::string_view(buf, static_cast<size_t>(n)));
  }
  Settle();
  return Status::Ok();
}

Result<WatchReport> InotifyTree::Sync(const WatchToken& since) {
  CAIRN_RETURN_IF_ERROR(Drain());
  if (blind_) Recover();
  WatchReport r;
  // A directory at two paths: a change in it is reported under one of them only, and the
  // walk would take the other as recorded.
  if (aliased_) lost_epoch_ = epoch_;
  // A file with several names left without an inode watch: a write through a descriptor may
  // go unreported (watch.h).
  if (inodes_blind_) lost_epoch_ = epoch_;
  r.all = root_gone_ || since.instance != instance_ || since.epoch == 0 || since.epoch > epoch_ ||
          since.epoch <= lost_epoch_;
  if (!r.all) {
    std::set<std::string> dirty;
    for (const auto& [rel, epoch] : dirty_) {
      if (epoch >= since.epoch) dirty.insert(dirty.end(), rel);
    }
    // What is mounted beneath the tree (a filesystem, a directory or a file bound over a name)
    // and a directory of another device (a btrfs subvolume) raise no event in the directory
    // holding them when their root's metadata or, for a file, its content changes (the event
    // goes to the mounted dentry's own parent, if any): that directory is always looked at.
    for (const std::string& point : mounts_) {
      if (point == root_) continue;
      std::string_view rel = std::string_view(point).substr(root_ == "/" ? 1 : root_.size() + 1);
      dirty.insert(std::string(ParentOf(rel)));
    }
    for (const std::string& rel : boundaries_) dirty.insert(std::string(ParentOf(rel)));
    // A file behind a loop device is written by the kernel, which raises no inotify event for
    // it, while the device is attached: its directory is looked at. (Detaching the device
    // closes the file, an IN_CLOSE_WRITE, so writes made before that are seen as any other.)
    const std::string prefix = root_ == "/" ? "/" : root_ + "/";
    for (const std::string& file : LoopBackingFiles()) {
      if (file.size() > prefix.size() && file.starts_with(prefix)) {
        dirty.insert(std::string(ParentOf(std::string_view(file).substr(prefix.size()))));
      }
    }
    r.dirty.assign(dirty.begin(), dirty.end());
  }
  ++epoch_;
  // A directory still unwatched: the new epoch cannot be vouched for either.
  if (blind_ || inodes_blind_) lost_epoch_ = epoch_;
  r.token = {instance_, epoch_};
  return r;
}

}  // namespace cairn::indexer
