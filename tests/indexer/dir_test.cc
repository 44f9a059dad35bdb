// Directory checkin and checkout (DirSource, DirSink, catalog::CheckinVersion) against the
// Fidelity oracle: Listing(source) == Listing(checked out), in a real RocksDB repository.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "base/env.h"
#include "base/progress.h"
#include "base/sha256.h"
#include "cas/repository.h"
#include "cas/tree_reader.h"
#include "catalog/checkin.h"
#include "indexer/dir_sink.h"
#include "indexer/dir_source.h"
#include "indexer/stat_cache.h"
#include "tests/indexer/dir_fixture.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {
namespace {

using testing::BuildTree;
using testing::Diff;
using testing::DirTest;
using testing::Listing;
using testing::TempDir;
using testing::TreeListing;


// The fixture is what it claims to be: without this a weak fixture would make every round trip
// pass vacuously.
TEST_F(DirTest, FixtureHasEveryKindOfEntryAndMetadata) {
  BuildTree(tmp_ / "src", testing::FullSpec());
  TreeListing l = Listing(tmp_ / "src");
  auto& e = l.entries;
  ASSERT_TRUE(e.contains("")) << "the root is listed";
  EXPECT_EQ(e[""].xattrs.at("user.root"), "top");
  EXPECT_EQ(e[""].mtime_ns % 1000000000, 123456789);
  std::set<char> types;
  for (const auto& [p, x] : e) types.insert(x.type);
  EXPECT_EQ(types, (std::set<char>{'f', 'd', 'l', 'c', 'b', 'p', 's'}));
  EXPECT_EQ(e["empty"].size, 0u);
  EXPECT_GT(e["big.bin"].size, 2u << 20);
  EXPECT_EQ(e["sparse"].extents.size(), 3u);
  EXPECT_EQ(e["sparse"].extents.front().offset, 1u << 20) << "a hole at the start";
  EXPECT_LT(e["sparse"].extents.back().offset + e["sparse"].extents.back().length,
            e["sparse"].size) << "a hole at the end";
  EXPECT_TRUE(e["hole"].extents.empty());
  EXPECT_EQ(e["hole"].size, 1u << 20);
  EXPECT_EQ(e["c"].link_group, "c");
  EXPECT_EQ(e["dir/sub/b"].link_group, "c");
  EXPECT_EQ(e["links/a"].link_group, "c");
  EXPECT_EQ(e["links/a"].uid, 1002u);
  EXPECT_EQ(e["dir/rel"].mtime_ns % 1000000000, 111) << "symlink mtimes with ns";
  EXPECT_EQ(e["dir/rel"].uid, 1000u);
  EXPECT_EQ(e["dangling"].target, "nowhere/at/all");
  EXPECT_EQ(e["abs"].xattrs.at("trusted.sym"), "s");
  EXPECT_EQ(e["dev/sda"].rdev_major, 8u);
  EXPECT_EQ(e["dev/big"].rdev_minor, 1048575u);
  EXPECT_EQ(e["suid"].mode, 04755u);
  EXPECT_EQ(e["suidgid"].mode, 06711u);
  EXPECT_EQ(e["tmp"].mode, 01777u);
  EXPECT_EQ(e["dir/setgid"].mode, 02775u);
  EXPECT_EQ(e["ping"].xattrs.at("security.capability"), testing::CapNetRawEp());
  EXPECT_EQ(e["acl"].xattrs.at("system.posix_acl_access"), testing::AclUser1000Read());
  EXPECT_TRUE(e["shared"].xattrs.contains("system.posix_acl_default"));
  EXPECT_TRUE(e["shared/plain"].xattrs.empty());
  EXPECT_EQ(e["xattrs"].xattrs.at("user.binary"), std::string("\0\x01\xff", 3));
  EXPECT_EQ(e["dir"].xattrs.at("trusted.overlay.opaque"), "y");
  EXPECT_LT(e["old"].mtime_ns, 0);
  EXPECT_TRUE(e.contains("\xff\xfe"));
  EXPECT_TRUE(e.contains("new\nline/with space"));
  EXPECT_EQ(e["dir/setgid/f"].uid, 2000000000u);
}

// Listing is an oracle that can fail: it sees a change in each field it records.
TEST_F(DirTest, ListingSeesEveryKindOfChange) {
  BuildTree(tmp_ / "src", testing::FullSpec());
  const TreeListing orig = Listing(tmp_ / "src");
  auto changed = [&](const std::string& what, const std::function<void()>& change,
                     const std::function<void()>& undo) {
    change();
    EXPECT_NE(Listing(tmp_ / "src"), orig) << what;
    undo();
    EXPECT_EQ(Diff(Listing(tmp_ / "src"), orig), "") << "undo of " << what;
  };
  std::string s = tmp_ / "src";
  auto mtime = [&](const std::string& p, int64_t sec, long nsec) {
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  };
  const int64_t t = 1600000001;
  changed("root mtime", [&] { mtime(s, t + 1, 123456788); }, [&] { mtime(s, t + 1, 123456789); });
  changed("symlink mtime", [&] { mtime(s + "/dangling", t, 334); },
          [&] { mtime(s + "/dangling", t, 333); });
  changed("mode", [&] { ::chmod((s + "/suid").c_str(), 0755); },
          [&] { ::chmod((s + "/suid").c_str(), 04755); });
  changed("owner", [&] { ::lchown((s + "/abs").c_str(), 1, 1); },
          [&] {
            ::lchown((s + "/abs").c_str(), 0, 0);
            mtime(s + "/abs", t, 222);
          });
  changed("xattr", [&] { ::lsetxattr((s + "/abs").c_str(), "trusted.more", "1", 1, 0); },
          [&] { ::lremovexattr((s + "/abs").c_str(), "trusted.more"); });
  // Each change below alters one field only: the other effects are put back.
  auto root = [&] { mtime(s, t + 1, 123456789); };
  changed("content",
          [&] {
            testing::Shell("printf 'hello 2\\n' > '" + s + "/small.txt'");
            mtime(s + "/small.txt", t, 1);
          },
          [&] {
            testing::Shell("printf 'hello 1\\n' > '" + s + "/small.txt'");
            mtime(s + "/small.txt", t, 1);
          });
  changed("hard link",
          [&] {
            ::unlink((s + "/c").c_str());
            testing::Shell("cp -a '" + s + "/links/a' '" + s + "/c'");
            root();
          },
          [&] {
            ::unlink((s + "/c").c_str());
            ::link((s + "/links/a").c_str(), (s + "/c").c_str());
            root();
          });
  changed("extents",
          [&] {
            testing::Shell("cp -a --sparse=never '" + s + "/hole' '" + s + "/hole2' && mv '" + s +
                           "/hole2' '" + s + "/hole'");
            root();
          },
          [&] {
            ::unlink((s + "/hole").c_str());
            int fd = ::open((s + "/hole").c_str(), O_WRONLY | O_CREAT, 0600);
            ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
            ::close(fd);
            mtime(s + "/hole", 1600000000, 0);
            root();
          });
}

TEST_F(DirTest, RoundTripKeepsEveryKindOfEntryAndMetadata) {
  BuildTree(tmp_ / "src", testing::FullSpec());
  auto out = Checkin(tmp_ / "src", "full");
  auto back = DirSink(tmp_ / "dst").Checkout(repo_->store(), out.result.root, CheckoutOptions{});
  ASSERT_TRUE(back) << back.error().ToString();
  TreeListing a = Listing(tmp_ / "src"), b = Listing(tmp_ / "dst");
  EXPECT_EQ(Diff(a, b), "");
  EXPECT_EQ(a, b);
  // The checkout counts what the checkin counted: every name of a hard-link group is a file.
  EXPECT_EQ(back->files, out.result.files);
  EXPECT_EQ(back->dirs, out.result.dirs);
  EXPECT_TRUE(back->left_out.empty());
}

// The kernel gives a new entry ACLs from a default ACL above it: the checkout removes whatever
// the version does not hold (FullSpec has ACLs of its own, which stay), and with --force what a
// directory it keeps had.
TEST_F(DirTest, CheckoutHoldsOnlyTheVersionsXattrs) {
  BuildTree(tmp_ / "src", testing::FullSpec());
  auto out = Checkin(tmp_ / "src", "full");
  std::string parent = tmp_ / "parent";
  ASSERT_EQ(::mkdir(parent.c_str(), 0755), 0);
  ASSERT_EQ(testing::Shell("setfacl -d -m u:4242:rwx,g:4243:r-x " + parent), 0);
  ASSERT_TRUE(Checkout(out.result.root, parent + "/dst").ok());
  EXPECT_EQ(Diff(Listing(tmp_ / "src"), Listing(parent + "/dst")), "");

  std::string kept = tmp_ / "kept";
  ASSERT_EQ(::mkdir(kept.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((kept + "/dir").c_str(), 0755), 0);
  ASSERT_EQ(::setxattr((kept + "/dir").c_str(), "user.stale", "1", 1, 0), 0);
  ASSERT_EQ(::setxattr(kept.c_str(), "user.stale", "1", 1, 0), 0);
  ASSERT_EQ(testing::Shell("setfacl -m u:4242:rwx " + kept + "/dir"), 0);
  ASSERT_TRUE(Checkout(out.result.root, kept, /*force=*/true).ok());
  EXPECT_EQ(Diff(Listing(tmp_ / "src"), Listing(kept)), "");
}

TEST_F(DirTest, SameTreeCheckedInTwiceHasSameRootId) {
  BuildTree(tmp_ / "src", testing::FullSpec());
  auto one = Checkin(tmp_ / "src", "a");
  auto two = Checkin(tmp_ / "src", "b");
  EXPECT_EQ(one.result.root, two.result.root);
  EXPECT_FALSE(one.result.root.IsZero());
  EXPECT_EQ(two.objects_new, 0u) << "no new content or Tree (the catalog writes the Version)";
}

TEST_F(DirTest, CheckedOutCopyHasSameRootId) {
  BuildTree(tmp_ / "src", testing::FullSpec());
  auto one = Checkin(tmp_ / "src", "a");
  ASSERT_TRUE(Checkout(one.result.root, tmp_ / "dst").ok());
  auto two = Checkin(tmp_ / "dst", "b");  // new inodes, ctimes, path: same content
  EXPECT_EQ(one.result.root, two.result.root);
}

TEST_F(DirTest, DifferentTreesHaveDifferentRootIds) {
  BuildTree(tmp_ / "a", testing::FullSpec(1));
  testing::TreeSpec spec = testing::FullSpec(1);
  spec[0].mtime_nsec += 1;  // only the root directory's mtime differs
  BuildTree(tmp_ / "b", spec);
  EXPECT_NE(Checkin(tmp_ / "a", "a").result.root, Checkin(tmp_ / "b", "b").result.root);
}

TEST_F(DirTest, UnchangedSubdirectoryHasSameTreeIdAcrossImages) {
  BuildTree(tmp_ / "a", testing::FullSpec(1));
  testing::TreeSpec spec = testing::FullSpec(1);
  for (auto& n : spec)
    if (n.path == "new\nline/with space") n.data = "changed";
  BuildTree(tmp_ / "b", spec);
  auto a = Checkin(tmp_ / "a", "a"), b = Checkin(tmp_ / "b", "b");
  EXPECT_NE(a.result.root, b.result.root);
  // "dir" holds one name of the hard-link group: links live only in the root Tree.
  EXPECT_EQ(Lookup(a.result.root, "dir").id, Lookup(b.result.root, "dir").id);
  EXPECT_EQ(Lookup(a.result.root, "dir/sub").id, Lookup(b.result.root, "dir/sub").id);
  EXPECT_EQ(Lookup(a.result.root, "links").id, Lookup(b.result.root, "links").id);
  EXPECT_NE(Lookup(a.result.root, "new\nline").id, Lookup(b.result.root, "new\nline").id);
}

// A preallocated file (fallocate: qemu-img's falloc preallocation) is dense: its blocks are
// allocated. ext4's SEEK_DATA calls them a hole until a read caches their pages, so the same
// unchanged file was recorded all hole, then dense after a `cat`.
TEST_F(DirTest, APreallocatedFileIsDenseWhetherOrNotItWasRead) {
  const std::string src = tmp_ / "src";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  const std::string img = src + "/disk.img";
  int fd = ::open(img.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  if (::fallocate(fd, 0, 0, 1 << 20) != 0) {
    ::close(fd);
    GTEST_SKIP() << "the file system under " << src << " has no fallocate";
  }
  ::close(fd);
  // A hole after the preallocated part, made by a larger size: that one is a hole.
  ASSERT_EQ(::truncate(img.c_str(), 3 << 20), 0);
  fd = ::open(img.c_str(), O_RDONLY);  // no page of it cached, as after a reboot
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);
  auto unread = Checkin(src, "a");
  ASSERT_EQ(testing::Shell("cat '" + img + "' > /dev/null"), 0);
  auto read = Checkin(src, "b");
  EXPECT_EQ(Lookup(unread.result.root, "disk.img").extents,
            (std::vector<cas::Extent>{{0, 1 << 20}}))
      << "before a read";
  EXPECT_EQ(unread.result.root, read.result.root);
  cas::TreeEntry e = Lookup(read.result.root, "disk.img");
  EXPECT_TRUE(e.sparse);
  EXPECT_EQ(e.extents, (std::vector<cas::Extent>{{0, 1 << 20}}));
}

TEST_F(DirTest, SparseFilesAreWrittenSparse) {
  BuildTree(tmp_ / "src", testing::FullSpec());
  auto out = Checkin(tmp_ / "src", "s");
  cas::TreeEntry e = Lookup(out.result.root, "sparse");
  EXPECT_TRUE(e.sparse);
  EXPECT_EQ(e.extents.size(), 3u);
  EXPECT_TRUE(Lookup(out.result.root, "hole").sparse);
  EXPECT_TRUE(Lookup(out.result.root, "hole").extents.empty());
  EXPECT_FALSE(Lookup(out.result.root, "big.bin").sparse);
  ASSERT_TRUE(Checkout(out.result.root, tmp_ / "dst").ok());
  struct stat st;
  ASSERT_EQ(::stat((tmp_ / "dst/sparse").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), (8u << 20) + 1000);
  EXPECT_LT(testing::AllocatedBytes(tmp_ / "dst/sparse"), 256u << 10)
      << "8 MiB logical, about 80 KiB of data";
  EXPECT_EQ(testing::AllocatedBytes(tmp_ / "dst/hole"), 0u);
  EXPECT_GE(testing::AllocatedBytes(tmp_ / "dst/big.bin"), 3u << 20) << "dense stays dense";
}

// Paths longer than PATH_MAX (25 levels of 200-byte names): the kernel refuses them in one
// call, yet a checkout makes them (through directory descriptors) and a checkin must take them
// back, at full fidelity and incrementally.
TEST_F(DirTest, PathsLongerThanPathMaxCheckInOutAndInAgain) {
  const std::string src = tmp_ / "src";
  const std::string name(200, 'd');
  // `cd` into the deepest directory one level at a time (-P: the shell keeps no path longer
  // than PATH_MAX), then run `command` there.
  auto deep = [&](const std::string& root, const std::string& command) {
    return testing::Shell("cd '" + root + "' && for i in $(seq 25); do cd -P " + name +
                          "; done && " + command);
  };
  ASSERT_EQ(testing::Shell("mkdir -p '" + src + "' && cd '" + src + "' && echo top > top && " +
                           "for i in $(seq 25); do mkdir " + name + " && cd -P " + name + "; done"),
            0);
  std::string up;
  for (int i = 0; i < 25; ++i) up += "../";
  ASSERT_EQ(deep(src,
                 "echo abc > f && ln -s f link && setfattr -n user.deep -v 1 . && "
                 "setfattr -n user.f -v 2 f && ln " +
                     up + "top h && mkfifo p"),
            0);
  auto first = Checkin(src, "deep");
  EXPECT_EQ(first.result.files, 3u);  // top, f, and h (top's second name)
  ASSERT_TRUE(Checkout(first.result.root, tmp_ / "dst").ok());
  EXPECT_EQ(deep(tmp_ / "dst",
                 "test \"$(cat f)\" = abc && test \"$(readlink link)\" = f && "
                 "test \"$(getfattr --only-values -n user.f f)\" = 2 && "
                 "test \"$(stat -c %h h)\" = 2 && test -p p"),
            0);
  EXPECT_EQ(Checkin(tmp_ / "dst", "back").result.root, first.result.root);

  ASSERT_EQ(deep(src, "echo changed > f && setfattr -n user.deep -v 3 ."), 0);
  auto incremental = Checkin(src, "deep", "deep");
  EXPECT_EQ(incremental.result.bytes_read, 8u) << "the changed file only";
  auto full = TryCheckin(src, "deep", "", [](CheckinOptions& o) { o.use_stat_cache = false; });
  ASSERT_TRUE(full) << full.error().ToString();
  EXPECT_EQ(incremental.result.root, full->result.root);
  EXPECT_NE(incremental.result.root, first.result.root);
}

// A mount point is kept as an empty directory with its metadata, xattrs included, at every
// checkin, though the stat cache recorded its inode and ctime.
TEST_F(DirTest, AMountPointKeepsItsXattrsWithParent) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  const std::string src = tmp_ / "src";
  ASSERT_EQ(testing::Shell("mkdir -p '" + src + "/a/m' && echo x > '" + src + "/a/f'"), 0);
  ASSERT_EQ(::mount("none", (src + "/a/m").c_str(), "tmpfs", 0, "mode=0750"), 0);
  testing::MountGuard unmount{src + "/a/m"};
  // trusted.*: tmpfs takes user.* xattrs only from Linux 6.6.
  ASSERT_EQ(::setxattr((src + "/a/m").c_str(), "trusted.k", "v", 1, 0), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // past the ctime doubt
  auto one = Checkin(src, "img");
  EXPECT_EQ(Lookup(one.result.root, "a/m").type, cas::EntryType::kDirectory);
  ASSERT_EQ(testing::Shell("echo y > '" + src + "/a/f'"), 0);
  auto two = Checkin(src, "img", "img");
  catalog::CheckinRequest req;
  req.source = src;
  req.image = "whole";
  req.options.stat_cache_dir = cache_dir_;
  req.options.update_stat_cache = false;
  auto whole = catalog::CheckinVersion(*repo_, req);
  ASSERT_TRUE(whole) << whole.error().ToString();
  EXPECT_EQ(two.result.root, whole->result.root);
  auto m = cas::LoadTree(repo_->store(), Lookup(two.result.root, "a/m").id);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->meta.xattrs, (cas::Xattrs{{"trusted.k", "v"}}));
  EXPECT_EQ(m->meta.mode & 07777, 0750u);
}

// A fifo or symlink with several names: a chmod through one name changes the inode every name
// shows, and raises an event only in that name's directory, so the stat cache counts each name
// as reaching out of the directories above it (SubtreeCounts::links_out): a watched checkin
// never takes them unseen.
TEST_F(DirTest, EachNameOfAMultiplyLinkedFifoOrSymlinkReachesOut) {
  const std::string src = tmp_ / "src";
  ASSERT_EQ(
      testing::Shell("mkdir -p '" + src + "/u/v' '" + src + "/a' '" + src + "/b' && echo f > '" +
                     src + "/b/f' && mkfifo '" + src + "/u/v/p' && ln -s b/f '" + src + "/u/s'"),
      0);
  ASSERT_EQ(::link((src + "/u/v/p").c_str(), (src + "/a/q").c_str()), 0);
  ASSERT_EQ(::link((src + "/u/s").c_str(), (src + "/u/s2").c_str()), 0);
  Checkin(src, "img");
  StatCache cache = StatCache::Load(Env::Default(), cache_dir_, std::filesystem::canonical(src));
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"", 4}, {"u", 3}, {"u/v", 1}, {"a", 1}, {"b", 0}};
  for (const auto& [rel, n] : want) {
    const StatCacheDir* d = cache.Find(rel);
    ASSERT_NE(d, nullptr) << rel;
    EXPECT_EQ(d->below.links_out, n) << rel;
    EXPECT_EQ(d->below.links, n) << rel;
  }
}

