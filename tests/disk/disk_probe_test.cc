// The partition table and filesystem probe (indexer/disk_probe.h) on disks built in memory field
// by field: GPT checksums, the backup GPT, damaged and lying tables, the gap before the first
// partition, ext superblocks; and the sfdisk script checkout writes tables with. No root, no
// appliance.
#include "indexer/disk_probe.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/crc32.h"
#include "indexer/disk_lvm.h"
#include "indexer/disk_sink.h"
#include "indexer/disk_view.h"
#include "indexer/image_sniff.h"

namespace cairn::indexer {
namespace {

// A 1 MiB disk in memory, its bytes set field by field, read through ProbeLayout's ReadAtFn;
// Gpt() lays down a protective MBR and a GPT header (entries of `esize` bytes at LBA 2).
struct MemoryDisk {
  std::string bytes = std::string(1 << 20, '\0');
  uint64_t asked = 0;  // bytes read so far
  void Put(size_t off, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes[off + i] = static_cast<char>(v >> (8 * i));
  }
  ReadAtFn Reader() {
    return [this](uint64_t off, size_t n) -> Result<std::string> {
      asked += n;
      if (n > (64u << 20)) return Status::IOError("a read of " + std::to_string(n) + " bytes");
      std::string out = off < bytes.size() ? bytes.substr(off, n) : "";
      out.resize(n, '\0');
      return out;
    };
  }
  void Gpt(uint64_t esize) {
    Put(510, 0xAA55, 2);
    bytes[446 + 4] = static_cast<char>(0xEE);
    bytes.replace(512, 8, "EFI PART");
    Put(512 + 12, 92, 4);
    Put(512 + 40, 34, 8);
    Put(512 + 48, (64 << 20) / 512 - 34, 8);  // the last usable sector of a 64 MiB disk
    Put(512 + 72, 2, 8);
    Put(512 + 80, 128, 4);
    Put(512 + 84, esize, 4);
  }
  // Writes both GPT checksums (128 entries of 128 bytes).
  void Seal() {
    Put(512 + 88, Crc32(std::string_view(bytes).substr(1024, 128 * 128)), 4);
    Put(512 + 16, 0, 4);
    Put(512 + 16, Crc32(std::string_view(bytes).substr(512, 92)), 4);
  }
};

// The progress line's total for a disk: what its ext filesystems' files hold, from the
// superblock's counts less the inode tables and the journal (an estimate, never below the
// files' bytes).
TEST(DiskProbeTest, AnExtFilesystemsFileBytesAreEstimatedFromItsSuperblock) {
  char tmpl[] = "/tmp/cairn-estimate-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const uint64_t data = 8'000'000 + 200 * 201 / 2 * 37;
  ASSERT_EQ(std::system(("set -e; cd " + dir +
                         "; mkdir src; head -c 8000000 /dev/urandom > src/big;"
                         " for i in $(seq 1 200); do head -c $((i * 37)) /dev/urandom > src/s$i;"
                         " done; truncate -s 64M img; mkfs.ext4 -q -d src img")
                            .c_str()),
            0);
  std::ifstream in(dir + "/img", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), 64u << 20);
  ReadAtFn read = [&](uint64_t off, size_t n) -> Result<std::string> {
    std::string out = off < bytes.size() ? bytes.substr(off, n) : "";
    out.resize(n, '\0');
    return out;
  };
  auto content = ProbeContent(read, 0, bytes.size());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(content) << content.error().ToString();
  ASSERT_EQ(content->kind, ProbedContent::Kind::kExt);
  // 18.6 MB of blocks in use, 4 MiB of them inode tables and 4 MiB journal.
  EXPECT_GE(content->data_bytes_estimate, data);
  EXPECT_LE(content->data_bytes_estimate, data + data / 4) << "the rest of the metadata";
}

// Damaged tables and superblocks from disk images of any origin (found by fuzz/probe_fuzzer.cc):
// a GPT header naming entries of 1 MiB each made the probe read up to 4 TiB; an ext superblock
// with a block size of 1 KiB << 40 shifted past 32 bits.
TEST(DiskProbeTest, DamagedGptEntrySizeAndExtBlockSizeAreHandled) {
  MemoryDisk disk;
  disk.Gpt(1 << 20);  // each entry 1 MiB
  auto gpt = ProbeLayout(disk.Reader(), 64 << 20, "damaged.img");
  ASSERT_FALSE(gpt);
  EXPECT_EQ(gpt.error().code(), Code::kCorruption) << gpt.error().ToString();
  EXPECT_LT(disk.asked, 2u << 20);

  MemoryDisk ext;
  ext.Put(1024 + 56, 0xEF53, 2);
  ext.Put(1024 + 24, 40, 4);  // s_log_block_size
  auto content = ProbeContent(ext.Reader(), 0, 1 << 20);
  ASSERT_TRUE(content) << content.error().ToString();
  EXPECT_EQ(content->kind, ProbedContent::Kind::kUnknown) << "its bytes are kept as they are";
  ext.Put(1024 + 24, 2, 4);
  content = ProbeContent(ext.Reader(), 0, 1 << 20);
  ASSERT_TRUE(content);
  EXPECT_EQ(content->kind, ProbedContent::Kind::kExt);
  EXPECT_EQ(content->params[1], (std::pair<std::string, std::string>{"block_size", "4096"}));
}

// GPT entries that name sectors no disk has (LBAs that wrap around 64 bits as bytes), sectors
// the table keeps for itself, or sectors another partition holds: damaged, refused before any of
// it is read (a wrapped first LBA was read as the filesystem at 1 MiB, a wrapped size streamed
// 16 EiB of zeros).
TEST(DiskProbeTest, GptPartitionsOutsideTheDiskOrOverOthersAreDamaged) {
  auto probe = [](std::vector<std::pair<uint64_t, uint64_t>> parts) {
    MemoryDisk disk;
    disk.Gpt(128);
    for (size_t i = 0; i < parts.size(); ++i) {
      disk.bytes.replace(1024 + i * 128, 16, std::string(16, '\x11'));
      disk.Put(1024 + i * 128 + 32, parts[i].first, 8);
      disk.Put(1024 + i * 128 + 40, parts[i].second, 8);
    }
    disk.Seal();
    auto r = ProbeLayout(disk.Reader(), 64 << 20, "gpt.img");
    EXPECT_LT(disk.asked, 2u << 20);
    return r ? std::string("accepted") : r.error().ToString();
  };
  const uint64_t wrap = uint64_t{1} << 55;
  EXPECT_NE(probe({{wrap + 2048, wrap + 4095}}).find("partition 1 lies outside the disk"),
            std::string::npos);
  EXPECT_NE(probe({{1, ~uint64_t{0}}}).find("partition 1 lies outside the disk"),
            std::string::npos);
  EXPECT_NE(probe({{2048, 4095}, {10, 100}})
                .find("GPT partition 2 lies outside the table's usable sectors (34 to 131038)"),
            std::string::npos);
  EXPECT_NE(probe({{2048, 8191}, {4096, 10000}}).find("partitions 1 and 2 overlap"),
            std::string::npos);
}

// A whole disk the probe refuses (LUKS, an LVM physical volume, XFS) is sniffed as a disk, to be
// named; a tarball holding such an image is still a tarball.
TEST(DiskProbeTest, WholeDisksOfRefusedKindsAreSniffedAsDisksNotTheirTarballs) {
  std::string pv(64 * 1024, '\0');
  pv.replace(512, 8, "LABELONE");
  pv.replace(512 + 24, 4, "LVM2");
  EXPECT_EQ(SniffImageFormat(pv), "raw");
  EXPECT_EQ(SniffImageFormat(std::string("LUKS\xba\xbe", 6) + std::string(4096, '\0')), "raw");
  EXPECT_EQ(SniffImageFormat("XFSB" + std::string(4096, '\0')), "raw");
  std::string tar(64 * 1024, '\0');
  tar.replace(0, 6, "pv.img");
  tar.replace(257, 6, std::string("ustar\0", 6));
  tar.replace(512 + 512, 8, "LABELONE");  // the image's label, in its sector 1
  tar.replace(512 + 512 + 24, 4, "LVM2");
  EXPECT_EQ(SniffImageFormat(tar), "");
}

// A tarball (tar, cpio, or compressed) is sniffed as one before any disk signature is looked
// for: those lie at offsets a tar's first file, or compressed bytes, fill with anything. A tar
// whose first file held 0xEF53 at its offset 568 (1080 in the tarball) was loop-mounted as ext,
// one whose first file began "EFI PART" was refused as a disk, and a .tar.gz whose bytes 510-511
// happened to be 0x55AA (2 in 65,536) failed as a partition table. Disks are still disks.
TEST(DiskProbeTest, TarballsAreSniffedAsTarballsWhateverTheirFirstFileHolds) {
  std::string tar(64 * 1024, '\0');
  tar.replace(0, 5, "first");
  tar.replace(257, 6, std::string("ustar\0", 6));
  std::string ext = tar, gpt = tar, mbr = tar;
  ext.replace(1080, 2, "\x53\xef");
  gpt.replace(512, 8, "EFI PART");
  mbr.replace(510, 2, "\x55\xaa");
  for (const std::string* t : {&ext, &gpt, &mbr}) EXPECT_EQ(SniffImageFormat(*t), "");
  // A v7 header has no magic: its checksum says it is one.
  std::string v7(64 * 1024, '\0');
  v7.replace(0, 5, "first");
  v7.replace(100, 8, std::string("0000644\0", 8));
  v7.replace(124, 12, std::string("00000002000\0", 12));
  v7.replace(1080, 2, "\x53\xef");
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<uint8_t>(v7[i]);
  char field[9];
  std::snprintf(field, sizeof field, "%06o", sum);
  v7.replace(148, 8, std::string(field, 6) + std::string("\0 ", 2));
  EXPECT_EQ(SniffImageFormat(v7), "");
  v7[0] ^= 1;  // no longer a header: a disk's signature again
  EXPECT_EQ(SniffImageFormat(v7), "raw");
  for (std::string_view magic :
       {std::string_view("\x1f\x8b\x08", 3), std::string_view("\x28\xb5\x2f\xfd", 4),
        std::string_view("\xfd"
                         "7zXZ\0",
                         6),
        std::string_view("BZh9"), std::string_view("\x04\x22\x4d\x18", 4),
        std::string_view("\x50\x2a\x4d\x18", 4), std::string_view("LZIP"),
        std::string_view("\x1f\x9d"), std::string_view("070701"), std::string_view("\xc7\x71"),
        std::string_view("\x71\xc7"), std::string_view("\x89LZO\0\r\n\x1a\n", 9),
        std::string_view("\x5d\0\0", 3)}) {
    std::string compressed(64 * 1024, '\x11');
    compressed.replace(0, magic.size(), magic);
    compressed.replace(510, 2, "\x55\xaa");
    compressed.replace(1080, 2, "\x53\xef");
    EXPECT_EQ(SniffImageFormat(compressed), "") << magic;
  }
  std::string disk(64 * 1024, '\0');
  disk.replace(0, 3, "\xeb\x63\x90");  // boot code
  disk.replace(510, 2, "\x55\xaa");
  EXPECT_EQ(SniffImageFormat(disk), "raw");
  std::string fs(64 * 1024, '\0');
  fs.replace(1080, 2, "\x53\xef");
  EXPECT_EQ(SniffImageFormat(fs), "raw");
}

// One rule for mount points on both paths (fstab on the fast path, libguestfs's inspection on
// the other): "/boot/." was skipped by one and failed the other's checkin with "unsafe name".
TEST(DiskViewTest, MountPointsAreSafeNamesJoinedBySlashes) {
  EXPECT_EQ(SafeMountpoint("/"), "/");
  EXPECT_EQ(SafeMountpoint("/boot"), "/boot");
  EXPECT_EQ(SafeMountpoint("//boot/efi/"), "/boot/efi");
  for (const char* bad : {"/boot/.", "/a/../b", "/..", "boot", ""}) {
    EXPECT_EQ(SafeMountpoint(bad), std::nullopt) << bad;
  }
}

// sfdisk takes a partition's number from the digits its name ends with: after an image name
// ending with a digit (a checkout's random temporary name may), a 'p' keeps them apart.
TEST(SfdiskScriptTest, PartitionNamesKeepTheirNumberAfterANameEndingWithADigit) {
  cas::Disk d;
  d.table = cas::PartitionTable::kMbr;
  d.disk_id = "0x11223344";
  cas::DiskPartition p;
  p.number = 2;
  p.start = 1 << 20;
  p.size = 4 << 20;
  p.type = "83";
  d.partitions.push_back(p);
  auto named = [&](const std::string& image) {
    auto s = SfdiskScript(d, image);
    return s ? s->substr(s->find("\n\n") + 2, s->find(" : ") - s->find("\n\n") - 2)
             : s.status().ToString();
  };
  EXPECT_EQ(named("/t/out.raw.cairn-tmp.ab3x9k"), "/t/out.raw.cairn-tmp.ab3x9k2");
  EXPECT_EQ(named("/t/out.raw.cairn-tmp.ab3x97"), "/t/out.raw.cairn-tmp.ab3x97p2");
}

TEST(DiskProbeTest, Crc32IsZlibsAndLvmsChecksumIsItsVariant) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the CRC-32 check value
  // lvm2's calc_crc: the table-driven CRC-32 from 0xf597a6cf, no inversions.
  EXPECT_EQ(LvmChecksum("123456789"), 0x4991CF02u);
}

