// DiskSource: checks in a disk image (raw, qcow2, vmdk, vdi, vhdx) as a Disk (docs/format/
// disk.md): the layout read in-process (disk_probe.h, LVM: disk_lvm.h), each ext2/3/4
// filesystem in a partition or logical volume as a Tree, swap recorded, boot areas and raw
// partitions and volumes as contents, and the view Tree.
//
// Two paths give the same objects: the fast path (raw images, as root: a read-only loop mount
// of each filesystem walked by DirSource, a logical volume of one segment mounted at its offset)
// and the libguestfs path (any format: one appliance, tar-out of each filesystem read by
// TarSource, /dev/VG/LV for volumes; OS inspection for the mount points). "auto" takes the
// libguestfs path for a raw image whose filesystem lies in a volume of several segments, and
// says why in CheckinResult::disk_path_reason. Holes are not recorded on either (tar-out
// cannot see them).
#ifndef CAIRN_INDEXER_DISK_SOURCE_H_
#define CAIRN_INDEXER_DISK_SOURCE_H_

#include <string>

#include "indexer/source.h"

namespace cairn::indexer {

class DiskSource : public Source {
 public:
  // `format` as SniffImageFormat found it.
  DiskSource(std::string path, std::string format) : path_(std::move(path)), format_(std::move(format)) {}
  // Errors name the image: Corruption for a damaged image (qemu-img check) or partition
  // table; NotFound for a missing backing file; NotSupported for what cairn does not store
  // (disk_probe.h) or for options.disk_path "fast" where it cannot run; InvalidArgument for a
  // disk with no filesystem; IOError from mount or libguestfs.
  Result<CheckinResult> Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) override;

 private:
  std::string path_;
  std::string format_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DISK_SOURCE_H_
