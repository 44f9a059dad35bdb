// The files cairn keeps in a RocksDB database's directory beside RocksDB's own: the info log,
// written by cairn's own logger, and the reserve a writer holds for undoing on a full disk
// (docs/format/store.md, "A full disk"). Used by RocksStore (cas/rocks_store.cc) only.
#ifndef CAIRN_CAS_ROCKS_FILES_H_
#define CAIRN_CAS_ROCKS_FILES_H_

#include <rocksdb/env.h>
#include <sys/types.h>

#include <cstdarg>
#include <mutex>
#include <string>

#include "base/status.h"

namespace cairn::cas {

// RocksDB's own info log writes through a WritableFileWriter that, in Debian's build (asserts
// kept), aborts the process on the write after a failed one: on a full disk a warning at open
// killed a command with SIGABRT (exit 134) where it should have failed with exit 7 (crash
// review 03). This one appends each line to `path` with one write(2) and drops what the disk
// refuses: the log is for people, the repository's state never depends on it. Nothing is
// logged where `path` cannot be opened for writing (another user's read-only repository).
class AppendOnlyLogger final : public rocksdb::Logger {
 public:
  // A log grown past this is started again at open (RocksDB keeps old logs apart instead).
  static constexpr off_t kMaxBytes = 1 << 20;

  AppendOnlyLogger(const std::string& path, rocksdb::InfoLogLevel level);
  ~AppendOnlyLogger() override;
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

 private:
  int fd_ = -1;
};

// Space held back for undoing a failed write on a full disk: a file (RESERVE) in the database's
// directory while a writer has the store open, given up by RocksStore::Recover and deleted at
// close (a repository at rest holds none). Reopening the store writes a new MANIFEST and OPTIONS
// file, and the undo of a checkin goes through the log and one flush: without room for them a
// checkin that filled the disk after its objects were flushed left them all behind (crash
// review 02: 3,031 objects). The undo grows with what the command wrote in bulk, so the file
// does too (HoldUndo). Thread-safe.
class UndoReserve {
 public:
  // The room kept for the reopen and the undo's flush.
  static constexpr off_t kBaseBytes = 4 << 20;

  explicit UndoReserve(std::string db_dir) : dir_(std::move(db_dir)) {}
  // Makes the reserve (kBaseBytes; a killed writer's is taken as it is), unless the disk has
  // less than 1 MiB more than that free. Best effort: the store works without it.
  void Make();
  // Deletes it, giving its room back (a later HoldUndo makes it again).
  void Drop();
  // Counts `bytes` more of undo and grows the reserve to kBaseBytes plus all of it (a MiB
  // ahead); NoSpace, naming the store, when the disk has no room for that.
  Status HoldUndo(uint64_t bytes);

 private:
  const std::string dir_;
  std::mutex mu_;
  off_t size_ = 0;           // of RESERVE
  uint64_t undo_bytes_ = 0;  // counted by HoldUndo
};

}  // namespace cairn::cas

#endif  // CAIRN_CAS_ROCKS_FILES_H_
