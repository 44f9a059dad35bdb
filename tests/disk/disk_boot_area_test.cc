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

// An ext compat feature e2fsprogs has no name for (bit 15: the kernel ignores it and mounts)
// is recorded as FEATURE_C15 and set again by checkout (mke2fs takes no such name), checksums
// and all (metadata_csum): the same Disk. An unknown incompat feature, which changes what the
// filesystem means, is refused at checkin, naming the image and the feature.
TEST_F(DiskTest, ExtFeaturesWithoutANameAreKeptOrRefused) {
  const std::string src = dir_ + "/src", image = dir_ + "/c15.raw";
  Sh("mkdir -p " + src + "/etc && echo c15 > " + src + "/etc/hostname && truncate -s 32M " + image +
     " && printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q " + image +
     " && mkfs.ext4 -q -F -d " + src + " -E offset=1048576 " + image + " 31M && cp " + image + " " +
     dir_ + "/i20.raw && debugfs -w -R 'feature FEATURE_C15' '" + image +
     "?offset=1048576' >/dev/null 2>&1 && debugfs -w -R 'feature FEATURE_I20' '" + dir_ +
     "/i20.raw?offset=1048576' >/dev/null 2>&1");
  const std::string disk = CheckinDisk(image, "c15");
  EXPECT_NE(Show("c15")["disk"]["filesystems"][0]["params"]["features"].get<std::string>().find(
                "FEATURE_C15"),
            std::string::npos);
  const std::string out = dir_ + "/c15-out.raw";
  RunResult co = RunRepo("checkout", {"c15", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_NE(Sh("dumpe2fs -h '" + out + "?offset=1048576' 2>/dev/null | grep '^Filesystem features'")
                .find("FEATURE_C15"),
            std::string::npos);
  EXPECT_EQ(CheckinDisk(out, "again"), disk);

  auto before = Stats();
  RunResult r = RunRepo("checkin", {dir_ + "/i20.raw", "--image", "i20"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find(dir_ + "/i20.raw"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("partition 1 holds an ext4 filesystem with features e2fsprogs does not know "
                       "(FEATURE_I20)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Stats()["objects"], before["objects"]);
}

// A full filesystem made with a journal smaller than mke2fs's default (-m 0 -J size=1, as
// minimized images are) is made again with that journal, so its files fit; the journal's size
// is recorded only when it is not the default. A filesystem whose files do not fit (here with
// fast commits, whose journal size is not recorded) fails naming the target and partition.
TEST_F(DiskTest, AFullExtFilesystemWithASmallJournalIsMadeWithThatJournal) {
  auto full = [&](const std::string& image, const std::string& mkfs_options) {
    const std::string mnt = image + ".mnt";
    Sh("truncate -s 65M " + image + " && printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q " +
       image + " && mkfs.ext4 -q -F -b 1024 -m 0 " + mkfs_options + " -E offset=1048576 " + image +
       " 64M && mkdir -p " + mnt + " && mount -o loop,offset=1048576 " + image + " " + mnt +
       " && head -c $(( ($(df -k --output=avail " + mnt +
       " | tail -1) - 100) * 1024 )) /dev/urandom > " + mnt + "/big; s=$?; umount " + mnt +
       "; exit $s");
  };
  const std::string image = dir_ + "/full.raw", out = dir_ + "/full-out.raw";
  full(image, "-J size=1");
  const std::string disk = CheckinDisk(image, "full");
  EXPECT_EQ(Show("full")["disk"]["filesystems"][0]["params"]["journal_size"], "1048576");
  RunResult co = RunRepo("checkout", {"full", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(CheckinDisk(out, "again"), disk);

  const std::string plain = dir_ + "/plain.raw";
  Sh("truncate -s 65M " + plain + " && mkfs.ext4 -q -F -b 1024 " + plain);
  CheckinDisk(plain, "plain");
  EXPECT_FALSE(Show("plain")["disk"]["filesystems"][0]["params"].contains("journal_size"));

  const std::string fc = dir_ + "/fc.raw", fc_out = dir_ + "/fc-out.raw";
  full(fc, "-O fast_commit -J size=1");
  CheckinDisk(fc, "fc");
  RunResult over = RunRepo("checkout", {"fc", fc_out});
  EXPECT_EQ(over.exit_code, 7) << over.err;
  EXPECT_NE(over.err.find("checkout " + fc_out +
                          ": the files of the ext4 filesystem on partition 1 do not fit"),
            std::string::npos)
      << over.err;
  EXPECT_EQ(over.err.find("cairn-mnt"), std::string::npos) << over.err;
  EXPECT_FALSE(Exists(fc_out));
}

}  // namespace
}  // namespace cairn::testing
