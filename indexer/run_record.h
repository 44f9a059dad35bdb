// What a disk command holds outside the repository while it runs (loop mounts, loop devices,
// temporary images), recorded so that when the command dies before it can let go (SIGKILL, a
// power cut of the process) the next disk command lets go in its place.
//
// Records are files in $CAIRN_RUN_DIR/disk/PID.START/ (default /run/cairn: a tmpfs, so a
// reboot, which undoes mounts and loop devices, forgets them too), one per thing held, where
// PID.START names the process by its id and its start time (so a pid reused by a later process
// is not taken for the one that made the record). Recording is best effort: a run directory
// that cannot be written costs only the cleaning up after a killed command.
//
// Thread-safe: records are independent files; the names come from an atomic counter.
#ifndef CAIRN_INDEXER_RUN_RECORD_H_
#define CAIRN_INDEXER_RUN_RECORD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cairn::indexer {

class RunRecord {
 public:
  enum class Kind {
    kMount,  // a mount point (a loop mount: its loop device goes with it); its parent
             // directory, made for it, is removed too
    kLoop,   // a loop device attached to an image file at an offset
    kFile,   // a temporary file (its name holds ".cairn-tmp.", or it is not removed)
  };
  // Records that this process holds `what` (kMount, kFile: the path; kLoop: the device).
  // For kLoop, `image` and `offset` say what it was attached to: a device that was detached
  // and reused since is left alone. Never fails: nothing is recorded if the run directory
  // cannot be written.
  static std::unique_ptr<RunRecord> Make(Kind kind, const std::string& what,
                                         const std::string& image = "", uint64_t offset = 0);
  // Removes the record: the thing was let go of.
  ~RunRecord();
  RunRecord(const RunRecord&) = delete;
  RunRecord& operator=(const RunRecord&) = delete;

 private:
  explicit RunRecord(std::string path) : path_(std::move(path)) {}
  std::string path_;  // "" when nothing was recorded
};

// Lets go of what every dead process recorded: unmounts its mounts (lazily when busy) and
// removes their directories, detaches its loop devices, removes its temporary files, then its
// records. A no-op unless running as root. Returns what it did, one line each, for a message.
std::vector<std::string> CleanUpAfterDeadProcesses();

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_RUN_RECORD_H_
