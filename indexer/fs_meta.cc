#include "indexer/fs_meta.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace cairn::indexer {

PathAt::PathAt(int at, const std::string& path) : at_(at), name_(path.c_str()) {
  // Room for "/proc/self/fd/N/" before the rest (whole()).
  constexpr size_t kMaxPiece = PATH_MAX - 64;
  if (path.size() < kMaxPiece) return;
  size_t start = 0;
  while (path.size() - start >= kMaxPiece) {
    const size_t slash = path.rfind('/', start + kMaxPiece - 1);
    if (slash == std::string::npos || slash < start) {  // no name is that long (NAME_MAX)
      error_ = ENAMETOOLONG;
      return;
    }
    const std::string piece = slash == 0 ? "/" : path.substr(start, slash - start);
    const int fd =
        ::openat(at_, piece.empty() ? "." : piece.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      error_ = errno;
      return;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    at_ = fd;
    start = slash + 1;
  }
  rest_ = path.substr(start);
  name_ = rest_.c_str();
  proc_ = "/proc/self/fd/" + std::to_string(fd_) + "/" + rest_;
}

PathAt::~PathAt() {
  if (fd_ >= 0) ::close(fd_);
}

cas::Metadata MetadataFromStat(const struct stat& st) {
  cas::Metadata m;
  m.mode = st.st_mode & 07777;
  m.uid = st.st_uid;
  m.gid = st.st_gid;
  m.mtime_sec = st.st_mtim.tv_sec;
  m.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  return m;
}

std::optional<cas::EntryType> EntryTypeOfMode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return cas::EntryType::kRegular;
    case S_IFDIR: return cas::EntryType::kDirectory;
    case S_IFLNK: return cas::EntryType::kSymlink;
    case S_IFCHR: return cas::EntryType::kCharDevice;
    case S_IFBLK: return cas::EntryType::kBlockDevice;
    case S_IFIFO: return cas::EntryType::kFifo;
    case S_IFSOCK: return cas::EntryType::kSocket;
  }
  return std::nullopt;
}

