#include "cas/rocks_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace cairn::cas {

AppendOnlyLogger::AppendOnlyLogger(const std::string& path, rocksdb::InfoLogLevel level)
    : rocksdb::Logger(level) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  struct stat st;
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && st.st_size > kMaxBytes) (void)::ftruncate(fd_, 0);
}

AppendOnlyLogger::~AppendOnlyLogger() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendOnlyLogger::Logv(const char* format, va_list ap) {
  if (fd_ < 0) return;
  char line[1024];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  size_t n = std::strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
  va_list copy;
  va_copy(copy, ap);
  int m = std::vsnprintf(line + n, sizeof line - n - 1, format, copy);
  va_end(copy);
  if (m < 0) return;
  n = std::min(n + static_cast<size_t>(m), sizeof line - 2);
  line[n++] = '\n';
  (void)!::write(fd_, line, n);
}

namespace {
std::string ReservePath(const std::string& db_dir) { return db_dir + "/RESERVE"; }
}  // namespace

off_t MakeReserve(const std::string& db_dir) {
  const std::string path = ReservePath(db_dir);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size >= kReserveBytes) {
    return st.st_size;  // a killed writer's
  }
  struct statvfs vfs;
  if (::statvfs(db_dir.c_str(), &vfs) != 0 ||
      static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < kReserveBytes + (1u << 20)) {
    return 0;
  }
  return GrowReserve(db_dir, kReserveBytes) ? kReserveBytes : 0;
}

bool GrowReserve(const std::string& db_dir, off_t bytes) {
  int fd = ::open(ReservePath(db_dir).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  // Blocks allocated, not written: on ext4 and xfs an unwritten extent, on tmpfs pages. A
  // failure leaves the blocks it allocated (ext4 keeps a partial allocation): the size is cut
  // back to what it was, which frees them.
  struct stat st;
  const off_t had = ::fstat(fd, &st) == 0 ? st.st_size : 0;
  const bool grown = bytes <= had || ::posix_fallocate(fd, had, bytes - had) == 0;
  if (!grown) (void)::ftruncate(fd, had);
  ::close(fd);
  return grown;
}

void DropReserve(const std::string& db_dir) { (void)::unlink(ReservePath(db_dir).c_str()); }

}  // namespace cairn::cas
