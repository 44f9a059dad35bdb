// Env: cairn's access to the operating system's files, injectable so that tests can substitute
// faults. The default Env is POSIX. RocksDB has its own Env inside cas/.
//
// Thread-safety: Env methods are safe to call concurrently; file objects are not shared.
#ifndef CAIRN_BASE_ENV_H_
#define CAIRN_BASE_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cairn {

class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes into buf; returns the count (0 at end of file) or an IOError naming
  // the file.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // The file's size when opened.
  virtual uint64_t Size() const = 0;
};

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Writes `data` at `offset` (pwrite), leaving the append position alone. Calls for disjoint
  // ranges may run on many threads at once. NotSupported where the file cannot seek (a pipe,
  // a terminal): such files take Append only.
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;
  // Reserves disk blocks for the first `size` bytes (fallocate), so that writes fill blocks
  // already allocated instead of reserving them page by page. A file or filesystem that cannot
  // (a pipe, a filesystem without fallocate) is left as it is; no room on the disk is an IOError.
  virtual Status Allocate(uint64_t /*size*/) { return Status(); }
  // Flushes the data to stable storage (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide POSIX Env. Never null; not owned by the caller.
  static Env* Default();

  // "-" is standard input.
  virtual Result<std::unique_ptr<SequentialFile>> NewSequentialFile(const std::string& path) = 0;
  // Creates or truncates; "-" is standard output.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // mkdir -p. Ok if it exists as a directory.
  virtual Status CreateDirs(const std::string& path) = 0;
  virtual bool IsDirectory(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // fsync of a directory, so that a rename in it is durable.
  virtual Status SyncDir(const std::string& path) = 0;
};

// A WritableFile over descriptor `fd`, which stays the caller's (Close does not close it): for a
// file opened by other means (indexer/output_file.h). `name` is for messages.
std::unique_ptr<WritableFile> WritableFileOnFd(std::string name, int fd);

// Reads descriptor `fd` (a pipe, a socket) until end of file, an error or a receive timeout,
// and returns what it read; EINTR is retried. The descriptor stays the caller's.
std::string ReadFdToEnd(int fd);

// Reads a whole file into a string. REQUIRES: the file fits in memory.
Result<std::string> ReadFileToString(Env* env, const std::string& path);

// Writes `data` to `path` so that readers see either the old content or all of the new:
// a temporary file beside it, fsync, rename, fsync of the directory.
Status WriteFileAtomic(Env* env, const std::string& path, std::string_view data);

}  // namespace cairn

#endif  // CAIRN_BASE_ENV_H_
