// The stat cache's file (docs/format/catalog.md): what is saved is what is loaded, and anything
// that is not a whole, intact cache of the same root loads as an empty cache.
#include "indexer/stat_cache.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/coding.h"
#include "base/env.h"
#include "base/sha256.h"
#include "indexer/fs_meta.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {
namespace {

StatCache Sample() {
  StatCache c;
  c.Put("", {Sha256::Of("root"),
             {2, 1700000000000000001},
             {{1000, 1700000000123456789}, {999, 1700000000000000000, 9}, {998, 0}},
             {"etc", "etc.d", std::string("\xff\x01z", 3)},
             {6673, 931, 165389043, 4, 3, 1, 2}});
  c.Put("usr/lib", {Sha256::Of("lib"), {3, 5}, {}, {}, {0, 1, 0, 0, 0}});
  c.Put("etc", {Sha256::Of("etc"),
                {4, 1700000000000000002},
                {{uint64_t{1} << 40, -5}, {7, 1700000000999999999}},
                {},  // names not known
                {}});
  return c;
}

void ExpectSame(const StatCache& a, const StatCache& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const char* rel : {"", "usr/lib", "etc"}) {
    ASSERT_NE(b.Find(rel), nullptr) << rel;
    EXPECT_EQ(*a.Find(rel), *b.Find(rel)) << rel;
  }
}

TEST(StatCacheTest, DecodeOfEncodeGivesTheSameDirectories) {
  StatCache c = Sample();
  auto d = StatCache::Decode(c.Encode("/srv/golden"), "/srv/golden");
  ASSERT_TRUE(d);
  ExpectSame(c, *d);
  EXPECT_EQ(d->Find("usr"), nullptr);
  EXPECT_EQ(d->watch_token(), WatchToken{}) << "no watcher answered";
  c.set_watch_token({"0123456789abcdef0123456789abcdef", 42});
  d = StatCache::Decode(c.Encode("/srv/golden"), "/srv/golden");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->watch_token(), (WatchToken{"0123456789abcdef0123456789abcdef", 42}));
  EXPECT_EQ(d->Find("")->below, (SubtreeCounts{6673, 931, 165389043, 4, 3, 1, 2}));
  EXPECT_EQ(d->Find("")->files[1].sparse_blocks, 9u);
}

// A cache file of an older format for root /srv/golden, with the watcher token `instance`
// and `epoch`, holding the root only (no entries, no names) with the counts `below`.
std::string OldFormat(const std::string& magic, const std::string& instance, uint64_t epoch,
                      const std::vector<uint64_t>& below) {
  std::string f = magic;
  PutLengthPrefixed(&f, "/srv/golden");
  PutLengthPrefixed(&f, instance);
  PutVarint64(&f, epoch);
  PutVarint64(&f, 1);  // one directory
  PutLengthPrefixed(&f, "");
  f.append(Sha256::Of("root").AsBytes());
  PutVarint64(&f, 0);  // no entries
  for (uint64_t n : below) PutVarint64(&f, n);
  PutVarsint64(&f, 2);   // inode
  PutVarsint64(&f, 17);  // ctime
  PutVarint64(&f, 0);    // no names
  f.append(Sha256::Of(f).AsBytes());
  return f;
}

// A file of format 5 has no count of the links reaching out of a subtree: every multiply-linked
// file is taken to have a name outside it, as format 5's checkins did.
TEST(StatCacheTest, FormatFiveReadsEveryLinkAsReachingOut) {
  // files, dirs, bytes, links, incomplete
  std::string f =
      OldFormat("cairn-stat-cache-5\n", "0123456789abcdef0123456789abcdef", 7, {10, 2, 4096, 3, 0});
  auto d = StatCache::Decode(f, "/srv/golden");
  ASSERT_TRUE(d);
  ASSERT_NE(d->Find(""), nullptr);
  EXPECT_EQ(d->Find("")->below, (SubtreeCounts{10, 2, 4096, 3, 3, 0, 1}));
  EXPECT_EQ(d->watch_token(), (WatchToken{"0123456789abcdef0123456789abcdef", 7}));
}

