// The libguestfs path against the fast path: the same image, once raw through a loop mount and
// once as qcow2 through one appliance, must give the same Disk (and so the same Trees, view,
// layout and boot areas). One appliance launch.
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
}

}  // namespace
}  // namespace cairn::testing
