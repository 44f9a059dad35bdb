// The Disk codec: canonical round trip, validation, and robustness against damaged bytes.
#include "cas/disk.h"

#include <gtest/gtest.h>

#include <random>

#include "base/sha256.h"
#include "tests/cas/disk_samples.h"

namespace cairn::cas {
namespace {

ObjectId IdOf(std::string_view s) { return Sha256::Of(s); }

using samples::LvmDisk;
using samples::SampleDisk;

TEST(DiskTest, DisksWithoutLvmKeepVersionOneAndTheirIds) {
  std::string bytes = EncodeDisk(SampleDisk());
  EXPECT_TRUE(bytes.starts_with("cairn-disk-1\n"));
  // The id of a version-1 Disk written before LVM support: EncodeDisk must not move it.
  EXPECT_EQ(IdOf(bytes).ToHex().substr(0, 16), "5eb8377e9ce835ce");
}

// `d` is valid, encodes as format `version` (into *bytes) and decodes back to itself (into
// *decoded).
void ExpectRoundTrip(const Disk& d, int version, std::string* bytes = nullptr,
                     Disk* decoded = nullptr) {
  ASSERT_TRUE(ValidateDisk(d).ok()) << ValidateDisk(d).ToString();
  const std::string encoded = EncodeDisk(d);
  EXPECT_TRUE(encoded.starts_with("cairn-disk-" + std::to_string(version) + "\n"));
  auto back = DecodeDisk(IdOf(encoded), encoded);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, d);
  if (bytes) *bytes = encoded;
  if (decoded) *decoded = *back;
}

TEST(DiskTest, LvmDiskRoundTripsAsVersionTwo) {
  Disk d = LvmDisk();
  std::string bytes;
  Disk decoded;
  ASSERT_NO_FATAL_FAILURE(ExpectRoundTrip(d, 2, &bytes, &decoded));
  const Disk* back = &decoded;
  EXPECT_EQ(back->FilesystemSize(back->filesystems[1]), 12u << 20);
  EXPECT_EQ(back->FindVolume("vg0/swap").second->uuid, "SSSSSS-bbbb-cccc-dddd-eeee-ffff-000000");
  EXPECT_EQ(back->FindVolume("vg0/nope").second, nullptr);
  EXPECT_EQ(DiskContents(d), (std::vector<ObjectId>{IdOf("bios"), IdOf("lv"), IdOf("code"), IdOf("gap")}));
  EXPECT_EQ(DiskTrees(d), (std::vector<ObjectId>{IdOf("tree"), IdOf("srv"), IdOf("tree")}));
}

TEST(DiskTest, VersionTwoWithoutVolumeGroupsIsNotCanonical) {
  std::string v1 = EncodeDisk(SampleDisk());
  std::string v2 = EncodeDisk(LvmDisk());
  EXPECT_FALSE(DecodeDisk(ObjectId(), "cairn-disk-2\n" + v1.substr(13)));
  // A version-1 Disk cannot hold a physical volume.
  std::string pv = v2;
  pv.replace(0, 13, "cairn-disk-1\n");
  EXPECT_FALSE(DecodeDisk(ObjectId(), pv));
}

TEST(DiskTest, ValidationRefusesInconsistentVolumes) {
  auto refused = [](const Disk& d) { return !ValidateDisk(d).ok(); };
  Disk d = LvmDisk();
  d.volume_groups[0].lvs[2].segments[0].pe = 0;  // overlaps root
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.volume_groups[0].lvs[0].segments[0].pe = 5;  // past the PV's extents
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.volume_groups[0].pvs[0].pe_count = 6;  // 1 MiB + 6 x 4 MiB > 24 MiB
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.partitions[2].content = PartitionContent::kRaw;  // a VG names it as its PV anyway
  d.partitions[2].raw = IdOf("x");
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.volume_groups[0].pvs[0].partition = 2;  // a filesystem partition
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.filesystems[1].volume = "vg0/data";  // a raw LV
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.filesystems[1].volume = "vg0/gone";
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.filesystems[1].partition = 2;  // both a partition and a volume
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  std::swap(d.volume_groups[0].lvs[0], d.volume_groups[0].lvs[1]);
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  std::swap(d.filesystems[1], d.filesystems[2]);
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.volume_groups[0].lvs[0].name = "../x";
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.volume_groups[0].name = "-vg";
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.volume_groups[0].extent_size = 1000;
  EXPECT_TRUE(refused(d));
  d = LvmDisk();
  d.volume_groups.push_back(d.volume_groups[0]);  // two groups on one PV, out of order
  EXPECT_TRUE(refused(d));
  EXPECT_TRUE(IsLvmName("my-vg_1.2+x"));
  EXPECT_FALSE(IsLvmName(".."));
  EXPECT_FALSE(IsLvmName("a/b"));
  EXPECT_FALSE(IsLvmName(""));
}

// MBR: 1 a filesystem, 2 the extended partition, 5 a filesystem and 6 swap inside it.
Disk LogicalDisk() {
  Disk d;
  d.size = 64 << 20;
  d.table = PartitionTable::kMbr;
  d.disk_id = "0x12345678";
  d.partitions.push_back({1, 1 << 20, 10 << 20, "83", "", "", 0x80, PartitionContent::kFilesystem, ObjectId()});
  d.partitions.push_back({2, 11 << 20, 50 << 20, "05", "", "", 0, PartitionContent::kNothing, ObjectId()});
  d.partitions.push_back({5, 12 << 20, 10 << 20, "83", "", "", 0, PartitionContent::kFilesystem, ObjectId()});
  d.partitions.push_back({6, 23 << 20, 8 << 20, "82", "", "", 0, PartitionContent::kFilesystem, ObjectId()});
  for (uint32_t n : {1, 5, 6}) {
    DiskFilesystem f;
    f.partition = n;
    f.type = n == 6 ? "swap" : "ext4";
    f.uuid = "aaaaaaaa-2222-3333-4444-55555555555" + std::to_string(n);
    if (n != 6) f.tree = IdOf("tree" + std::to_string(n));
    f.mountpoint = n == 5 ? "/" : n == 1 ? "/boot" : "";
    d.filesystems.push_back(f);
  }
  d.view = IdOf("view");
  return d;
}

TEST(DiskTest, LogicalPartitionsRoundTripAsVersionTwo) {
  Disk d = LogicalDisk();
  std::string bytes;
  ASSERT_NO_FATAL_FAILURE(ExpectRoundTrip(d, 2, &bytes));
  std::string v1 = bytes;
  v1.replace(0, 13, "cairn-disk-1\n");
  EXPECT_FALSE(DecodeDisk(ObjectId(), v1));
}

TEST(DiskTest, ValidationRefusesLogicalPartitionsOutOfPlace) {
  auto refused = [](const Disk& d) { return !ValidateDisk(d).ok(); };
  Disk d = LogicalDisk();
  d.partitions[1].type = "83";  // no extended partition
  d.partitions[1].content = PartitionContent::kRaw;
  d.partitions[1].raw = IdOf("x");
  EXPECT_TRUE(refused(d));
  d = LogicalDisk();
  d.partitions[1].content = PartitionContent::kRaw;  // an extended partition holding bytes
  d.partitions[1].raw = IdOf("x");
  EXPECT_TRUE(refused(d));
  d = LogicalDisk();
  d.partitions[3].number = 7;  // 5, 7
  d.filesystems[2].partition = 7;
  EXPECT_TRUE(refused(d));
  d = LogicalDisk();
  d.partitions[2].start = 11 << 20;  // on the extended partition's first sector (its EBR)
  EXPECT_TRUE(refused(d));
  d = LogicalDisk();
  d.partitions[3].size = 40 << 20;  // past the extended partition
  EXPECT_TRUE(refused(d));
  d = LogicalDisk();
  d.partitions[3].start = 13 << 20;  // inside partition 5
  EXPECT_TRUE(refused(d));
  d = LogicalDisk();
  d.partitions[0].type = "0f";  // two extended partitions
  d.partitions[0].content = PartitionContent::kNothing;
  d.filesystems.erase(d.filesystems.begin());
  EXPECT_TRUE(refused(d));
}

TEST(DiskTest, EncodeDecodeRoundTrips) {
  Disk d = SampleDisk();
  ASSERT_TRUE(ValidateDisk(d).ok());
  std::string bytes = EncodeDisk(d);
  auto back = DecodeDisk(IdOf(bytes), bytes);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, d);
  EXPECT_EQ(EncodeDisk(*back), bytes);
}

