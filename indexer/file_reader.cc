#include "indexer/file_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include "indexer/fs_meta.h"

namespace cairn::indexer {
namespace {

// Files up to this size are read whole and stored from memory.
constexpr uint64_t kSmallFile = 1 << 20;

// A SequentialFile over the data regions of an open file (all of it when dense).
class ExtentFile final : public SequentialFile {
 public:
  ExtentFile(int fd, std::string path, std::vector<cas::Extent> extents)
      : fd_(fd), path_(std::move(path)), extents_(std::move(extents)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n && i_ < extents_.size()) {
      const cas::Extent& x = extents_[i_];
      uint64_t left = x.length - pos_;
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, n - done));
      ssize_t r = ::pread(fd_, buf + done, want, static_cast<off_t>(x.offset + pos_));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno);
      }
      if (r == 0) {
        return Status::IOError("read " + path_ + ": file shrank while being read (it is changing)");
      }
      done += static_cast<size_t>(r);
      pos_ += static_cast<uint64_t>(r);
      if (pos_ == x.length) {
        ++i_;
        pos_ = 0;
      }
    }
    total_ += done;
    return done;
  }
  uint64_t Size() const override { return 0; }
  uint64_t total() const { return total_; }

 private:
  int fd_;
  std::string path_;
  std::vector<cas::Extent> extents_;
  size_t i_ = 0;
  uint64_t pos_ = 0;
  uint64_t total_ = 0;
};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status Changed(const std::string& path) {
  return Status::IOError("read " + path + ": file changed during checkin (the tree is changing)");
}

}  // namespace

Result<FileOut> ReadAndStoreFile(cas::Ingestor* ingestor, const std::string& path,
                                 const std::string& rel, const struct stat& st,
                                 const CheckinOptions& options) {
  FileOut out;
  out.path = rel;
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (f.fd < 0 && errno == EPERM) f.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (f.fd < 0) {
    if (options.skip_unreadable && (errno == EACCES || errno == EPERM || errno == EIO)) {
      out.skipped = true;
      return out;
    }
    if (errno == ENOENT || errno == ELOOP) return Changed(path);
    return ErrnoStatus("open", path, errno);
  }
  struct stat before;
  if (::fstat(f.fd, &before) != 0) return ErrnoStatus("stat", path, errno);
  if (before.st_ino != st.st_ino || before.st_dev != st.st_dev || before.st_size != st.st_size ||
      before.st_mtim.tv_sec != st.st_mtim.tv_sec || before.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
    return Changed(path);
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  std::optional<std::vector<cas::Extent>> extents;
  if (options.record_holes) {
    CAIRN_ASSIGN_OR_RETURN(extents, DataExtents(f.fd, size, path));
  }
  std::vector<cas::Extent> regions = extents ? *extents : std::vector<cas::Extent>{{0, size}};
  if (size == 0) regions.clear();
  uint64_t expect = 0;
  for (const auto& x : regions) expect += x.length;
  ExtentFile file(f.fd, path, regions);
  Result<cas::FileContent> content = Status::Internal("unreachable");
  if (!extents && size <= kSmallFile) {
    std::string data(size, '\0');
    CAIRN_ASSIGN_OR_RETURN(size_t n, file.Read(data.data(), data.size()));
    if (n != size) return Changed(path);
    content = ingestor->PutBytes(data);
  } else {
    content = ingestor->PutStream(&file, path);
  }
  if (!content) {
    if (options.skip_unreadable && content.error().code() == Code::kIOError &&
        content.error().message().find("Input/output error") != std::string::npos) {
      out.skipped = true;
      return out;
    }
    return std::move(content).error();
  }
  struct stat after;
  if (::fstat(f.fd, &after) != 0) return ErrnoStatus("stat", path, errno);
  if (file.total() != expect || after.st_size != before.st_size ||
      after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
      after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
      after.st_ctim.tv_nsec != before.st_ctim.tv_nsec) {
    return Changed(path);
  }
  out.content = *content;
  out.bytes_read = expect;
  out.sparse = extents.has_value();
  if (extents) out.extents = std::move(*extents);
  return out;
}

}  // namespace cairn::indexer
