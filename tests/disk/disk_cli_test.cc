// Disk images through the real CLI, as root: the fast path (loop mounts), checkout to raw and
// qcow2, the view Tree for ls/cat/diff/search and directory checkout, gc and verify, bad input.
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "tests/disk/disk_fixture.h"

namespace cairn::testing {
namespace {

// sfdisk's view of a table without the device names (which differ by file name).
nlohmann::json Table(const std::string& image) {
  auto j = nlohmann::json::parse(Sh("sfdisk -J " + image))["partitiontable"];
  j.erase("device");
  for (auto& p : j["partitions"]) p.erase("node");
  return j;
}

TEST_F(DiskTest, GptDiskRoundTripsThroughARawCheckout) {
  std::string image = MakeDisk("gpt");
  std::string disk = CheckinDisk(image, "web");
  auto show = Show("web");
  EXPECT_EQ(show["disk"]["table"], "gpt");
  EXPECT_EQ(show["disk"]["disk_id"], "8E3C2A10-5B4D-4E6F-9A0B-1C2D3E4F5A6B");
  ASSERT_EQ(show["disk"]["partitions"].size(), 4u);
  EXPECT_EQ(show["disk"]["partitions"][0]["content"], "raw");  // BIOS boot partition
  ASSERT_EQ(show["disk"]["filesystems"].size(), 3u);
  EXPECT_EQ(show["disk"]["filesystems"][0]["mountpoint"], "/boot");
  EXPECT_EQ(show["disk"]["filesystems"][1]["type"], "swap");
  EXPECT_EQ(show["disk"]["filesystems"][1]["uuid"], "7e7e7e7e-1111-4222-8333-944444444444");
  EXPECT_EQ(show["disk"]["filesystems"][2]["label"], "root");
  EXPECT_EQ(show["hostname"], "disktest");
  EXPECT_EQ(show["distribution"], "cairntest");
  ASSERT_EQ(show["packages"].size(), 1u);
  // The view: /boot is the ext2 filesystem grafted into the root one.
  RunResult cat = RunRepo("cat", {"web", "boot/grub/grub.cfg"});
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out, "cfg\n");

