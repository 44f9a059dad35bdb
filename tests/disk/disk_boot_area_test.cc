// Boot code that lives outside the filesystems' files, through the real CLI as root: an ext
// filesystem's boot block, the sectors between a GPT header and an entry array moved away from
// LBA 2; and the ext creation parameters a checkout needs to remake a filesystem as it was
// (features e2fsprogs has no name for, the journal's size).
#include "tests/disk/disk_fixture.h"

namespace cairn::testing {
namespace {

// The boot areas `cairn show` lists for `version`, as "kind@offset+length".
std::vector<std::string> BootAreas(const nlohmann::json& show) {
  std::vector<std::string> out;
  for (const auto& b : show["disk"]["boot_areas"]) {
    out.push_back(b["kind"].get<std::string>() + "@" + std::to_string(b["offset"].get<uint64_t>()) +
                  "+" + std::to_string(b["length"].get<uint64_t>()));
  }
  return out;
}

// The first KiB of an ext filesystem is its boot block, which ext leaves to a boot loader:
// extlinux installs the partition's volume boot record there, which the MBR code chain-loads.
// mke2fs zeroes it when checkout remakes the filesystem; it is kept and written back after.
TEST_F(DiskTest, AnExtFilesystemsBootBlockIsKept) {
  const std::string image = dir_ + "/vbr.raw", vbr = MakeFile("vbr", RandomData(1024, 26));
  Sh("truncate -s 32M " + image +
     " && printf 'label: dos\\nstart=2048, type=83, bootable\\n' | sfdisk -q " + image +
     " && mkfs.ext4 -q -F -E offset=1048576 " + image + " 31M");
  // Without one, nothing is recorded (the Disks of ordinary images keep their ids).
  const std::string plain = CheckinDisk(image, "plain");
  EXPECT_EQ(BootAreas(Show("plain")), std::vector<std::string>{});
  Sh("dd if=" + vbr + " of=" + image + " bs=512 seek=2048 conv=notrunc status=none");
  const std::string disk = CheckinDisk(image, "vbr");
  EXPECT_NE(disk, plain);
  EXPECT_EQ(BootAreas(Show("vbr")), std::vector<std::string>{"fs-boot@1048576+1024"});
  const std::string out = dir_ + "/vbr-out.raw";
  RunResult co = RunRepo("checkout", {"vbr", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Sh("cmp -i 0:1048576 -n 1024 " + vbr + " " + out + " && echo same"), "same\n");
  EXPECT_EQ(Sh("blkid -p -O 1048576 -o value -s TYPE " + out), "ext4\n");
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
}

// A GPT whose entry array was moved to LBA 64 (sgdisk -j 64, as boards whose boot ROM loads an
// SPL from 8 KiB need): the boot code between the header and the entries is kept ("gpt-gap"),
// and checkout puts the entries back at LBA 64 (sfdisk writes them at LBA 2, over that code).
TEST_F(DiskTest, BootCodeBeforeAGptEntryArrayMovedPastLbaTwoIsKept) {
  const std::string image = dir_ + "/spl.raw", spl = MakeFile("spl", RandomData(24576, 18));
  Sh("truncate -s 32M " + image + " && sgdisk -j 64 -n 1:2048:0 -t 1:8300 " + image +
     " >/dev/null && dd if=" + spl + " of=" + image +
     " bs=512 seek=16 conv=notrunc status=none && mkfs.ext4 -q -F -E offset=1048576 " + image +
     " 30M");
  const std::string disk = CheckinDisk(image, "spl");
  auto show = Show("spl");
  EXPECT_EQ(show["disk"]["gpt_entries_lba"], 64);
  EXPECT_EQ(BootAreas(show), std::vector<std::string>{"gpt-gap@1024+31744"});
  const std::string out = dir_ + "/spl-out.raw";
  RunResult co = RunRepo("checkout", {"spl", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Sh("cmp -i 0:8192 -n 24576 " + spl + " " + out + " && echo same"), "same\n");
  // The entry array at LBA 64, as it was, and a table sfdisk finds valid.
  EXPECT_EQ(Sh("cmp -i 32768 -n 16384 " + image + " " + out + " && echo same"), "same\n");
  EXPECT_EQ(Sh("sfdisk --verify " + out + " >/dev/null 2>&1 && echo valid"), "valid\n");
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
}

}  // namespace
}  // namespace cairn::testing
