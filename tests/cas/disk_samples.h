// Sample Disks for tests and fuzz seeds (tests/cas/disk_test.cc, fuzz/make_seeds.cc): a GPT
// disk with a BIOS boot partition, an ext4 root and swap, and the same with an LVM group.
#ifndef CAIRN_TESTS_CAS_DISK_SAMPLES_H_
#define CAIRN_TESTS_CAS_DISK_SAMPLES_H_

#include "base/sha256.h"
#include "cas/disk.h"

namespace cairn::cas::samples {

inline Disk SampleDisk() {
  Disk d;
  d.size = 64 << 20;
  d.table = PartitionTable::kGpt;
  d.disk_id = "0F8A1E2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B";
  d.first_lba = 34;
  d.entries = 128;
  d.partitions.push_back({1, 1 << 20, 1 << 20, "21686148-6449-6E6F-744E-656564454649",
                          "11111111-2222-3333-4444-555555555555", "bios", 0, PartitionContent::kRaw,
                          Sha256::Of("bios")});
  d.partitions.push_back({2, 2 << 20, 30 << 20, "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                          "22222222-2222-3333-4444-555555555555", "root", 4,
                          PartitionContent::kFilesystem, ObjectId()});
  d.partitions.push_back({3, 32 << 20, 8 << 20, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
                          "33333333-2222-3333-4444-555555555555", "swap", 0,
                          PartitionContent::kFilesystem, ObjectId()});
  DiskFilesystem root;
  root.partition = 2;
  root.type = "ext4";
  root.uuid = "aaaaaaaa-2222-3333-4444-555555555555";
  root.label = "root";
  root.params = {{"block_size", "4096"}, {"features", "has_journal extent"}, {"inode_size", "256"}};
  root.mountpoint = "/";
  root.tree = Sha256::Of("tree");
  d.filesystems.push_back(root);
  DiskFilesystem swap;
  swap.partition = 3;
  swap.type = "swap";
  swap.uuid = "bbbbbbbb-2222-3333-4444-555555555555";
  d.filesystems.push_back(swap);
  d.boot.push_back({"mbr-code", 0, 440, Sha256::Of("code")});
  d.boot.push_back({"gap", 17408, 1031168, Sha256::Of("gap")});
  d.view = Sha256::Of("tree");
  return d;
}

// SampleDisk with partition 3 an LVM physical volume of group "vg0" holding "root" (ext4, two
// segments), "swap" and "data" (raw bytes); 4 MiB extents.
inline Disk LvmDisk() {
  Disk d = SampleDisk();
  d.partitions[2].size = 24 << 20;
  d.partitions[2].content = PartitionContent::kLvmPv;
  d.filesystems.pop_back();  // the partition's swap
  VolumeGroup vg;
  vg.name = "vg0";
  vg.uuid = "hd2dsj-aeAQ-MrKR-DyXy-34sW-VG0G-qaZx7V";
  vg.extent_size = 4 << 20;
  vg.pvs.push_back({3, "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000000", 1 << 20, 5});
  LogicalVolume data{"data",
                     "DDDDDD-bbbb-cccc-dddd-eeee-ffff-000000",
                     {{3, 4, 1}},
                     VolumeContent::kRaw,
                     Sha256::Of("lv")};
  LogicalVolume root{"root",
                     "RRRRRR-bbbb-cccc-dddd-eeee-ffff-000000",
                     {{3, 0, 2}, {3, 3, 1}},
                     VolumeContent::kFilesystem,
                     ObjectId()};
  LogicalVolume swap{"swap",
                     "SSSSSS-bbbb-cccc-dddd-eeee-ffff-000000",
                     {{3, 2, 1}},
                     VolumeContent::kFilesystem,
                     ObjectId()};
  vg.lvs = {data, root, swap};
  d.volume_groups.push_back(vg);
  DiskFilesystem lvroot;
  lvroot.volume = "vg0/root";
  lvroot.type = "ext4";
  lvroot.uuid = "cccccccc-2222-3333-4444-555555555555";
  lvroot.mountpoint = "/srv";
  lvroot.tree = Sha256::Of("srv");
  DiskFilesystem lvswap;
  lvswap.volume = "vg0/swap";
  lvswap.type = "swap";
  lvswap.uuid = "dddddddd-2222-3333-4444-555555555555";
  d.filesystems.push_back(lvroot);
  d.filesystems.push_back(lvswap);
  return d;
}

}  // namespace cairn::cas::samples

#endif  // CAIRN_TESTS_CAS_DISK_SAMPLES_H_
