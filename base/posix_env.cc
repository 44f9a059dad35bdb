#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/env.h"

namespace cairn {
namespace {

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd, uint64_t size, bool owned)
      : path_(std::move(path)), fd_(fd), size_(size), owned_(owned) {}
  ~PosixSequentialFile() override {
    if (owned_) ::close(fd_);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::read(fd_, buf + done, n - done);
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }
  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
  bool owned_;
};

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, bool owned)
      : path_(std::move(path)), fd_(fd), owned_(owned) {}
  ~PosixWritableFile() override {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t w = ::write(fd_, data.data(), data.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(w));
    }
    return Status();
  }
  Status WriteAt(uint64_t offset, std::string_view data) override {
    while (!data.empty()) {
      ssize_t w = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == ESPIPE) return Status::NotSupported("write " + path_ + ": cannot seek");
        return ErrnoStatus("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(w));
      offset += static_cast<uint64_t>(w);
    }
    return Status();
  }
  Status Allocate(uint64_t size) override {
    if (size == 0 || ::fallocate(fd_, 0, 0, static_cast<off_t>(size)) == 0) return Status();
    if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG) return ErrnoStatus("allocate", path_, errno);
    return Status();  // EOPNOTSUPP, ENODEV, ESPIPE...: the writes allocate as they go
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0 && errno != EINVAL) return ErrnoStatus("sync", path_, errno);
    return Status();
  }
  Status Close() override {
    if (!owned_ || fd_ < 0) return Status();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return ErrnoStatus("close", path_, errno);
    return Status();
  }

 private:
  std::string path_;
  int fd_;
  bool owned_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) override {
    if (path == "-") return std::unique_ptr<SequentialFile>(new PosixSequentialFile("stdin", 0, 0, false));
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return ErrnoStatus("stat", path, e);
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return Status::InvalidArgument("open " + path + ": is a directory");
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<SequentialFile>(
        new PosixSequentialFile(path, fd, static_cast<uint64_t>(st.st_size), true));
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    if (path == "-") return std::unique_ptr<WritableFile>(new PosixWritableFile("stdout", 1, false));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return ErrnoStatus("create", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd, true));
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from, errno);
    return Status();
  }
  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("remove", path, errno);
    return Status();
  }
  Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return ErrnoStatus("create directory", path, ec.value());
    return Status();
  }
  bool IsDirectory(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }
  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("sync", path, e);
    return Status();
  }
};

}  // namespace

std::unique_ptr<WritableFile> WritableFileOnFd(std::string name, int fd) {
  return std::make_unique<PosixWritableFile>(std::move(name), fd, /*owned=*/false);
}

Env* Env::Default() {
  static PosixEnv env;
  return &env;
}

std::string ReadFdToEnd(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> ReadFileToString(Env* env, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(auto file, env->NewSequentialFile(path));
  std::string out;
  char buf[65536];
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(size_t n, file->Read(buf, sizeof(buf)));
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

Status WriteFileAtomic(Env* env, const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  {
    CAIRN_ASSIGN_OR_RETURN(auto f, env->NewWritableFile(tmp));
    CAIRN_RETURN_IF_ERROR(f->Append(data));
    CAIRN_RETURN_IF_ERROR(f->Sync());
    CAIRN_RETURN_IF_ERROR(f->Close());
  }
  CAIRN_RETURN_IF_ERROR(env->RenameFile(tmp, path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  return env->SyncDir(dir.empty() ? "." : dir);
}

}  // namespace cairn
