// Incremental checkins (`--parent`) that must store what a full checkin of the same tree stores,
// where the stat cache's inodes and ctimes alone could not tell a change: another file system
// mounted at the source's path, and an edit made while the checkin waited for another writer.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/cli/cli_runner.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::testing {
namespace {

using indexer::testing::Shell;

class IncrementalCliTest : public CliTest {
 protected:
  void TearDown() override {
    if (!mounted_.empty()) ::umount2(mounted_.c_str(), MNT_DETACH);
    CliTest::TearDown();
  }
  // The root id `checkin args...` prints (--json), with the stat cache in `cache`.
  std::string CheckinRoot(std::vector<std::string> args, const std::string& cache) {
    args.insert(args.begin(), "checkin");
    args.insert(args.end(), {"--json"});
    RunResult r = Run(args, {{"CAIRN_CACHE_DIR", cache}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return "";
    return nlohmann::json::parse(r.out)["root"].get<std::string>();
  }
  std::string mounted_;
};

// Two copies of one ext4 image (same UUID, inodes and times), a.img and b.img, each given another
// hostname of the same size in the same second (128-byte inodes keep whole seconds): inodes,
// ctimes, sizes and mtimes all match.
class TwoImagesCliTest : public IncrementalCliTest {
 protected:
  void SetUp() override {
    IncrementalCliTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "loop mounts need root (CI runs as root)";
    const std::string m = dir_ + "/m", a = dir_ + "/a", b = dir_ + "/b";
    for (const std::string& d : {m, a, b}) std::filesystem::create_directories(d);
    const std::string img = dir_ + "/base.img";
    ASSERT_EQ(Shell("truncate -s 16M " + img + " && mkfs.ext4 -q -F -I 128 " + img +
                    " >/dev/null 2>&1 && mount -o loop " + img + " " + m + " && mkdir " + m +
                    "/etc && echo base-host > " + m + "/etc/hostname && umount " + m + " && cp " +
                    img + " " + dir_ + "/a.img && cp " + img + " " + dir_ + "/b.img"),
              0);
    ASSERT_EQ(Shell("mount -o loop " + dir_ + "/a.img " + a + " && mount -o loop " + dir_ +
                    "/b.img " + b),
              0);
    bool same = false;
    for (int attempt = 0; attempt < 5 && !same; ++attempt) {
      ASSERT_EQ(
          Shell("echo web-01 > " + a + "/etc/hostname && echo web-02 > " + b + "/etc/hostname"), 0);
      same = Shell("test \"$(stat -c %Z.%Y " + a + "/etc/hostname)\" = \"$(stat -c %Z.%Y " + b +
                   "/etc/hostname)\"") == 0;
    }
    ASSERT_EQ(Shell("umount " + a + " " + b), 0);
    ASSERT_TRUE(same) << "no two writes fell in one second";
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));  // past the racy-ctime doubt
  }

  // Checks a.img in from mount point m, runs `between` (a.img unmounted), mounts `second` at m,
  // and expects its incremental checkin to store what a full checkin stores: web-02.
  void ExpectTheSecondReadAgain(const std::string& between, const std::string& second) {
    const std::string m = dir_ + "/m", cache = dir_ + "/cache";
    ASSERT_EQ(Shell("mount -o loop " + dir_ + "/a.img " + m), 0);
    mounted_ = m;
    ASSERT_NE(CheckinRoot({m, "--image", "vm", "--repo", repo_}, cache), "");
    ASSERT_EQ(Shell("umount " + m), 0);
    mounted_.clear();
    if (!between.empty()) ASSERT_EQ(Shell(between), 0);
    ASSERT_EQ(Shell("mount -o loop " + second + " " + m), 0);
    mounted_ = m;
    const std::string incremental =
        CheckinRoot({m, "--image", "vm", "-p", "vm:1", "--repo", repo_}, cache);
    const std::string full =
        CheckinRoot({m, "--image", "ref", "--repo", repo_}, dir_ + "/another-cache");
    EXPECT_EQ(incremental, full);
    RunResult cat = Run({"cat", "vm:2", "etc/hostname", "--repo", repo_});
    EXPECT_EQ(cat.out, "web-02\n") << cat.err;
  }
};

// The two mounted in turn at one path: the incremental checkin of the second stored the first's
// hostname. The cache is now written for the file system too (StatCache::SourceOf: here the
// image file behind the loop device).
TEST_F(TwoImagesCliTest, AnotherFileSystemMountedAtTheSourcesPathIsReadAgain) {
  ExpectTheSecondReadAgain("", dir_ + "/b.img");
}

// The second copied over the first in place (cp keeps a.img's inode, as mkfs.ext4 -d rebuilding
// an image in its file does): the same path, offset and inode behind the loop device, and the
// incremental checkin stored the old hostname. The loop device's disk sequence number, new at
// each attachment, now tells them apart.
TEST_F(TwoImagesCliTest, AnImageRewrittenInPlaceAndMountedAgainIsReadAgain) {
  ExpectTheSecondReadAgain("cp " + dir_ + "/b.img " + dir_ + "/a.img", dir_ + "/a.img");
}

// A checkin waiting for another writer (the repository's lock held here) while a file is
// written in place: the incremental checkin stored the file as it was before the wait, since
// its scans ahead and the watcher's answer were taken before; a full checkin stored the edit.
TEST_F(IncrementalCliTest, AnEditMadeWhileTheCheckinWaitsForTheRepositoryIsStored) {
  const std::string src = dir_ + "/src", cache = dir_ + "/cache";
  for (const char* d : {"a", "b", "c"}) {
    std::filesystem::create_directories(src + "/" + d);
    for (int i = 1; i <= 5; ++i) {
      MakeFile(std::string("src/") + d + "/f" + std::to_string(i),
               std::string(d) + " " + std::to_string(i) + "\n");
    }
  }
  ASSERT_NE(CheckinRoot({src, "--image", "w", "--repo", repo_}, cache), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past the racy-ctime doubt

  // RocksDB's lock is a POSIX record lock: held by this process, the command waits for it.
  int lock = ::open((repo_ + "/db/LOCK").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lock, 0) << std::strerror(errno);
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(lock, F_SETLK, &fl), 0) << std::strerror(errno);
  std::thread editor([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    std::ofstream(src + "/b/f3") << "edited while the checkin waits\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    ::close(lock);  // releases the lock
  });
  RunResult r = Run({"checkin", src, "--image", "w", "-p", "w:1", "--json", "--repo", repo_},
                    {{"CAIRN_CACHE_DIR", cache}});
  editor.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("waiting"), std::string::npos) << r.err;
  const std::string incremental = nlohmann::json::parse(r.out)["root"].get<std::string>();
  EXPECT_EQ(incremental, CheckinRoot({src, "--image", "ref", "--repo", repo_}, dir_ + "/cache2"));
  RunResult cat = Run({"cat", "w:2", "b/f3", "--repo", repo_});
  EXPECT_EQ(cat.out, "edited while the checkin waits\n") << cat.err;
}

}  // namespace
}  // namespace cairn::testing