// Format 6 has the count, but its checkins left out of it the names of non-regular files with
// several names: it is read as format 5 is.
TEST(StatCacheTest, FormatSixReadsEveryLinkAsReachingOut) {
  // No watcher; files, dirs, bytes, links, links_out, incomplete.
  std::string f = OldFormat("cairn-stat-cache-6\n", "", 0, {10, 2, 4096, 3, 1, 0});
  auto d = StatCache::Decode(f, "/srv/golden");
  ASSERT_TRUE(d);
  ASSERT_NE(d->Find(""), nullptr);
  EXPECT_EQ(d->Find("")->below, (SubtreeCounts{10, 2, 4096, 3, 3, 0, 1}));
}

// Format 7 has no block counts: its files are read as not sparse (a sparse file no longer
// matches its record and is read once) and every directory as holding a sparse file (a watched
// checkin looks at it once).
TEST(StatCacheTest, FormatSevenReadsEveryDirectoryAsHoldingASparseFile) {
  std::string f = OldFormat("cairn-stat-cache-7\n", "", 0, {10, 2, 4096, 3, 1, 0});
  auto d = StatCache::Decode(f, "/srv/golden");
  ASSERT_TRUE(d);
  ASSERT_NE(d->Find(""), nullptr);
  EXPECT_EQ(d->Find("")->below, (SubtreeCounts{10, 2, 4096, 3, 1, 0, 1}));
  EXPECT_EQ(d->Find("")->self, (FileStat{2, 17, 0}));
}

// A stat of a regular file with fewer blocks than its size needs records them, plus one.
TEST(StatCacheTest, OnlyARegularFileShortOfBlocksRecordsThem) {
  struct stat st {};
  st.st_mode = S_IFREG | 0644;
  st.st_size = 1 << 20;
  st.st_blocks = 8;
  EXPECT_EQ(FileStatOf(st).sparse_blocks, 9u);
  st.st_blocks = 2048;
  EXPECT_EQ(FileStatOf(st).sparse_blocks, 0u) << "dense";
  st.st_blocks = 0;
  st.st_size = 0;
  EXPECT_EQ(FileStatOf(st).sparse_blocks, 0u) << "empty";
  st.st_mode = S_IFLNK | 0777;
  st.st_size = 12;
  EXPECT_EQ(FileStatOf(st).sparse_blocks, 0u) << "a fast symlink has no blocks either";
}

