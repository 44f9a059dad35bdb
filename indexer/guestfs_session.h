// One libguestfs appliance over one disk image, read-only: the universal (slow) path of disk
// checkin. The appliance is launched once per session; filesystems are streamed out whole
// (tar-out), never a call per file. guestfs errors become Status here and nowhere else.
//
// Thread-safety: one thread at a time (libguestfs handles are not thread-safe).
#ifndef CAIRN_INDEXER_GUESTFS_SESSION_H_
#define CAIRN_INDEXER_GUESTFS_SESSION_H_

#include <map>
#include <memory>
#include <string>

#include "indexer/disk_probe.h"
#include "indexer/source.h"

struct guestfs_h;

namespace cairn::indexer {

class TarSource;

class GuestfsSession {
 public:
  // Adds `image` read-only with its explicit `format` ("raw", "qcow2", ...) and launches the
  // appliance (backend "direct" unless LIBGUESTFS_BACKEND says otherwise). IOError naming the
  // image with libguestfs' message when it cannot.
  static Result<std::unique_ptr<GuestfsSession>> Open(const std::string& image, const std::string& format);
  ~GuestfsSession();

  uint64_t size() const { return size_; }
  // Reads the disk's bytes (zeros past its end).
  ReadAtFn Reader();
  // The device of a partition (0: the whole disk).
  static std::string Device(uint32_t partition);
  // Mounts `device` read-only, streams it out with tar-out (numeric owners, xattrs, ACLs) into a
  // TarSource on another thread, and unmounts. Returns that TarSource's result. With
  // options.holes kZeroBlocks, sparse files are recorded by the zero-block rule (tar-out cannot
  // show holes).
  Result<CheckinResult> CheckinFilesystem(const std::string& device, cas::Ingestor* ingestor,
                                          const CheckinOptions& options);
  // OS inspection: mount point -> device of the first OS found; empty when none is found. A
  // device is Device(n) for a partition or "VG/LV" for a logical volume; other devices are left
  // out.
  Result<std::map<std::string, std::string>> Mountpoints();
  // The appliance device of logical volume "VG/LV".
  static std::string VolumeDevice(const std::string& volume) { return "/dev/" + volume; }

 private:
  GuestfsSession(const struct GuestfsApi* api, guestfs_h* g, std::string image)
      : api_(api), g_(g), image_(std::move(image)) {}
  Status Error(const std::string& what);  // the one conversion of guestfs errors
  // The zero-block rule (indexer/zero_blocks.h) on the mounted filesystem streamed into `tar`:
  // asks the appliance for the allocation of only the files holding a zero block, one call per
  // directory, and records sparse those it says are.
  Status RecordHoles(TarSource* tar);
  const struct GuestfsApi* api_;  // loaded at run time (indexer/guestfs_api.h)
  guestfs_h* g_;
  std::string image_;
  uint64_t size_ = 0;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_GUESTFS_SESSION_H_