Result<std::string> ReadLinkTarget(const std::string& path, off_t size_hint) {
  PathAt p(AT_FDCWD, path);
  if (p.error() != 0) return ErrnoStatus("read link", path, p.error());
  std::string buf(static_cast<size_t>(size_hint > 0 ? size_hint : 255) + 1, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(p.at(), p.name(), buf.data(), buf.size());
    if (n < 0) return ErrnoStatus("read link", path, errno);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

Result<std::string> ListXattrNames(int fd, const char* path, bool follow,
                                   const std::string& shown) {
  auto list = [&](char* out, size_t size) {
    return fd >= 0  ? ::flistxattr(fd, out, size)
           : follow ? ::listxattr(path, out, size)
                    : ::llistxattr(path, out, size);
  };
  std::string names(256, '\0');
  for (;;) {
    ssize_t n = list(names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      return names;
    }
    if (errno == ENOTSUP) return std::string();
    if (errno != ERANGE) return ErrnoStatus("list xattrs of", shown, errno);
    ssize_t need = list(nullptr, 0);
    if (need < 0) return ErrnoStatus("list xattrs of", shown, errno);
    names.assign(static_cast<size_t>(need) + 1, '\0');  // +1: a name added meanwhile fails again
  }
}

Result<cas::Xattrs> ReadXattrs(const std::string& path) {
  PathAt p(AT_FDCWD, path);
  if (p.error() != 0) return ErrnoStatus("list xattrs of", path, p.error());
  const char* at = p.whole();
  cas::Xattrs out;
  CAIRN_ASSIGN_OR_RETURN(const std::string names, ListXattrNames(-1, at, false, path));
  for (size_t pos = 0; pos < names.size();) {
    std::string name(names.c_str() + pos);
    pos += name.size() + 1;
    if (name.empty()) continue;
    std::string value(256, '\0');
    bool gone = false;  // removed between the listing and the read: not recorded
    for (;;) {
      ssize_t n = ::lgetxattr(at, name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        break;
      }
      if (errno == ENODATA) {
        gone = true;
        break;
      }
      if (errno != ERANGE) return ErrnoStatus("read xattr " + name + " of", path, errno);
      ssize_t need = ::lgetxattr(at, name.c_str(), nullptr, 0);
      if (need < 0 && errno == ENODATA) {
        gone = true;
        break;
      }
      if (need < 0) return ErrnoStatus("read xattr " + name + " of", path, errno);
      value.assign(static_cast<size_t>(need), '\0');
    }
    if (!gone) out.emplace_back(std::move(name), std::move(value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// `x` sorted by offset, overlapping and touching extents merged.
std::vector<cas::Extent> Merged(std::vector<cas::Extent> x) {
  std::sort(x.begin(), x.end(),
            [](const cas::Extent& a, const cas::Extent& b) { return a.offset < b.offset; });
  std::vector<cas::Extent> out;
  for (const cas::Extent& e : x) {
    if (!out.empty() && out.back().offset + out.back().length >= e.offset) {
      out.back().length =
          std::max(out.back().offset + out.back().length, e.offset + e.length) - out.back().offset;
    } else {
      out.push_back(e);
    }
  }
  return out;
}

// The allocated ranges of `fd` within [0, size), in order, from FIEMAP; nullopt when the file
// system does not say (EOPNOTSUPP: tmpfs, FUSE...). Every extent counts, whatever its flags
// (unwritten, delayed allocation, inline): each holds data or blocks reserved for it.
Result<std::optional<std::vector<cas::Extent>>> AllocatedExtents(int fd, uint64_t size,
                                                                 const std::string& path) {
  constexpr unsigned kBatch = 128;
  std::vector<char> buf(sizeof(struct fiemap) + kBatch * sizeof(struct fiemap_extent));
  auto* fm = reinterpret_cast<struct fiemap*>(buf.data());
  std::vector<cas::Extent> out;
  uint64_t start = 0;
  bool last = false;
  while (!last && start < size) {
    std::memset(buf.data(), 0, buf.size());
    fm->fm_start = start;
    fm->fm_length = size - start;
    fm->fm_extent_count = kBatch;
    if (::ioctl(fd, FS_IOC_FIEMAP, fm) != 0) {
      if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL) {
        return std::optional<std::vector<cas::Extent>>();
      }
      return ErrnoStatus("map extents of", path, errno);
    }
    if (fm->fm_mapped_extents == 0) break;
    for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
      const struct fiemap_extent& x = fm->fm_extents[i];
      last = (x.fe_flags & FIEMAP_EXTENT_LAST) != 0;
      const uint64_t from = std::max<uint64_t>(x.fe_logical, start);
      const uint64_t to = std::min<uint64_t>(x.fe_logical + x.fe_length, size);
      if (to > from) out.push_back({from, to - from});
      start = std::max<uint64_t>(start, x.fe_logical + x.fe_length);
    }
  }
  return std::optional<std::vector<cas::Extent>>(std::move(out));
}

}  // namespace

Result<std::optional<std::vector<cas::Extent>>> DataExtents(int fd, uint64_t size,
                                                           const std::string& path) {
  using R = std::optional<std::vector<cas::Extent>>;
  std::vector<cas::Extent> out;
  off_t pos = 0;
  const off_t end = static_cast<off_t>(size);
  while (pos < end) {
    off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;               // only a hole remains
      if (errno == EINVAL) return R();         // no hole support: dense
      return ErrnoStatus("seek data in", path, errno);
    }
    if (data >= end) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return ErrnoStatus("seek hole in", path, errno);
    if (hole > end) hole = end;
    out.push_back({static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)});
    pos = hole;
  }
  if (::lseek(fd, 0, SEEK_SET) < 0) return ErrnoStatus("seek in", path, errno);
  auto dense = [&](const std::vector<cas::Extent>& x) {
    return x.size() == 1 && x[0].offset == 0 && x[0].length == size;
  };
  if (size == 0 || dense(out)) return R();
  // Holes by SEEK_DATA: the allocation decides (see fs_meta.h). Data is what either says is
  // data, so that no file system's FIEMAP that leaves some out could turn it into a hole.
  CAIRN_ASSIGN_OR_RETURN(auto allocated, AllocatedExtents(fd, size, path));
  if (allocated) {
    out.insert(out.end(), allocated->begin(), allocated->end());
    out = Merged(std::move(out));
  }
  if (dense(out)) return R();
  return R(std::move(out));
}

bool HolesSettle(const std::string& path) {
  constexpr long kExt = 0xEF53, kXfs = 0x58465342, kBtrfs = 0x9123683E;
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) return false;
  const long type = static_cast<long>(fs.f_type);
  return type == kExt || type == kXfs || type == kBtrfs;
}

OpenDirectory::~OpenDirectory() {
  if (fd_ >= 0) ::close(fd_);
}

Status OpenDirectory::OpenForLookup(const std::string& path) {
  PathAt p(AT_FDCWD, path);
  if (p.error() != 0) return ErrnoStatus("read directory", path, p.error());
  fd_ = ::openat(p.at(), p.name(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) return ErrnoStatus("read directory", path, errno);
  return Status();
}

// getdents64 itself, not readdir: fdopendir would add two fcntl calls per directory, and system
// calls are what the walk of an unchanged tree costs.
int ReadDirectoryNames(int fd, std::vector<std::string>* names) {
  alignas(8) char buf[32 << 10];
  for (;;) {
    long n = ::syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      const auto* de = reinterpret_cast<const struct dirent64*>(buf + off);
      std::string_view name(de->d_name);
      if (name != "." && name != "..") names->emplace_back(name);
      off += de->d_reclen;
    }
  }
}

Status OpenDirectory::Open(const std::string& path, std::vector<std::string>* names) {
  PathAt p(AT_FDCWD, path);
  if (p.error() != 0) return ErrnoStatus("read directory", path, p.error());
  fd_ = ::openat(p.at(), p.name(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) return ErrnoStatus("read directory", path, errno);
  if (int err = ReadDirectoryNames(fd_, names); err != 0) {
    return ErrnoStatus("read directory", path, err);
  }
  std::sort(names->begin(), names->end());  // raw byte order (char_traits compares unsigned)
  return Status();
}

}  // namespace cairn::indexer