  std::string out = dir_ + "/out.raw";
  RunResult co = RunRepo("checkout", {"web", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Table(out), Table(image));
  EXPECT_EQ(Sh("cmp -n 440 " + image + " " + out + " && echo same"), "same\n");  // boot code
  EXPECT_EQ(Sh("cmp -i 1048576 -n 1048576 " + image + " " + out + " && echo same"), "same\n");  // BIOS boot
  EXPECT_EQ(Sh("blkid -p -O 10485760 -o value -s UUID " + out), "7e7e7e7e-1111-4222-8333-944444444444\n");
  // Everything again, to the same objects: same table, same filesystems, same Trees.
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
}

// A disk whose primary GPT header was overwritten: read from the backup at the disk's end, as
// the kernel reads it, with a warning; the same Disk as the intact image's, and a checkout with
// both tables whole.
TEST_F(DiskTest, ADiskWithADamagedPrimaryGptIsReadFromItsBackup) {
  std::string image = MakeDisk("gpt");
  std::string disk = CheckinDisk(image, "web");
  std::string damaged = dir_ + "/damaged.raw";
  Sh("cp " + image + " " + damaged + " && dd if=/dev/zero of=" + damaged +
     " bs=512 seek=1 count=1 conv=notrunc status=none");
  RunResult r = RunRepo("checkin", {damaged, "--image", "fixed", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cairn: warning: checkin " + damaged +
                       ": the primary GPT is missing; the backup in sector"),
            std::string::npos)
      << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_EQ(j["disk"], disk) << "the same table, boot areas and filesystems";
  std::string out = dir_ + "/out.raw";
  RunResult co = RunRepo("checkout", {"fixed", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Table(out), Table(image));
  EXPECT_EQ(Sh("sfdisk --verify " + out + " >/dev/null 2>&1 && echo valid"), "valid\n");
}

// A hybrid MBR (gdisk's: partition 2 copied into MBR slot 1, the protective 0xEE entry in slot
// 2) is read as the GPT it protects, as the kernel and sfdisk read it (it was read as an MBR disk
// whose second partition was the GPT, kept as raw bytes), and its MBR entries come back.
TEST_F(DiskTest, AHybridMbrIsReadAsItsGptAndKeptOnCheckout) {
  const std::string image = dir_ + "/hybrid.raw";
  Sh("truncate -s 40M " + image +
     " && printf 'label: gpt\\nstart=2048, size=16384\\nstart=18432, size=8192\\n' | sfdisk -q " +
     image + " && mkfs.ext4 -q -F -E offset=1048576 " + image +
     " 8M && mkfs.ext2 -q -F -E offset=" + std::to_string(18432 * 512) + " " + image +
     " 4M && sgdisk -h 2:EE " + image + " >/dev/null 2>&1");
  ASSERT_EQ(Sh("xxd -s 450 -l 1 -p " + image + "; xxd -s 466 -l 1 -p " + image), "83\nee\n")
      << "MBR slot 1 holds partition 2, slot 2 the protective entry";
  ASSERT_EQ(Table(image)["label"], "gpt") << "sfdisk reads the GPT";
  const std::string disk = CheckinDisk(image, "hybrid");
  auto d = Show("hybrid")["disk"];
  EXPECT_EQ(d["table"], "gpt");
  ASSERT_EQ(d["partitions"].size(), 2u);
  EXPECT_EQ(d["partitions"][1]["start"], 18432 * 512);
  EXPECT_EQ(d["filesystems"].size(), 2u);
  std::vector<std::string> kinds;
  for (const auto& b : d["boot_areas"]) kinds.push_back(b["kind"]);
  EXPECT_EQ(kinds, std::vector<std::string>{"mbr-table"});
  const std::string out = dir_ + "/hybrid-out.raw";
  RunResult co = RunRepo("checkout", {"hybrid", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Table(out), Table(image));
  EXPECT_EQ(Sh("cmp -i 440 -n 72 " + image + " " + out + " && echo same"), "same\n")
      << "the hybrid MBR's entries";
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
}

// LVM's own view of the physical volume on partition 2 of `image` (host lvm2 reading the
// metadata through a loop device; nothing is activated): one line per logical volume.
std::string LvmReport(const std::string& image) {
  std::string loop = Sh("losetup --find --show --offset " + std::to_string(18432 * 512) + " " + image);
  while (!loop.empty() && loop.back() == '\n') loop.pop_back();
  std::string out = Sh("LVM_SUPPRESS_FD_WARNINGS=1 lvs --noheadings --units b --config 'devices { use_devicesfile = 0 }'"
                       " --devices " + loop + " -o vg_name,vg_uuid,vg_extent_size,lv_name,lv_uuid,lv_size,seg_pe_ranges"
                       " 2>/dev/null | sed 's|" + loop + "|PV|'");
  Sh("losetup --detach " + loop);
  return out;
}

TEST_F(DiskTest, LvmDiskRoundTripsWithItsVolumeGroupThroughARawCheckout) {
  std::string image = MakeDisk("lvm");
  std::string disk = CheckinDisk(image, "web");  // the fast path: linear volumes, loop mounts
  ASSERT_FALSE(disk.empty());
  auto d = Show("web")["disk"];
  EXPECT_EQ(d["partitions"][1]["content"], "lvm-pv");
  ASSERT_EQ(d["volume_groups"].size(), 1u);
  auto vg = d["volume_groups"][0];
  EXPECT_EQ(vg["name"], "cairnvg");
  EXPECT_EQ(vg["uuid"], "Cairn0-VG00-0000-0000-0000-0000-000001");
  EXPECT_EQ(vg["extent_size"], 4 << 20);
  ASSERT_EQ(vg["pvs"].size(), 1u);
  EXPECT_EQ(vg["pvs"][0]["partition"], 2);
  EXPECT_EQ(vg["pvs"][0]["uuid"], "Cairn0-PV00-0000-0000-0000-0000-000001");
  EXPECT_EQ(vg["pvs"][0]["pe_start"], 1 << 20);
  EXPECT_EQ(vg["pvs"][0]["pe_count"], 13);
  ASSERT_EQ(vg["lvs"].size(), 3u);
  EXPECT_EQ(vg["lvs"][0]["name"], "home");
  EXPECT_EQ(vg["lvs"][1]["name"], "root");
  EXPECT_EQ(vg["lvs"][1]["uuid"], "Cairn0-LVrt-0000-0000-0000-0000-000001");
  EXPECT_EQ(vg["lvs"][1]["size"], 28 << 20);
  EXPECT_EQ(vg["lvs"][1]["segments"][0]["pe"], 4);
  EXPECT_EQ(vg["lvs"][2]["uuid"], "Cairn0-LVsw-0000-0000-0000-0000-000001");
  ASSERT_EQ(d["filesystems"].size(), 4u);  // /boot, then home, root, swap by volume
  EXPECT_EQ(d["filesystems"][0]["mountpoint"], "/boot");
  EXPECT_EQ(d["filesystems"][1]["volume"], "cairnvg/home");
  EXPECT_EQ(d["filesystems"][1]["mountpoint"], "/home");  // fstab: /dev/cairnvg/home
  EXPECT_EQ(d["filesystems"][2]["volume"], "cairnvg/root");
  EXPECT_EQ(d["filesystems"][2]["mountpoint"], "/");
  EXPECT_EQ(d["filesystems"][3]["type"], "swap");
  EXPECT_EQ(d["filesystems"][3]["uuid"], "7e7e7e7e-1111-4222-8333-955555555555");
  EXPECT_EQ(d["filesystems"][3]["size"], 8 << 20);
  // The view: /boot and /home grafted into the root volume's filesystem.
  EXPECT_EQ(RunRepo("cat", {"web", "boot/grub/grub.cfg"}).out, "cfg\n");
  EXPECT_EQ(RunRepo("cat", {"web", "home/user/notes"}).out, "notes\n");
  EXPECT_NE(RunRepo("ls", {"web", "usr/bin"}).out.find("tool-link"), std::string::npos);
  EXPECT_EQ(Show("web")["hostname"], "disktest");

  std::string out = dir_ + "/out.raw";
  RunResult co = RunRepo("checkout", {"web", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Table(out), Table(image));
  std::string report = LvmReport(image);
  EXPECT_NE(report.find("Cairn0-LVrt-0000-0000-0000-0000-000001"), std::string::npos) << report;
  EXPECT_EQ(LvmReport(out), report);  // names, uuids, extent size, sizes and extents, as LVM sees them
  EXPECT_EQ(Sh("blkid -p -O " + std::to_string(10 << 20) + " -o value -s UUID " + out),
            "7e7e7e7e-1111-4222-8333-955555555555\n");  // swap at extent 0
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
  RunResult v = RunRepo("verify", {});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// No filesystem holds an fstab (the lvmboot fixture): the view shows each one at /<partition> or
// /<VG>/<LV>, the deeper grafts under a directory the view itself makes.
TEST_F(DiskTest, DiskWithoutARootFilesystemShowsEachAtItsPartitionOrVolume) {
  std::string image = dir_ + "/boot.raw";
  Sh(std::string(CAIRN_SOURCE_DIR) + "/tests/disk/make_disk.sh lvmboot " + image + " m1 2>&1");
  CheckinDisk(image, "vm");
  EXPECT_EQ(RunRepo("ls", {"vm", "/"}).out, "1\ncairnvg\n");
  EXPECT_EQ(RunRepo("cat", {"vm", "cairnvg/root/etc/marker"}).out, "m1\n");
  EXPECT_EQ(RunRepo("cat", {"vm", "1/grub/grub.cfg"}).out, "cfg\n");
  EXPECT_EQ(RunRepo("cat", {"vm", "cairnvg/home/user/notes"}).out, "notes\n");
  RunResult v = RunRepo("verify", {});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(DiskTest, LvmGroupOnTwoPhysicalVolumesRoundTripsAndGrowsOnTheLast) {
  std::string image = MakeDisk("lvm2pv");
  std::string disk = CheckinDisk(image, "web");
  ASSERT_FALSE(disk.empty());
  auto vg = Show("web")["disk"]["volume_groups"][0];
  ASSERT_EQ(vg["pvs"].size(), 2u);
  EXPECT_EQ(vg["pvs"][1]["partition"], 3);
  EXPECT_EQ(vg["pvs"][1]["uuid"], "Cairn0-PV01-0000-0000-0000-0000-000001");
  EXPECT_EQ(vg["lvs"][1]["segments"][0]["partition"], 3);  // root on the second PV
  EXPECT_EQ(RunRepo("cat", {"web", "home/user/notes"}).out, "notes\n");
  std::string out = dir_ + "/out.raw";
  RunResult co = RunRepo("checkout", {"web", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Table(out), Table(image));
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
  std::string grown = dir_ + "/grown.raw";
  co = RunRepo("checkout", {"web", grown, "--size", "96M"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  CheckinDisk(grown, "grown");
  auto g = Show("grown")["disk"];
  uint64_t part = (96u << 20) - 59392 * 512 - 34 * 512, pe_count = (part - (1 << 20)) / (4 << 20);
  EXPECT_EQ(g["volume_groups"][0]["pvs"][1]["pe_count"], pe_count);
  EXPECT_EQ(g["volume_groups"][0]["pvs"][0], vg["pvs"][0]);
  EXPECT_EQ(g["volume_groups"][0]["lvs"][1]["size"], pe_count * (4 << 20));
  EXPECT_EQ(g["view"], Show("web")["disk"]["view"]);
}

TEST_F(DiskTest, LvmQcowCheckoutGrowsTheVolumeAtTheEndOfTheGrownPhysicalVolume) {
  std::string image = MakeDisk("lvm");
  CheckinDisk(image, "web");
  auto before = Show("web")["disk"];
  std::string out = dir_ + "/out.qcow2";
  RunResult co = RunRepo("checkout", {"web", out, "--size", "96M"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  std::string raw = dir_ + "/grown.raw";
  Sh("qemu-img convert -O raw " + out + " " + raw);
  CheckinDisk(raw, "grown");
  auto after = Show("grown")["disk"];
  // Partition 2 ends at the backup GPT; the PV's extents follow; root gets the new ones.
  uint64_t part = (96u << 20) - 18432 * 512 - 34 * 512;
  EXPECT_EQ(after["partitions"][1]["size"], part);
  uint64_t pe_count = (part - (1 << 20)) / (4 << 20);
  EXPECT_EQ(after["volume_groups"][0]["pvs"][0]["pe_count"], pe_count);
  EXPECT_EQ(after["volume_groups"][0]["lvs"][1]["size"], (pe_count - 4) * (4 << 20));
  EXPECT_EQ(after["volume_groups"][0]["lvs"][0], before["volume_groups"][0]["lvs"][0]);  // home as it was
  EXPECT_EQ(after["filesystems"][2]["size"], (pe_count - 4) * (4 << 20));
  EXPECT_EQ(after["filesystems"][2]["tree"], before["filesystems"][2]["tree"]);
  EXPECT_EQ(after["filesystems"][2]["uuid"], before["filesystems"][2]["uuid"]);
  EXPECT_EQ(after["view"], before["view"]);
}

TEST_F(DiskTest, MbrLogicalPartitionsRoundTripAndTheExtendedPartitionGrows) {
  std::string image = MakeDisk("logical");
  std::string disk = CheckinDisk(image, "web");
  ASSERT_FALSE(disk.empty());
  auto d = Show("web")["disk"];
  ASSERT_EQ(d["partitions"].size(), 4u);
  EXPECT_EQ(d["partitions"][1]["type"], "05");
  EXPECT_EQ(d["partitions"][1]["content"], "nothing");
  EXPECT_EQ(d["partitions"][2]["number"], 5);
  EXPECT_EQ(d["partitions"][2]["start"], 20480 * 512);
  EXPECT_EQ(d["partitions"][3]["number"], 6);
  EXPECT_EQ(d["filesystems"][1]["uuid"], "7e7e7e7e-1111-4222-8333-977777777777");  // swap on 5
  EXPECT_EQ(d["filesystems"][2]["mountpoint"], "/");                               // ext4 on 6
  EXPECT_EQ(RunRepo("cat", {"web", "boot/grub/grub.cfg"}).out, "cfg\n");

  std::string out = dir_ + "/out.raw";
  RunResult co = RunRepo("checkout", {"web", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Table(out), Table(image));
  // The EBRs land where the fixture's sfdisk put them: at the extended partition's start and
  // a grain before partition 6.
  for (int sector : {18432, 28672}) {
    EXPECT_EQ(Sh("cmp -i " + std::to_string(sector * 512) + " -n 512 " + image + " " + out + " && echo same"), "same\n");
  }
  EXPECT_EQ(CheckinDisk(out, "again"), disk);

  std::string grown = dir_ + "/grown.qcow2", raw = dir_ + "/grown.raw";
  co = RunRepo("checkout", {"web", grown, "--size", "80M"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  Sh("qemu-img convert -O raw " + grown + " " + raw);
  auto t = Table(raw);
  EXPECT_EQ(t["partitions"][1]["size"], (80 << 20) / 512 - 18432);
  EXPECT_EQ(t["partitions"][3]["size"], (80 << 20) / 512 - 30720);
  CheckinDisk(raw, "grown");
  auto g = Show("grown")["disk"];
  EXPECT_EQ(g["filesystems"][2]["tree"], d["filesystems"][2]["tree"]);
  EXPECT_EQ(g["view"], d["view"]);
}

TEST_F(DiskTest, QcowCheckoutGrowsTheLastPartitionAndKeepsEveryFile) {
  std::string image = MakeDisk("dos");
  CheckinDisk(image, "web");
  auto before = Show("web");
  std::string out = dir_ + "/out.qcow2";
  RunResult co = RunRepo("checkout", {"web", out, "--size", "64M"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  auto info = nlohmann::json::parse(Sh("qemu-img info --output=json " + out));
  EXPECT_EQ(info["format"], "qcow2");
  EXPECT_EQ(info["virtual-size"], 64 << 20);
  std::string raw = dir_ + "/grown.raw";
  Sh("qemu-img convert -O raw " + out + " " + raw);
  auto table = Table(raw);
  EXPECT_EQ(table["id"], "0x2badcafe");
  EXPECT_EQ(table["partitions"][0]["start"], 2048);
  EXPECT_EQ(table["partitions"][0]["size"], (64 << 20) / 512 - 2048);
  EXPECT_EQ(Sh("cmp -n 440 " + image + " " + raw + " && echo same"), "same\n");  // boot code
  EXPECT_EQ(Sh("cmp -i 512 -n 20480 " + image + " " + raw + " && echo same"), "same\n");  // the gap
  CheckinDisk(raw, "grown");
  auto after = Show("grown");
  EXPECT_EQ(after["disk"]["filesystems"][0]["tree"], before["disk"]["filesystems"][0]["tree"]);
  EXPECT_EQ(after["disk"]["filesystems"][0]["uuid"], before["disk"]["filesystems"][0]["uuid"]);
  EXPECT_EQ(after["disk"]["filesystems"][0]["params"]["features"],
            before["disk"]["filesystems"][0]["params"]["features"]);
  EXPECT_EQ(after["disk"]["filesystems"][0]["size"], (64u << 20) - 2048 * 512);
}

TEST_F(DiskTest, DirectoryCheckoutOfADiskIsItsViewWithFullFidelity) {
  std::string image = MakeDisk("whole");
  RunResult r = RunRepo("checkin", {image, "--image", "web", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string view = nlohmann::json::parse(r.out)["root"];
  auto show = Show("web");
  EXPECT_EQ(show["disk"]["table"], "none");
  EXPECT_EQ(show["disk"]["filesystems"][0]["label"], "whole");
  std::string out = dir_ + "/tree";
  RunResult co = RunRepo("checkout", {"web", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Sh("stat -c %y " + out + "/etc/hostname"), "2021-02-03 04:05:06.123456789 +0000\n");
  EXPECT_EQ(Sh("getfattr --absolute-names -n security.capability --only-values " + out + "/usr/bin/tool | od -An -tx1 | head -1 | tr -d ' '"),
            "01000002002000000000000000000000\n");
  EXPECT_EQ(Sh("stat -c '%a %h' " + out + "/usr/bin/tool"), "4755 2\n");
  EXPECT_EQ(Sh("stat -c %t,%T " + out + "/dev/sda"), "8,0\n");
  // Holes by the zero-block rule (indexer/zero_blocks.h): a sparse file's data regions are its
  // non-zero blocks of the filesystem's block size; written zero blocks stay data.
  std::map<std::string, nlohmann::json> by_path;
  for (const auto& e : nlohmann::json::parse(RunRepo("ls", {"web", "tmp", "-l", "--json"}).out)) {
    by_path[e["path"]] = e;
  }
  ASSERT_TRUE(by_path.contains("tmp/holes")) << "paths: " << by_path.size();
  EXPECT_EQ(by_path["tmp/holes"]["sparse"], true);
  EXPECT_EQ(by_path["tmp/holes"]["extents"], nlohmann::json::parse("[[1048576, 8192]]"));
  EXPECT_EQ(by_path["tmp/sparse"]["extents"], nlohmann::json::parse("[[2097152, 4]]"));
  EXPECT_FALSE(by_path["tmp/zeros"].contains("sparse")) << "a fully allocated file stays dense";
  // Checked out sparse, with the same bytes.
  EXPECT_EQ(Sh("{ head -c 1048576 /dev/zero; head -c 8192 /dev/zero | tr '\\0' d;"
               " head -c 524288 /dev/zero; } | sha256sum"),
            Sh("sha256sum < " + out + "/tmp/holes"));
  EXPECT_LE(std::stoull(Sh("stat -c %b " + out + "/tmp/holes")), 64u) << "512-byte units allocated";
  EXPECT_EQ(Sh("{ head -c 65536 /dev/zero; head -c 4096 /dev/zero | tr '\\0' x;"
               " head -c 65536 /dev/zero; } | sha256sum"),
            Sh("sha256sum < " + out + "/tmp/zeros"));
  EXPECT_GE(std::stoull(Sh("stat -c %b " + out + "/tmp/zeros")), (65536u * 2 + 4096) / 512);
  // The checked-out directory holds exactly the view: checking it in gives the same Tree.
  RunResult again = RunRepo("checkin", {out, "--image", "dir", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["root"], view);
  // ls, search and diff read disk versions through the view.
  EXPECT_NE(RunRepo("ls", {"web", "usr/bin"}).out.find("tool-link"), std::string::npos);
  RunResult s = RunRepo("search", {"--package", "hello"});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("web:1"), std::string::npos) << s.out;
  RunResult d = RunRepo("diff", {"web:1", "dir:1"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
}

TEST_F(DiskTest, GcKeepsWhatDisksReachAndFreesItAfterPurge) {
  uint64_t empty = Stats()["objects"];
  std::string image = MakeDisk("gpt");
  CheckinDisk(image, "web");
  uint64_t full = Stats()["objects"];
  RunResult gc = RunRepo("gc", {});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_EQ(Stats()["objects"], full);
  RunResult v = RunRepo("verify", {});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  RunResult co = RunRepo("checkout", {"web", dir_ + "/after-gc.raw"});
  EXPECT_EQ(co.exit_code, 0) << co.err;
  ASSERT_EQ(RunRepo("rm", {"web:1"}).exit_code, 0);
  ASSERT_EQ(RunRepo("purge", {}).exit_code, 0);
  ASSERT_EQ(RunRepo("gc", {}).exit_code, 0);
  EXPECT_EQ(Stats()["objects"], empty);
}

TEST_F(DiskTest, BadImagesFailClearlyAndLeaveTheRepositoryUnchanged) {
  CheckinDisk(MakeDisk("dos"), "web");
  auto before = Stats();
  std::string good = dir_ + "/good.qcow2";
  Sh("qemu-img convert -O qcow2 " + dir_ + "/dos.raw " + good);
  struct Case {
    std::string image;
    int code;
    std::string says;
  };
  std::vector<Case> cases = {
      {MakeFile("random.img", RandomData(1 << 20, 7)), 2, "not a disk image"},
      {dir_ + "/truncated.qcow2", 5, "damaged qcow2"},
      {dir_ + "/nobacking.qcow2", 3, "backing file missing"},
      {MakeDisk("nofs"), 2, "no filesystem"},
      {MakeDisk("luks"), 9, "encrypted (LUKS)"},
      {MakeDisk("vfat"), 9, "vfat filesystem, which is not supported"},
      {dir_ + "/lvm-damaged.raw", 5, "LVM metadata area"},
      {dir_ + "/ebr-damaged.raw", 5, "damaged extended boot record"},
      {MakeDisk("lvmsnap"), 9,
       "logical volume cairnvg/snapshot0 is a snapshot volume (only linear"},
      // What the probe refuses on a whole disk is named as in a partition (it was taken for a
      // tarball, or for a table holding nothing).
      {MakeFile("luks-whole.img", std::string("LUKS\xba\xbe", 6) + std::string(1 << 20, '\0')), 9,
       "the disk is encrypted (LUKS)"},
      {dir_ + "/vfat-whole.img", 9, "the disk holds a vfat filesystem, which is not supported"},
  };
  Sh("truncate -s 8M " + dir_ + "/vfat-whole.img && mkfs.vfat " + dir_ +
     "/vfat-whole.img >/dev/null");
  // The signature of the second EBR (a grain before partition 6) wiped.
  Sh("cp " + MakeDisk("logical") + " " + dir_ + "/ebr-damaged.raw && printf '\\0\\0' | dd of=" + dir_ +
     "/ebr-damaged.raw bs=1 seek=" + std::to_string(28672 * 512 + 510) + " conv=notrunc status=none");
  // The magic of the PV's metadata area (partition 2 at 9 MiB, the area at 4 KiB) damaged.
  Sh("cp " + MakeDisk("lvm") + " " + dir_ + "/lvm-damaged.raw && printf XXXX | dd of=" + dir_ +
     "/lvm-damaged.raw bs=1 seek=" + std::to_string((9 << 20) + 4096 + 4) + " conv=notrunc status=none");
  Sh("head -c 400000 " + good + " > " + dir_ + "/truncated.qcow2");
  Sh("qemu-img create -q -u -f qcow2 -b " + dir_ + "/gone.qcow2 -F qcow2 " + dir_ + "/nobacking.qcow2 64M 2>&1");
  for (const auto& c : cases) {
    RunResult r = RunRepo("checkin", {c.image, "--image", "bad"});
    EXPECT_EQ(r.exit_code, c.code) << c.image << ": " << r.err;
    EXPECT_NE(r.err.find(c.image), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    auto after = Stats();
    for (const char* k : {"objects", "objects_by_type", "object_bytes", "stored_bytes", "logical_bytes"}) {
      EXPECT_EQ(after[k], before[k]) << c.image << ": " << k;
    }
  }
  EXPECT_EQ(RunRepo("versions", {"bad"}).exit_code, 3);
  // A tree version cannot become a disk; a disk cannot shrink.
  EXPECT_EQ(RunRepo("checkout", {"web", dir_ + "/small.raw", "--size", "1M"}).exit_code, 2);
  EXPECT_FALSE(Exists(dir_ + "/small.raw"));
}

// A partition whose first bytes are zeros is not empty unless all of it is: partition 2 holds
// 4 MiB of data after 1 MiB of zeros (raw data, or an ext4 whose superblock was wiped) and is
// kept as raw bytes; partition 3, all zeros (and a hole in the image), is nothing.
TEST_F(DiskTest, APartitionWhoseDataLiesPastItsFirstBytesIsKeptAndAZeroOneIsNothing) {
  const std::string image = dir_ + "/gap.raw",
                    payload = MakeFile("payload", RandomData(4 << 20, 11));
  Sh("truncate -s 48M " + image +
     " && printf 'label: dos\\nstart=2048, size=20480, type=83\\n"
     "start=22528, size=40960, type=83\\nstart=63488, type=83\\n' | sfdisk -q " +
     image + " && mkfs.ext4 -q -F -E offset=1048576 " + image + " 10M && dd if=" + payload +
     " of=" + image + " bs=1M seek=12 conv=notrunc status=none");
  CheckinDisk(image, "gap");
  auto parts = Show("gap")["disk"]["partitions"];
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1]["content"], "raw");
  EXPECT_EQ(parts[2]["content"], "nothing");
  const std::string out = dir_ + "/gap-out.raw";
  RunResult co = RunRepo("checkout", {"gap", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  // Partitions 2 and 3, byte for byte (partition 1's filesystem is made anew, not copied).
  EXPECT_EQ(Sh("cmp -i 11M -n 37M " + image + " " + out + " && echo same"), "same\n");
}

// A filesystem smaller than its partition (a partition grown without resize2fs) is made at its
// own size: it filled the partition, so the round trip changed the Disk.
TEST_F(DiskTest, AFilesystemSmallerThanItsPartitionKeepsItsSize) {
  const std::string image = dir_ + "/small-fs.raw";
  Sh("truncate -s 32M " + image + " && printf 'label: dos\\nstart=2048, type=83\\n' | sfdisk -q " +
     image + " && mkfs.ext4 -q -F -E offset=1048576 " + image + " 16M");
  const std::string disk = CheckinDisk(image, "small");
  auto params = Show("small")["disk"]["filesystems"][0]["params"];
  EXPECT_EQ(std::stoull(params["block_count"].get<std::string>()) *
                std::stoull(params["block_size"].get<std::string>()),
            16u << 20);
  const std::string out = dir_ + "/small-out.raw";
  RunResult co = RunRepo("checkout", {"small", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
}

// fstab escapes as libmount reads them: a backslash and three octal digits are one byte, anything
// else after a backslash is itself ("/bo\\999t" threw out of the parser: exit 70, and the objects
// already written stayed).
TEST_F(DiskTest, AnFstabBackslashThatIsNoOctalEscapeIsKeptAsItIs) {
  const std::string image = dir_ + "/esc.raw", root = dir_ + "/r", boot = dir_ + "/b";
  Sh("mkdir -p " + root + "/etc " + boot + " && echo k > " + boot +
     "/vmlinuz && printf "
     "'UUID=22222222-2222-3333-4444-555555555555 /bo\\\\999t ext2 defaults 0 2\\n'"
     " > " +
     root + "/etc/fstab" + " && truncate -s 40M " + image +
     " && printf 'label: gpt\\nstart=2048, size=16384\\nstart=18432, size=8192\\n'"
     " | sfdisk -q " +
     image + " && mke2fs -q -F -t ext4 -d " + root + " -E offset=1048576 " + image + " 8M" +
     " && mke2fs -q -F -t ext2 -U 22222222-2222-3333-4444-555555555555 -d " + boot +
     " -E offset=" + std::to_string(18432 * 512) + " " + image + " 4M");
  ASSERT_EQ(ReadFile(root + "/etc/fstab").substr(0, 50),
            "UUID=22222222-2222-3333-4444-555555555555 /bo\\999t");
  CheckinDisk(image, "esc");
  EXPECT_EQ(RunRepo("cat", {"esc", "bo\\999t/vmlinuz"}).out, "k\n");
}

// A disk dir/name.raw (MakeExtDisk) of three filesystems: 1 a root whose /etc/fstab is `fstab`,
// 2 of UUID `uuid2` holding one/x and its hard link one/x-link, 3 of UUID `uuid3` holding two/y
// and two/y-link.
std::string MakeThreeFilesystems(const std::string& dir, const std::string& name,
                                 const std::string& fstab, const std::string& uuid2,
                                 const std::string& uuid3) {
  const std::string w = dir + "/" + name;
  Sh("mkdir -p " + w + "/r/etc " + w + "/p2/one " + w + "/p3/two && printf '" + fstab + "' > " + w +
     "/r/etc/fstab && echo x > " + w + "/p2/one/x && ln " + w + "/p2/one/x " + w +
     "/p2/one/x-link && echo y > " + w + "/p3/two/y && ln " + w + "/p3/two/y " + w +
     "/p3/two/y-link");
  return MakeExtDisk(w + ".raw", {{w + "/r", "random"}, {w + "/p2", uuid2}, {w + "/p3", uuid3}});
}

constexpr char kUuid2[] = "22222222-3333-4444-8555-666666666666";
constexpr char kUuid3[] = "33333333-4444-4555-8666-777777777777";

// Two filesystems of one UUID (a partition and its copy) that one fstab line names: which one
// the OS mounts depends on the order its devices appear in, which the image does not hold, so
// neither is mounted in the view, with a warning naming both (both were grafted at the mount
// point, the first one's hard links left naming nothing: a directory checkout exited 3).
TEST_F(DiskTest, AnFstabSourceNamingTwoFilesystemsMountsNeitherAndWarns) {
  const std::string image = MakeThreeFilesystems(
      dir_, "twins", std::string("UUID=") + kUuid2 + " /data ext4 defaults 0 2\\n", kUuid2, kUuid2);
  RunResult r = RunRepo("checkin", {image, "--image", "twins", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string warning = "checkin " + image + ": /etc/fstab's UUID=" + kUuid2 +
                              " names 2 filesystems (partition 2 and partition 3): none is "
                              "mounted at /data in the view";
  EXPECT_NE(r.err.find("cairn: warning: " + warning + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["warnings"], nlohmann::json::array({warning}));
  auto fss = Show("twins")["disk"]["filesystems"];
  ASSERT_EQ(fss.size(), 3u);
  EXPECT_EQ(fss[0]["mountpoint"], "/");
  EXPECT_EQ(fss[1]["mountpoint"], "");
  EXPECT_EQ(fss[2]["mountpoint"], "");
  const std::string tree = dir_ + "/twins-tree";
  RunResult co = RunRepo("checkout", {"twins", tree});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_TRUE(Exists(tree + "/etc/fstab"));
  EXPECT_FALSE(Exists(tree + "/data"));
}

// Two fstab lines of one mount point: mount stacks the later line's filesystem over the
// earlier, which is hidden, as it is in the view (both were grafted, and the one grafted
// first left hard links naming nothing: a directory checkout exited 3).
TEST_F(DiskTest, TheLaterOfTwoFstabLinesOfOneMountPointIsMounted) {
  const std::string image = MakeThreeFilesystems(dir_, "stacked",
                                                 std::string("UUID=") + kUuid3 +
                                                     " /data ext4 defaults 0 2\\nUUID=" + kUuid2 +
                                                     " /data ext4 defaults 0 2\\n",
                                                 kUuid2, kUuid3);
  CheckinDisk(image, "stacked");
  auto fss = Show("stacked")["disk"]["filesystems"];
  ASSERT_EQ(fss.size(), 3u);
  EXPECT_EQ(fss[1]["mountpoint"], "/data");
  EXPECT_EQ(fss[2]["mountpoint"], "") << "hidden under partition 2";
  const std::string tree = dir_ + "/stacked-tree";
  RunResult co = RunRepo("checkout", {"stacked", tree});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Sh("stat -c %h " + tree + "/data/one/x"), "2\n");
  EXPECT_FALSE(Exists(tree + "/data/two"));
}

// A filesystem mounted inside another's directory holding hard links hides them: the view's
// hard-link table keeps no group naming entries it hid (a directory checkout exited 5).
TEST_F(DiskTest, AMountPointOverHardLinksOfAnotherFilesystemHidesThem) {
  const std::string image = MakeThreeFilesystems(dir_, "nested",
                                                 std::string("UUID=") + kUuid2 +
                                                     " /data ext4 defaults 0 2\\nUUID=" + kUuid3 +
                                                     " /data/one ext4 defaults 0 2\\n",
                                                 kUuid2, kUuid3);
  CheckinDisk(image, "nested");
  const std::string tree = dir_ + "/nested-tree";
  RunResult co = RunRepo("checkout", {"nested", tree});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_FALSE(Exists(tree + "/data/one/x"));
  EXPECT_EQ(Sh("stat -c %h " + tree + "/data/one/two/y"), "2\n");
}

// The fast path takes for the root the filesystem libguestfs's inspection takes: one with etc,
// bin and etc/fstab, not a rescue filesystem before it that holds an etc/fstab but no OS (it took
// the first filesystem holding etc/fstab, where the appliance's inspection took the second).
TEST_F(DiskTest, TheRootIsTheOsLibguestfsInspectionFindsNotARescueFilesystemBeforeIt) {
  const std::string image = MakeRescueDisk(dir_, /*rescue_is_os=*/false);
  CheckinDisk(image, "os");
  auto fss = Show("os")["disk"]["filesystems"];
  ASSERT_EQ(fss.size(), 2u);
  EXPECT_EQ(fss[0]["mountpoint"], "");
  EXPECT_EQ(fss[1]["mountpoint"], "/");
  EXPECT_EQ(RunRepo("cat", {"os", "marker"}).out, "root\n");
}

// Two filesystems that inspection takes for OS roots: the first is the view's /, as libguestfs
// takes the first, with a warning naming both.
TEST_F(DiskTest, OfTwoOsRootsTheFirstIsTakenWithAWarning) {
  const std::string image = MakeRescueDisk(dir_, /*rescue_is_os=*/true);
  RunResult r = RunRepo("checkin", {image, "--image", "two", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string warning = "checkin " + image +
                              ": the disk holds 2 operating systems (partition 1 and partition 2): "
                              "the view's / is partition 1, the first, as libguestfs's inspection "
                              "takes it";
  EXPECT_NE(r.err.find("cairn: warning: " + warning + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["warnings"], nlohmann::json::array({warning}));
  EXPECT_EQ(RunRepo("cat", {"two", "marker"}).out, "rescue\n");
}

// A disk given as its block device is read as the image file is: the same Disk (its size is the
// device's; a block device's file size is 0, so it was refused as no disk image).
TEST_F(DiskTest, ABlockDeviceIsReadAsItsImage) {
  const std::string image = MakeDisk("dos");
  const std::string disk = CheckinDisk(image, "file");
  std::string dev = Sh("losetup --find --show --read-only " + image);
  while (!dev.empty() && dev.back() == '\n') dev.pop_back();
  ASSERT_FALSE(dev.empty());
  EXPECT_EQ(CheckinDisk(dev, "device"), disk);
  Sh("losetup -d " + dev);
}

// GPT names and attribute bits come back as recorded, bit for bit: a name outside the BMP (UTF-16
// surrogates) was stored as CESU-8 and written back empty, one with a quote could not be checked
// out, and attribute bits 3 to 47 were dropped by sfdisk with a warning.
TEST_F(DiskTest, GptNamesAndAttributeBitsRoundTripExactly) {
  const std::string image = dir_ + "/names.raw";
  Sh("truncate -s 40M " + image + " && sgdisk -n 1:2048:+8M -n 2:0:+8M " + image +
     " >/dev/null && sgdisk -c '1:ro\"ot \xf0\x9f\x9a\x80' -A 1:set:5 -A 2:set:60 " + image +
     " >/dev/null && mkfs.ext4 -q -F -E offset=1048576 " + image + " 8M");
  const std::string disk = CheckinDisk(image, "names");
  auto parts = Show("names")["disk"]["partitions"];
  EXPECT_EQ(parts[0]["name"], "ro\"ot \xf0\x9f\x9a\x80");
  EXPECT_EQ(parts[0]["attrs"], 32);
  EXPECT_EQ(parts[1]["attrs"], uint64_t{1} << 60);
  const std::string out = dir_ + "/names-out.raw";
  RunResult co = RunRepo("checkout", {"names", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(Sh("sgdisk -v " + out + " | grep -c 'No problems found'"), "1\n")
      << "both copies, checksums right";
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
}

// A GPT of 256 entries grown: its backup's entries take 64 sectors at the end, not 32 (sfdisk
// refused the partition the growth made, exit 6).
TEST_F(DiskTest, AGrownGptOf256EntriesKeepsRoomForItsBackup) {
  const std::string image = dir_ + "/gpt256.raw";
  Sh("truncate -s 40M " + image +
     " && printf 'label: gpt\\ntable-length: 256\\nstart=2048, size=16384\\n' | sfdisk -q " +
     image + " && mkfs.ext4 -q -F -E offset=1048576 " + image + " 8M");
  CheckinDisk(image, "wide");
  const std::string out = dir_ + "/wide-out.raw";
  RunResult co = RunRepo("checkout", {"wide", out, "--size", "64M"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  CheckinDisk(out, "grown");
  auto grown = Show("grown")["disk"]["partitions"][0];
  EXPECT_EQ(grown["start"].get<uint64_t>() + grown["size"].get<uint64_t>(), (64u << 20) - 66 * 512);
}

// An image need not be whole sectors: checkout gives back its size to the byte, and so the
// same Disk (it was rounded down to whole sectors).
TEST_F(DiskTest, AnImageOfPartialSectorsRoundTripsToTheByte) {
  std::string image = MakeDisk("dos");
  Sh("truncate -s +1000 " + image);
  const std::string disk = CheckinDisk(image, "odd");
  const std::string out = dir_ + "/odd-out.raw";
  RunResult co = RunRepo("checkout", {"odd", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(std::filesystem::file_size(out), std::filesystem::file_size(image));
  EXPECT_EQ(CheckinDisk(out, "again"), disk);
}

// Checkout to a disk builds the image under a fresh name beside the target: files of the user's
// there, whatever their names, are left alone.
TEST_F(DiskTest, CheckoutToADiskLeavesTheFilesBesideItsTargetAlone) {
  CheckinDisk(MakeDisk("lvm"), "vm");
  const std::string out = dir_ + "/vm.raw";
  for (const std::string name :
       {"vm.raw.cairn-tmp", "vm.raw.cairn-tmp.lv", "vm.raw.cairn-tmp.lvm-cairnvg"}) {
    MakeFile(name, "the user's " + name);
  }
  RunResult co = RunRepo("checkout", {"vm", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  for (const std::string name :
       {"vm.raw.cairn-tmp", "vm.raw.cairn-tmp.lv", "vm.raw.cairn-tmp.lvm-cairnvg"}) {
    EXPECT_EQ(ReadFile(dir_ + "/" + name), "the user's " + name);
  }
  EXPECT_EQ(Sh("ls " + dir_ + " | grep -c cairn-tmp"), "3\n")
      << "no temporary file of its own left";
}

// A filesystem copied while mounted (a snapshot of a running guest) needs its journal replayed,
// which a read-only loop mount cannot do: the fast path refuses it, naming why (auto reads it
// through the appliance: disk_guestfs_test.cc).
TEST_F(DiskTest, TheFastPathRefusesAFilesystemWhoseJournalNeedsReplaying) {
  std::string image = MakeUncleanExt4();
  RunResult r = RunRepo("checkin", {image, "--image", "u", "--via", "fast"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find(image +
                       ": the fast path cannot read it: the filesystem was not unmounted cleanly"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(RunRepo("versions", {"u"}).exit_code, 3);
}

// A hostile image: its fstab mounts /boot at a path that climbs out of the tree. The mount
// point is refused (the filesystem is kept, unmounted in the view) and no checkout writes
// outside its target.
TEST_F(DiskTest, HostileMountPointsStayInside) {
  std::string image = MakeDisk("gpt");
  std::string mnt = dir_ + "/mnt";
  Sh("mkdir -p " + mnt + " && mount -o loop,offset=" + std::to_string(28672 * 512) + " " + image + " " + mnt +
     " && sed -i 's| /boot | /../../../../../../" + dir_.substr(1) + "/escaped |' " + mnt +
     "/etc/fstab && umount " + mnt);
  CheckinDisk(image, "web");
  auto show = Show("web");
  EXPECT_EQ(show["disk"]["filesystems"][0]["mountpoint"], "");
  ASSERT_EQ(RunRepo("checkout", {"web", dir_ + "/tree"}).exit_code, 0);
  ASSERT_EQ(RunRepo("checkout", {"web", dir_ + "/out.raw"}).exit_code, 0);
  EXPECT_FALSE(Exists(dir_ + "/escaped"));
  EXPECT_TRUE(Exists(dir_ + "/tree/etc/fstab"));
}

}  // namespace
}  // namespace cairn::testing
