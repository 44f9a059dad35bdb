// The libguestfs path against the fast path: the same image, once raw through a loop mount and
// once as qcow2 through one appliance, must give the same Disk (and so the same Trees, view,
// layout and boot areas). One appliance launch per test.
#include <map>

#include "tests/disk/disk_fixture.h"

namespace cairn::testing {
namespace {

TEST_F(DiskTest, GuestfsPathGivesTheSameDiskAsTheFastPath) {
  std::string raw = MakeDisk("gpt");
  std::string qcow = dir_ + "/gpt.qcow2";
  Sh("qemu-img convert -O qcow2 " + raw + " " + qcow);
  std::string fast = CheckinDisk(raw, "fast");
  std::string slow = CheckinDisk(qcow, "slow", "guestfs");
  ASSERT_FALSE(fast.empty());
  EXPECT_EQ(slow, fast);
  auto a = Show("fast"), b = Show("slow");
  EXPECT_EQ(b["disk"], a["disk"]);
  EXPECT_EQ(b["hostname"], "disktest");
  EXPECT_EQ(b["packages"], a["packages"]);
  EXPECT_EQ(b["disk"]["filesystems"][0]["mountpoint"], "/boot");
  // Holes through the appliance too (tar-out streams them as zeros; the zero-block rule puts
  // them back): the sparse file's data regions, and no holes in a fully allocated file.
  std::map<std::string, nlohmann::json> by_path;
  for (const auto& e : nlohmann::json::parse(RunRepo("ls", {"slow", "tmp", "-l", "--json"}).out)) {
    by_path[e["path"]] = e;
  }
  EXPECT_EQ(by_path["tmp/holes"]["extents"], nlohmann::json::parse("[[1048576, 8192]]"));
  EXPECT_EQ(by_path["tmp/sparse"]["extents"], nlohmann::json::parse("[[2097152, 4]]"));
  EXPECT_FALSE(by_path["tmp/zeros"].contains("sparse"));
  // The root has 1 KiB blocks, so kib's 1 KiB hole is one (a 4 KiB rule would find none).
  ASSERT_EQ(a["disk"]["filesystems"][2]["params"]["block_size"], "1024");
  EXPECT_EQ(by_path["tmp/kib"]["extents"], nlohmann::json::parse("[[0, 1024], [2048, 1024]]"));
}

// A rescue filesystem with its own etc/fstab before the OS root: both paths take the root
// libguestfs's inspection finds (the fast path took the rescue filesystem).
TEST_F(DiskTest, BothPathsTakeTheRootInspectionFindsOverARescueFilesystem) {
  const std::string raw = MakeRescueDisk(dir_, /*rescue_is_os=*/false);
  const std::string qcow = dir_ + "/rescue.qcow2";
  Sh("qemu-img convert -O qcow2 " + raw + " " + qcow);
  const std::string fast = CheckinDisk(raw, "fast");
  ASSERT_FALSE(fast.empty());
  EXPECT_EQ(CheckinDisk(qcow, "slow", "guestfs"), fast);
  EXPECT_EQ(Show("slow")["disk"]["filesystems"][1]["mountpoint"], "/");
}

// MBR logical partitions through the appliance: its /dev/sda5 and /dev/sda6 are the Disk's
// partitions 5 and 6, inspection mounts / from the logical one.
TEST_F(DiskTest, MbrLogicalPartitionsThroughTheApplianceGiveTheSameDisk) {
  std::string raw = MakeDisk("logical");
  std::string qcow = dir_ + "/logical.qcow2";
  Sh("qemu-img convert -O qcow2 " + raw + " " + qcow);
  std::string fast = CheckinDisk(raw, "fast");
  ASSERT_FALSE(fast.empty());
  EXPECT_EQ(CheckinDisk(qcow, "slow", "guestfs"), fast);
  EXPECT_EQ(Show("slow")["disk"]["filesystems"][2]["mountpoint"], "/");
}

// An LVM disk checked in (fast path), checked out as qcow2 (LVM metadata written by the host's
// lvm2, filesystems made at the volumes' offsets), and that qcow2 read back through the
// appliance (device-mapper activates the volumes, OS inspection names /dev/cairnvg/* mount
// points): the same Disk, so the same layout, uuids, Trees and view.
TEST_F(DiskTest, LvmCheckoutReadThroughTheApplianceGivesTheSameDisk) {
  std::string raw = MakeDisk("lvm");
  std::string fast = CheckinDisk(raw, "fast");
  ASSERT_FALSE(fast.empty());
  std::string qcow = dir_ + "/out.qcow2";
  RunResult co = RunRepo("checkout", {"fast", qcow});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  EXPECT_EQ(CheckinDisk(qcow, "slow", "guestfs"), fast);
  auto b = Show("slow");
  EXPECT_EQ(b["disk"]["volume_groups"][0]["lvs"][1]["uuid"], "Cairn0-LVrt-0000-0000-0000-0000-000001");
  EXPECT_EQ(b["disk"]["filesystems"][1]["mountpoint"], "/home");
  EXPECT_EQ(b["hostname"], "disktest");
  EXPECT_EQ(RunRepo("cat", {"slow", "home/user/notes"}).out, "notes\n");
}

// A filesystem copied while mounted: auto reads it through the appliance, whose overlay lets the
// kernel replay the journal, so the file that was only in the journal is there.
TEST_F(DiskTest, AFilesystemWhoseJournalNeedsReplayingIsReadThroughTheAppliance) {
  std::string image = MakeUncleanExt4();
  RunResult r = RunRepo("checkin", {image, "--image", "u", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["disk_path"], "guestfs");
  EXPECT_EQ(j["disk_path_reason"],
            "the filesystem was not unmounted cleanly (its journal must be replayed)");
  EXPECT_EQ(RunRepo("cat", {"u", "newfile"}).out, "journaled\n");
}

// A logical volume in two segments cannot be loop-mounted: "auto" falls back to the appliance
// and says why. Checkout writes that volume through a file of its size copied into its
// segments; the copy, reassembled from the segments with dd, holds the same filesystem Tree.
TEST_F(DiskTest, LvmVolumeOfTwoSegmentsFallsBackToTheApplianceAndChecksOutWhole) {
  std::string raw = MakeDisk("lvmseg");
  RunResult r = RunRepo("checkin", {raw, "--image", "seg", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["disk_path"], "guestfs");
  EXPECT_EQ(j["disk_path_reason"], "logical volume cairnvg/root has 2 segments");
  EXPECT_EQ(RunRepo("checkin", {raw, "--image", "x", "--via", "fast"}).exit_code, 9);
  auto d = Show("seg")["disk"];
  auto root = d["volume_groups"][0]["lvs"][1];
  ASSERT_EQ(root["segments"].size(), 2u);
  EXPECT_EQ(root["segments"][1]["pe"], 8);
  EXPECT_EQ(root["segments"][1]["extents"], 5);
  EXPECT_EQ(d["filesystems"][2]["mountpoint"], "/");
  EXPECT_EQ(RunRepo("cat", {"seg", "boot/grub/grub.cfg"}).out, "cfg\n");
  EXPECT_EQ(RunRepo("cat", {"seg", "home/user/notes"}).out, "notes\n");

  std::string out = dir_ + "/out.raw";
  RunResult co = RunRepo("checkout", {"seg", out});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  // Extent 0 of the PV is at 10 MiB; extents are 4 MiB.
  std::string lv = dir_ + "/root.lv";
  Sh("dd if=" + out + " of=" + lv + " bs=1M skip=26 count=8 status=none && dd if=" + out + " of=" + lv +
     " bs=1M skip=42 seek=8 count=20 status=none");
  RunResult whole = RunRepo("checkin", {lv, "--image", "lv", "--json"});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(Show("lv")["disk"]["filesystems"][0]["tree"], d["filesystems"][2]["tree"]);
  EXPECT_EQ(Show("lv")["disk"]["filesystems"][0]["uuid"], "5c1f0e3a-1d2b-4c3d-9e4f-0a1b2c3d4e5f");
}

}  // namespace
}  // namespace cairn::testing
