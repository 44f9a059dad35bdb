// The mount process: serves one mount until it is unmounted, and commits its edit when asked
// over the control socket. Private to vmount/mount_service.cc.
#ifndef CAIRN_VMOUNT_MOUNT_PROCESS_H_
#define CAIRN_VMOUNT_MOUNT_PROCESS_H_

#include <functional>
#include <string>

#include "vmount/control.h"
#include "vmount/mount_service.h"

namespace cairn::vmount {

// Called once: with the mount's info when it is live, or with the error that prevented it.
using ReadyFn = std::function<void(const Result<MountOutcome>&)>;

// Opens the repository, builds the tree (replaying the overlay at `resume_dir` if not empty),
// mounts at `mountpoint` (absolute), deletes the overlay at `discard_dir` if not empty (an edit
// the caller asked to drop: only once the new mount is up, so that a mount that fails loses
// nothing), calls `ready`, and serves until unmounted. Returns the error that ended serving,
// if any.
Status ServeMount(const MountRequest& req, const std::string& mountpoint,
                  const std::string& resume_dir, const std::string& discard_dir, bool daemon,
                  const ReadyFn& ready);

// After the mount process of the overlay at `dir` died during a commit: if the version it was
// recording exists (a child of the overlay's base with the committed root Tree), the overlay is
// rebased onto it and holds no edit; if not, the edit stays as it was. Either way the
// `committing` marker goes.
Status SettleInterruptedCommit(const std::string& repo_dir, const std::string& dir);

// The control-socket request for a commit, and the reply's decoding.
Message CommitRequestMessage(const CommitRequest& req);
Result<CommitOutcome> DecodeCommitReply(const Message& reply);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_MOUNT_PROCESS_H_
