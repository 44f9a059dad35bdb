#include "cas/rocks_store.h"

#include <rocksdb/db.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/metadata.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <thread>

#include "base/descriptors.h"
#include "cas/rocks_files.h"

namespace cairn::cas {
namespace {

// A reader's open fails this often in a row, a writer's compaction deleting a table the
// reader was opening each time, before the error is the reader's.
constexpr int kReaderOpenAttempts = 8;

// WriterDescriptorsMax: the table files a writer keeps open, and the rest it may hold (two
// background jobs' outputs, logs, manifest, lock, directories, temporaries).
constexpr int kWriterTableFilesMax = 512;
constexpr int kWriterTableFilesMin = 20;  // RocksDB raises any lower max_open_files to 20
constexpr int kWriterOtherFiles = 24;
int WriterTableFiles() {
  return std::clamp(DescriptorLimit() / 4, kWriterTableFilesMin, kWriterTableFilesMax);
}

// The one place where RocksDB's errors become cairn's.
Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(msg);
  // Another process holds the repository's LOCK (flock: EAGAIN), or this one does. Only these
  // phrases of RocksDB's own: the message also holds the path, which may say "lock" anywhere.
  if (s.IsIOError() && (msg.find("While lock file: ") != std::string::npos ||
                        msg.find("lock hold by current process") != std::string::npos)) {
    return Status::Busy(std::string(what) + ": repository busy: another cairn process is writing");
  }
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

// A blob file is rewritten by gc when at least this share of its bytes is garbage.
constexpr double kBlobGarbageRatio = 0.25;

// The smallest key greater than every key starting with `prefix`; empty when there is none
// (an empty prefix, or one of only 0xff bytes).
std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

// Level-0 tables a column family may keep when a writer closes (see CompactLevel0).
constexpr int kLevel0Compact = 4;

// A space of fewer bytes than this with more tables than kSmallSpaceFiles is merged into one
// table when a writer closes (see MergeSmallSpaces).
constexpr uint64_t kSmallSpaceFiles = 8;
constexpr uint64_t kSmallSpaceBytes = 64 << 20;

// A writer's file system (UnsyncedOptionsFs) skips the syncs of the OPTIONS file RocksDB writes
// at every writable open, and of its directory after the rename (~1.2 ms of each write
// command's open here, two of the open's five syncs). Nothing reads that file back after the
// open (cairn passes its options to every open; a later open writes a new one and deletes the
// old), so a torn one left by a power cut costs nothing.
bool IsOptionsFile(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return path.compare(slash == std::string::npos ? 0 : slash + 1, 8, "OPTIONS-") == 0;
}

class UnsyncedOptionsFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;
  rocksdb::IOStatus Sync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();
  }
};

class OptionsRenameDir final : public rocksdb::FSDirectoryWrapper {
 public:
  using FSDirectoryWrapper::FSDirectoryWrapper;
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& io, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& o) override {
    if (o.reason == rocksdb::DirFsyncOptions::kFileRenamed && IsOptionsFile(o.renamed_new_name)) {
      return rocksdb::IOStatus::OK();
    }
    return FSDirectoryWrapper::FsyncWithDirOptions(io, dbg, o);
  }
};

class UnsyncedOptionsFs final : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "CairnUnsyncedOptionsFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FileSystemWrapper::NewWritableFile(f, o, r, dbg);
    if (s.ok() && IsOptionsFile(f)) *r = std::make_unique<UnsyncedOptionsFile>(std::move(*r));
    return s;
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& io,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = FileSystemWrapper::NewDirectory(name, io, r, dbg);
    if (s.ok()) *r = std::make_unique<OptionsRenameDir>(std::move(*r));
    return s;
  }
};

// A writer leaves at most this much write-ahead log behind at close (~RocksStoreImpl); each
// later open replays it, at ~20-30 us per KB for a reader (docs/format/store.md).
constexpr uint64_t kMaxLogLeftBehind = 32 << 10;

// Sets of spaces, a bit each.
constexpr uint32_t SpaceBit(Space s) { return 1u << static_cast<int>(s); }
constexpr uint32_t kAllSpaces = (1u << kNumSpaces) - 1;
// The spaces that take bulk (unlogged) writes: Flush() makes them durable.
constexpr uint32_t kBulkSpaces = SpaceBit(Space::kObjects) | SpaceBit(Space::kObjectInfo) |
                                 SpaceBit(Space::kContent) | SpaceBit(Space::kStatCache);

