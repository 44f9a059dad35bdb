// A full disk: `put` and `checkin` fail with exit code 7 naming the problem, and the repository
// still verifies and holds what it held. Uses a small tmpfs (needs root, as CI runs).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tests/cli/cli_runner.h"

namespace cairn::testing {
namespace {

class FullDiskTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root (CI runs as root)";
    small_ = dir_ + "/small";
    std::filesystem::create_directories(small_);
    ASSERT_EQ(::mount("tmpfs", small_.c_str(), "tmpfs", 0, "size=12m"), 0) << std::strerror(errno);
    mounted_ = true;
    small_repo_ = small_ + "/repo";
    ASSERT_EQ(Run({"init", "--repo", small_repo_}).exit_code, 0);
  }
  void TearDown() override {
    if (mounted_) ::umount2(small_.c_str(), MNT_DETACH);
    CliTest::TearDown();
  }
  nlohmann::json SmallStats() {
    RunResult r = Run({"stats", "--repo", small_repo_, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    j.erase("disk_bytes");
    return j;
  }

  std::string small_, small_repo_;
  bool mounted_ = false;
};

TEST_F(FullDiskTest, PutOnAFullDiskExitsSevenAndTheRepositoryStaysAsItWas) {
  std::string kept = MakeFile("kept", RandomData(1 << 20, 7));
  RunResult first = Run({"put", "--repo", small_repo_, kept});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  nlohmann::json before = SmallStats();

  // Random data does not compress: 64 MiB cannot fit in 12 MiB.
  RunResult r = Run({"put", "--repo", small_repo_, MakeFile("big", RandomData(64 << 20, 8))});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("space"), std::string::npos) << r.err;

  EXPECT_EQ(SmallStats(), before);
  RunResult v = Run({"verify", "--repo", small_repo_});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  RunResult get = Run({"get", "--repo", small_repo_, Sha256Hex(ReadFile(kept)), "-o", dir_ + "/back"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(ReadFile(dir_ + "/back"), ReadFile(kept));
}

// A checkin that fills the disk leaves no object behind, as a failed checkin should: the store
// refused every write after its failed flush, the undo included, until it was reopened.
TEST_F(FullDiskTest, ACheckinThatFillsTheDiskLeavesNoObjectBehind) {
  const std::string first = dir_ + "/first", big = dir_ + "/big";
  std::filesystem::create_directories(first);
  std::filesystem::create_directories(big);
  MakeFile("first/f", RandomData(300 << 10, 5));
  ASSERT_EQ(Run({"checkin", first, "--image", "web", "--repo", small_repo_}).exit_code, 0);
  nlohmann::json before = SmallStats();
  for (int i = 0; i < 6; ++i) MakeFile("big/f" + std::to_string(i), RandomData(4 << 20, 10 + i));
  RunResult r = Run({"checkin", big, "--image", "web", "--repo", small_repo_});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(r.err.find("undo failed"), std::string::npos) << r.err;
  EXPECT_EQ(SmallStats(), before);
  RunResult v = Run({"verify", "--repo", small_repo_});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  RunResult versions = Run({"versions", "web", "--repo", small_repo_, "--json"});
  EXPECT_EQ(nlohmann::json::parse(versions.out).size(), 1u) << versions.out;
}

}  // namespace
}  // namespace cairn::testing
