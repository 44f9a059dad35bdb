// FuseSession: a Filesystem served on a mount point through the libfuse3 low-level API, on a
// multithreaded session loop. A thin adapter: each operation is one Filesystem call, its
// Status turned into -errno in one place (vmount/errors.h); no globals.
//
// Stored contents never change under a mount (only the mount itself edits them), so the kernel
// is told to cache entries, attributes, directory listings and file pages for long.
//
// Thread-safety: Run blocks the calling thread; Exit may be called from any thread.
#ifndef CAIRN_VMOUNT_FUSE_ADAPTER_H_
#define CAIRN_VMOUNT_FUSE_ADAPTER_H_

#include <memory>
#include <string>

#include "vmount/filesystem.h"

struct fuse_session;

namespace cairn::vmount {

struct FuseOptions {
  std::string mountpoint;
  std::string fsname = "cairn";  // shown in /proc/mounts
  // Seconds the kernel may cache entries and attributes. Default: one hour.
  double timeout = 3600;
  // Worker threads of the session loop. Default: 8.
  int max_threads = 8;
};

class FuseSession {
 public:
  // Mounts `fs` (which must outlive the session) with default_permissions and, as root,
  // allow_other; read-only unless fs->writable(). IOError naming the mount point on failure.
  static Result<std::unique_ptr<FuseSession>> Mount(Filesystem* fs, const FuseOptions& options);
  // Unmounts if still mounted.
  ~FuseSession();
  // Serves requests until the file system is unmounted (or Exit, or SIGTERM/SIGINT/SIGHUP).
  Status Run();
  void Exit();

  struct Context;  // what the operations see as their userdata

 private:
  FuseSession() = default;
  std::unique_ptr<Context> ctx_;
  fuse_session* se_ = nullptr;
  bool mounted_ = false;
  int max_threads_ = 8;
};

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_FUSE_ADAPTER_H_