// A GPT is the one the kernel sees only when its header's and its entries' checksums hold.
TEST(DiskProbeTest, GptChecksumsAreVerified) {
  MemoryDisk disk;
  disk.Gpt(128);
  disk.bytes.replace(1024, 16, std::string(16, '\x11'));  // one partition of some type
  disk.Put(1024 + 32, 2048, 8);
  disk.Put(1024 + 40, 4095, 8);
  disk.Seal();
  auto good = ProbeLayout(disk.Reader(), 64 << 20, "gpt.img");
  ASSERT_TRUE(good || good.error().message().find("checksum") == std::string::npos)
      << good.error().ToString();
  disk.bytes[1024 + 33] ^= 1;  // the entry's first LBA, checksums not redone
  auto entries = ProbeLayout(disk.Reader(), 64 << 20, "gpt.img");
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code(), Code::kCorruption);
  EXPECT_NE(entries.error().message().find("GPT partition entries checksum mismatch"),
            std::string::npos)
      << entries.error().ToString();
  disk.Seal();
  disk.bytes[512 + 56] ^= 1;  // the disk GUID
  auto header = ProbeLayout(disk.Reader(), 64 << 20, "gpt.img");
  ASSERT_FALSE(header);
  EXPECT_NE(header.error().message().find("GPT header checksum mismatch"), std::string::npos)
      << header.error().ToString();
}

