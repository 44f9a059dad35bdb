// Directory checkin with the scan threads (CheckinOptions::scan_ahead): the walk scans
// directories itself while that is fast and on threads once the disk is slow, and both give
// the same Trees.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "indexer/dir_prefetch.h"
#include "tests/indexer/dir_fixture.h"

namespace cairn::indexer {
namespace {

using testing::BuildTree;
using testing::DirTest;

// A warm checkin's options: no probe finds the tree cold.
void Warm(CheckinOptions& o) { o.cold_scan_ns_per_entry = INT64_MAX; }

// Checkins with a prefetch made by the test.
class PrefetchTest : public DirTest {
 protected:
  // Checks `src` in as the next version of image "p" with `prefetch` adopted by the walk, and
  // expects what a checkin of the same tree without a parent gives; returns the incremental.
  catalog::CheckinOutcome IncrementalWithPrefetch(const std::string& src,
                                                  std::shared_ptr<DirPrefetch> prefetch) {
    auto incremental = TryCheckin(src, "p", "p", [&](CheckinOptions& o) {
      Warm(o);
      o.prefetch = prefetch;
    });
    EXPECT_TRUE(incremental) << incremental.error().ToString();
    auto fresh = TryCheckin(src, "p-fresh", "", Warm);
    EXPECT_TRUE(fresh) << fresh.error().ToString();
    if (!incremental || !fresh) return {};
    EXPECT_EQ(incremental->result.root, fresh->result.root);
    EXPECT_EQ(incremental->result.dirs, fresh->result.dirs);
    return std::move(*incremental);
  }
};

// The walk scans directories itself while that is fast and on threads ahead of it once the
// disk is slow: both give the same Trees, with and without a parent.
TEST_F(DirTest, ScanningAheadGivesWhatTheWalkItselfGives) {
  const std::string src = tmp_ / "src";
  BuildTree(src, testing::FullSpec());
  ASSERT_EQ(testing::Shell("cd '" + src + "' && mkdir -p a/b/c d && echo 1 > a/b/c/f && echo 2 > d/g"), 0);
  using ScanAhead = CheckinOptions::ScanAhead;
  auto checkin = [&](ScanAhead mode, const std::string& image, const std::string& parent) {
    return TryCheckin(src, image, parent, [mode](CheckinOptions& o) { o.scan_ahead = mode; });
  };
  for (ScanAhead mode : {ScanAhead::kNever, ScanAhead::kAlways, ScanAhead::kAuto}) {
    const std::string image = "m" + std::to_string(static_cast<int>(mode));
    auto full = checkin(mode, image, "");
    ASSERT_TRUE(full) << full.error().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(testing::Shell("cd '" + src + "' && echo " + image + " > a/b/c/f"), 0);
    auto incremental = checkin(mode, image, image);
    ASSERT_TRUE(incremental) << incremental.error().ToString();
    auto fresh = checkin(ScanAhead::kNever, image + "-fresh", "");  // no parent: reads everything
    ASSERT_TRUE(fresh) << fresh.error().ToString();
    EXPECT_EQ(incremental->result.root, fresh->result.root) << image;
    EXPECT_EQ(incremental->result.bytes_read, image.size() + 1) << image << ": only a/b/c/f is read";
  }
}

// The scan threads may start in the middle of the walk, several directories deep: the
// directories already walked are not scanned again, and every scan started is used (the
// walker fails a checkin otherwise). A threshold of 0 starts them after 256 entries.
TEST_F(DirTest, ScanningAheadCanStartInTheMiddleOfTheWalk) {
  const std::string src = tmp_ / "src";
  BuildTree(src, testing::FullSpec());
  ASSERT_EQ(testing::Shell("cd '" + src + "' && mkdir -p 0/0many 0/zdir/sub a/b d && "
                           "for i in $(seq 300); do echo $i > 0/0many/f$i; done && "
                           "echo x > 0/zdir/sub/f && echo y > a/b/f && echo z > d/f"),
            0);
  auto checkin = [&](CheckinOptions::ScanAhead mode, int64_t slow_ns, const std::string& image) {
    return TryCheckin(src, image, "", [=](CheckinOptions& o) {
      o.scan_ahead = mode;
      o.slow_scan_ns_per_entry = slow_ns;
    });
  };
  auto inline_only = checkin(CheckinOptions::ScanAhead::kNever, 0, "never");
  ASSERT_TRUE(inline_only) << inline_only.error().ToString();
  auto switched = checkin(CheckinOptions::ScanAhead::kAuto, 0, "auto");
  ASSERT_TRUE(switched) << switched.error().ToString();
  EXPECT_EQ(switched->result.root, inline_only->result.root);
  EXPECT_EQ(switched->result.dirs, inline_only->result.dirs);
}

// On a cold cache an incremental checkin scans the directories its stat cache names on helper
// threads ahead of the walk (a threshold of 0 makes the probe before the walk start them). The helpers take
// each directory to be as recorded; every way a directory can differ from that record (a file
// changed deep down, a directory added, removed, renamed, made a symlink, or given new entries)
// gives what a checkin without a parent gives, and only the changed files are read.
TEST_F(DirTest, PlannedScansGiveWhatTheWalkItselfGives) {
  const std::string src = tmp_ / "src";
  BuildTree(src, testing::FullSpec());
  ASSERT_EQ(testing::Shell("cd '" + src +
                           "' && mkdir -p 0/many k/l/m r/s t/u w/x && "
                           "for i in $(seq 300); do echo $i > 0/many/f$i; done && "
                           "for d in k k/l k/l/m r r/s t t/u w w/x; do echo $d > $d/f; done && "
                           "for i in $(seq 500); do mkdir -p v/$i && echo $i > v/$i/f; done"),
            0);
  auto checkin = [&](const std::string& image, const std::string& parent, bool planned) {
    return TryCheckin(src, image, parent, [=](CheckinOptions& o) {
      o.scan_ahead = planned ? CheckinOptions::ScanAhead::kAuto : CheckinOptions::ScanAhead::kNever;
      o.cold_scan_ns_per_entry = planned ? 0 : INT64_MAX;
    });
  };
  auto first = checkin("p", "", true);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->result.dirs_planned, 0u) << "no stat cache yet";
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(
      testing::Shell("cd '" + src +
                     "' && echo changed > k/l/m/f && mkdir w/new && echo n > w/new/f && "
                     "rm -r t/u && mv r/s r/s2 && rm -r w/x && ln -s ../k w/x && echo e > k/extra"),
      0);
  auto incremental = checkin("p", "p", true);
  ASSERT_TRUE(incremental) << incremental.error().ToString();
  auto fresh = checkin("p-fresh", "", false);
  ASSERT_TRUE(fresh) << fresh.error().ToString();
  EXPECT_EQ(incremental->result.root, fresh->result.root);
  EXPECT_EQ(incremental->result.dirs, fresh->result.dirs);
  // The walk of v/ (500 directories) outlasts the helpers' start.
  EXPECT_GT(incremental->result.dirs_planned, 0u)
      << "the helpers scanned directories the walk used";
  // k/l/m/f, w/new/f and k/extra are new; r/s2/f was renamed with its directory, so its
  // directory's record does not apply and the file is read again.
  EXPECT_EQ(incremental->result.bytes_read, 8u + 2u + 2u + 4u);
}

// `cairn checkin --parent` starts a prefetch before it opens the repository: the stat cache is
// loaded and an idle helper scans the directories it names, giving up on those that changed
// (their Trees in the parent version need the store). The walk adopts it, uses the helper's
// scans, scans the rest itself, and gets what a checkin without a parent gets. A prefetch of
// another root is left alone.
TEST_F(PrefetchTest, APrefetchStartedBeforeTheStoreIsOpenGivesWhatTheWalkItselfGives) {
  const std::string src = tmp_ / "src";
  BuildTree(src, testing::FullSpec());
  ASSERT_EQ(testing::Shell("cd '" + src + "' && mkdir -p k/l/m && echo k > k/l/m/f && "
                           "for i in $(seq 300); do mkdir -p v/$i && echo $i > v/$i/f; done"),
            0);
  const std::string other = tmp_ / "other";
  ASSERT_EQ(testing::Shell("mkdir -p '" + other + "/x' && echo o > '" + other + "/x/f'"), 0);
  ASSERT_TRUE(TryCheckin(src, "p", "", Warm));
  ASSERT_TRUE(TryCheckin(other, "o", "", Warm));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(testing::Shell("cd '" + src + "' && echo changed > k/l/m/f && echo 77 > v/77/f"), 0);
  testing::SettleCtimes();

  CheckinOptions options;
  options.stat_cache_dir = cache_dir_;
  options.cold_scan_ns_per_entry = INT64_MAX;
  std::shared_ptr<DirPrefetch> prefetch = DirPrefetch::ForSource(src, options);
  ASSERT_NE(prefetch, nullptr);
  prefetch->Wait();
  ASSERT_TRUE(prefetch->planned()) << "an idle helper";
  EXPECT_FALSE(prefetch->cold());
  ASSERT_NE(prefetch->stat_ahead(), nullptr) << "the cached names are looked up ahead (io_uring)";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the helper scans meanwhile
  catalog::CheckinOutcome incremental = IncrementalWithPrefetch(src, prefetch);
  EXPECT_GT(incremental.result.dirs_planned, 0u) << "the walk used the helper's scans";
  EXPECT_EQ(incremental.result.bytes_read, 8u + 3u) << "only k/l/m/f and v/77/f are read";

  // Not this walk's root: the walk makes its own (and, warm, plans nothing).
  std::shared_ptr<DirPrefetch> wrong = DirPrefetch::ForSource(other, options);
  ASSERT_NE(wrong, nullptr);
  auto again = TryCheckin(src, "p", "p:2", [&](CheckinOptions& o) {
    Warm(o);
    o.prefetch = wrong;
  });
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->result.root, incremental.result.root);
  EXPECT_EQ(again->result.dirs_planned, 0u);
  EXPECT_EQ(again->result.bytes_read, 0u);
  // No prefetch for what is not a directory.
  EXPECT_EQ(DirPrefetch::ForSource(src + "/k/l/m/f", options), nullptr);
}

