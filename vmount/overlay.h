// Overlay: the on-disk state of one mount, in its own directory beside the repository's
// database, `<repo>/mounts/<id>/` (docs/vmount.md):
//   info      what is mounted where: mount point, version, base version id, writable, pid
//   journal   a header naming the base version, then the edit's records (vmount/journal.h)
//   upper/N   the contents of files changed by the edit (small new files: in the journal)
//   ctl.sock  the mount process's control socket (commit)
//   committing  while a commit records its version: the root Tree it commits
//   log       the mount process's stderr
// The journal is appended with one write per record, so an edit survives the death of the
// mount process (it lives in the kernel's page cache); fsync of a file in the mount makes the
// journal durable too. Reset replaces the journal atomically (rename) after a commit.
//
// Thread-safety: none; the mount process serialises access.
#ifndef CAIRN_VMOUNT_OVERLAY_H_
#define CAIRN_VMOUNT_OVERLAY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"
#include "vmount/journal.h"

namespace cairn::vmount {

struct MountInfo {
  std::string id;          // the overlay directory's name
  std::string mountpoint;  // absolute
  std::string version;     // "NAME:N" of the base version, as resolved at mount
  ObjectId base;           // the base version's id
  bool writable = false;
  int64_t pid = 0;         // the mount process
  int64_t started_ns = 0;
  // The journal's length when a commit started it again (Overlay::Reset): the records up to
  // there bind files open at the commit to their upper files and are no edit. 0: none.
  uint64_t clean_bytes = 0;

  std::string Encode() const;
  static Result<MountInfo> Decode(std::string_view text);
};

class Overlay {
 public:
  static std::string MountsDir(const std::string& repo_dir) { return repo_dir + "/mounts"; }
  // A new overlay directory for `info` (its id is chosen here) with an empty journal.
  static Result<std::unique_ptr<Overlay>> Create(const std::string& repo_dir, MountInfo info);
  // An existing overlay directory. NotFound if it is not one; Corruption if its journal header
  // is damaged.
  static Result<std::unique_ptr<Overlay>> Open(const std::string& dir);
  ~Overlay();

  const std::string& dir() const { return dir_; }
  const MountInfo& info() const { return info_; }
  // The base version the journal applies to (authoritative over info().base).
  const ObjectId& base() const { return base_; }
  std::string upper_dir() const { return dir_ + "/upper"; }
  std::string socket_path() const { return dir_ + "/ctl.sock"; }
  std::string log_path() const { return dir_ + "/log"; }
  std::string committing_path() const { return dir_ + "/committing"; }

  Status SaveInfo(const MountInfo& info);
  // Called by the mount process before it saves its pid: holds an exclusive lock on the
  // overlay's "alive" file until the process ends (the kernel drops it however the process
  // dies), which MountProcessLives tests. A pid alone says nothing once the process is gone:
  // it may name another process, or a zombie not yet reaped.
  Status HoldAlive();
  // Appends one record. On failure the journal is as it was (a partial record is cut off),
  // unless the message says it is damaged.
  Status Append(const JournalRecord& r);
  // Removes the record the last successful Append added (its operation failed after it was
  // journaled). REQUIRES: no Append or Reset since.
  Status DropLast();
  // fsync of the journal.
  Status Sync();
  Result<std::vector<JournalRecord>> Records();
  // Whether the journal holds an edit (more than the bindings a commit kept).
  bool has_edits() const;
  // A fresh upper file number.
  uint64_t NextUpper() { return next_upper_++; }
  // Starts a new journal on `base` holding `keep`: atomic (the old or the new) for a dying
  // process, durable only after SyncAll. `keep` is no edit: info().clean_bytes covers it (saved
  // with the next SaveInfo).
  Status Reset(const ObjectId& base, const std::vector<JournalRecord>& keep);
  // fsync of the journal and of the overlay directory.
  Status SyncAll();
  // Deletes the upper file `n`.
  void RemoveUpper(uint64_t n);
  // Deletes the whole directory.
  Status Remove();

 private:
  Overlay() = default;
  Status OpenJournal();
  std::string journal_path() const { return dir_ + "/journal"; }

  std::string dir_;
  MountInfo info_;
  ObjectId base_;
  JournalFormat format_ = JournalFormat::kV2;  // of the journal's records, as its header says
  int fd_ = -1;
  int alive_fd_ = -1;
  uint64_t records_ = 0;
  uint64_t size_ = 0;       // the journal's length
  uint64_t last_size_ = 0;  // its length before the last Append
  uint64_t next_upper_ = 1;
};

// Whether the mount process of the overlay at `dir`, recorded as `pid`, runs: its "alive" file
// is locked (Overlay::HoldAlive). An overlay made before that file existed falls back to the
// pid; a directory removed means the process finished.
bool MountProcessLives(const std::string& dir, int64_t pid);

// Every overlay of a repository and the state of its mount.
struct MountStatus {
  MountInfo info;
  std::string dir;
  bool live = false;   // the mount process runs
  bool dirty = false;  // the journal holds an uncommitted edit
  // A commit was under way when the process ended: whether its version was recorded is told
  // by SettleInterruptedCommit (vmount/mount_process.h).
  bool committing = false;
};
Result<std::vector<MountStatus>> ListMounts(const std::string& repo_dir);
// The overlay of the mount at `mountpoint` (made absolute here). NotFound when the repository
// has none.
Result<MountStatus> FindMount(const std::string& repo_dir, const std::string& mountpoint);
// An absolute, normalised spelling of `path` (symlinks resolved when it exists).
std::string AbsolutePath(const std::string& path);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_OVERLAY_H_