// A 1 MiB GPT disk (2,048 sectors) as sfdisk lays it out: primary header in sector 1 and
// entries from sector 2; the backup's entries in sectors 2015-2046 and its header in the last
// sector. One partition (sectors 40-1000) holding an ext superblock.
MemoryDisk GptWithBackup() {
  MemoryDisk disk;
  disk.Gpt(128);
  disk.Put(512 + 24, 1, 8);     // this header's sector
  disk.Put(512 + 32, 2047, 8);  // the other one's
  disk.bytes.replace(1024, 16, std::string(16, '\x11'));
  disk.Put(1024 + 32, 40, 8);
  disk.Put(1024 + 40, 1000, 8);
  disk.Put(40 * 512 + 1024 + 56, 0xEF53, 2);
  disk.Put(40 * 512 + 1024 + 24, 2, 4);
  disk.Seal();
  disk.bytes.replace(2015 * 512, 128 * 128, disk.bytes.substr(1024, 128 * 128));
  std::string header = disk.bytes.substr(512, 512);
  disk.bytes.replace(2047 * 512, 512, header);
  disk.Put(2047 * 512 + 24, 2047, 8);
  disk.Put(2047 * 512 + 32, 1, 8);
  disk.Put(2047 * 512 + 72, 2015, 8);
  disk.Put(2047 * 512 + 16, 0, 4);
  disk.Put(2047 * 512 + 16, Crc32(std::string_view(disk.bytes).substr(2047 * 512, 92)), 4);
  return disk;
}

