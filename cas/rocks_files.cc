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

// Grows `path` to `bytes` of allocated blocks; false when the disk has no room for them (it
// then keeps the size it had).
bool GrowTo(const std::string& path, off_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
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

}  // namespace

void UndoReserve::Make() {
  const std::string path = ReservePath(dir_);
  std::lock_guard lock(mu_);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size >= kBaseBytes) {  // a killed writer's
    size_ = st.st_size;
    return;
  }
  struct statvfs vfs;
  if (::statvfs(dir_.c_str(), &vfs) != 0 ||
      static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < kBaseBytes + (1u << 20)) {
    return;
  }
  if (GrowTo(path, kBaseBytes)) size_ = kBaseBytes;
}

void UndoReserve::Drop() {
  std::lock_guard lock(mu_);
  (void)::unlink(ReservePath(dir_).c_str());
  size_ = 0;
}

Status UndoReserve::HoldUndo(uint64_t bytes) {
  // Grown a step ahead, so that a large checkin grows it every MiB of undo, not every batch.
  constexpr uint64_t kStep = 1 << 20;
  std::lock_guard lock(mu_);
  undo_bytes_ += bytes;
  const uint64_t need = kBaseBytes + undo_bytes_;
  if (need <= static_cast<uint64_t>(size_)) return Status();
  const off_t target = static_cast<off_t>(need + kStep);
  if (!GrowTo(ReservePath(dir_), target)) {
    return Status::NoSpace(
        "write repository " + dir_ + ": No space left on device (no room left to hold back " +
        std::to_string(target >> 20) + " MiB for undoing this command, should it fail)");
  }
  size_ = target;
  return Status();
}

}  // namespace cairn::cas