// A subtree taken as recorded carries its records into the new cache: the directory and those
// beneath it, not its siblings whose names share its prefix.
TEST(StatCacheTest, CopySubtreeTakesADirectoryAndWhatIsBeneathIt) {
  StatCache from;
  for (const char* rel : {"", "a", "a-b", "a/b", "a/b/c", "a0", "ab", "b"})
    from.Put(rel, {Sha256::Of(rel), {1, 1}, {}, {}, {0, 1, 0, 0, 0}});
  StatCache to;
  to.CopySubtree(from, "a");
  std::vector<std::string> got;
  for (const auto& [rel, d] : to.dirs()) {
    got.push_back(rel);
    EXPECT_EQ(d, *from.Find(rel)) << rel;
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a", "a/b", "a/b/c"}));
}

TEST(StatCacheTest, AnythingButAWholeIntactCacheOfTheSameRootIsRejected) {
  std::string data = Sample().Encode("/srv/golden");
  EXPECT_FALSE(StatCache::Decode(data, "/srv/other")) << "another root's cache";
  for (size_t n = 0; n < data.size(); ++n) {
    EXPECT_FALSE(StatCache::Decode(data.substr(0, n), "/srv/golden")) << "truncated to " << n;
  }
  for (size_t i = 0; i < data.size(); ++i) {
    std::string bad = data;
    bad[i] ^= 0x10;
    EXPECT_FALSE(StatCache::Decode(bad, "/srv/golden")) << "byte " << i << " flipped";
  }
  EXPECT_FALSE(StatCache::Decode(data + "x", "/srv/golden")) << "trailing byte";
}

// The walk looks the recorded names up beneath the root and may put them in a Tree unlisted: a
// name that no directory entry can have, or names out of the Tree's order, reject the file
// (however it came to hold them: its checksum is no signature).
TEST(StatCacheTest, NamesNoEntryCanHaveAreRejected) {
  for (const std::vector<std::string>& names :
       std::vector<std::vector<std::string>>{{"a", "b/../../etc"},
                                             {"..", "a"},
                                             {".", "a"},
                                             {"", "a"},
                                             {"b", "a"},
                                             {"a", "a"},
                                             {"a", std::string("b\0c", 3)}}) {
    StatCache c;
    c.Put("", {Sha256::Of("root"), {2, 3}, {{4, 5}, {6, 7}}, names, {1, 1, 0, 0, 0}});
    EXPECT_FALSE(StatCache::Decode(c.Encode("/srv/golden"), "/srv/golden"))
        << names[0] << " " << names[1];
  }
  StatCache ok;
  ok.Put("", {Sha256::Of("root"), {2, 3}, {{4, 5}, {6, 7}}, {"a", "a.b"}, {1, 1, 0, 0, 0}});
  EXPECT_TRUE(StatCache::Decode(ok.Encode("/srv/golden"), "/srv/golden"));
}

// An inode changed within the kernel clock's tick before the checkin could change again
// unseen: its ctime is not trusted. Whole-second ctimes get two seconds of doubt.
TEST(StatCacheTest, CtimesCloseToTheCheckinAreRacy) {
  const int64_t start = 1700000000500000000;
  EXPECT_TRUE(RacyCtime(start, start));
  EXPECT_TRUE(RacyCtime(start + 1000, start)) << "changed during the walk";
  EXPECT_TRUE(RacyCtime(start - 19000000, start));
  EXPECT_FALSE(RacyCtime(start - 21000000, start));
  EXPECT_TRUE(RacyCtime(1700000000000000000 - 1000000000, start)) << "whole seconds";
  EXPECT_FALSE(RacyCtime(1700000000000000000 - 2000000000, start));
}

TEST(StatCacheTest, SaveThenLoadRoundTripsAndAMissingFileLoadsEmpty) {
  testing::TempDir tmp;
  const std::string dir = tmp / "cache/sub";
  EXPECT_EQ(StatCache::Load(Env::Default(), dir, "/srv/golden").size(), 0u);
  ASSERT_TRUE(Sample().Save(Env::Default(), dir, "/srv/golden").ok());
  ExpectSame(Sample(), StatCache::Load(Env::Default(), dir, "/srv/golden"));
  EXPECT_EQ(StatCache::Load(Env::Default(), dir, "/srv/other").size(), 0u);
  EXPECT_NE(StatCache::FileFor(dir, "/srv/golden"), StatCache::FileFor(dir, "/srv/other"));
  EXPECT_EQ(StatCache::Load(Env::Default(), "", "/srv/golden").size(), 0u) << "no cache directory";
}

// Format 8 never recorded FileStat::kUnsettledHoles: where holes do not settle (tmpfs) it may
// trust a file whose reserved page was filled, and is ignored (read once); elsewhere it is read
// as format 9.
TEST(StatCacheTest, FormatEightIsIgnoredWhereHolesDoNotSettle) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting tmpfs needs root (CI runs as root)";
  testing::TempDir tmp;
  const std::string dir = tmp / "cache", on_tmpfs = tmp / "tmpfs", here = tmp / "here";
  ASSERT_EQ(::mkdir(on_tmpfs.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(here.c_str(), 0755), 0);
  ASSERT_EQ(::mount("none", on_tmpfs.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  testing::MountGuard unmount{on_tmpfs};
  for (const std::string& root : {on_tmpfs, here}) {
    ASSERT_TRUE(Sample().Save(Env::Default(), dir, root).ok());
    ASSERT_EQ(StatCache::Load(Env::Default(), dir, root).size(), Sample().size()) << root;
    const std::string file = StatCache::FileFor(dir, root);
    std::string data = *ReadFileToString(Env::Default(), file);
    data.resize(data.size() - ObjectId::kSize);
    ASSERT_EQ(data.substr(0, 19), "cairn-stat-cache-9\n");
    data[17] = '8';
    data += Sha256::Of(data).AsBytes();
    { std::ofstream(file, std::ios::binary | std::ios::trunc) << data; }
    const bool settle = HolesSettle(root);
    EXPECT_EQ(StatCache::Load(Env::Default(), dir, root).size(), settle ? Sample().size() : 0u)
        << root << (settle ? ": holes settle" : ": holes do not settle");
  }
  EXPECT_FALSE(HolesSettle(on_tmpfs));
}

}  // namespace
}  // namespace cairn::indexer
