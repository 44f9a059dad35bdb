// Disk: the layout of a disk image as an object (type kDisk). Encoding: docs/format/disk.md.
//
// A Disk records the partition table, the partitions, the filesystems in them (each pointing
// at its root Tree), the boot areas, and a view Tree: the root filesystem with the others
// grafted at their mount points, which is what readers of a disk version's files see.
#ifndef CAIRN_CAS_DISK_H_
#define CAIRN_CAS_DISK_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"

namespace cairn::cas {

// Stable numbers (on disk).
enum class PartitionTable : uint8_t { kNone = 0, kMbr = 1, kGpt = 2 };
enum class PartitionContent : uint8_t { kNothing = 0, kFilesystem = 1, kRaw = 2 };

std::string_view PartitionTableName(PartitionTable t);  // "none", "dos", "gpt"

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
  uint32_t partition = 0;  // 0: the whole disk (table kNone)
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
  std::string kind;  // "mbr-code" or "gap"
  uint64_t offset = 0, length = 0;
  ObjectId content;  // a Blob or ChunkIndex of exactly `length` bytes
  bool operator==(const BootArea&) const = default;
};

struct Disk {
  uint64_t size = 0;
  uint32_t sector_size = 512;
  PartitionTable table = PartitionTable::kNone;
  std::string disk_id;
  uint64_t first_lba = 0;  // GPT
  uint32_t entries = 0;    // GPT
  std::vector<DiskPartition> partitions;    // by number
  std::vector<DiskFilesystem> filesystems;  // by partition
  std::vector<BootArea> boot;               // by offset
  ObjectId view;
  bool operator==(const Disk&) const = default;

  const DiskPartition* FindPartition(uint32_t number) const;
};

// REQUIRES: ValidateDisk(disk).ok() (sorts nothing: callers build canonical Disks).
std::string EncodeDisk(const Disk& disk);
// Corruption naming `id` unless `data` is a canonical, consistent encoding.
Result<Disk> DecodeDisk(const ObjectId& id, std::string_view data);
// InvalidArgument naming the first inconsistency (the rules of docs/format/disk.md).
Status ValidateDisk(const Disk& disk);

// Objects a Disk names, for gc and verify: Trees (filesystems and the view) and contents
// (raw partitions and boot areas: Blobs or ChunkIndexes).
std::vector<ObjectId> DiskTrees(const Disk& disk);
std::vector<ObjectId> DiskContents(const Disk& disk);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_DISK_H_