TEST(DiskTest, ListsTheObjectsItNames) {
  Disk d = SampleDisk();
  EXPECT_EQ(DiskTrees(d), (std::vector<ObjectId>{IdOf("tree"), IdOf("tree")}));
  EXPECT_EQ(DiskContents(d), (std::vector<ObjectId>{IdOf("bios"), IdOf("code"), IdOf("gap")}));
}

TEST(DiskTest, ValidationRefusesInconsistentLayouts) {
  Disk d = SampleDisk();
  d.partitions[1].start = d.size;  // outside the disk
  EXPECT_FALSE(ValidateDisk(d).ok());
  d = SampleDisk();
  std::swap(d.partitions[0], d.partitions[1]);
  EXPECT_FALSE(ValidateDisk(d).ok());
  d = SampleDisk();
  d.filesystems[0].partition = 9;
  EXPECT_FALSE(ValidateDisk(d).ok());
  d = SampleDisk();
  d.partitions[1].content = PartitionContent::kNothing;  // a filesystem names it anyway
  EXPECT_FALSE(ValidateDisk(d).ok());
  d = SampleDisk();
  d.filesystems[0].mountpoint = "/boot/../..";
  EXPECT_FALSE(ValidateDisk(d).ok());
  d = SampleDisk();
  d.filesystems[0].mountpoint = "boot";
  EXPECT_FALSE(ValidateDisk(d).ok());
  d = SampleDisk();
  d.boot[1].offset = 100;  // overlaps the boot code
  EXPECT_FALSE(ValidateDisk(d).ok());
  d = SampleDisk();
  d.table = PartitionTable::kNone;
  EXPECT_FALSE(ValidateDisk(d).ok());
}