// A slow probe or slow scans start the cold helpers only when they waited on storage: on a busy
// machine a warm tree's lookups are slow too, preempted, and sixteen more threads only slow
// them further. Here every lookup counts as slow (1 ns an entry), and the tree is warm.
TEST_F(PrefetchTest, SlowLookupsThatDidNotWaitOnStorageStartNoHelpers) {
  const std::string src = tmp_ / "src";
  BuildTree(src, testing::FullSpec());
  ASSERT_EQ(testing::Shell("cd '" + src +
                           "' && for i in $(seq 300); do mkdir -p v/$i && echo $i > v/$i/f; done"),
            0);
  ASSERT_TRUE(TryCheckin(src, "p", "", Warm));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(testing::Shell("cd '" + src + "' && echo changed > v/77/f"), 0);
  testing::SettleCtimes();
  auto slow = [](CheckinOptions& o) {
    o.cold_scan_ns_per_entry = 1;
    o.slow_scan_ns_per_entry = 1;
  };
  CheckinOptions options;
  options.stat_cache_dir = cache_dir_;
  slow(options);
  std::shared_ptr<DirPrefetch> prefetch = DirPrefetch::ForSource(src, options);
  ASSERT_NE(prefetch, nullptr);
  prefetch->Wait();
  EXPECT_FALSE(prefetch->cold()) << "the probe read nothing from a disk";
  // The walk's own scans, after a probe that finds nothing slow and without the idle helper
  // (which would scan most directories before the walk starts).
  options.cold_scan_ns_per_entry = INT64_MAX;
  prefetch = std::make_shared<DirPrefetch>(std::filesystem::canonical(src).string(), options);
  prefetch->Start(/*idle_helpers=*/0);
  ASSERT_FALSE(prefetch->cold());
  auto incremental = TryCheckin(src, "p", "p", [&](CheckinOptions& o) {
    slow(o);
    o.prefetch = prefetch;
  });
  ASSERT_TRUE(incremental) << incremental.error().ToString();
  EXPECT_FALSE(prefetch->cold())
      << "the walk's scans (602 entries and more) read nothing from a disk";
  EXPECT_EQ(incremental->result.bytes_read, 8u);
}

