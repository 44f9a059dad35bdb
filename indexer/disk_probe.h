// Reading a disk image's layout in-process from its bytes: the image format (by magic), the
// partition table (MBR or GPT), and what each partition holds (ext2/3/4 superblock, swap, or a
// signature of something cairn does not store). The same code serves the fast path (reading the
// raw file) and the libguestfs path (reading the device in the appliance), so both find the
// same layout.
#ifndef CAIRN_INDEXER_DISK_PROBE_H_
#define CAIRN_INDEXER_DISK_PROBE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "cas/disk.h"

namespace cairn::indexer {

// Reads exactly n bytes at offset (zeros past the end are the reader's business).
using ReadAtFn = std::function<Result<std::string>(uint64_t offset, size_t n)>;

// What a region of the disk holds.
struct ProbedContent {
  enum class Kind { kEmpty, kExt, kSwap, kUnknown, kUnsupported, kLvmPv } kind = Kind::kEmpty;
  std::string type;  // "ext4", "swap"; for kUnsupported what it is ("crypto_LUKS", "xfs", ...)
  std::string uuid, label;
  std::vector<std::pair<std::string, std::string>> params;  // sorted by key
  // ext: what its files hold, estimated from the superblock's counts (not stored; the
  // progress line's total).
  uint64_t data_bytes_estimate = 0;
  // ext: not unmounted cleanly (incompat "needs_recovery"): its files are as the kernel sees
  // them only once its journal is replayed.
  bool needs_recovery = false;
  // ext: incompat or ro_compat features e2fsprogs has no name for ("FEATURE_I20"): checkout
  // could not make the filesystem with them, so checkin refuses it (NotSupported).
  std::string unknown_features;
};
Result<ProbedContent> ProbeContent(const ReadAtFn& read, uint64_t offset, uint64_t size);

struct ProbedLayout {
  // size, table, ids, partitions (content not yet filled, except kLvmPv), volume groups
  // (volume content not yet filled), no filesystems
  cas::Disk disk;
  std::vector<ProbedContent> contents;  // per partition, or one for the whole disk (table none)
  std::map<std::string, ProbedContent> volumes;  // per logical volume, by "VG/LV"
  // Boot areas found (offset, length; not all zero), not yet stored.
  std::vector<cas::BootArea> boot;
  // What the probe worked around, for the user (a damaged primary GPT read from its backup).
  std::vector<std::string> warnings;
};

// Reads the partition table and probes every partition, and in LVM physical volumes the volume
// groups (disk_lvm.h) and every logical volume. Errors name `image`: InvalidArgument when there
// is no partition table and no filesystem at all, or no filesystem anywhere; NotSupported for
// LUKS, an LVM physical volume on the whole disk or a volume group with physical volumes
// outside it, logical volumes that are not linear, filesystems other than ext2/3/4 and swap,
// and ext incompat or ro_compat features e2fsprogs does not know; Corruption for damaged tables
// (EBR chains included) or LVM metadata. MBR logical partitions are numbered from 5 in the order of
// their chain, as Linux numbers them.
Result<ProbedLayout> ProbeLayout(const ReadAtFn& read, uint64_t size, const std::string& image);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DISK_PROBE_H_
