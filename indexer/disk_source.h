// DiskSource: checks in a disk image (raw, qcow2, vmdk, vdi, vhdx) as a Disk (docs/format/
// disk.md): the layout read in-process (disk_probe.h), each ext2/3/4 filesystem as a Tree, swap
// recorded, boot areas and raw partitions as contents, and the view Tree.
//
// Two paths give the same objects: the fast path (raw images, as root: a read-only loop mount
// of each filesystem walked by DirSource) and the libguestfs path (any format: one appliance,
// tar-out of each filesystem read by TarSource; OS inspection for the mount points). Holes are
// not recorded on either (tar-out cannot see them).
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
