// DiskSink: checks a Disk out as a disk image file (raw or qcow2) that boots: the same
// partition table (disk and partition GUIDs, types, names, attributes), the boot areas and raw
// partitions written back byte for byte, each ext filesystem made again with its UUID, label
// and creation parameters and filled from its Tree through a read-write loop mount (DirSink:
// every file with full fidelity), swap made again with its UUID and label. LVM volume groups are
// written with the host's lvm2 tools over loop devices (metadata only: no device-mapper), with
// the same names, uuids and extents, and their filesystems made at the volumes' offsets (a
// volume of several segments through a file copied into them). With a larger size the last
// partition (and the filesystem in it, or the logical volume holding the last extent of the
// physical volume in it) grows to fill the disk. Needs root.
//
// Never writes outside the target: the image is built in a temporary file beside the target
// and renamed (raw) or converted (qcow2) into place; files go through DirSink.
#ifndef CAIRN_INDEXER_DISK_SINK_H_
#define CAIRN_INDEXER_DISK_SINK_H_

#include <string>

#include "cas/disk.h"
#include "indexer/sink.h"

namespace cairn::indexer {

class DiskSink : public Sink {
 public:
  // `format`: "raw" or "qcow2". `size`: the new disk's size in bytes, 0 for the recorded one.
  DiskSink(std::string target, std::string format, uint64_t size)
      : target_(std::move(target)), format_(std::move(format)), size_(size) {}
  // `root` names a Disk. InvalidArgument for a size smaller than the recorded one; AlreadyExists
  // when the target exists (without options.force); NotSupported when not root; IOError from
  // sfdisk, losetup, pvcreate, vgcfgrestore, mkfs, mount or qemu-img with their message.
  Result<CheckoutResult> Checkout(cas::ObjectStore* store, const ObjectId& root,
                                  const CheckoutOptions& options) override;

 private:
  std::string target_;
  std::string format_;
  uint64_t size_;
};

// The sfdisk script that writes the table of `d` onto the image file `image` (its partitions
// named `image`N, or `image`pN after a name that ends with a digit).
Result<std::string> SfdiskScript(const cas::Disk& d, const std::string& image);

// Parses "20G", "512M", "1T", "12345" (bytes; K, M, G, T are powers of 1024).
Result<uint64_t> ParseSize(const std::string& text);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DISK_SINK_H_
