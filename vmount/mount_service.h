// Mounting versions, and the commands that act on a mount from other processes: unmount,
// commit, discard. The one entry point for tools/cmd_vmount.cc.
//
// `MountVersion` forks a mount process (unless foreground) that opens the repository for
// reading, mounts, and reports success or the error back before the command returns, as
// guestmount does. A writable mount keeps its edit in an Overlay (vmount/overlay.h). Commit is
// done by the mount process itself, asked over the overlay's unix socket: it holds the tree,
// so it stores the changed files and Trees, records the Version as checkin does, and re-bases
// the mount onto the new version with an empty overlay. See docs/vmount.md.
#ifndef CAIRN_VMOUNT_MOUNT_SERVICE_H_
#define CAIRN_VMOUNT_MOUNT_SERVICE_H_

#include <string>

#include "base/result.h"
#include "cas/repository.h"
#include "vmount/overlay.h"

namespace cairn::vmount {

struct MountRequest {
  std::string repo_dir;
  std::string spec;        // NAME[:VER] or NAME@TAG
  std::string mountpoint;  // an existing, empty directory
  bool writable = false;
  bool foreground = false;  // serve in this process until unmounted
  // What to do with an uncommitted edit left at this mount point by a mount that ended.
  enum class Leftover { kRefuse, kResume, kDiscard };
  Leftover leftover = Leftover::kRefuse;
};

struct MountOutcome {
  MountInfo info;
  bool resumed = false;  // an earlier edit was replayed
};

// Mounts and returns once the mount is live. InvalidArgument: the mount point is not an empty
// directory, or --resume names a different version; NotFound: no such directory or version;
// AlreadyExists: something is mounted there, or an earlier edit waits (kRefuse, the message
// says how to resume or discard it).
Result<MountOutcome> MountVersion(const MountRequest& req);

struct UnmountOutcome {
  bool kept_edit = false;  // the mount had an uncommitted edit, kept for --resume
};
// Busy when files are open in the mount; NotFound when DIR is not a mount of the repository.
Result<UnmountOutcome> UnmountDir(const std::string& repo_dir, const std::string& dir);

struct CommitRequest {
  std::string message;
  std::string image;  // empty: the mounted version's image
  std::string author;  // empty: $USER@host
};
struct CommitOutcome {
  std::string version;  // NAME:N
  ObjectId id;
  uint64_t objects_new = 0;  // objects the commit wrote (changed contents and Trees)
};
// NotFound: not a mount; InvalidArgument: read-only mount, or nothing to commit;
// Busy: the repository's writer did not come free.
Result<CommitOutcome> CommitMount(const std::string& repo_dir, const std::string& dir,
                                  const CommitRequest& req);

// Drops the uncommitted edit at `dir`: a live mount is unmounted (Busy if files are open) and
// mounted again, clean, on the same version; a dead one's overlay is deleted.
Status DiscardMount(const std::string& repo_dir, const std::string& dir);

// What `gc` must keep: every recorded version, and the base version of every overlay, even
// after purge (a live mount reads its objects; a dead one's edit waits to be resumed). A base
// whose Version object is already gone is left out.
Result<std::vector<ObjectId>> GcRoots(cas::Repository& repo);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_MOUNT_SERVICE_H_
