// RocksStore: the on-disk ObjectStore, one RocksDB database with a column family per Space.
// The format is specified in docs/format/store.md; the tuning is explained in rocks_store.cc and
// measured in docs/store-tuning.md.
//
// Thread-safety: as ObjectStore. One RocksStore per process per directory; a second writing
// process gets Busy from Open.
#ifndef CAIRN_CAS_ROCKS_STORE_H_
#define CAIRN_CAS_ROCKS_STORE_H_

#include <memory>
#include <string>

#include "cas/object_store.h"

namespace rocksdb {
class FileSystem;
}

namespace cairn::cas {

struct RocksStoreOptions {
  // Create the database if it does not exist. Default: false.
  bool create_if_missing = false;
  // Open read-only: no lock is taken, so many readers may run beside one writer; the store
  // sees the data as of the open. Default: false.
  bool read_only = false;
  // Keep object records of at least blob_min_size bytes in RocksDB's blob files, so that
  // compaction moves only small index entries, never the data. Default: true (measured:
  // docs/store-tuning.md).
  bool blob_files = true;
  // Default: 4096.
  uint64_t blob_min_size = 4096;
  // Memtable size of the objects column family. Bounds the memory of a bulk ingest.
  // Default: 16 MiB.
  size_t write_buffer_size = 16 << 20;
  // Collect RocksDB statistics (for benchmarks). Default: false.
  bool statistics = false;
  // The file system RocksDB uses; null: the operating system's. A seam for tests that cut the
  // power at a chosen write (tests/cas/power_cut_fs.h).
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

// Statistics for benchmarks: bytes written by flushes, compactions and blob files.
struct RocksIoStats {
  uint64_t flush_write_bytes = 0;
  uint64_t compact_write_bytes = 0;
  uint64_t compact_read_bytes = 0;
  uint64_t blob_write_bytes = 0;
  uint64_t wal_bytes = 0;
  uint64_t user_bytes_written = 0;
};

// The descriptors a writing RocksStore holds at most: the table and blob files it keeps open
// (512, or a quarter of the process's descriptor limit where that is less, at least RocksDB's
// floor of 20) and, beside them, its logs, manifest, lock, directories and the files its flushes
// and compactions write. Work that opens many files at once beside a writer (a checkin's
// readers) leaves this many free.
int WriterDescriptorsMax();

class RocksStore : public ObjectStore {
 public:
  // Opens the database in `dir`. Busy if another process holds the write lock; IOError,
  // Corruption or NotFound (missing and !create_if_missing) otherwise, each naming `dir`.
  static Result<std::unique_ptr<RocksStore>> Open(const std::string& dir,
                                                   const RocksStoreOptions& options);
  ~RocksStore() override;

  // Only meaningful with options.statistics.
  virtual RocksIoStats IoStats() const = 0;
  // Waits for background compactions to finish (benchmarks).
  virtual Status WaitForCompactions() = 0;
};

}  // namespace cairn::cas

#endif  // CAIRN_CAS_ROCKS_STORE_H_
