// PowerCutFs: a RocksDB FileSystem that takes, at a chosen write, the picture a power cut would
// leave on disk, so that tests can reopen a repository "after the power came back".
//
// The model is ext4's (data=ordered): bytes appended to a file are durable once the file is
// synced (Sync/Fsync; RangeSync is not enough), a new file's name once the file or its
// directory is synced, and a rename once its directory is synced (until then the old target
// stays). Every Append, Sync, Fsync, rename and directory sync is one event; at event number
// `cut_at` (from 1) the durable state of `dir` is copied to `snapshot_dir`, and the process goes
// on as if nothing happened (what it writes later is lost to the snapshot, as to a real cut).
#ifndef CAIRN_TESTS_CAS_POWER_CUT_FS_H_
#define CAIRN_TESTS_CAS_POWER_CUT_FS_H_

#include <rocksdb/file_system.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace cairn::cas::testing {

class PowerCutFs : public rocksdb::FileSystemWrapper {
 public:
  // `dir`: the database directory to watch; cut_at 0: never cut (count events only).
  PowerCutFs(std::string dir, uint64_t cut_at, std::string snapshot_dir);

  const char* Name() const override { return "PowerCutFs"; }
  uint64_t events() const;
  bool cut() const;  // whether the snapshot was taken
  // Takes the snapshot now (the power fails between two events), if not taken yet.
  void CutNow();

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;

  // Called by the wrappers, with a file's name in `dir` ("" for files elsewhere: ignored).
  void Appended(const std::string& name, uint64_t n);
  void Synced(const std::string& name);
  void DirSynced();

 private:
  struct FileState {
    uint64_t size = 0, synced = 0;
    bool durable_name = false;
  };
  struct PendingRename {
    std::optional<std::string> old_target;  // the durable content the target had, if any
  };
  void Event();  // REQUIRES: mu_ held
  void TakeSnapshot();  // REQUIRES: mu_ held
  std::string Name(const std::string& path) const;  // "" when not in dir_

  const std::string dir_;
  const uint64_t cut_at_;
  const std::string snapshot_dir_;
  mutable std::mutex mu_;
  uint64_t events_ = 0;
  bool cut_ = false;
  std::map<std::string, FileState> files_;            // by name in dir_, written since open
  std::map<std::string, PendingRename> renames_;      // by target name, until a directory sync
};

}  // namespace cairn::cas::testing

#endif  // CAIRN_TESTS_CAS_POWER_CUT_FS_H_
