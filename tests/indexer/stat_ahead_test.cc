// StatAhead: the cached names of a tree looked up in bulk through io_uring give what lstat
// gives, name by name; what cannot be looked up is left to the caller.
#include "indexer/stat_ahead.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/indexer/dir_fixture.h"

namespace cairn::indexer {
namespace {

namespace fs = std::filesystem;
using testing::DirTest;

// The stat cache a checkin of `root` would leave: every directory with its names in raw byte
// order and their inodes and ctimes.
StatCache CacheOf(const std::string& root) {
  StatCache cache;
  std::vector<std::string> dirs = {""};
  for (size_t k = 0; k < dirs.size(); ++k) {
    const std::string rel = dirs[k];
    const std::string path = rel.empty() ? root : root + "/" + rel;
    StatCacheDir d;
    for (const auto& e : fs::directory_iterator(path)) d.names.push_back(e.path().filename().string());
    std::sort(d.names.begin(), d.names.end());
    for (const std::string& n : d.names) {
      struct stat st;
      EXPECT_EQ(::lstat((path + "/" + n).c_str(), &st), 0) << n;
      d.files.push_back(FileStatOf(st));
      if (S_ISDIR(st.st_mode)) dirs.push_back(rel.empty() ? n : rel + "/" + n);
    }
    struct stat self;
    EXPECT_EQ(::lstat(path.c_str(), &self), 0);
    d.self = FileStatOf(self);
    cache.Put(rel, std::move(d));
  }
  return cache;
}

// Directories d<first>..d<last> under `src`, each with files 1..`files`.
void MakeDirs(const std::string& src, int first, int last, int files) {
  ASSERT_EQ(testing::Shell("mkdir -p '" + src + "' && cd '" + src + "' && for d in $(seq " +
                           std::to_string(first) + " " + std::to_string(last) + "); do " +
                           "mkdir d$d && for i in $(seq " + std::to_string(files) +
                           "); do echo $i > d$d/$i; done; done"),
            0);
}

void ExpectSame(const struct stat& a, const struct stat& b, const std::string& what) {
  EXPECT_EQ(a.st_dev, b.st_dev) << what;
  EXPECT_EQ(a.st_ino, b.st_ino) << what;
  EXPECT_EQ(a.st_mode, b.st_mode) << what;
  EXPECT_EQ(a.st_nlink, b.st_nlink) << what;
  EXPECT_EQ(a.st_uid, b.st_uid) << what;
  EXPECT_EQ(a.st_gid, b.st_gid) << what;
  EXPECT_EQ(a.st_rdev, b.st_rdev) << what;
  EXPECT_EQ(a.st_size, b.st_size) << what;
  EXPECT_EQ(a.st_blocks, b.st_blocks) << what;
  EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << what;
  EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << what;
  EXPECT_EQ(a.st_ctim.tv_sec, b.st_ctim.tv_sec) << what;
  EXPECT_EQ(a.st_ctim.tv_nsec, b.st_ctim.tv_nsec) << what;
}

// Every kind of entry (files, a sparse file, a hard link, a symlink, a fifo, a device node when
// root, directories), with owners and a setuid mode: each looked-up name is its lstat, and each
// directory is found as an entry of its parent.
TEST_F(DirTest, StatAheadGivesWhatLstatGives) {
  const std::string src = tmp_ / "src";
  std::string make = "mkdir -p '" + src + "/a/b/c' '" + src + "/d' && cd '" + src + "' && "
                     "echo hello > a/f && truncate -s 1M a/sparse && ln a/f d/link && "
                     "ln -s ../a/f d/sym && mkfifo d/fifo && chmod 4755 a/f && "
                     "for i in $(seq 40); do echo $i > a/b/c/n$i; done && printf x > \"$(printf 'd/\\377')\"";
  if (::geteuid() == 0) make += " && mknod d/null c 1 3 && chown 12:34 a/b/c/n7";
  ASSERT_EQ(testing::Shell(make), 0);
  StatCache cache = CacheOf(src);
  auto ahead = StatAhead::Start(src, cache);
  ASSERT_NE(ahead, nullptr) << "io_uring could not be set up";
  ahead->Wait();
  size_t names = 0;
  for (const auto& [rel, d] : cache.dirs()) {
    const std::string dir = rel.empty() ? src : src + "/" + rel;
    for (size_t i = 0; i < d.names.size(); ++i, ++names) {
      struct stat want;
      ASSERT_EQ(::lstat((dir + "/" + d.names[i]).c_str(), &want), 0);
      const struct stat* got = ahead->Get(&d, i);
      ASSERT_NE(got, nullptr) << rel << "/" << d.names[i];
      ExpectSame(*got, want, rel + "/" + d.names[i]);
    }
    EXPECT_EQ(ahead->Get(&d, d.names.size()), nullptr) << "past the names";
    if (!rel.empty()) {
      struct stat want;
      ASSERT_EQ(::lstat(dir.c_str(), &want), 0);
      const struct stat* got = ahead->Find(rel);
      ASSERT_NE(got, nullptr) << rel;
      ExpectSame(*got, want, rel);
    }
  }
  EXPECT_EQ(ahead->covered(), names);
  EXPECT_EQ(ahead->Find(""), nullptr);
  EXPECT_EQ(ahead->Find("a/nothing"), nullptr);
  EXPECT_EQ(ahead->Find("nothing/b"), nullptr);
}

// A name that is gone, or no longer a name (its directory replaced by a file), is not looked
// up: the caller's own lstat then reports what happened. The rest of the directory is there.
TEST_F(DirTest, StatAheadLeavesWhatFailsToTheCaller) {
  const std::string src = tmp_ / "src";
  ASSERT_EQ(testing::Shell("mkdir -p '" + src + "/a' '" + src + "/z' && cd '" + src +
                           "' && echo 1 > a/gone && echo 2 > a/kept && echo 3 > z/f"),
            0);
  StatCache cache = CacheOf(src);
  ASSERT_EQ(testing::Shell("cd '" + src + "' && rm a/gone && rm -r z && echo file > z"), 0);
  auto ahead = StatAhead::Start(src, cache);
  ASSERT_NE(ahead, nullptr);
  ahead->Wait();
  const StatCacheDir* a = cache.Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->names, (std::vector<std::string>{"gone", "kept"}));
  EXPECT_EQ(ahead->Get(a, 0), nullptr);
  ASSERT_NE(ahead->Get(a, 1), nullptr);
  EXPECT_EQ(ahead->Get(a, 1)->st_size, 2);
  const StatCacheDir* z = cache.Find("z");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(ahead->Get(z, 0), nullptr) << "z/f: z is a file now (ENOTDIR)";
  const struct stat* zs = ahead->Find("z");
  ASSERT_NE(zs, nullptr);
  EXPECT_TRUE(S_ISREG(zs->st_mode));
}

// The lookups ahead and the scans share the directories, each done once: a directory a scan
// claimed first is never looked up ahead, and the others are looked up ahead, last first.
TEST_F(DirTest, StatAheadLeavesToTheScansWhatTheyClaimedFirst) {
  const std::string src = tmp_ / "src";
  ASSERT_NO_FATAL_FAILURE(MakeDirs(src, 10, 29, 5));
  StatCache cache = CacheOf(src);  // "" and d10..d29
  auto ahead = StatAhead::Start(src, cache, StatAhead::kDefaultMaxEntries, /*paused=*/true);
  ASSERT_NE(ahead, nullptr) << "io_uring could not be set up";
  std::vector<const StatCacheDir*> claimed;
  for (const auto& [rel, d] : cache.dirs()) {
    if (claimed.size() == 3) break;
    EXPECT_EQ(ahead->Claim(&d).at(0), nullptr) << rel << ": nothing is looked up yet";
    claimed.push_back(&d);
  }
  ahead->Resume();
  ahead->Wait();
  size_t ahead_dirs = 0, scan_names = 0;
  for (const StatCacheDir* d : claimed) scan_names += d->names.size();
  EXPECT_EQ(ahead->submitted(), ahead->covered() - scan_names) << "each name looked up once";
  for (const auto& [rel, d] : cache.dirs()) {
    const bool by_scan = std::find(claimed.begin(), claimed.end(), &d) != claimed.end();
    if (by_scan) {
      EXPECT_EQ(ahead->Ready(&d).at(0), nullptr) << rel << ": claimed by a scan, not looked up";
      EXPECT_EQ(ahead->Claim(&d).at(0), nullptr) << rel << ": still the scan's";
      continue;
    }
    ++ahead_dirs;
    const StatAhead::Results got = ahead->Claim(&d);
    for (size_t i = 0; i < d.names.size(); ++i) {
      const std::string path = (rel.empty() ? src : src + "/" + rel) + "/" + d.names[i];
      struct stat want;
      ASSERT_EQ(::lstat(path.c_str(), &want), 0);
      ASSERT_NE(got.at(i), nullptr) << path;
      ExpectSame(*got.at(i), want, path);
    }
  }
  EXPECT_EQ(ahead_dirs, cache.dirs().size() - claimed.size());
}

// A scan claiming directories while the lookups run gets, for each, either all of its results
// (waiting for those in flight) or none (it came first): never a part.
TEST_F(DirTest, StatAheadClaimGivesAllOrNothing) {
  const std::string src = tmp_ / "src";
  ASSERT_NO_FATAL_FAILURE(MakeDirs(src, 100, 139, 40));
  StatCache cache = CacheOf(src);
  auto ahead = StatAhead::Start(src, cache);
  ASSERT_NE(ahead, nullptr) << "io_uring could not be set up";
  std::vector<const StatCacheDir*> dirs;
  for (const auto& [rel, d] : cache.dirs()) dirs.push_back(&d);
  // From the last, the lookups' own side, so that some are met in flight.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    const StatAhead::Results got = ahead->Claim(*it);
    size_t have = 0;
    for (size_t i = 0; i < (*it)->names.size(); ++i) have += got.at(i) != nullptr;
    EXPECT_TRUE(have == 0 || have == (*it)->names.size()) << have << " of " << (*it)->names.size();
  }
}

// Memory is bounded: the lookups stop at the directory that would pass max_entries, and the
// directories after it are the caller's.
TEST_F(DirTest, StatAheadStopsAtItsBound) {
  const std::string src = tmp_ / "src";
  ASSERT_EQ(testing::Shell("mkdir -p '" + src + "' && cd '" + src + "' && "
                           "for d in a b c; do mkdir $d && for i in $(seq 10); do echo $i > $d/$i; done; done"),
            0);
  StatCache cache = CacheOf(src);  // "" (3 names), "a", "b", "c" (10 each)
  auto ahead = StatAhead::Start(src, cache, /*max_entries=*/25);
  ASSERT_NE(ahead, nullptr);
  ahead->Wait();
  EXPECT_EQ(ahead->covered(), 3u + 10u + 10u);
  EXPECT_NE(ahead->Get(cache.Find("b"), 9), nullptr);
  EXPECT_EQ(ahead->Get(cache.Find("c"), 0), nullptr);
  EXPECT_NE(ahead->Find("c"), nullptr) << "c itself is a name of the root";
}

}  // namespace
}  // namespace cairn::indexer
