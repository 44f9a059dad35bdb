// MappedFile: a regular file mapped read-only, so that a checkin hashes and compresses it in
// place instead of copying it into fresh buffers first (a 4.7 MB file read into fresh memory
// cost 18-20 ms on this class of VM, its pages mapped 0.35 ms: docs/benchmarks.md, session 16).
//
// A mapping is only safe while the file keeps its size: a page past a truncated end raises
// SIGBUS. So a file is mapped only under a read lease (fcntl F_SETLEASE F_RDLCK): while it is
// held, another process that opens the file for writing or truncates it waits (up to
// /proc/sys/fs/lease-break-time) until the mapping is gone, and a file already open for
// writing anywhere cannot be leased at all (Map returns null, the caller reads it). The lease's
// break notice (SIGIO) is ignored: the breaker only waits for the checkin to finish the file.
// Pages are faulted in piece by piece with madvise(MADV_POPULATE_READ), which reports a disk
// error as an error instead of SIGBUS; a page lost to memory pressure and unreadable when
// faulted in again is one case left, a writer that waited out the lease-break time and then
// truncated the file the other; a SIGBUS handler then names the file and exits with kExitIO (6):
// the repository stays as a crash leaves it (valid, the version not recorded).
//
// Thread-safety: data() may be read from any thread; Populate from one at a time.
#ifndef CAIRN_INDEXER_MAPPED_FILE_H_
#define CAIRN_INDEXER_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cairn::indexer {

class MappedFile {
 public:
  // Larger files are left to read(2): the lease is held while the file is hashed and
  // compressed (~100 MB/s here), far below the 45 s a writer waits before the kernel breaks it.
  static constexpr uint64_t kMaxMapped = uint64_t{256} << 20;

  // Maps `size` bytes of `fd` (a regular file opened read-only, `path` for messages), or null
  // when the file cannot be guarded: the lease is refused (open for writing elsewhere, not
  // the caller's and no CAP_LEASE, a file system without leases) or the kernel lacks
  // MADV_POPULATE_READ (Linux < 5.14), or the file is larger than kMaxMapped.
  static std::unique_ptr<MappedFile> Map(int fd, uint64_t size, const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view data() const { return {base_, size_}; }
  // Faults in the pages of [offset, offset + n): IOError naming the file when they cannot be
  // read ("Input/output error", as a read would say).
  Status Populate(size_t offset, size_t n);

 private:
  MappedFile(int fd, const char* base, size_t size, std::string path);
  int fd_;
  const char* base_;
  size_t size_;
  std::string path_;
  int slot_ = -1;  // in the SIGBUS handler's table; -1: not registered
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_MAPPED_FILE_H_
