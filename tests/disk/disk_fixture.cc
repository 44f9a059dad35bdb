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

std::string MakeExtDisk(const std::string& image,
                        const std::vector<std::pair<std::string, std::string>>& fss) {
  std::string table = "label: gpt\\n", mkfs;
  for (size_t i = 0; i < fss.size(); ++i) {
    const uint64_t start = 2048 + 16384 * i;
    table += "start=" + std::to_string(start) + ", size=16384\\n";
    mkfs += " && mke2fs -q -F -t ext4 -U " + fss[i].second + " -d " + fss[i].first +
            " -E offset=" + std::to_string(start * 512) + " " + image + " 8M";
  }
  Sh("truncate -s " + std::to_string(2 + 8 * fss.size()) + "M " + image + " && printf '" + table +
     "' | sfdisk -q " + image + mkfs);
  return image;
}

std::string MakeRescueDisk(const std::string& dir, bool rescue_is_os) {
  const std::string w = dir + "/rescue";
  Sh("mkdir -p " + w + "/rescue/etc " + w + "/root/etc " + w + "/root/bin" +
     (rescue_is_os ? " " + w + "/rescue/bin" : "") +
     " && printf 'LABEL=rescue / ext4 defaults 0 1\\n' > " + w +
     "/rescue/etc/fstab && echo rescue > " + w +
     "/rescue/marker && printf 'UUID=" + kRescueRootUuid + " / ext4 defaults 0 1\\n' > " + w +
     "/root/etc/fstab && printf 'ID=cairntest\\n' > " + w + "/root/etc/os-release && echo root > " +
     w + "/root/marker");
  return MakeExtDisk(w + ".raw", {{w + "/rescue", "random"}, {w + "/root", kRescueRootUuid}});
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
