// Repository: one store on disk. A directory holding a marker file `CAIRN` (format version) and
// the RocksDB database in `db/` (docs/format/store.md). Settings chosen at init (zstd level,
// chunker sizes) live in the store's meta space so that every later writer uses the same.
//
// Thread-safety: a Repository may be shared by threads. Across processes, one writer at a time:
// Open for writing waits for the other writer (see Open) and readers never wait.
#ifndef CAIRN_CAS_REPOSITORY_H_
#define CAIRN_CAS_REPOSITORY_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cas/chunker.h"
#include "cas/ingestor.h"
#include "cas/object_store.h"
#include "cas/rocks_store.h"

namespace cairn::cas {

struct RepositoryConfig {
  // Default: 4 (docs/store-tuning.md: as fast as 3 on 64 KiB chunks, 1.4-1.8% smaller).
  int zstd_level = 4;
  // For objects smaller than chunker.min_size (small files, Trees). Default: 4.
  int small_zstd_level = 4;
  ChunkerOptions chunker;

  Status Validate() const;
  std::string Encode() const;
  static Result<RepositoryConfig> Decode(std::string_view text);
};

class Repository {
 public:
  enum class Mode { kRead, kWrite };
  struct OpenOptions {
    Mode mode = Mode::kRead;
    // How long a writer waits for another writer to finish. Default: 60 s.
    std::chrono::milliseconds wait = std::chrono::seconds(60);
    // Called once when the writer starts waiting, with a message for the user.
    std::function<void(const std::string&)> on_wait;
    // The file system under the store (RocksStoreOptions::file_system); null: the real one.
    std::shared_ptr<rocksdb::FileSystem> file_system;
  };

  // Creates a repository in `dir` (created if missing; it must be empty or absent).
  // AlreadyExists if `dir` is a repository; InvalidArgument if it is a non-empty directory
  // that is not one.
  static Status Init(const std::string& dir, const RepositoryConfig& config);
  static bool Exists(const std::string& dir);
  // NotFound ("not a cairn repository") when `dir` is not one; Busy when another process
  // writes and `wait` elapsed.
  static Result<std::unique_ptr<Repository>> Open(const std::string& dir,
                                                   const OpenOptions& options);

  ~Repository();
  ObjectStore* store() { return store_.get(); }
  const RepositoryConfig& config() const { return config_; }
  const std::string& dir() const { return dir_; }
  IngestOptions ingest_options() const;

  // Bytes of content given to `put` since the last gc (which removes what no version reaches),
  // for stats' logical bytes; versions count their own (catalog::Catalog::LogicalBytes).
  // Counted in the meta space.
  Result<uint64_t> PutBytes();
  Status AddPutBytes(uint64_t n);
  // Sets it to 0 (gc, once it has swept), and deletes the counter of format 4 and earlier
  // (`ingested_bytes`, which counted checkins too, for good).
  Status ResetPutBytes();

  // Readers. A reader takes no part in RocksDB's lock, and opens a blob file only when it
  // first reads from it: a compaction that drops or rewrites blob files (gc's) would take
  // them from under it. So each reader holds DIR/readers.lock shared (flock) while it is open,
  // and a writer about to compact takes it exclusively here, waiting up to `wait` for the
  // readers to finish: false if they did not (the compaction is then left for later). Held
  // until the repository is closed. REQUIRES: a writer.
  Result<bool> ExcludeReaders(std::chrono::milliseconds wait);

 private:
  Repository() = default;
  std::string dir_;
  RepositoryConfig config_;
  std::unique_ptr<ObjectStore> store_;
  int readers_fd_ = -1;  // DIR/readers.lock (-1: none)
};

// The repository directory to use: `flag` if given, else $CAIRN_REPO, else
// ~/.local/share/cairn. `explicit_choice` tells whether it came from the flag; the
// others are created on first use.
std::string DefaultRepositoryDir(const std::string& flag, bool* explicit_choice);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_REPOSITORY_H_
