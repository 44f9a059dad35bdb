// A disk checkin or checkout killed with SIGKILL while it holds a loop mount: what it held (the
// mount, its loop device, the temporary image of a checkout) is let go of by the next disk
// command (indexer/run_record.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "tests/disk/disk_fixture.h"

namespace cairn::testing {
namespace {

class DiskKillTest : public DiskTest {
 protected:
  void SetUp() override {
    DiskTest::SetUp();
    if (IsSkipped()) return;
    env_ = {{"CAIRN_RUN_DIR", dir_ + "/run"}, {"TMPDIR", dir_ + "/tmp"}};
    std::filesystem::create_directories(dir_ + "/tmp");
  }
  void TearDown() override {
    // Whatever the command under test left mounted, so that the directory can be removed.
    for (const std::string& m : MountsUnder(dir_ + "/tmp")) Sh("umount -l " + m);
    DiskTest::TearDown();
  }

  // `cairn args... --repo repo_` started in the background with env_, its output discarded.
  pid_t Start(std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--repo", repo_});
    pid_t pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::setenv("HOME", dir_.c_str(), 1);
      for (const auto& [k, v] : env_) ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv = {const_cast<char*>(CAIRN_BINARY)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(CAIRN_BINARY, argv.data());
      ::_exit(127);
    }
    return pid;
  }

  // The mount points below `dir`, from /proc/self/mountinfo (field 5).
  static std::vector<std::string> MountsUnder(const std::string& dir) {
    std::ifstream in("/proc/self/mountinfo");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      std::istringstream f(line);
      std::string id, parent, dev, root, point;
      if (f >> id >> parent >> dev >> root >> point && point.starts_with(dir + "/")) {
        out.push_back(point);
      }
    }
    return out;
  }

  // Kills `pid` with SIGKILL as soon as it has a loop mount below TMPDIR (or fails the test
  // when it ends first); returns that mount point.
  std::string KillWhenMounted(pid_t pid) {
    std::string mount;
    for (int i = 0; i < 60000 && mount.empty(); ++i) {
      std::vector<std::string> m = MountsUnder(dir_ + "/tmp");
      if (!m.empty()) {
        ::kill(pid, SIGKILL);
        mount = m[0];
      } else if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        ADD_FAILURE() << "the command ended before it was seen with a loop mount";
        return "";
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "killed while mounted";
    return mount;
  }

  // The backing files of the loop devices attached to files below the test's directory.
  std::string Loops() { return Sh("losetup -n -O BACK-FILE | grep -F " + dir_ + "/ || true"); }

  // The records left in the run directory.
  std::string Records() { return Sh("ls -A " + dir_ + "/run/disk 2>/dev/null || true"); }

  std::map<std::string, std::string> env_;
};

TEST_F(DiskKillTest, WhatAKilledDiskCommandHeldIsLetGoOfByTheNextOne) {
  // One filesystem holding 192 MiB of random data: seconds of reading through the loop mount.
  const std::string src = dir_ + "/src", image = dir_ + "/big.raw";
  Sh("mkdir -p " + src + " && head -c 192M /dev/urandom > " + src + "/data && truncate -s 300M " +
     image + " && printf 'label: gpt\\nstart=2048\\n' | sfdisk -q " + image +
     " && mke2fs -q -F -t ext4 -d " + src + " -E offset=1048576 " + image + " 280M");
  const std::string small_src = dir_ + "/small";
  Sh("mkdir -p " + small_src + "/etc && echo x > " + small_src + "/etc/hostname");
  const std::string small = MakeExtDisk(dir_ + "/small.raw", {{small_src, "random"}});
  auto next_disk_command = [&] {
    RunResult r = Run({"checkin", small, "--repo", repo_, "--image", "small"}, env_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };

  // A checkin killed while it reads the filesystem through its loop mount.
  std::string mount = KillWhenMounted(Start({"checkin", image, "--image", "big"}));
  ASSERT_FALSE(mount.empty());
  ASSERT_EQ(MountsUnder(dir_ + "/tmp"), std::vector<std::string>{mount}) << "left mounted";
  ASSERT_NE(Loops(), "") << "its loop device left attached";
  next_disk_command();
  EXPECT_EQ(MountsUnder(dir_ + "/tmp"), std::vector<std::string>{});
  EXPECT_FALSE(Exists(mount)) << "its directory removed";
  EXPECT_EQ(Loops(), "");
  EXPECT_EQ(Records(), "") << "no record left";

  // A checkout to a disk image killed while it writes the filesystem through its loop mount.
  RunResult in = Run({"checkin", image, "--repo", repo_, "--image", "big"}, env_);
  ASSERT_EQ(in.exit_code, 0) << in.err;
  const std::string out = dir_ + "/out.raw";
  mount = KillWhenMounted(Start({"checkout", "big", out}));
  ASSERT_FALSE(mount.empty());
  const std::string temporary = Sh("ls " + dir_ + " | grep 'out.raw.cairn-tmp' || true");
  ASSERT_NE(temporary, "") << "the temporary image left behind";
  next_disk_command();
  EXPECT_EQ(MountsUnder(dir_ + "/tmp"), std::vector<std::string>{});
  EXPECT_EQ(Sh("ls " + dir_ + " | grep out.raw || true"), "") << "temporary image removed";
  EXPECT_EQ(Loops(), "");
  EXPECT_EQ(Records(), "") << "no record left";
}

}  // namespace
}  // namespace cairn::testing