// As the kernel does, a damaged or missing primary GPT gives way to the backup, with a warning;
// when both are damaged the probe fails.
TEST(DiskProbeTest, ADamagedPrimaryGptIsReadFromItsBackup) {
  MemoryDisk disk = GptWithBackup();
  auto good = ProbeLayout(disk.Reader(), 1 << 20, "gpt.img");
  ASSERT_TRUE(good) << good.error().ToString();
  EXPECT_TRUE(good->warnings.empty());
  ASSERT_EQ(good->disk.partitions.size(), 1u);
  EXPECT_EQ(good->disk.partitions[0].start, 40u * 512);
  EXPECT_EQ(good->contents.at(0).kind, ProbedContent::Kind::kExt);

  auto expect_backup = [&](const std::string& why) {
    auto r = ProbeLayout(disk.Reader(), 1 << 20, "gpt.img");
    ASSERT_TRUE(r) << why << ": " << r.error().ToString();
    EXPECT_EQ(cas::EncodeDisk(r->disk), cas::EncodeDisk(good->disk)) << why;
    EXPECT_EQ(r->boot.size(), good->boot.size()) << why;
    ASSERT_EQ(r->warnings.size(), 1u) << why;
    EXPECT_NE(r->warnings[0].find("gpt.img"), std::string::npos) << r->warnings[0];
    EXPECT_NE(r->warnings[0].find(why), std::string::npos) << r->warnings[0];
    EXPECT_NE(r->warnings[0].find("backup in sector 2047"), std::string::npos) << r->warnings[0];
  };
  disk.bytes[1024 + 33] ^= 1;  // the primary's entry
  expect_backup("GPT partition entries checksum mismatch");
  disk.bytes[1024 + 33] ^= 1;
  disk.bytes[512 + 56] ^= 1;  // the primary header's disk GUID
  expect_backup("GPT header checksum mismatch");
  disk.bytes.replace(512, 8, std::string(8, '\0'));  // no primary header at all
  expect_backup("is missing");

  disk.bytes[2015 * 512 + 33] ^= 1;  // the backup's entry too
  auto neither = ProbeLayout(disk.Reader(), 1 << 20, "gpt.img");
  EXPECT_FALSE(neither && neither->disk.table == cas::PartitionTable::kGpt)
      << "no GPT holds: not read as one";
  disk = GptWithBackup();
  disk.bytes[1024 + 33] ^= 1;
  disk.bytes[2047 * 512 + 56] ^= 1;  // the backup header's disk GUID
  auto both = ProbeLayout(disk.Reader(), 1 << 20, "gpt.img");
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code(), Code::kCorruption);
  EXPECT_NE(both.error().message().find("GPT partition entries checksum mismatch"),
            std::string::npos)
      << both.error().ToString() << ": the primary's error is the one reported";
}