// The other side: a tree whose inodes are not in memory (its file system mounted again) is
// found cold by the probe, which then waits on the disk.
TEST_F(PrefetchTest, AProbeThatReadsTheDiskFindsTheTreeCold) {
  if (::geteuid() != 0) GTEST_SKIP() << "loop mounts need root (CI runs as root)";
  const std::string img = tmp_ / "cold.img", m = tmp_ / "m";
  // One loop device throughout (the stat cache is kept for the device it was written on).
  ASSERT_EQ(testing::Shell("truncate -s 64M '" + img + "' && mkfs.ext4 -q '" + img +
                           "' && mkdir '" + m + "' && losetup --find --show '" + img + "' > '" +
                           std::string(tmp_ / "loop") + "'"),
            0);
  std::string loop;
  std::getline(std::ifstream(tmp_ / "loop"), loop);
  ASSERT_FALSE(loop.empty());
  struct Detach {
    std::string loop, m;
    ~Detach() { (void)testing::Shell("umount '" + m + "' 2>/dev/null; losetup -d " + loop); }
  } detach{loop, m};
  ASSERT_EQ(testing::Shell("mount " + loop + " '" + m + "' && cd '" + m +
                           "' && for i in $(seq 200); do mkdir $i && echo $i > $i/f; done"),
            0);
  ASSERT_TRUE(TryCheckin(m, "c", "", Warm));
  ASSERT_EQ(testing::Shell("umount '" + m + "' && mount " + loop + " '" + m + "'"), 0);

  CheckinOptions options;
  options.stat_cache_dir = cache_dir_;
  options.cold_scan_ns_per_entry = 1;
  std::shared_ptr<DirPrefetch> prefetch = DirPrefetch::ForSource(m, options);
  ASSERT_NE(prefetch, nullptr);
  prefetch->Wait();
  ASSERT_GT(prefetch->cache().size(), 2u) << "the stat cache applies to the mount";
  EXPECT_TRUE(prefetch->cold()) << "the probe waited on the disk";
  EXPECT_TRUE(prefetch->planned());
}

