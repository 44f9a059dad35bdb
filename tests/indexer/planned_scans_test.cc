// PlannedScans (indexer/planned_scans.h): helpers scan planned directories ahead of a walk;
// every directory is scanned once, by a helper or by the walk, and helpers stay within their
// window.
#include "indexer/planned_scans.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace cairn::indexer {
namespace {

TEST(WalkOrderTest, SortsPathsAsADepthFirstWalkMeetsThem) {
  std::vector<std::string> paths = {"a-c", "a/b", "", "a", "a/b/c", "b", "a.d", "a/a"};
  std::sort(paths.begin(), paths.end(), WalkOrderLess);
  EXPECT_EQ(paths, (std::vector<std::string>{"", "a", "a/a", "a/b", "a/b/c", "a-c", "a.d", "b"}));
  std::vector<std::string> bytes = {"\xff", "a", "\x01"};
  std::sort(bytes.begin(), bytes.end(), WalkOrderLess);
  EXPECT_EQ(bytes, (std::vector<std::string>{"\x01", "a", "\xff"})) << "raw unsigned byte order";
}

struct Scanned {
  std::string rel;
};

TEST(PlannedScansTest, EveryDirectoryIsScannedOnceByAHelperOrByTheWalk) {
  using Plan = PlannedScans<Scanned>;
  std::vector<Plan::Dir> dirs;
  std::vector<std::string> order;
  for (int i = 0; i < 2000; ++i) {
    std::string rel = "d" + std::to_string(i / 100) + "/e" + std::to_string(i);
    dirs.push_back({rel, 10});
    order.push_back(rel);
  }
  std::sort(order.begin(), order.end(), WalkOrderLess);
  std::atomic<int> helper_scans{0};
  std::atomic<int> held{0}, most_held{0};
  Plan plan(
      dirs,
      [&](const std::string& rel) -> std::optional<Scanned> {
        helper_scans++;
        if (rel.ends_with("7")) return std::nullopt;  // a helper that cannot scan: the walk does
        int h = ++held;
        for (int m = most_held.load(); h > m && !most_held.compare_exchange_weak(m, h);) {
        }
        return Scanned{rel};
      },
      4, /*window=*/200);
  // Let the helpers start (else the walk may outrun them and scan everything itself).
  for (int i = 0; i < 5000 && helper_scans.load() < 10; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int walk_scans = 0, taken = 0;
  for (const std::string& rel : order) {
    std::optional<Scanned> s = plan.Take(rel);
    if (s) {
      EXPECT_EQ(s->rel, rel);
      --held;
      ++taken;
    } else {
      ++walk_scans;
    }
  }
  EXPECT_FALSE(plan.Take("not/planned").has_value());
  EXPECT_GT(taken, 0);
  EXPECT_EQ(taken + walk_scans, 2000);
  // A helper that gave up (names ending in 7) counts as a helper scan and leaves it to the walk.
  EXPECT_LE(taken, helper_scans.load());
  // The window is 200 entries of 10-entry directories: 20 ahead of the walk, plus one in hand
  // per helper.
  EXPECT_LE(most_held.load(), 20 + 4 + 1);
}

}  // namespace
}  // namespace cairn::indexer