class RocksStoreImpl final : public RocksStore {
 public:
  RocksStoreImpl(std::string dir, bool read_only) : dir_(std::move(dir)), read_only_(read_only) {}
  ~RocksStoreImpl() override {
    if (db_ && !read_only_) {
      // First: the close's flush and compaction may use its room.
      reserve_.Drop();
      // Unlogged (bulk) writes not flushed yet are made durable as before. Logged writes stay
      // in the log while it is small: every later open replays it (readers included), which
      // costs less than a table per space per command; past kMaxLogLeftBehind it is flushed.
      const uint32_t dirty = unlogged_.exchange(0);
      (void)FlushSpaces(LiveLogBytes() > kMaxLogLeftBehind ? kAllSpaces : dirty);
      MergeSmallSpaces();
      CompactLevel0();
    }
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    if (db_) db_->Close();
  }

  Status Recover() override {
    if (read_only_ || !db_) return Status();
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    (void)db_->Close();  // what was not durable is dropped with the memtables
    db_.reset();
    unlogged_.store(0);
    // Called after a write failed for lack of space: the reserve makes room for the reopen and
    // for the undo that follows.
    reserve_.Drop();
    return OpenDb(options_, /*reserve=*/false);
  }

  Status HoldUndoRoom(uint64_t bytes) override {
    return read_only_ || bytes == 0 ? Status() : reserve_.HoldUndo(bytes);
  }

