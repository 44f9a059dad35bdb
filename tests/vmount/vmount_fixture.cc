#include "tests/vmount/vmount_fixture.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace cairn::testing {

void VmountTest::SetUp() {
  CliTest::SetUp();
  if (::geteuid() != 0) GTEST_SKIP() << "FUSE tests need root (CI runs them as root)";
  src_ = dir_ + "/src";
  mnt_ = dir_ + "/mnt";
  ::mkdir(mnt_.c_str(), 0755);
}

void VmountTest::TearDown() {
  for (const auto& m : mounted_) {
    RunRepo("umount", {m});  // ends the mount process; then make sure nothing stays mounted
    indexer::testing::Shell("fusermount3 -u -z " + m + " 2>/dev/null");
  }
  CliTest::TearDown();
}

void VmountTest::CheckinSrc(const std::string& image, const std::string& source) {
  RunResult r = RunRepo("checkin", {source.empty() ? src_ : source, "--image", image});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void VmountTest::KillMountProcess(pid_t pid) {
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  for (int i = 0; i < 500 && ::kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void VmountTest::KillFirstMount() {
  KillMountProcess(Json(RunRepo("mounts", {"--json"}))[0]["pid"].get<pid_t>());
}

void VmountTest::Mount(const std::string& spec, const std::string& dir,
                       std::vector<std::string> extra) {
  std::error_code ec;  // a dead mount there answers ENOTCONN: vmount clears it
  std::filesystem::create_directories(dir, ec);
  std::vector<std::string> args = {spec, dir};
  args.insert(args.end(), extra.begin(), extra.end());
  mounted_.insert(dir);
  RunResult r = RunRepo("vmount", args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

nlohmann::json VmountTest::Json(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

}  // namespace cairn::testing
