// Incremental directory checkin with the tree watcher (indexer/watch.h): a real watcher (inotify,
// its socket) serves each test's source tree, and every watched checkin is checked against a
// checkin that reads the whole tree, in a real RocksDB repository.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/env.h"
#include "indexer/stat_cache.h"
#include "indexer/watch.h"
#include "tests/indexer/dir_fixture.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {
namespace {

using testing::DirTest;

class DirWatchTest : public DirTest {
 protected:
  void TearDown() override {
    if (serving_.joinable()) StopWatcher();
  }

  // src/a/x/{f1,f2}, src/a/y/f3, src/b/c/d/f4, src/e/f5, src/top.txt
  void MakeTree() {
    src_ = tmp_ / "src";
    for (const char* d : {"", "/a", "/a/x", "/a/y", "/b", "/b/c", "/b/c/d", "/e"})
      ASSERT_EQ(::mkdir((src_ + d).c_str(), 0755), 0) << d;
    for (const char* f : {"/a/x/f1", "/a/x/f2", "/a/y/f3", "/b/c/d/f4", "/e/f5", "/top.txt"})
      Write(f, std::string("content of ") + f + "\n");
  }
  void Write(const std::string& rel, const std::string& data) {
    int fd = ::open((src_ + rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0) << rel;
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }

  void StartWatcher() {
    root_ = std::filesystem::canonical(src_).string();
    auto w = TreeWatcher::Start(root_);
    ASSERT_TRUE(w) << w.error().ToString();
    watcher_ = std::move(*w);
    auto sock = WatchSocketPath(cache_dir_, root_);
    ASSERT_TRUE(sock) << sock.error().ToString();
    ASSERT_EQ(::pipe2(stop_, O_CLOEXEC), 0);
    serving_ = std::thread([this, s = *sock] { served_ = watcher_->Serve(s, stop_[0]); });
    struct stat st;
    ASSERT_EQ(::stat(root_.c_str(), &st), 0);
    for (int i = 0; i < 500; ++i) {  // until it answers (a question only starts an epoch)
      if (AskWatcher(cache_dir_, root_, st.st_dev, st.st_ino, {})) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the watcher of " << root_ << " never answered";
  }
  void StopWatcher() {
    ASSERT_EQ(::write(stop_[1], "x", 1), 1);
    serving_.join();
    ::close(stop_[0]);
    ::close(stop_[1]);
    EXPECT_TRUE(served_.ok()) << served_.ToString();
    watcher_.reset();
  }

  // A checkin of the tree that reads every file (no parent) and leaves the stat cache and the
  // watcher alone.
  Result<catalog::CheckinOutcome> WholeCheckin() {
    return TryCheckin(src_, "whole", "", [](CheckinOptions& o) {
      o.update_stat_cache = false;
      o.use_watcher = false;
    });
  }

  // The incremental checkin `image` over its last version, and a checkin of the same tree
  // that reads every file (no parent) and leaves the stat cache and the watcher alone (the
  // next incremental reads the records this one wrote and carried over): same Tree, same
  // counts.
  catalog::CheckinOutcome CheckinAndCompare(const std::string& what) {
    auto incr = Checkin(src_, "img", "img");
    auto whole_or = WholeCheckin();
    EXPECT_TRUE(whole_or) << whole_or.error().ToString();
    if (!whole_or) return incr;
    const catalog::CheckinOutcome& whole = *whole_or;
    EXPECT_EQ(incr.result.root, whole.result.root) << what;
    EXPECT_EQ(incr.result.files, whole.result.files) << what;
    EXPECT_EQ(incr.result.dirs, whole.result.dirs) << what;
    EXPECT_EQ(incr.result.bytes, whole.result.bytes) << what;
    return incr;
  }

  std::string src_, root_;
  std::unique_ptr<TreeWatcher> watcher_;
  std::thread serving_;
  int stop_[2] = {-1, -1};
  Status served_;
};

TEST_F(DirWatchTest, AWatchedCheckinWalksOnlyWhereSomethingChanged) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  auto one = Checkin(src_, "img");
  EXPECT_EQ(one.result.watcher, "all") << "the first checkin only takes a token";
  ASSERT_NO_FATAL_FAILURE(Write("/b/c/d/f4", "changed in place\n"));
  auto two = CheckinAndCompare("b/c/d/f4 written");
  EXPECT_EQ(two.result.watcher, "changes");
  EXPECT_EQ(two.result.dirs_unwalked, 2u) << "a and e, each with everything beneath";
  EXPECT_EQ(two.result.bytes_read, 17u) << "only the file written";
  EXPECT_EQ(two.result.files_cached, two.result.files - 1);
  EXPECT_NE(two.result.root, one.result.root);
  // Nothing changed since: only the root is looked at.
  auto three = Checkin(src_, "img", "img");
  EXPECT_EQ(three.result.root, two.result.root);
  EXPECT_EQ(three.result.dirs_unwalked, 3u) << "a, b and e";
  EXPECT_EQ(three.result.bytes_read, 0u);
  EXPECT_EQ(three.result.dirs, one.result.dirs);
}

TEST_F(DirWatchTest, EveryKindOfChangeIsSeen) {
  if (::geteuid() != 0) GTEST_SKIP() << "one of the changes is a chown, which needs root";
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  const std::string s = src_;
  auto times = [](const std::string& p, int64_t sec) {
    struct timespec ts[2] = {{sec, 5}, {sec, 5}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  };
  const std::vector<std::pair<std::string, std::function<void()>>> changes = {
      {"truncate", [&] { ASSERT_EQ(::truncate((s + "/a/x/f1").c_str(), 3), 0); }},
      {"chmod", [&] { ASSERT_EQ(::chmod((s + "/a/y/f3").c_str(), 0600), 0); }},
      {"utimes", [&] { times(s + "/e/f5", 1500000000); }},
      {"xattr",
       [&] { ASSERT_EQ(::setxattr((s + "/b/c/d/f4").c_str(), "user.k", "v", 1, 0), 0) << errno; }},
      {"chown", [&] { ASSERT_EQ(::lchown((s + "/a/x/f2").c_str(), 7, 7), 0); }},
      {"new file", [&] { Write("/a/y/new", "new\n"); }},
      {"unlink", [&] { ASSERT_EQ(::unlink((s + "/a/y/new").c_str()), 0); }},
      {"rename within",
       [&] { ASSERT_EQ(::rename((s + "/a/x/f2").c_str(), (s + "/a/x/g2").c_str()), 0); }},
      {"rename across",
       [&] { ASSERT_EQ(::rename((s + "/a/x/g2").c_str(), (s + "/e/g2").c_str()), 0); }},
      {"new directory with contents",
       [&] {
         ASSERT_EQ(::mkdir((s + "/b/n").c_str(), 0755), 0);
         ASSERT_EQ(::mkdir((s + "/b/n/m").c_str(), 0755), 0);
         Write("/b/n/m/deep", "deep\n");
       }},
      {"directory renamed",
       [&] { ASSERT_EQ(::rename((s + "/a/x").c_str(), (s + "/e/x2").c_str()), 0); }},
      {"write in the renamed directory", [&] { Write("/e/x2/f1", "again\n"); }},
      {"directory chmod", [&] { ASSERT_EQ(::chmod((s + "/b/c").c_str(), 0700), 0); }},
      {"directory utimes", [&] { times(s + "/b/c/d", 1400000000); }},
      {"symlink", [&] { ASSERT_EQ(::symlink("../top.txt", (s + "/b/c/d/ln").c_str()), 0); }},
      {"subtree removed", [&] { std::filesystem::remove_all(s + "/b/n"); }},
  };
  for (const auto& [what, change] : changes) {
    ASSERT_NO_FATAL_FAILURE(change()) << what;
    auto out = CheckinAndCompare(what);
    EXPECT_EQ(out.result.watcher, "changes") << what;
    EXPECT_GT(out.result.dirs_unwalked, 0u) << what << ": something stayed unwalked";
  }
  // A directory that left the tree: the watcher rebuilds its watches and cannot vouch for the
  // time before; the directory moved back in is watched again.
  ASSERT_EQ(::rename((s + "/a/y").c_str(), (tmp_ / "outside").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(Write("/../outside/f3", "changed outside\n"));
  ASSERT_EQ(::rename((tmp_ / "outside").c_str(), (s + "/a/y").c_str()), 0);
  EXPECT_EQ(CheckinAndCompare("directory moved out and back in").result.watcher, "all");
  ASSERT_NO_FATAL_FAILURE(Write("/a/y/f3", "and written inside\n"));
  auto last = CheckinAndCompare("written in the directory moved back");
  EXPECT_EQ(last.result.watcher, "changes");
  EXPECT_GT(last.result.dirs_unwalked, 0u);
}

// A file linked from a directory that changed into one that did not: the walk met one of its
// two names, so the other may lie in what it did not walk; it walks everything again.
TEST_F(DirWatchTest, ANewHardLinkIntoAnUnwalkedDirectoryMakesTheCheckinWalkEverything) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  ASSERT_EQ(::link((src_ + "/a/x/f1").c_str(), (src_ + "/e/linked").c_str()), 0);
  auto two = CheckinAndCompare("a new link");
  EXPECT_EQ(two.result.dirs_unwalked, 0u);
  auto three = CheckinAndCompare("nothing new");
  EXPECT_EQ(three.result.dirs_unwalked, 2u) << "a/y and b: a, a/x and e hold the linked file";
}

// Files with several names, all of them inside a subtree: a write through any name marks a
// directory of that subtree, so the subtree is taken unseen while nothing in it changes, and its
// hard-link groups come from the parent version.
TEST_F(DirWatchTest, ASubtreeWhoseHardLinksStayInsideItIsTakenUnseen) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_EQ(::link((src_ + "/a/x/f1").c_str(), (src_ + "/a/y/h1").c_str()), 0);
  ASSERT_EQ(::link((src_ + "/b/c/d/f4").c_str(), (src_ + "/b/c/d/h4").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  ASSERT_NO_FATAL_FAILURE(Write("/e/f5", "changed\n"));
  auto two = CheckinAndCompare("e/f5 written");
  EXPECT_EQ(two.result.watcher, "changes");
  EXPECT_EQ(two.result.dirs_unwalked, 2u) << "a and b, each holding a group of two names";
  // A write through either name of the group that spans a/x and a/y: both are walked (each has
  // a name whose other name lies outside it), the rest of a's siblings are not.
  ASSERT_NO_FATAL_FAILURE(Write("/a/y/h1", "written through the second name\n"));
  auto three = CheckinAndCompare("a/y/h1 written");
  EXPECT_EQ(three.result.dirs_unwalked, 2u) << "b and e";
  EXPECT_EQ(three.result.bytes_read, 32u);
  ASSERT_NO_FATAL_FAILURE(Write("/a/x/f1", "and through the first\n"));
  auto four = CheckinAndCompare("a/x/f1 written");
  EXPECT_EQ(four.result.dirs_unwalked, 2u) << "b and e";
  // A group split: one name removed, the other now has one name.
  ASSERT_EQ(::unlink((src_ + "/b/c/d/h4").c_str()), 0);
  auto five = CheckinAndCompare("b/c/d/h4 removed");
  EXPECT_EQ(five.result.dirs_unwalked, 2u) << "a and e";
  // And a new group inside one directory: a second name made, so the watcher vouches for
  // nothing before it (indexer/watch.h) and the checkin walks everything.
  ASSERT_EQ(::link((src_ + "/e/f5").c_str(), (src_ + "/e/h5").c_str()), 0);
  auto six = CheckinAndCompare("e/h5 linked");
  EXPECT_EQ(six.result.watcher, "all");
  EXPECT_EQ(six.result.dirs_unwalked, 0u);
  auto seven = CheckinAndCompare("nothing changed");
  EXPECT_EQ(seven.result.dirs_unwalked, 3u) << "a, b and e";
  EXPECT_EQ(seven.result.root, six.result.root);
}

// The stat cache was written for another version than the parent: a subtree's Tree is the same
// whether its files were hard-linked or copies, so one holding a file with several names is
// walked (the parent's hard-link table may not be the tree's).
TEST_F(DirWatchTest, HardLinksAreTakenFromTheParentOnlyWhenTheCacheIsOfTheParent) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  // A copy of f4, with its times: b's Tree is the same as with a second name of f4.
  ASSERT_NO_FATAL_FAILURE(Write("/b/c/d/h4", "content of /b/c/d/f4\n"));
  struct stat f4;
  ASSERT_EQ(::stat((src_ + "/b/c/d/f4").c_str(), &f4), 0);
  const struct timespec times[2] = {f4.st_atim, f4.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src_ + "/b/c/d/h4").c_str(), times, 0), 0);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  auto one = Checkin(src_, "img");
  // Version 2: the copy replaced by a second name of f4 (b's Tree stays the same).
  struct stat d;
  ASSERT_EQ(::stat((src_ + "/b/c/d").c_str(), &d), 0);
  ASSERT_EQ(::unlink((src_ + "/b/c/d/h4").c_str()), 0);
  ASSERT_EQ(::link((src_ + "/b/c/d/f4").c_str(), (src_ + "/b/c/d/h4").c_str()), 0);
  const struct timespec dir_times[2] = {d.st_atim, d.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src_ + "/b/c/d").c_str(), dir_times, 0), 0);
  auto two = CheckinAndCompare("h4 a second name of f4");
  ASSERT_NE(two.result.root, one.result.root) << "the hard-link table differs";
  ASSERT_EQ(Lookup(two.result.root, "b").id, Lookup(one.result.root, "b").id)
      << "b's Tree does not";
  // Version 3 from version 1 with the cache of version 2: b is as the cache recorded it and
  // unchanged since, but the group in it is not version 1's.
  ASSERT_NO_FATAL_FAILURE(Write("/e/f5", "changed\n"));
  auto three = Checkin(src_, "img", "img:1");
  auto whole = WholeCheckin();
  ASSERT_TRUE(whole) << whole.error().ToString();
  EXPECT_EQ(three.result.root, whole->result.root);
  EXPECT_EQ(three.result.watcher, "changes");
  EXPECT_EQ(three.result.dirs_unwalked, 1u) << "a only: b holds a file with two names";
}

