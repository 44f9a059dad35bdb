// Reading and writing file metadata through the operating system: the one place where errno
// from stat, xattr and time calls becomes a Status for the indexer.
#ifndef CAIRN_INDEXER_FS_META_H_
#define CAIRN_INDEXER_FS_META_H_

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "cas/tree.h"

namespace cairn::indexer {

// A path of any length, for the system calls that take one. The kernel refuses a path of
// PATH_MAX bytes or more in one call (ENAMETOOLONG), yet a tree may hold deeper names (cairn's
// own checkout makes them, from a tarball, through directory descriptors). A shorter path is
// used as it is, relative to `at`; a longer one has its directories opened a piece of under
// PATH_MAX bytes at a time (O_PATH), and the call takes the rest relative to the last of them.
// `path` must outlive the PathAt.
class PathAt {
 public:
  // `at`: AT_FDCWD or a directory a relative `path` is looked up in.
  PathAt(int at, const std::string& path);
  ~PathAt();
  PathAt(const PathAt&) = delete;
  PathAt& operator=(const PathAt&) = delete;

  // The errno of opening a directory on the way; 0 if none failed.
  int error() const { return error_; }
  int at() const { return at_; }
  const char* name() const { return name_; }
  // For the calls that take no directory (the l*xattr family), with `at` AT_FDCWD: the path, or
  // "/proc/self/fd/N/rest".
  const char* whole() const { return fd_ >= 0 ? proc_.c_str() : name_; }

 private:
  int at_;
  const char* name_;
  int fd_ = -1;  // the last directory opened on the way (-1: none)
  int error_ = 0;
  std::string rest_, proc_;
};

// Fills mode, uid, gid and mtime from `st`.
cas::Metadata MetadataFromStat(const struct stat& st);
// The entry type for st_mode; nullopt for a kind cairn does not know.
std::optional<cas::EntryType> EntryTypeOfMode(mode_t mode);
// The names of the extended attributes of open file `fd` (if >= 0), else of `path` (following a
// final symlink only when `follow`: /proc/self/fd/N of an O_PATH descriptor reaches its inode
// that way), each ended by a NUL, as listxattr(2) gives them; empty where the filesystem has
// none (ENOTSUP). Errors name `shown`.
Result<std::string> ListXattrNames(int fd, const char* path, bool follow, const std::string& shown);
// Every extended attribute of `path` (not following a final symlink), sorted by name.
Result<cas::Xattrs> ReadXattrs(const std::string& path);
// The target of symlink `path`; `size_hint` is its lstat size (a target may grow meanwhile).
Result<std::string> ReadLinkTarget(const std::string& path, off_t size_hint);
// The data regions of an open file when it has holes (possibly none: all hole); nullopt when it
// is dense. A hole is a range with no blocks allocated: where SEEK_DATA reports holes, the file's
// extents (FIEMAP, where the file system has it) decide, counting preallocated (unwritten)
// extents as data. ext4's SEEK_DATA reports those as holes until their pages are cached (a
// read of the file), so the same file would otherwise be recorded sparse or dense by chance.
Result<std::optional<std::vector<cas::Extent>>> DataExtents(int fd, uint64_t size,
                                                           const std::string& path);

// Whether the file system at `path` settles holes: a file's holes (DataExtents) change only
// with its ctime. True where FIEMAP counts preallocated extents as data (ext2/3/4, XFS, btrfs).
// Elsewhere a hole may turn into data unseen: on tmpfs a read through a mapping of a hole, or of
// a page fallocate(2) reserved, makes it data and moves neither ctime, mtime nor, for a reserved
// page, the block count.
bool HolesSettle(const std::string& path);

// Appends the names of the entries of the directory open as `fd` (not . and ..), read from its
// current offset, to `names` in the order the file system gives them (getdents64). 0, or the
// errno of the read that failed.
int ReadDirectoryNames(int fd, std::vector<std::string>* names);

// A directory held open so that its entries can be stat'ed relative to it (fstatat: one name
// lookup each, not a walk of the whole path from the root). Closed on destruction.
class OpenDirectory {
 public:
  OpenDirectory() = default;
  OpenDirectory(const OpenDirectory&) = delete;
  OpenDirectory& operator=(const OpenDirectory&) = delete;
  ~OpenDirectory();
  // Opens `path` and lists the names of its entries (not . and ..) into `names`, in raw byte
  // order. IOError naming `path`.
  Status Open(const std::string& path, std::vector<std::string>* names);
  // Opens `path` only to look names up in it (O_PATH): no listing. IOError naming `path`.
  Status OpenForLookup(const std::string& path);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_FS_META_H_