// The gap before the first partition is looked at a piece at a time: a first partition 256 MiB
// into the disk must not make the probe hold 256 MiB (the reader refuses reads above 64 MiB).
// An all-zero gap is no boot area; one byte in it makes the whole gap one.
TEST(DiskProbeTest, AGapOfHundredsOfMegabytesIsReadInPieces) {
  MemoryDisk disk;
  disk.Put(510, 0xAA55, 2);
  disk.Put(446 + 4, 0x83, 1);
  disk.Put(446 + 8, 524288, 4);  // start: sector 524288, 256 MiB
  disk.Put(446 + 12, 2048, 4);
  disk.Put(440, 0x12345678, 4);  // the disk signature: boot code stays all zero
  const uint64_t size = 512 << 20;
  // The partition's ext superblock lies past the memory disk's bytes: a reader that knows it.
  ReadAtFn base = disk.Reader();
  ReadAtFn read = [&](uint64_t off, size_t n) -> Result<std::string> {
    CAIRN_ASSIGN_OR_RETURN(std::string out, base(off, n));
    const uint64_t magic = (uint64_t{256} << 20) + 1024 + 56,
                   log_block = (uint64_t{256} << 20) + 1024 + 24;
    if (off <= magic && magic + 2 <= off + n)
      out[magic - off] = '\x53', out[magic - off + 1] = '\xEF';
    if (off <= log_block && log_block < off + n) out[log_block - off] = 2;
    return out;
  };
  auto zero_gap = ProbeLayout(read, size, "far.img");
  ASSERT_TRUE(zero_gap) << zero_gap.error().ToString();
  EXPECT_EQ(zero_gap->contents.at(0).kind, ProbedContent::Kind::kExt);
  EXPECT_TRUE(zero_gap->boot.empty());

  disk.bytes[700000] = 1;
  auto with_code = ProbeLayout(read, size, "far.img");
  ASSERT_TRUE(with_code) << with_code.error().ToString();
  ASSERT_EQ(with_code->boot.size(), 1u);
  EXPECT_EQ(with_code->boot[0].kind, "gap");
  EXPECT_EQ(with_code->boot[0].offset, 512u);
  EXPECT_EQ(with_code->boot[0].length, (uint64_t{256} << 20) - 512);
}

}  // namespace
}  // namespace cairn::indexer
