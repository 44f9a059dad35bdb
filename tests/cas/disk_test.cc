// The Disk codec: canonical round trip, validation, and robustness against damaged bytes.
#include "cas/disk.h"

#include <gtest/gtest.h>

#include <random>

#include "base/sha256.h"

namespace cairn::cas {
namespace {

ObjectId IdOf(std::string_view s) { return Sha256::Of(s); }

Disk SampleDisk() {
  Disk d;
  d.size = 64 << 20;
  d.table = PartitionTable::kGpt;
  d.disk_id = "0F8A1E2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B";
  d.first_lba = 34;
  d.entries = 128;
  d.partitions.push_back({1, 1 << 20, 1 << 20, "21686148-6449-6E6F-744E-656564454649",
                          "11111111-2222-3333-4444-555555555555", "bios", 0,
                          PartitionContent::kRaw, IdOf("bios")});
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
  root.tree = IdOf("tree");
  d.filesystems.push_back(root);
  DiskFilesystem swap;
  swap.partition = 3;
  swap.type = "swap";
  swap.uuid = "bbbbbbbb-2222-3333-4444-555555555555";
  d.filesystems.push_back(swap);
  d.boot.push_back({"mbr-code", 0, 440, IdOf("code")});
  d.boot.push_back({"gap", 17408, 1031168, IdOf("gap")});
  d.view = IdOf("tree");
  return d;
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
  std::string bytes = EncodeDisk(SampleDisk());
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

}  // namespace
}  // namespace cairn::cas