TEST_F(DirTest, MissingSourceIsAnErrorAndRecordsNothing) {
  catalog::CheckinRequest req;
  req.source = tmp_ / "nope";
  req.image = "img";
  auto out = catalog::CheckinVersion(*repo_, req);
  ASSERT_FALSE(out);
  EXPECT_TRUE(out.error().IsNotFound()) << out.error().ToString();
  catalog::Catalog catalog(repo_->store());
  auto images = catalog.Images();
  ASSERT_TRUE(images);
  EXPECT_TRUE(images->empty());
}

// The real Debian tree (CI builds it with make-corpus.sh before the tests), through the real
// binary: checkin, checkout, ls.
TEST_F(DirTest, DebianCorpusRoundTripsThroughTheCli) {
  const char* c = std::getenv("C");  // make-corpus.sh's output directory, as scripts/test.sh sets it
  const std::string corpus = std::string(c && *c ? c : "/tmp/corpus") + "/trees/v1";
  if (!std::filesystem::exists(corpus)) {
    GTEST_SKIP() << "corpus not built: run ../shared/corpus/make-corpus.sh";
  }
  repo_.reset();  // the binary writes to the repository
  std::string repo = tmp_ / "repo", dst = tmp_ / "dst", out = tmp_ / "out";
  std::string cairn = std::string(CAIRN_BINARY) + " ";
  ASSERT_EQ(testing::Shell(cairn + "checkin --repo " + repo + " --image debian " + corpus +
                           " > " + out + " 2>&1"), 0);
  ASSERT_EQ(testing::Shell(cairn + "checkout --repo " + repo + " debian " + dst + " 2> " + out), 0);
  TreeListing a = Listing(corpus), b = Listing(dst);
  EXPECT_GT(a.entries.size(), 1000u);
  EXPECT_EQ(Diff(a, b), "");
  // treecmp.py, the corpus's own checker, agrees: nothing differs.
  ASSERT_EQ(testing::Shell("python3 " CAIRN_SOURCE_DIR "/../shared/corpus/treecmp.py " + corpus +
                           " " + dst + " > " + out + " 2>&1"), 0);
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  std::string report = text.str();
  EXPECT_NE(report.find("missing=0 extra=0"), std::string::npos) << report;
  for (const char* k : {"type", "mode", "uid", "gid", "content", "symlink target", "rdev",
                        "xattrs", "mtime(file)", "mtime(dir)"}) {
    EXPECT_NE(report.find(std::string("\n") + k + ": 0 differ"), std::string::npos) << k << "\n" << report;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(report, m, std::regex("hardlink groups: orig=(\\d+) kept=(\\d+); "
                                                      "restored files hardlinked that were not in "
                                                      "orig=(\\d+)")))
      << report;
  EXPECT_EQ(m[1], m[2]) << report;
  EXPECT_EQ(m[3], "0") << report;
  // `ls -R --json` lists every path but the root.
  ASSERT_EQ(testing::Shell(cairn + "ls --repo " + repo + " -R --json debian > " + out), 0);
  std::ifstream ls(out);
  std::stringstream json;
  json << ls.rdbuf();
  size_t paths = 0;
  for (size_t pos = 0; (pos = json.str().find("\"path\":", pos)) != std::string::npos; ++pos) ++paths;
  EXPECT_EQ(paths, a.entries.size() - 1);
}

}  // namespace
}  // namespace cairn::indexer