// A GPT entry array moved past LBA 2 (sgdisk -j) makes version 3; only such a Disk has it.
TEST(DiskTest, AGptEntryArrayNotAtLbaTwoIsVersionThree) {
  Disk d = SampleDisk();
  d.first_lba = 96;
  d.entries_lba = 64;
  d.boot[1] = {"gpt-gap", 1024, 31744, IdOf("spl")};
  ASSERT_NO_FATAL_FAILURE(ExpectRoundTrip(d, 3));
  Disk lvm = LvmDisk();
  lvm.first_lba = 96;
  lvm.entries_lba = 64;
  ASSERT_NO_FATAL_FAILURE(ExpectRoundTrip(lvm, 3));
  // Version 3 without the field (a version-2 body) is not canonical, nor one saying 2.
  EXPECT_FALSE(DecodeDisk(ObjectId(), "cairn-disk-3\n" + EncodeDisk(LvmDisk()).substr(13)));
  Disk bad = d;
  bad.entries_lba = 2;
  EXPECT_FALSE(ValidateDisk(bad).ok());
  bad = d;
  bad.entries_lba = 65;  // its 32 sectors would end past first_lba
  EXPECT_FALSE(ValidateDisk(bad).ok());
  bad = d;
  bad.table = PartitionTable::kMbr;
  EXPECT_FALSE(ValidateDisk(bad).ok());
}

// An ext filesystem's boot block ("fs-boot"): 1 KiB at the first byte of an ext filesystem, in
// a partition or a logical volume (its first extent), and nowhere else.
TEST(DiskTest, AnFsBootAreaLiesAtTheFirstByteOfAnExtFilesystem) {
  Disk d = SampleDisk();
  d.boot.push_back({"fs-boot", 2 << 20, 1024, IdOf("vbr")});  // partition 2's ext4
  ASSERT_NO_FATAL_FAILURE(ExpectRoundTrip(d, 1));
  Disk lvm = LvmDisk();  // vg0/root: partition 3 (32 MiB) + pe_start 1 MiB + extent 0
  lvm.boot.push_back({"fs-boot", 33 << 20, 1024, IdOf("vbr")});
  EXPECT_TRUE(ValidateDisk(lvm).ok()) << ValidateDisk(lvm).ToString();
  Disk bad = d;
  bad.boot.back().offset = 32 << 20;  // the swap partition
  EXPECT_FALSE(ValidateDisk(bad).ok());
  bad = d;
  bad.boot.back().offset += 512;
  EXPECT_FALSE(ValidateDisk(bad).ok());
  bad = d;
  bad.boot.back().length = 512;
  EXPECT_FALSE(ValidateDisk(bad).ok());
}

TEST(DiskTest, DecodeRefusesDamageNamingTheDisk) {
  std::string bytes = EncodeDisk(SampleDisk());
  ObjectId id = IdOf(bytes);
  auto r = DecodeDisk(id, bytes + "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kCorruption);
  EXPECT_NE(r.error().message().find(id.Short()), std::string::npos);
  EXPECT_FALSE(DecodeDisk(id, "cairn-tree-1\n"));
  EXPECT_FALSE(DecodeDisk(id, ""));
}

// Every truncation and many random byte changes either decode to a valid Disk (which then
// re-encodes to the same bytes) or fail with Corruption: never a crash, never a non-canonical
// Disk accepted.
TEST(DiskTest, DecodeSurvivesTruncationAndRandomDamage) {
  for (const Disk& disk : {SampleDisk(), LvmDisk(), LogicalDisk()}) {
  std::string bytes = EncodeDisk(disk);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeDisk(ObjectId(), std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r) << "truncated at " << n;
    EXPECT_EQ(r.error().code(), Code::kCorruption);
  }
  std::mt19937_64 rng(42);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = bytes;
    int changes = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < changes; ++c) b[rng() % b.size()] = static_cast<char>(rng());
    auto r = DecodeDisk(ObjectId(), b);
    if (r) {
      ++accepted;
      ASSERT_TRUE(ValidateDisk(*r).ok());
      ASSERT_EQ(EncodeDisk(*r), b);
    } else {
      ASSERT_EQ(r.error().code(), Code::kCorruption);
    }
  }
  EXPECT_LT(accepted, 20000);
  }
}

}  // namespace
}  // namespace cairn::cas
