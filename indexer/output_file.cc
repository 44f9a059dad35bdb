#include "indexer/output_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>

namespace cairn::indexer {
namespace {

// How many taken names to step over before giving up (each is a fresh random one).
constexpr int kNameTries = 100;

}  // namespace

Result<bool> CheckTargetFree(const std::string& target, bool force) {
  struct stat st;
  if (force) return true;
  if (::lstat(target.c_str(), &st) != 0) return false;
  if (S_ISREG(st.st_mode) && st.st_size == 0) return true;
  if (S_ISDIR(st.st_mode))
    return Status::InvalidArgument("checkout " + target + ": target is a directory");
  const std::string what = S_ISREG(st.st_mode)   ? "exists and is not empty"
                           : S_ISLNK(st.st_mode) ? "is a symbolic link"
                                                 : "exists and is not a regular file";
  return Status::InvalidArgument("checkout " + target + ": target " + what +
                                 " (use --force to replace it)");
}

std::string UniqueTempName(const std::string& base) {
  static std::atomic<uint64_t> counter{0};
  std::seed_seq seed{
      static_cast<uint64_t>(::getpid()), counter.fetch_add(1),
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
      static_cast<uint64_t>(std::random_device{}())};
  std::mt19937_64 rng(seed);
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name = base + ".cairn-tmp.";
  for (int i = 0; i < 8; ++i) name += kChars[rng() % (sizeof(kChars) - 1)];
  return name;
}

Result<std::unique_ptr<OutputFile>> OutputFile::Create(const std::string& target, mode_t mode) {
  size_t slash = target.rfind('/');
  std::string dir = slash == std::string::npos ? "." : target.substr(0, slash);
  if (dir.empty()) dir = "/";
  std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    return Status::InvalidArgument("create " + target + ": names a directory");
  }
  int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return ErrnoStatus("open directory", dir, errno);
  int fd = ::openat(dirfd, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, mode);
  if (fd >= 0) {
    return std::unique_ptr<OutputFile>(new OutputFile(dirfd, fd, target, base, ""));
  }
  // Filesystems without unnamed files say so in one of these ways.
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    int err = errno;
    ::close(dirfd);
    return ErrnoStatus("create a file in", dir, err);
  }
  for (int i = 0; i < kNameTries; ++i) {
    std::string name = UniqueTempName(base);
    fd = ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) {
      return std::unique_ptr<OutputFile>(new OutputFile(dirfd, fd, target, base, name));
    }
    if (errno != EEXIST) break;
  }
  int err = errno;
  ::close(dirfd);
  return ErrnoStatus("create a file in", dir, err);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!name_.empty()) ::unlinkat(dirfd_, name_.c_str(), 0);
  ::close(dirfd_);
}

Status OutputFile::LinkUnnamed() {
  std::string proc = "/proc/self/fd/" + std::to_string(fd_);
  for (int i = 0; i < kNameTries; ++i) {
    std::string name = UniqueTempName(base_);
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link works for anyone.
    int rc = ::linkat(fd_, "", dirfd_, name.c_str(), AT_EMPTY_PATH);
    if (rc != 0 && errno != EEXIST) {
      rc = ::linkat(AT_FDCWD, proc.c_str(), dirfd_, name.c_str(), AT_SYMLINK_FOLLOW);
    }
    if (rc == 0) {
      name_ = name;
      return Status();
    }
    if (errno != EEXIST) break;
  }
  return ErrnoStatus("link a new file beside", target_, errno);
}

Status OutputFile::Publish(bool replace) {
  if (name_.empty() && !replace) {
    // An unnamed file gets the target's name only if it is free: linkat never replaces.
    std::string proc = "/proc/self/fd/" + std::to_string(fd_);
    int rc = ::linkat(fd_, "", dirfd_, base_.c_str(), AT_EMPTY_PATH);
    if (rc != 0 && errno != EEXIST) {
      rc = ::linkat(AT_FDCWD, proc.c_str(), dirfd_, base_.c_str(), AT_SYMLINK_FOLLOW);
    }
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (rc == 0) return Status();
    if (err == EEXIST) return Status::AlreadyExists("create " + target_ + ": it exists");
    return ErrnoStatus("create", target_, err);
  }
  if (replace) {
    // The regular file replaced keeps its owner and permissions, as writing into it would have:
    // a private empty file made for the output (`install -m 600 /dev/null out.tar`) must not
    // become a world-readable one holding the image's /etc/shadow.
    struct stat st;
    if (::fstatat(dirfd_, base_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      if (::geteuid() == 0 && ::fchown(fd_, st.st_uid, st.st_gid) != 0) {
        return ErrnoStatus("give the owner of", target_, errno);
      }
      if (::fchmod(fd_, st.st_mode & 0777) != 0) {
        return ErrnoStatus("give the permissions of", target_, errno);
      }
    }
  }
  if (name_.empty()) CAIRN_RETURN_IF_ERROR(LinkUnnamed());
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return ErrnoStatus("write", target_, errno);  // e.g. a deferred NFS error
  if (replace) {
    if (::renameat(dirfd_, name_.c_str(), dirfd_, base_.c_str()) != 0) {
      return ErrnoStatus("rename a new file to", target_, errno);
    }
  } else {
    // Where renameat2 cannot refuse to replace, a hard link does, and then the temporary
    // name goes.
    int r = ::renameat2(dirfd_, name_.c_str(), dirfd_, base_.c_str(), RENAME_NOREPLACE);
    if (r != 0 && errno == EINVAL) {
      r = ::linkat(dirfd_, name_.c_str(), dirfd_, base_.c_str(), 0);
      if (r == 0) ::unlinkat(dirfd_, name_.c_str(), 0);
    }
    if (r != 0) {
      if (errno == EEXIST) return Status::AlreadyExists("create " + target_ + ": it exists");
      return ErrnoStatus("create", target_, errno);
    }
  }
  name_.clear();
  return Status();
}

}  // namespace cairn::indexer
