#include "tests/disk/disk_fixture.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cairn::testing {

std::string Sh(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "popen " << cmd;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc != nullptr) *rc = code;
  else EXPECT_EQ(code, 0) << cmd << "\n" << out;
  return out;
}

void DiskTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "disk tests need root (loop mounts); CI runs them as root";
  CliTest::SetUp();
}

std::string DiskTest::MakeDisk(const std::string& kind) {
  std::string out = dir_ + "/" + kind + ".raw";
  Sh(std::string(CAIRN_SOURCE_DIR) + "/tests/disk/make_disk.sh " + kind + " " + out + " 2>&1");
  return out;
}

std::string DiskTest::MakeUncleanExt4() {
  const std::string live = dir_ + "/live.raw", copy = dir_ + "/unclean.raw", mnt = dir_ + "/live";
  Sh("truncate -s 32M " + live + " && mkfs.ext4 -q -F -L unclean " + live + " && mkdir -p " + mnt);
  int rc = 0;
  Sh("mount -o loop " + live + " " + mnt + " && echo journaled > " + mnt + "/newfile && sync " +
         mnt + "/newfile && cp --sparse=always " + live + " " + copy + "; s=$?; umount " + mnt +
         "; exit $s",
     &rc);
  EXPECT_EQ(rc, 0) << "the unclean ext4 image was not made";
  return copy;
}

nlohmann::json DiskTest::Show(const std::string& version) {
  RunResult r = RunRepo("show", {version, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

std::string DiskTest::CheckinDisk(const std::string& image, const std::string& name, const std::string& via) {
  RunResult r = RunRepo("checkin", {image, "--image", name, "--via", via, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return "";
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["disk_path"], via == "auto" ? "fast" : via);
  return j["disk"];
}

}  // namespace cairn::testing