// A stat cache that says no name reaches out of a subtree when one does (damaged, or written by
// a cairn with a bug): the parent's group spans the subtree taken unseen and one walked, which
// the walk notices, and it walks everything again rather than store a wrong link table.
TEST_F(DirWatchTest, AGroupReachingOutOfASubtreeTakenUnseenMakesTheCheckinWalkEverything) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_EQ(::link((src_ + "/a/x/f1").c_str(), (src_ + "/e/g").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  StatCache cache = StatCache::Load(Env::Default(), cache_dir_, root_);
  for (const char* rel : {"a", "a/x"}) {
    StatCacheDir* d = cache.Find(rel);
    ASSERT_NE(d, nullptr) << rel;
    ASSERT_EQ(d->below.links_out, 1u) << rel;
    d->below.links_out = 0;
  }
  ASSERT_TRUE(cache.Save(Env::Default(), cache_dir_, root_).ok());
  ASSERT_NO_FATAL_FAILURE(Write("/b/c/d/f4", "changed\n"));
  auto two = CheckinAndCompare("b/c/d/f4 written, a's record wrong");
  EXPECT_EQ(two.result.watcher, "changes");
  EXPECT_EQ(two.result.dirs_unwalked, 0u) << "walked again, whole";
}

// A file of a subtree taken unseen given a second name elsewhere in the tree, written through
// it, and the name removed before the checkin: the write marked only the second name's
// directory, so the watcher vouches for nothing since the link (it saw it before the removal:
// the question below makes it read its events).
TEST_F(DirWatchTest, AWriteThroughATransientSecondNameIsNotMissed) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_EQ(::link((src_ + "/a/x/f1").c_str(), (src_ + "/a/y/h1").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  ASSERT_NO_FATAL_FAILURE(Write("/e/f5", "changed\n"));
  EXPECT_EQ(CheckinAndCompare("e/f5 written").result.dirs_unwalked, 2u) << "a and b";
  ASSERT_EQ(::link((src_ + "/a/x/f1").c_str(), (src_ + "/e/t").c_str()), 0);
  struct stat st;
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  ASSERT_TRUE(AskWatcher(cache_dir_, root_, st.st_dev, st.st_ino, {}));
  ASSERT_NO_FATAL_FAILURE(Write("/e/t", "written through a transient name\n"));
  ASSERT_EQ(::unlink((src_ + "/e/t").c_str()), 0);
  auto out = CheckinAndCompare("a/x/f1 written through e/t, since removed");
  EXPECT_EQ(out.result.watcher, "all");
}

// A file with a second name outside the tree: a whole walk finds one name of two as well, and
// while no name is added or removed the watched checkin does not walk everything again.
TEST_F(DirWatchTest, AFileWithANameOutsideTheTreeDoesNotMakeEveryCheckinWalkTwice) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_EQ(::link((src_ + "/a/x/f1").c_str(), (tmp_ / "outside-name").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  ASSERT_NO_FATAL_FAILURE(Write("/e/f5", "changed\n"));
  auto two = CheckinAndCompare("e/f5 written");
  EXPECT_EQ(two.result.watcher, "changes");
  EXPECT_EQ(two.result.dirs_unwalked, 2u) << "a/y and b: a/x holds the linked file, e changed";
  // A write through the name outside the tree raises no event in it: a/x is walked all the
  // same, since its file has a name the walk does not meet; the file changed, so its other
  // name might lie in a subtree not walked, and the checkin walks everything again.
  ASSERT_NO_FATAL_FAILURE(Write("/../outside-name", "written outside\n"));
  auto three = CheckinAndCompare("a/x/f1 written through its name outside the tree");
  EXPECT_EQ(three.result.dirs_unwalked, 0u);
}

// Changes made while no watcher ran: the new watcher cannot vouch for them.
TEST_F(DirWatchTest, AWatcherStartedAfterTheParentsCheckinIsNotTrusted) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  StopWatcher();
  ASSERT_NO_FATAL_FAILURE(Write("/a/x/f1", "changed unwatched\n"));
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  auto two = CheckinAndCompare("a change while no watcher ran");
  EXPECT_EQ(two.result.watcher, "all");
  EXPECT_EQ(two.result.dirs_unwalked, 0u);
  auto three = CheckinAndCompare("then watched");
  EXPECT_EQ(three.result.watcher, "changes");
  EXPECT_EQ(three.result.dirs_unwalked, 3u);
}

TEST_F(DirWatchTest, WithoutAWatcherTheCheckinWalksTheWholeTree) {
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  Checkin(src_, "img");
  auto two = CheckinAndCompare("no watcher");
  EXPECT_EQ(two.result.watcher, "");
  EXPECT_EQ(two.result.dirs_unwalked, 0u);
}

// The fidelity fixture (hard links, devices, xattrs, sparse files, odd names), watched.
TEST_F(DirWatchTest, TheFidelityTreeWatchedGivesWhatAWholeWalkGives) {
  src_ = tmp_ / "src";
  testing::BuildTree(src_, testing::FullSpec());
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  auto same = CheckinAndCompare("unchanged");
  EXPECT_GT(same.result.dirs_unwalked, 0u);
  ASSERT_EQ(::chmod((src_ + "/tmp").c_str(), 0755), 0);
  auto two = CheckinAndCompare("tmp chmod");
  EXPECT_EQ(two.result.watcher, "changes");
}

// A filesystem mounted two levels below the root and a file bound over a name: a name made in
// the mounted filesystem changes its root's times, a write through the bound name is reported
// in the bound file's own directory, neither raises an event in the directory holding them,
// which the watcher reports in every answer.
TEST_F(DirWatchTest, WhatIsMountedBeneathTheTreeIsLookedAtInEveryCheckin) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  ASSERT_NO_FATAL_FAILURE(MakeTree());
  ASSERT_EQ(::mkdir((src_ + "/b/c/m").c_str(), 0755), 0);
  ASSERT_EQ(::mount("none", (src_ + "/b/c/m").c_str(), "tmpfs", 0, "mode=755"), 0) << errno;
  ASSERT_EQ(
      ::mount((src_ + "/e/f5").c_str(), (src_ + "/a/x/f1").c_str(), nullptr, MS_BIND, nullptr), 0)
      << errno;
  testing::MountGuard unmount_m{src_ + "/b/c/m"}, unmount_f1{src_ + "/a/x/f1"};
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  ASSERT_NO_FATAL_FAILURE(Write("/b/c/m/new", "in the mounted filesystem\n"));
  auto two = CheckinAndCompare("a name made in the mounted filesystem");
  EXPECT_EQ(two.result.watcher, "changes");
  ASSERT_EQ(::chmod((src_ + "/b/c/m").c_str(), 0700), 0);
  EXPECT_EQ(CheckinAndCompare("the mounted root's mode").result.watcher, "changes");
  ASSERT_NO_FATAL_FAILURE(Write("/a/x/f1", "written through the bound name\n"));
  auto four = CheckinAndCompare("written through the bound name");
  EXPECT_EQ(four.result.watcher, "changes");
  EXPECT_GT(four.result.dirs_unwalked, 0u);
  StopWatcher();
}

// A hole filled through a mapping on tmpfs raises no event: a subtree holding a sparse file is
// looked at by every watched checkin, not taken unseen.
TEST_F(DirWatchTest, ASubtreeHoldingASparseFileIsLookedAtInEveryCheckin) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting tmpfs needs root (CI runs as root)";
  src_ = tmp_ / "src";
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  ASSERT_EQ(::mount("none", src_.c_str(), "tmpfs", 0, "size=16m"), 0) << errno;
  testing::MountGuard unmount{src_};
  ASSERT_EQ(testing::Shell("cd '" + src_ +
                           "' && mkdir -p a/x e && echo e > e/f && truncate -s 1M a/x/sp && "
                           "printf x | dd of=a/x/sp bs=1 seek=500000 conv=notrunc status=none"),
            0);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  ASSERT_NO_FATAL_FAILURE(Write("/e/f", "changed\n"));  // something changed elsewhere
  auto two = CheckinAndCompare("e/f written");
  EXPECT_EQ(two.result.watcher, "changes");
  EXPECT_EQ(two.result.dirs_unwalked, 0u) << "a holds a sparse file";
  ASSERT_NO_FATAL_FAILURE(testing::ReadThroughMapping(src_ + "/a/x/sp"));
  auto three = CheckinAndCompare("a/x/sp's holes filled through a mapping");
  EXPECT_EQ(three.result.watcher, "changes");
  EXPECT_NE(three.result.root, two.result.root);
  EXPECT_EQ(three.result.bytes_read, 1u << 20);
  StopWatcher();
}