  Status OpenDb(const RocksStoreOptions& o, bool reserve = true) {
    options_ = o;
    rocksdb::DBOptions db;
    std::shared_ptr<rocksdb::FileSystem> fs = o.file_system;
    if (!read_only_) {
      fs = std::make_shared<UnsyncedOptionsFs>(fs ? fs : rocksdb::FileSystem::Default());
    }
    if (fs) {
      env_ = rocksdb::NewCompositeEnv(fs);
      db.env = env_.get();
    }
    db.create_if_missing = o.create_if_missing;
    db.create_missing_column_families = o.create_if_missing;
    // Two cores here: one flush and one compaction at a time is what the machine can afford
    // beside the ingest pipeline.
    db.max_background_jobs = 2;
    // Smooth writeback instead of a burst of dirty pages at each fsync.
    db.bytes_per_sync = 1 << 20;
    db.wal_bytes_per_sync = 1 << 20;
    // Bulk object writes skip the WAL; atomic_flush keeps all column families consistent
    // when they are flushed (DESIGN: a ref never points at an object lost in a crash).
    db.atomic_flush = true;
    db.keep_log_file_num = 4;
    // A process that fails mid-ingest must not persist its unlogged bulk writes at close:
    // the caller either calls Flush() after success or Ingestor::Abort() after failure.
    db.avoid_flush_during_shutdown = true;
    // A log left behind by the last writer (see ~RocksStoreImpl) is replayed into memory at
    // open and stays in the log, not written out as one small table per space at each open.
    db.avoid_flush_during_recovery = true;
    // Short-lived commands touch few tables: a writer opens them on first use, not all at
    // DB::Open. A reader opens them all (10-12 in a repository of three corpus versions, ~1 ms):
    // a writer's compaction deletes the tables it replaced, and a reader holding them open
    // still reads them; one that opened them lazily failed with "No such file".
    // A writer keeps fewer under a low descriptor limit (WriterDescriptorsMax): with 512 a checkin
    // under `ulimit -n 128` failed once its readers held the rest ("Too many open files").
    db.max_open_files = read_only_ ? -1 : WriterTableFiles();
    // Records lie in write order (docs/format/store.md, positions), so reading a file is a
    // sequential read of the blob files: leave the kernel's readahead on. RocksDB's default
    // (POSIX_FADV_RANDOM on every table and blob file) turned each cold chunk read into its own
    // disk request; small random reads are not inflated either way.
    db.advise_random_on_open = false;
    // Opening preloads some table handles; with the default of 16 threads per column family a
    // one-shot command spent more time creating threads than reading.
    db.max_file_opening_threads = 1;
    db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
    db.info_log = std::make_shared<AppendOnlyLogger>(dir_ + "/LOG", db.info_log_level);
    db.max_manifest_file_size = 64 << 20;
    if (o.statistics) db.statistics = rocksdb::CreateDBStatistics();
    stats_ = db.statistics;

    // One block cache for every column family, holding index and filter blocks too, so that
    // memory stays bounded however many table files accumulate.
    std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(16 << 20);
    rocksdb::BlockBasedTableOptions small_table;
    small_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    small_table.whole_key_filtering = true;
    small_table.block_cache = cache;
    small_table.cache_index_and_filter_blocks = true;
    small_table.pin_l0_filter_and_index_blocks_in_cache = true;
    // The catalog's index spaces hold millions of small keys: partitioned indexes and filters
    // let a short command load only the partitions it touches, not a whole multi-megabyte
    // index (measured: 50% of a search's CPU went to decompressing one), and index blocks
    // stay uncompressed.
    small_table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
    small_table.partition_filters = true;
    small_table.metadata_block_size = 4096;
    small_table.block_size = 16 << 10;
    small_table.enable_index_compression = false;

    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (int i = 0; i < kNumSpaces; ++i) {
      rocksdb::ColumnFamilyOptions cf;
      auto space = static_cast<Space>(i);
      // Memtable memory comes in arena blocks of write_buffer_size / 8 by default: 1 MiB for a
      // small space and 2 MiB for the objects, taken whole from the heap by the first write
      // to a space (or the log's replay at open), however little it holds. Every page of the
      // heap costs its first touch (base/heap_warmer.h): a warm incremental checkin of corpus
      // v3 held ~4 MiB less with these (docs/benchmarks.md, session 21). Records larger than a
      // quarter block get blocks of their own, so the objects lose no space to the smaller size.
      cf.arena_block_size = space == Space::kObjects ? 256 << 10 : 64 << 10;
      if (space == Space::kObjects) {
        // Records are already zstd-compressed per object (cas/object.h): compressing again
        // would only burn CPU.
        cf.compression = rocksdb::kNoCompression;
        cf.write_buffer_size = o.write_buffer_size;
        cf.max_write_buffer_number = 2;
        cf.enable_blob_files = o.blob_files;
        cf.min_blob_size = o.blob_min_size;
        cf.blob_file_size = 256 << 20;
        cf.blob_compression_type = rocksdb::kNoCompression;
        // No blob garbage collection during ordinary compactions: it would rewrite live data
        // (measured: compaction wrote 1.70 GB for 3.2 GB ingested with it, 0.03 GB without;
        // docs/store-tuning.md). Only `cairn gc` forces it, through Compact().
        cf.enable_blob_garbage_collection = false;
        rocksdb::BlockBasedTableOptions t = small_table;
        cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
        // Objects are 32-byte random keys: level compaction with large targets keeps the
        // index small and the write amplification low.
        cf.target_file_size_base = 64 << 20;
        cf.max_bytes_for_level_base = 256 << 20;
      } else {
        cf.compression = rocksdb::kZSTD;
        cf.write_buffer_size = 8 << 20;
        rocksdb::BlockBasedTableOptions t = small_table;
        if (space == Space::kCatalog) {
          // The search indexes are read by prefix scans, which bloom filters cannot serve, and
          // RocksDB 7.8 loads every filter partition of a table when it opens it: with 200
          // versions that was 30 ms of each 65 ms search. Point lookups here are few.
          t.filter_policy.reset();
        }
        cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
      }
      std::string name = i == 0 ? rocksdb::kDefaultColumnFamilyName : std::string(SpaceName(space));
      cfs.emplace_back(name, cf);
    }
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s;
    if (read_only_) {
      // A writer may change the store while a reader opens it: a flush or compaction records
      // its new files in the MANIFEST, then deletes the tables and the log they replaced. A
      // reader that read the MANIFEST before it then finds a table gone ("No such file"), or
      // finds no log where the records it held were and silently misses them. So the open is
      // taken only if the MANIFEST stayed as it was across it, else made again.
      for (int attempt = 0;; ++attempt) {
        const std::string before = ManifestState();
        s = rocksdb::DB::OpenForReadOnly(db, dir_, cfs, &handles_, &raw);
        const bool changed = ManifestState() != before;
        if ((s.ok() && !changed) || attempt == kReaderOpenAttempts - 1 ||
            (!s.ok() && !changed && s.ToString().find("No such file") == std::string::npos)) {
          break;
        }
        if (raw != nullptr) {
          for (auto* h : handles_) raw->DestroyColumnFamilyHandle(h);
          delete raw;
          raw = nullptr;
        }
        handles_.clear();
        std::this_thread::sleep_for(std::chrono::milliseconds(2 << std::min(attempt, 5)));
      }
    } else {
      s = rocksdb::DB::Open(db, dir_, cfs, &handles_, &raw);
      if (s.ok() && reserve) reserve_.Make();  // the lock held
    }
    db_.reset(raw);
    return FromRocks(s, "open repository " + dir_);
  }

