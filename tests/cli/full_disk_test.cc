// A full disk: `put` and `checkin` fail with exit code 7 naming the problem, and the repository
// still verifies and holds what it held. Uses a small tmpfs (needs root, as CI runs).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

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

  // Checks in `tree` on a tmpfs of each size just below the smallest that takes it (holding
  // one version first), each failure leaving the repository as it was; searched from
  // [fails_kib, fits_kib]; tried at each of `below` KiB under it.
  void CheckFailuresJustBelowTheSmallestSize(const std::string& tree, int fails_kib, int fits_kib,
                                             const std::vector<int>& below) {
    ::umount2(small_.c_str(), MNT_DETACH);
    mounted_ = false;
    std::filesystem::create_directories(dir_ + "/one");
    MakeFile("one/f", "kept\n");
    // The checkin's exit code on a fresh tmpfs of `kib` KiB; with `check`, what a failure left
    // is checked too.
    auto attempt = [&](int kib, bool check) {
      EXPECT_EQ(::mount("tmpfs", small_.c_str(), "tmpfs", 0,
                        ("size=" + std::to_string(kib) + "k").c_str()),
                0);
      mounted_ = true;
      EXPECT_EQ(Run({"init", "--repo", small_repo_}).exit_code, 0);
      EXPECT_EQ(Run({"checkin", dir_ + "/one", "--image", "web", "--repo", small_repo_}).exit_code,
                0);
      nlohmann::json before = SmallStats();
      RunResult r = Run({"checkin", tree, "--image", "web", "--repo", small_repo_});
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 7)
          << kib << " KiB: " << r.exit_code << " " << r.err;
      if (check && r.exit_code != 0) {
        EXPECT_EQ(r.err.find("undo failed"), std::string::npos) << kib << " KiB: " << r.err;
        EXPECT_EQ(SmallStats(), before) << kib << " KiB: " << r.err;
        RunResult v = Run({"verify", "--repo", small_repo_});
        EXPECT_EQ(v.exit_code, 0) << kib << " KiB: " << v.out << v.err;
      }
      ::umount2(small_.c_str(), MNT_DETACH);
      mounted_ = false;
      return r.exit_code;
    };
    // Only just below the smallest size that takes the checkin is the failure checked: on a
    // disk with less than the store's 4 MiB reserve and 1 MiB more free when the repository was
    // written there, a writer holds back nothing (cas/rocks_files.h).
    ASSERT_EQ(attempt(fits_kib, false), 0);
    while (fits_kib - fails_kib > 64) {
      int mid = (fails_kib + fits_kib) / 2;
      (attempt(mid, false) == 0 ? fits_kib : fails_kib) = mid;
      if (::testing::Test::HasFailure()) return;
    }
    for (int kib : below) attempt(fits_kib - kib, true);
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

// The disk fills at any point of a checkin of many small files, down to the last flush after
// the objects were made durable: each failure leaves the repository as it was. Before, a
// failure after that flush left every object behind (3,031 here), because undoing the search
// index's keys met the full disk first and the objects' undo was skipped; and on some sizes
// RocksDB's info log aborted the process (exit 134).
TEST_F(FullDiskTest, ACheckinOfManySmallFilesFailingAtAnyFlushLeavesNothingBehind) {
  const std::string many = dir_ + "/many";
  for (int d = 0; d < 30; ++d) {
    std::filesystem::create_directories(many + "/d" + std::to_string(d));
    for (int i = 0; i < 100; ++i) {
      MakeFile("many/d" + std::to_string(d) + "/f" + std::to_string(i),
               RandomData(1500, d * 100 + i));
    }
  }
  CheckFailuresJustBelowTheSmallestSize(many, 4 << 10, 48 << 10,
                                        {16, 32, 48, 64, 80, 96, 112, 128, 144, 160});
}

// A checkin whose undo is larger than the store's 4 MiB reserve: its deletes did not fit in the
// log, the undo failed and left every object (60,000 small files did it; here 16,000 files
// whose long names make long index keys, ~9 MB of deletes: 512 KiB under the smallest size the
// undo failed). The writer now holds back room for the undo of every bulk write as it goes
// (ObjectStore::HoldUndoRoom).
TEST_F(FullDiskTest, ACheckinWhoseUndoOutgrowsTheReserveIsStillUndone) {
  const std::string many = dir_ + "/long";
  const std::string pad(230, 'n');
  for (int d = 0; d < 40; ++d) {
    std::filesystem::create_directories(many + "/d" + std::to_string(d));
    for (int i = 0; i < 400; ++i) {
      MakeFile("long/d" + std::to_string(d) + "/" + pad + std::to_string(i),
               RandomData(64, d * 1000 + i));
    }
  }
  CheckFailuresJustBelowTheSmallestSize(many, 8 << 10, 64 << 10,
                                        {128, 256, 384, 512, 640, 768, 896, 1024, 1536, 2048});
}

// On a disk with not one block free, every writing command fails with exit 7 and the
// repository stays valid. RocksDB's info log aborted the process before (SIGABRT, exit 134)
// when its second write met the full disk, at open or after a failed write.
TEST_F(FullDiskTest, OnADiskWithNoBlockFreeEveryWritingCommandExitsSeven) {
  std::filesystem::create_directories(dir_ + "/one");
  MakeFile("one/f", "kept\n");
  ASSERT_EQ(Run({"checkin", dir_ + "/one", "--image", "web", "--repo", small_repo_}).exit_code, 0);
  ASSERT_EQ(Run({"checkin", dir_ + "/one", "--image", "db", "--repo", small_repo_}).exit_code, 0);
  nlohmann::json before = SmallStats();
  {
    std::ofstream fill(small_ + "/fill", std::ios::binary);
    const std::string block(4096, 'x');
    while (fill.write(block.data(), block.size())) {
    }
  }
  const std::vector<std::vector<std::string>> commands = {
      {"tag", "web:1", "t1"},
      {"rm", "db:1"},
      {"gc"},
      {"put", dir_ + "/one/f"},
      {"checkin", dir_ + "/one", "--image", "x"}};
  for (auto args : commands) {
    args.insert(args.end(), {"--repo", small_repo_});
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 7) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << args[0] << ": " << r.err;
  }
  ASSERT_EQ(::unlink((small_ + "/fill").c_str()), 0);
  EXPECT_EQ(SmallStats(), before);
  RunResult v = Run({"verify", "--repo", small_repo_});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  RunResult tag = Run({"tag", "web:1", "t1", "--repo", small_repo_});
  EXPECT_EQ(tag.exit_code, 0) << tag.err;
}

}  // namespace
}  // namespace cairn::testing