// A directory whose entries changed is listed, not taken from its record; the recorded names
// among its entries were looked up ahead and those lookups are used, while a new name (here
// sorting before and between the recorded ones) is looked up by the scan itself. The Tree is
// what a checkin without a parent gives.
TEST_F(PrefetchTest, AListedDirectoryUsesTheLookupsAheadOfItsRecordedNamesOnly) {
  const std::string src = tmp_ / "src";
  BuildTree(src, testing::FullSpec());
  ASSERT_EQ(testing::Shell("cd '" + src +
                           "' && mkdir -p zz/b && echo 1 > zz/b/f && "
                           "printf 22 > zz/d && chmod 640 zz/d"),
            0);
  ASSERT_TRUE(TryCheckin(src, "p", "", Warm));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(testing::Shell("cd '" + src +
                           "' && printf 333 > zz/a0 && chmod 600 zz/a0 && "
                           "printf 4444 > zz/c0 && chmod 604 zz/c0"),
            0);
  testing::SettleCtimes();

  CheckinOptions options;
  options.stat_cache_dir = cache_dir_;
  options.cold_scan_ns_per_entry = INT64_MAX;
  Result<std::string> root = WalkRoot(src);
  ASSERT_TRUE(root) << root.error().ToString();
  auto prefetch = std::make_shared<DirPrefetch>(*root, options);
  prefetch->Start(/*idle_helpers=*/0);  // the lookups ahead only: nothing else claims zz
  const StatAhead* ahead = prefetch->stat_ahead();
  ASSERT_NE(ahead, nullptr) << "the cached names are looked up ahead (io_uring)";
  const StatCacheDir* zz = prefetch->cache().Find("zz");
  ASSERT_NE(zz, nullptr);
  ASSERT_EQ(zz->names, (std::vector<std::string>{"b", "d"}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ahead->Ready(zz).at(1) == nullptr && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_NE(ahead->Ready(zz).at(1), nullptr) << "zz's recorded names were looked up ahead";

  catalog::CheckinOutcome incremental = IncrementalWithPrefetch(src, prefetch);
  EXPECT_EQ(incremental.result.bytes_read, 3u + 4u) << "only zz/a0 and zz/c0 are read";
}

// The walk's scans are judged per window of 256 entries or more: none before, none for scans
// not judged, and with thresholds of 0 (which need no wait on storage) the cold verdict only
// where there is a cache to read ahead from.
TEST(ScanWindowTest, JudgesWholeWindowsAgainstItsThresholds) {
  ScanWindow zero(0, 0);
  zero.Begin();
  EXPECT_EQ(zero.Add(1000, 255, true, true), ScanWindow::Verdict::kNone);
  EXPECT_EQ(zero.Add(1000, 1, true, true), ScanWindow::Verdict::kCold);
  zero.Begin();
  EXPECT_EQ(zero.Add(1000, 300, true, false), ScanWindow::Verdict::kSlow);
  EXPECT_EQ(zero.Add(1000, 300, false, true), ScanWindow::Verdict::kNone);

  // Thresholds no scan reaches (an hour an entry): never a verdict, however many windows.
  const int64_t hour = int64_t{3600} * 1000 * 1000 * 1000;
  ScanWindow high(hour, hour);
  for (int i = 0; i < 4; ++i) {
    high.Begin();
    EXPECT_EQ(high.Add(1000000, 256, true, true), ScanWindow::Verdict::kNone);
  }
}

}  // namespace
}  // namespace cairn::indexer
