// Disk: the layout of a disk image as an object (type kDisk). Encoding: docs/format/disk.md.
//
// A Disk records the partition table, the partitions, the filesystems in them (each pointing
// at its root Tree), the boot areas, and a view Tree: the root filesystem with the others
// grafted at their mount points, which is what readers of a disk version's files see. Version 2
// adds LVM (partitions that are physical volumes, their volume groups and logical volumes, and
// filesystems that live in logical volumes) and MBR logical partitions; version 3 a GPT entry
// array that is not at LBA 2.
#ifndef CAIRN_CAS_DISK_H_
#define CAIRN_CAS_DISK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"

namespace cairn::cas {

// The boot block of an ext filesystem (its first 1 KiB, which ext leaves to a boot loader): a
// boot area of this kind and length at a filesystem's first byte (docs/format/disk.md).
inline constexpr std::string_view kFsBootKind = "fs-boot";
inline constexpr uint64_t kFsBootLength = 1024;

// Stable numbers (on disk).
enum class PartitionTable : uint8_t { kNone = 0, kMbr = 1, kGpt = 2 };
enum class PartitionContent : uint8_t { kNothing = 0, kFilesystem = 1, kRaw = 2, kLvmPv = 3 };
// What a logical volume holds (the same numbers as PartitionContent).
enum class VolumeContent : uint8_t { kNothing = 0, kFilesystem = 1, kRaw = 2 };

std::string_view PartitionTableName(PartitionTable t);  // "none", "dos", "gpt"
// Whether an MBR type ("05", "0f", "85") is an extended partition's.
bool IsExtendedType(std::string_view mbr_type);

struct DiskPartition {
  uint32_t number = 0;
  uint64_t start = 0, size = 0;  // bytes
  std::string type;  // MBR "83"; GPT type GUID
  std::string guid;  // GPT partition GUID
  std::string name;  // GPT name
  uint64_t attrs = 0;
  PartitionContent content = PartitionContent::kNothing;
  ObjectId raw;  // kRaw: a Blob or ChunkIndex of the partition's bytes
  bool operator==(const DiskPartition&) const = default;
};

struct DiskFilesystem {
  uint32_t partition = 0;  // 0: the whole disk (table kNone) or a logical volume
  std::string volume;      // "VG/LV" when in a logical volume, else ""
  std::string type;        // "ext2", "ext3", "ext4", "swap"
  std::string uuid, label;
  std::vector<std::pair<std::string, std::string>> params;  // sorted by key
  std::string mountpoint;  // "/", "/boot", or "" when not mounted by the OS
  ObjectId tree;           // zero for swap
  bool operator==(const DiskFilesystem&) const = default;
  // The value of parameter `key`, or "" when absent.
  std::string Param(std::string_view key) const;
};

struct BootArea {
  // "mbr-code", "mbr-table", "gap" or "fs-boot" (docs/format/disk.md)
  std::string kind;
  uint64_t offset = 0, length = 0;
  ObjectId content;  // a Blob or ChunkIndex of exactly `length` bytes
  bool operator==(const BootArea&) const = default;
};

// A run of physical extents of one PV that holds consecutive logical extents of an LV.
struct LvmSegment {
  uint32_t partition = 0;  // the PV's partition
  uint64_t pe = 0;         // first physical extent on that PV
  uint64_t extents = 0;    // > 0
  bool operator==(const LvmSegment&) const = default;
};

struct LogicalVolume {
  std::string name, uuid;
  std::vector<LvmSegment> segments;  // in logical order (linear volumes only)
  VolumeContent content = VolumeContent::kNothing;
  ObjectId raw;  // kRaw: a Blob or ChunkIndex of the volume's bytes in logical order
  bool operator==(const LogicalVolume&) const = default;
  uint64_t Extents() const;
};

struct PhysicalVolume {
  uint32_t partition = 0;
  std::string uuid;
  uint64_t pe_start = 0;  // bytes from the partition's start to extent 0
  uint64_t pe_count = 0;
  bool operator==(const PhysicalVolume&) const = default;
};

struct VolumeGroup {
  std::string name, uuid;
  uint64_t extent_size = 0;                // bytes
  std::vector<PhysicalVolume> pvs;         // by partition
  std::vector<LogicalVolume> lvs;          // by name
  bool operator==(const VolumeGroup&) const = default;
  const PhysicalVolume* FindPv(uint32_t partition) const;
};

struct Disk {
  uint64_t size = 0;
  uint32_t sector_size = 512;
  PartitionTable table = PartitionTable::kNone;
  std::string disk_id;
  uint64_t first_lba = 0;  // GPT
  uint32_t entries = 0;    // GPT
  // GPT: the LBA of the primary entry array when it is not 2 (sgdisk -j: boards whose boot ROM
  // loads code from the sectors after the header); 0 otherwise. Encoded as version 3.
  uint64_t entries_lba = 0;
  std::vector<DiskPartition> partitions;    // by number
  std::vector<DiskFilesystem> filesystems;  // by partition
  std::vector<BootArea> boot;               // by offset
  std::vector<VolumeGroup> volume_groups;   // by name; none: encoded as version 1
  ObjectId view;
  bool operator==(const Disk&) const = default;

  const DiskPartition* FindPartition(uint32_t number) const;
  // MBR partitions numbered 5 and up (in the extended partition).
  bool HasLogicalPartitions() const;
  // The logical volume "VG/LV" and its group, or nullptrs.
  std::pair<const VolumeGroup*, const LogicalVolume*> FindVolume(std::string_view name) const;
  // The size in bytes of what `f` lives in (partition, logical volume or the whole disk).
  uint64_t FilesystemSize(const DiskFilesystem& f) const;
  // The disk offset of `f`'s first byte (for a logical volume: its first segment's), or
  // nullopt when what it names is missing.
  std::optional<uint64_t> FilesystemOffset(const DiskFilesystem& f) const;
};

// Version 3 ("cairn-disk-3") when the GPT's entries are not at LBA 2, else version 1
// ("cairn-disk-1") when the disk has no volume groups and no logical partitions, else version 2.
// REQUIRES: ValidateDisk(disk).ok() (sorts nothing: callers build canonical Disks).
std::string EncodeDisk(const Disk& disk);
// Corruption naming `id` unless `data` is a canonical, consistent encoding.
Result<Disk> DecodeDisk(const ObjectId& id, std::string_view data);
// InvalidArgument naming the first inconsistency (the rules of docs/format/disk.md).
Status ValidateDisk(const Disk& disk);
// Whether `name` is a valid LVM volume group or logical volume name (1..127 of
// [A-Za-z0-9+_.-], not starting with '-', not "." or "..").
bool IsLvmName(std::string_view name);

// Objects a Disk names, for gc and verify: Trees (filesystems and the view) and contents
// (raw partitions, raw logical volumes and boot areas: Blobs or ChunkIndexes).
std::vector<ObjectId> DiskTrees(const Disk& disk);
std::vector<ObjectId> DiskContents(const Disk& disk);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_DISK_H_
