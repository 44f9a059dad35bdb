// A checked-out disk boots: a partitioned disk whose root filesystem has a busybox /sbin/init
// that prints a marker on the serial console is checked in, checked out as qcow2 (grown), and
// booted under qemu-system-x86_64 (TCG) with the host's Debian kernel and initramfs, which find
// the root filesystem by the UUID recorded in the Disk; and the same with root in LVM.
#include <glob.h>

#include <fstream>
#include <iterator>

#include "tests/disk/disk_fixture.h"

namespace cairn::testing {
namespace {

std::string FirstMatch(const std::string& pattern) {
  glob_t g;
  std::string out;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc > 0) out = g.gl_pathv[g.gl_pathc - 1];
  ::globfree(&g);
  return out;
}

// Boots `disk` (qcow2) with the host's kernel and initramfs and `root=` as given; the serial
// console must show the marker.
void ExpectBootsToMarker(const std::string& dir, const std::string& disk, const std::string& root,
                         const std::string& marker) {
  std::string kernel = FirstMatch("/boot/vmlinuz-*"), initrd = FirstMatch("/boot/initrd.img-*");
  std::string log = dir + "/serial.log";
  int rc = 0;
  Sh("timeout 300 qemu-system-x86_64 -machine accel=tcg -m 512 -display none -no-reboot -monitor none"
     " -serial file:" + log + " -kernel " + kernel + " -initrd " + initrd +
     " -append 'console=ttyS0 root=" + root + " ro panic=-1 quiet'"
     " -drive file=" + disk + ",format=qcow2,if=virtio 2>&1", &rc);
  std::ifstream in(log, std::ios::binary);
  std::string serial((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(serial.find("cairn-boot-marker " + marker), std::string::npos)
      << "qemu exit " << rc << "; serial console tail:\n" << serial.substr(serial.size() > 3000 ? serial.size() - 3000 : 0);
}

TEST_F(DiskTest, CheckedOutDiskBootsToItsMarker) {
  std::string kernel = FirstMatch("/boot/vmlinuz-*"), initrd = FirstMatch("/boot/initrd.img-*");
  ASSERT_FALSE(kernel.empty()) << "linux-image-amd64 is missing (scripts/install-deps.sh)";
  ASSERT_FALSE(initrd.empty()) << "no initramfs in /boot (initramfs-tools)";
  ASSERT_EQ(Sh("test -x /bin/busybox && echo ok"), "ok\n") << "busybox-static is missing";
  std::string marker = std::to_string(::getpid()) + "-" + dir_.substr(dir_.size() - 6);
  std::string image = dir_ + "/boot.raw";
  Sh(std::string(CAIRN_SOURCE_DIR) + "/tests/disk/make_disk.sh boot " + image + " " + marker + " 2>&1");
  CheckinDisk(image, "vm");
  std::string uuid = Show("vm")["disk"]["filesystems"][0]["uuid"];
  std::string out = dir_ + "/vm.qcow2";
  RunResult co = RunRepo("checkout", {"vm", out, "--size", "48M"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  ExpectBootsToMarker(dir_, out, "UUID=" + uuid, marker);
}

// The same with the root filesystem in an LVM logical volume: the checkout's volume group (written
// by the host's lvm2, no device-mapper there) is activated by the Debian initramfs' lvm2 and
// udev rules, which find root=/dev/mapper/cairnvg-root.
TEST_F(DiskTest, CheckedOutLvmDiskBootsToItsMarker) {
  std::string kernel = FirstMatch("/boot/vmlinuz-*"), initrd = FirstMatch("/boot/initrd.img-*");
  ASSERT_FALSE(kernel.empty()) << "linux-image-amd64 is missing (scripts/install-deps.sh)";
  ASSERT_NE(Sh("lsinitramfs " + initrd + " | grep -c 'sbin/lvm$'"), "0\n") << "lvm2 is not in the initramfs";
  std::string marker = "lvm-" + std::to_string(::getpid());
  std::string image = dir_ + "/boot.raw";
  Sh(std::string(CAIRN_SOURCE_DIR) + "/tests/disk/make_disk.sh lvmboot " + image + " " + marker + " 2>&1");
  CheckinDisk(image, "vm");
  // No filesystem holds an fstab: the view shows each at /<partition> or /<VG>/<LV>.
  EXPECT_EQ(RunRepo("cat", {"vm", "cairnvg/root/etc/marker"}).out, marker + "\n");
  std::string out = dir_ + "/vm.qcow2";
  RunResult co = RunRepo("checkout", {"vm", out, "--size", "80M"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  ExpectBootsToMarker(dir_, out, "/dev/mapper/cairnvg-root", marker);
}

}  // namespace
}  // namespace cairn::testing