// The same for a page fallocate(2) reserved (a hole until written) filled through a mapping,
// which moves not even the block count: the file is recorded as holding unsettled holes
// (FileStat::kUnsettledHoles) and its subtree is looked at.
TEST_F(DirWatchTest, ASubtreeHoldingAReservedPageIsLookedAtInEveryCheckin) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting tmpfs needs root (CI runs as root)";
  src_ = tmp_ / "src";
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  ASSERT_EQ(::mount("none", src_.c_str(), "tmpfs", 0, "size=16m"), 0) << errno;
  testing::MountGuard unmount{src_};
  ASSERT_EQ(testing::Shell("cd '" + src_ +
                           "' && mkdir -p a/x e && echo e > e/f && fallocate -l 8192 a/x/sp && "
                           "printf x | dd of=a/x/sp bs=1 seek=4096 conv=notrunc status=none"),
            0);
  ASSERT_NO_FATAL_FAILURE(StartWatcher());
  Checkin(src_, "img");
  ASSERT_NO_FATAL_FAILURE(Write("/e/f", "changed\n"));
  auto two = CheckinAndCompare("e/f written");
  EXPECT_EQ(two.result.watcher, "changes");
  EXPECT_EQ(two.result.dirs_unwalked, 0u) << "a holds a file with a reserved page";
  ASSERT_NO_FATAL_FAILURE(testing::ReadThroughMapping(src_ + "/a/x/sp"));
  auto three = CheckinAndCompare("a/x/sp's reserved page filled through a mapping");
  EXPECT_EQ(three.result.watcher, "changes");
  EXPECT_NE(three.result.root, two.result.root);
  StopWatcher();
}

}  // namespace
}  // namespace cairn::indexer