  // The MANIFEST CURRENT names, and its size: a writer appends to it, or starts another, before
  // it deletes what a flush or compaction replaced. Empty if either cannot be read.
  std::string ManifestState() const {
    std::string current;
    if (!rocksdb::ReadFileToString(rocksdb::Env::Default(), dir_ + "/CURRENT", &current).ok()) {
      return "";
    }
    while (!current.empty() && current.back() == '\n') current.pop_back();
    uint64_t size = 0;
    if (!rocksdb::Env::Default()->GetFileSize(dir_ + "/" + current, &size).ok()) return "";
    return current + " " + std::to_string(size);
  }

  // Commands are short-lived: a background compaction rarely finishes before the process
  // exits, so level-0 tables (one per flush) would pile up and every reader would have to open
  // and merge all of them. When a column family has more than a few, the closing writer waits
  // (up to a bound) for the compactions RocksDB has already scheduled: L0 into L1, work in
  // proportion to what was written, never a rewrite of the whole column family.
  // Each writer's flush leaves one small table per space. Keys that only grow (refs, tags,
  // counters) never overlap the tables beneath, so RocksDB moves those tables down whole
  // instead of merging them: the refs space of a 200-version library had 198 tables, and
  // every reader opened most of them (measured: a third of `cairn images`). A small space
  // with more than a few tables is merged into one here; it takes milliseconds.
  void MergeSmallSpaces() {
    for (int i = 0; i < kNumSpaces; ++i) {
      if (static_cast<Space>(i) == Space::kObjects) continue;
      auto* h = handles_[i];
      uint64_t files = 0, bytes = 0;
      for (int level = 0; level < 7; ++level) {
        std::string v;
        if (db_->GetProperty(h, "rocksdb.num-files-at-level" + std::to_string(level), &v)) {
          files += std::stoull(v);
        }
      }
      if (!db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &bytes)) continue;
      if (files > kSmallSpaceFiles && bytes < kSmallSpaceBytes) {
        rocksdb::CompactRangeOptions co;
        co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
        (void)db_->CompactRange(co, h, nullptr, nullptr);
      }
    }
  }

  void CompactLevel0() {
    bool piled = false;
    for (auto* h : handles_) {
      std::string v;
      if (db_->GetProperty(h, "rocksdb.num-files-at-level0", &v) && std::stoi(v) >= kLevel0Compact) {
        piled = true;
      }
    }
    if (!piled) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      uint64_t busy = 0;
      for (auto* h : handles_) {
        uint64_t n = 0;
        if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCompactionPending, &n)) busy += n;
        if (db_->GetIntProperty(h, rocksdb::DB::Properties::kNumRunningCompactions, &n)) busy += n;
      }
      if (busy == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  Status WriteRaw(std::span<const RawOp> ops, const WriteOptions& options) override {
    if (read_only_) return Status::Internal("write repository " + dir_ + ": opened read-only");
    // Sized up front: a batch of large records grown by appending was copied again at each
    // doubling, into freshly faulted pages.
    size_t bytes = 64;
    for (const auto& op : ops) bytes += op.key.size() + op.value.size() + 24;
    rocksdb::WriteBatch wb(bytes);
    for (const auto& op : ops) {
      auto* cf = handles_[static_cast<int>(op.space)];
      rocksdb::Status s = op.put ? wb.Put(cf, ToSlice(op.key), ToSlice(op.value))
                                 : wb.Delete(cf, ToSlice(op.key));
      if (!s.ok()) return FromRocks(s, "write repository " + dir_);
    }
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    wo.disableWAL = options.bulk && !options.sync;
    CAIRN_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "write repository " + dir_));
    if (wo.disableWAL) {
      // Marked after the write: a flush that took the marks before it flushes these spaces
      // again later, never too few.
      uint32_t spaces = 0;
      for (const auto& op : ops) spaces |= SpaceBit(op.space);
      unlogged_.fetch_or(spaces);
    }
    return Status();
  }

  Result<bool> GetView(Space space, std::string_view key,
                       const std::function<void(std::string_view)>& fn) override {
    rocksdb::PinnableSlice v;
    rocksdb::ReadOptions ro;
    // Object records are verified against their SHA-256 by every reader (ObjectStore::Read):
    // RocksDB's own CRC over the same bytes would only cost time.
    ro.verify_checksums = space != Space::kObjects;
    rocksdb::Status s = db_->Get(ro, handles_[static_cast<int>(space)], ToSlice(key), &v);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, "read repository " + dir_);
    fn(std::string_view(v.data(), v.size()));
    return true;
  }

  Result<std::optional<std::string>> Get(Space space, std::string_view key) override {
    std::optional<std::string> out;
    auto found = GetView(space, key, [&](std::string_view v) { out.emplace(v); });
    if (!found) return found.error();
    return out;
  }

  Result<std::optional<std::string>> LastKey(Space space) override {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[static_cast<int>(space)]));
    it->SeekToLast();
    if (!it->Valid()) {
      CAIRN_RETURN_IF_ERROR(FromRocks(it->status(), "read repository " + dir_));
      return std::optional<std::string>();
    }
    return std::optional<std::string>(it->key().ToString());
  }

  Status Scan(Space space, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    rocksdb::ReadOptions ro;
    // Whole-space scans (verify, gc, stats) would only evict what others use; prefix scans
    // are small and often repeated within one command (a listing resolves many names).
    ro.fill_cache = !prefix.empty();
    // The bound keeps the iterator from stepping past the prefix into further table files
    // and over deletion tombstones (measured: most of `cairn images` on 200 versions).
    std::string upper = PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[static_cast<int>(space)]));
    for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      std::string_view key(k.data(), k.size());
      if (!key.starts_with(prefix)) break;
      rocksdb::Slice v = it->value();
      if (!fn(key, std::string_view(v.data(), v.size()))) break;
    }
    return FromRocks(it->status(), "scan repository " + dir_);
  }

  Status Flush() override {
    if (read_only_) return Status();
    // Only the spaces that take bulk (unlogged) writes need flushing; the others are in the
    // synced log already, and flushing them on every command would only add table files.
    unlogged_.fetch_and(~kBulkSpaces);
    CAIRN_RETURN_IF_ERROR(FlushSpaces(kBulkSpaces));
    return FromRocks(db_->SyncWAL(), "sync repository " + dir_);
  }

  Status FlushAll() override {
    if (read_only_) return Status();
    // Unlogged writes: their spaces' memtables go to table files in one atomic flush. Logged
    // writes: durable once the log is synced, after that flush.
    if (uint32_t dirty = unlogged_.exchange(0); dirty != 0) CAIRN_RETURN_IF_ERROR(FlushSpaces(dirty));
    return FromRocks(db_->SyncWAL(), "sync repository " + dir_);
  }

  bool read_only() const override { return read_only_; }

  Status Compact() override {
    if (read_only_) return Status();
    // 1. Compact the table files (small: blob indexes and keys) so the deletions reach the
    //    bottom level and RocksDB counts the garbage in each blob file; blob files left with
    //    no live blob are then dropped without being read.
    rocksdb::CompactRangeOptions plain;
    plain.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    for (auto* h : handles_) {
      CAIRN_RETURN_IF_ERROR(
          FromRocks(db_->CompactRange(plain, h, nullptr, nullptr), "compact repository " + dir_));
    }
    // 2. Relocate the live blobs of the blob files that are mostly garbage, and only those:
    //    blob GC takes the oldest files up to an age cutoff, so the cutoff ends at the newest
    //    file worth rewriting. Forcing it on every file rewrote all live data (measured:
    //    157 MB read, 181 MB written to free 6.8 MB).
    auto* objects = handles_[static_cast<int>(Space::kObjects)];
    rocksdb::ColumnFamilyMetaData meta;
    db_->GetColumnFamilyMetaData(objects, &meta);
    std::vector<rocksdb::BlobMetaData> files = meta.blob_files;
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
      return a.blob_file_number < b.blob_file_number;
    });
    size_t last_worth = 0;  // 1 + index of the newest file with at least kBlobGarbageRatio
    for (size_t i = 0; i < files.size(); ++i) {
      const auto& f = files[i];
      if (f.total_blob_bytes > 0 &&
          static_cast<double>(f.garbage_blob_bytes) >= kBlobGarbageRatio * f.total_blob_bytes) {
        last_worth = i + 1;
      }
    }
    if (last_worth == 0) return Status();
    rocksdb::CompactRangeOptions gc;
    gc.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
    gc.blob_garbage_collection_age_cutoff = static_cast<double>(last_worth) / files.size();
    gc.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    return FromRocks(db_->CompactRange(gc, objects, nullptr, nullptr), "compact repository " + dir_);
  }

  RocksIoStats IoStats() const override {
    RocksIoStats r;
    if (!stats_) return r;
    r.flush_write_bytes = stats_->getTickerCount(rocksdb::FLUSH_WRITE_BYTES);
    r.compact_write_bytes = stats_->getTickerCount(rocksdb::COMPACT_WRITE_BYTES);
    r.compact_read_bytes = stats_->getTickerCount(rocksdb::COMPACT_READ_BYTES);
    r.blob_write_bytes = stats_->getTickerCount(rocksdb::BLOB_DB_BLOB_FILE_BYTES_WRITTEN);
    r.wal_bytes = stats_->getTickerCount(rocksdb::WAL_FILE_BYTES);
    r.user_bytes_written = stats_->getTickerCount(rocksdb::BYTES_WRITTEN);
    return r;
  }

  Status WaitForCompactions() override {
    if (read_only_) return Status();
    // RocksDB 7.8 has no WaitForCompact: poll the pending and running counts.
    for (;;) {
      uint64_t busy = 0;
      for (auto* h : handles_) {
        uint64_t v = 0;
        if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCompactionPending, &v)) busy += v;
        if (db_->GetIntProperty(h, rocksdb::DB::Properties::kNumRunningCompactions, &v)) busy += v;
        if (db_->GetIntProperty(h, rocksdb::DB::Properties::kNumRunningFlushes, &v)) busy += v;
      }
      if (busy == 0) return Status();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  // One atomic flush of the memtables of `spaces` (a bit per Space); on failure their marks
  // are put back.
  Status FlushSpaces(uint32_t spaces) {
    std::vector<rocksdb::ColumnFamilyHandle*> cfs;
    for (int i = 0; i < kNumSpaces; ++i) {
      if (spaces & (1u << i)) cfs.push_back(handles_[i]);
    }
    if (cfs.empty()) return Status();
    rocksdb::FlushOptions fo;
    fo.wait = true;
    rocksdb::Status s = db_->Flush(fo, cfs);
    if (!s.ok()) unlogged_.fetch_or(spaces);
    return FromRocks(s, "flush repository " + dir_);
  }

  // Bytes of write-ahead log a reader would replay now.
  uint64_t LiveLogBytes() {
    rocksdb::VectorLogPtr logs;
    if (!db_->GetSortedWalFiles(logs).ok()) return UINT64_MAX;
    uint64_t bytes = 0;
    for (const auto& l : logs) bytes += l->SizeFileBytes();
    return bytes;
  }

  std::string dir_;
  bool read_only_;
  RocksStoreOptions options_;          // as opened, for Recover
  UndoReserve reserve_{dir_};          // a writer's room for undoing on a full disk
  std::atomic<uint32_t> unlogged_{0};  // spaces with unlogged writes since their last flush
  std::unique_ptr<rocksdb::Env> env_;  // writers' and options.file_system's; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<rocksdb::Statistics> stats_;
};

}  // namespace

int WriterDescriptorsMax() { return WriterTableFiles() + kWriterOtherFiles; }

RocksStore::~RocksStore() = default;

Result<std::unique_ptr<RocksStore>> RocksStore::Open(const std::string& dir,
                                                     const RocksStoreOptions& options) {
  auto store = std::make_unique<RocksStoreImpl>(dir, options.read_only);
  CAIRN_RETURN_IF_ERROR(store->OpenDb(options));
  return std::unique_ptr<RocksStore>(std::move(store));
}

}  // namespace cairn::cas
