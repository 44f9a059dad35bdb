// The tree watcher (indexer/watch.h) on real directories: which directories
// each kind of change marks, renames in, out of and inside the tree, old
// tokens, an overflow of the event queue, and the socket between Serve and
// AskWatcher.
#include "indexer/watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "indexer/dir_scan.h"
#include "indexer/watch_events.h"
#include "indexer/watch_wire.h"

namespace cairn::indexer {
namespace {

using Dirs = std::vector<std::string>;

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-watch-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    auto real = WalkRoot(tmpl);
    ASSERT_TRUE(real) << real.error().ToString();
    base_ = *real;
    root_ = base_ + "/tree";
    outside_ = base_ + "/outside";
    cache_ = base_ + "/cache";
    Mkdir(root_);
    Mkdir(outside_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  std::string P(const std::string& rel) const { return root_ + "/" + rel; }
  static void Mkdir(const std::string& path) { ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path; }
  static void Write(const std::string& path, const std::string& data = "data") {
    std::ofstream(path, std::ios::binary) << data;
  }
  static void Rename(const std::string& from, const std::string& to) {
    ASSERT_EQ(::rename(from.c_str(), to.c_str()), 0) << from << " -> " << to;
  }

  // Starts the watcher and takes a first token.
  void StartWatching() {
    auto w = TreeWatcher::Start(root_);
    ASSERT_TRUE(w) << w.error().ToString();
    watcher_ = std::move(*w);
    auto r = watcher_->Sync({});
    ASSERT_TRUE(r);
    token_ = r->token;
  }
  // The directories changed since the last call (or StartWatching).
  Dirs Changes() {
    auto r = watcher_->Sync(token_);
    EXPECT_TRUE(r) << r.error().ToString();
    if (!r) return {"<error>"};
    EXPECT_FALSE(r->all);
    token_ = r->token;
    return r->dirty;
  }
  // Whether the watcher cannot vouch for the time since the last call (or
  // StartWatching).
  bool CannotVouch() {
    auto r = watcher_->Sync(token_);
    EXPECT_TRUE(r) << r.error().ToString();
    if (!r) return false;
    token_ = r->token;
    return r->all;
  }

  std::string base_, root_, outside_, cache_;
  std::unique_ptr<TreeWatcher> watcher_;
  WatchToken token_;
};

// Detaches a test's mount at `path` when the test ends, unless it unmounted it itself.
struct MountGuard {
  std::string path;
  bool mounted = true;
  ~MountGuard() {
    if (mounted) ::umount2(path.c_str(), MNT_DETACH);
  }
};

TEST(ChangedAtOrBeneathTest, NamesTheDirectoryAndItsAncestorsOnly) {
  WatchReport r;
  r.all = false;
  r.dirty = {"a/b", "a/b c", "etc"};
  EXPECT_TRUE(ChangedAtOrBeneath(r, ""));  // the root holds everything
  EXPECT_TRUE(ChangedAtOrBeneath(r, "a"));
  EXPECT_TRUE(ChangedAtOrBeneath(r, "a/b"));
  EXPECT_TRUE(ChangedAtOrBeneath(r, "etc"));
  EXPECT_FALSE(ChangedAtOrBeneath(r, "a/b/c"));  // beneath a changed directory, not changed
  EXPECT_FALSE(ChangedAtOrBeneath(r, "a/bc"));   // a sibling sharing a prefix
  EXPECT_FALSE(ChangedAtOrBeneath(r, "a/"));
  EXPECT_FALSE(ChangedAtOrBeneath(r, "et"));
  EXPECT_FALSE(ChangedAtOrBeneath(r, "usr"));
  r.dirty.clear();
  EXPECT_FALSE(ChangedAtOrBeneath(r, ""));
}

TEST_F(WatchTest, AFreshWatcherCannotVouchForAnEmptyTokenOrAnotherInstance) {
  auto w = TreeWatcher::Start(root_);
  ASSERT_TRUE(w);
  auto first = (*w)->Sync({});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->all);
  EXPECT_TRUE(first->dirty.empty());
  EXPECT_EQ(first->token.instance.size(), 32u);
  EXPECT_EQ(first->token.epoch, 2u);
  auto other = TreeWatcher::Start(root_);
  ASSERT_TRUE(other);
  auto r = (*other)->Sync(first->token);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->all);
  EXPECT_NE(r->token.instance, first->token.instance);
  auto future = (*w)->Sync({first->token.instance, first->token.epoch + 5});
  ASSERT_TRUE(future);
  EXPECT_TRUE(future->all);
}

// A second name made for a file (link(2)): a write through it marks only its directory, not
// those of the file's other names, which are not known; the watcher vouches for nothing
// before it. A new file, or a name of a file that has one, is a plain change.
TEST_F(WatchTest, ASecondNameOfAFileMakesTheWatcherVouchForNothingBefore) {
  Mkdir(P("a"));
  Mkdir(P("b"));
  Write(P("a/f"));
  StartWatching();
  Write(P("b/new"));
  EXPECT_EQ(Changes(), (Dirs{"b"}));
  ASSERT_EQ(::link(P("a/f").c_str(), P("b/g").c_str()), 0);
  EXPECT_TRUE(CannotVouch());
  Write(P("b/g"), "written through the second name");  // after the new epoch: seen as usual
  EXPECT_EQ(Changes(), (Dirs{"b"}));
  ASSERT_EQ(::symlink("f", P("a/l").c_str()), 0);  // not a second name of a file
  Mkdir(P("a/d"));
  EXPECT_EQ(Changes(), (Dirs{"a", "a/d"}));
  ASSERT_EQ(::unlink(P("b/g").c_str()), 0);
  EXPECT_EQ(Changes(), (Dirs{"b"}));
}

// A second name that raised no IN_CREATE of its own: renamed into place (GNU `ln -f` links to a
// temporary name and renames it over the target), made in a directory the watcher had not
// listed yet, or made and gone again before the watcher looked at it. A file made and renamed
// within the tree at once is a plain change.
TEST_F(WatchTest, ASecondNameRenamedInMadeInANewDirectoryOrGoneAlreadyIsNotVouchedFor) {
  Mkdir(P("a"));
  Mkdir(P("b"));
  Write(P("a/f"));
  Write(P("b/g"), "other");
  StartWatching();
  ASSERT_EQ(::link(P("a/f").c_str(), (outside_ + "/t").c_str()), 0);
  Rename(outside_ + "/t", P("b/g"));
  EXPECT_TRUE(CannotVouch()) << "renamed in over b/g";
  ASSERT_EQ(::unlink(P("b/g").c_str()), 0);
  EXPECT_EQ(Changes(), Dirs{"b"});
  ASSERT_EQ(::link(P("a/f").c_str(), P("b/tmp").c_str()), 0);
  Rename(P("b/tmp"), P("b/g"));
  EXPECT_TRUE(CannotVouch()) << "made at a temporary name and renamed";
  ASSERT_EQ(::unlink(P("b/g").c_str()), 0);
  EXPECT_EQ(Changes(), Dirs{"b"});
  Mkdir(P("b/n"));
  ASSERT_EQ(::link(P("a/f").c_str(), P("b/n/h").c_str()), 0);
  EXPECT_TRUE(CannotVouch()) << "in a new directory";
  ASSERT_EQ(::unlink(P("b/n/h").c_str()), 0);
  EXPECT_FALSE(CannotVouch());
  ASSERT_EQ(::link(P("a/f").c_str(), P("b/t").c_str()), 0);
  Write(P("b/t"), "written through a name removed before the watcher looked");
  ASSERT_EQ(::unlink(P("b/t").c_str()), 0);
  EXPECT_TRUE(CannotVouch()) << "gone already";
  Write(P("b/tmp"), "new");
  Rename(P("b/tmp"), P("b/new"));
  EXPECT_EQ(Changes(), Dirs{"b"}) << "a new file, renamed at once";
}

// Not only regular files have several names: a fifo's, a symlink's or a device's metadata
// changed through one name is reported in that name's directory only.
TEST_F(WatchTest, ASecondNameOfAFifoOrSymlinkIsNotVouchedFor) {
  Mkdir(P("a"));
  Mkdir(P("b"));
  ASSERT_EQ(::mkfifo(P("a/p").c_str(), 0644), 0);
  ASSERT_EQ(::symlink("target", P("a/l").c_str()), 0);
  StartWatching();
  ASSERT_EQ(::link(P("a/p").c_str(), P("b/q").c_str()), 0);
  EXPECT_TRUE(CannotVouch()) << "a fifo";
  ASSERT_EQ(::link(P("a/l").c_str(), P("b/m").c_str()), 0);  // link(2) does not follow
  EXPECT_TRUE(CannotVouch()) << "a symlink";
  ASSERT_EQ(::chmod(P("b/q").c_str(), 0600), 0);
  EXPECT_EQ(Changes(), Dirs{"b"});
}

// An ancestor of the root renamed, a directory made in the tree meanwhile, the ancestor renamed
// back: the new directory is watched all the same (paths are resolved from the root itself).
TEST_F(WatchTest, ADirectoryMadeWhileAnAncestorOfTheRootWasRenamedIsWatched) {
  Mkdir(base_ + "/p");
  root_ = base_ + "/p/d";
  Mkdir(root_);
  Mkdir(P("a"));
  StartWatching();
  Rename(base_ + "/p", base_ + "/p2");
  Mkdir(base_ + "/p2/d/a/new");
  EXPECT_EQ(Changes(), (Dirs{"a", "a/new"}));
  Rename(base_ + "/p2", base_ + "/p");
  Write(P("a/new/f"));
  EXPECT_EQ(Changes(), Dirs{"a/new"});
}

// A file with names in two directories, a descriptor opened through one, that name removed: a
// write through the descriptor is reported in the removed name's directory only, while the
// other's may be taken unseen (its file has one name by then). The watcher watches the file
// itself.
TEST_F(WatchTest, AWriteThroughADescriptorOfARemovedNameMarksTheOtherNamesDirectory) {
  Mkdir(P("u"));
  Mkdir(P("a"));
  Write(P("u/f"));
  ASSERT_EQ(::link(P("u/f").c_str(), P("a/h").c_str()), 0);
  StartWatching();
  int fd = ::open(P("a/h").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(P("a/h").c_str()), 0);
  Dirs removed = Changes();
  EXPECT_NE(std::find(removed.begin(), removed.end(), "a"), removed.end());
  ASSERT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
  Dirs written = Changes();
  EXPECT_NE(std::find(written.begin(), written.end(), "u"), written.end());
}

TEST_F(WatchTest, NothingChangedReportsNothing) {
  Mkdir(P("a"));
  StartWatching();
  EXPECT_EQ(Changes(), Dirs{});
  EXPECT_EQ(watcher_->directories(), 2u);
}

TEST_F(WatchTest, WritingAFileMarksExactlyItsDirectory) {
  Mkdir(P("a"));
  Mkdir(P("a/b"));
  Mkdir(P("c"));
  StartWatching();
  Write(P("a/b/f"));
  EXPECT_EQ(Changes(), Dirs{"a/b"});
  Write(P("a/b/f"), "other");
  EXPECT_EQ(Changes(), Dirs{"a/b"});
  Write(P("top"));
  EXPECT_EQ(Changes(), Dirs{""});
}

TEST_F(WatchTest, ChmodUtimesAndTruncateEachMarkTheFilesDirectory) {
  Mkdir(P("a"));
  Write(P("a/f"), "0123456789");
  StartWatching();
  ASSERT_EQ(::chmod(P("a/f").c_str(), 0600), 0);
  EXPECT_EQ(Changes(), Dirs{"a"});
  struct timeval times[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(::utimes(P("a/f").c_str(), times), 0);
  EXPECT_EQ(Changes(), Dirs{"a"});
  ASSERT_EQ(::truncate(P("a/f").c_str(), 3), 0);
  EXPECT_EQ(Changes(), Dirs{"a"});
}

TEST_F(WatchTest, SettingAnExtendedAttributeMarksTheFilesDirectory) {
  Mkdir(P("a"));
  Write(P("a/f"));
  StartWatching();
  if (::setxattr(P("a/f").c_str(), "user.cairn", "v", 1, 0) != 0) {
    if (errno == ENOTSUP) GTEST_SKIP() << "the filesystem of " << root_ << " has no user xattrs";
    FAIL() << "setxattr: " << std::strerror(errno);
  }
  EXPECT_EQ(Changes(), Dirs{"a"});
}

TEST_F(WatchTest, ChmodOfADirectoryMarksItAndItsParent) {
  Mkdir(P("a"));
  Mkdir(P("a/b"));
  StartWatching();
  ASSERT_EQ(::chmod(P("a/b").c_str(), 0700), 0);
  EXPECT_EQ(Changes(), (Dirs{"a", "a/b"}));
}

TEST_F(WatchTest, ADirectoryMadeAndFilledAtOnceIsReportedWithEverythingBeneathIt) {
  Mkdir(P("a"));
  StartWatching();
  // All made before the watcher reads the event of the first mkdir.
  Mkdir(P("a/new"));
  Write(P("a/new/f"));
  Mkdir(P("a/new/x"));
  Mkdir(P("a/new/x/y"));
  Write(P("a/new/x/y/g"));
  EXPECT_EQ(Changes(), (Dirs{"a", "a/new", "a/new/x", "a/new/x/y"}));
  Write(P("a/new/x/y/h"));
  EXPECT_EQ(Changes(), Dirs{"a/new/x/y"});
  EXPECT_EQ(watcher_->directories(), 5u);
}

TEST_F(WatchTest, RemovingADirectoryMarksItsParent) {
  Mkdir(P("a"));
  Mkdir(P("a/b"));
  StartWatching();
  ASSERT_EQ(::rmdir(P("a/b").c_str()), 0);
  EXPECT_EQ(Changes(), (Dirs{"a", "a/b"}));
  EXPECT_EQ(Changes(), Dirs{});
  EXPECT_EQ(watcher_->directories(), 2u);
}

TEST_F(WatchTest, RenamingAFileMarksTheDirectoriesOnBothSides) {
  Mkdir(P("a"));
  Mkdir(P("c"));
  Write(P("a/f"));
  StartWatching();
  Rename(P("a/f"), P("a/g"));
  EXPECT_EQ(Changes(), Dirs{"a"});
  Rename(P("a/g"), P("c/g"));
  EXPECT_EQ(Changes(), (Dirs{"a", "c"}));
}

TEST_F(WatchTest, RenamingADirectoryMarksBothParentsAndTheSubtreeAtItsNewPlace) {
  Mkdir(P("a"));
  Mkdir(P("a/d"));
  Mkdir(P("a/d/e"));
  Mkdir(P("c"));
  StartWatching();
  Rename(P("a/d"), P("c/d"));
  // "a/d" too: the name's own directory, marked for any event naming a
  // directory.
  EXPECT_EQ(Changes(), (Dirs{"a", "a/d", "c", "c/d", "c/d/e"}));
  Write(P("c/d/e/f"));
  EXPECT_EQ(Changes(), Dirs{"c/d/e"});
  Write(P("c/d/f"));
  EXPECT_EQ(Changes(), Dirs{"c/d"});
}

TEST_F(WatchTest, ADirectoryMovedOutOfTheTreeIsNoLongerReported) {
  Mkdir(P("a"));
  Mkdir(P("a/d"));
  Mkdir(P("a/d/e"));
  StartWatching();
  Rename(P("a/d"), outside_ + "/d");
  // Rebuilt from scratch: the path may hold another directory by the time it is
  // read.
  EXPECT_TRUE(CannotVouch());
  EXPECT_EQ(watcher_->directories(), 2u);
  Write(outside_ + "/d/f");
  Write(outside_ + "/d/e/f");
  Mkdir(outside_ + "/d/z");
  EXPECT_EQ(Changes(), Dirs{});
}

TEST_F(WatchTest, ADirectoryMovedOutAndStraightBackInIsStillWatched) {
  Mkdir(P("a"));
  Mkdir(P("a/y"));
  StartWatching();
  // One batch: the same inode, so inotify gives back the same watch.
  Rename(P("a/y"), outside_ + "/y");
  Rename(outside_ + "/y", P("a/y"));
  EXPECT_TRUE(CannotVouch());
  Write(P("a/y/f"));
  EXPECT_EQ(Changes(), Dirs{"a/y"});
}

TEST_F(WatchTest, ADirectoryReplacedByANewOneOfTheSameNameIsWatched) {
  Mkdir(P("a"));
  Mkdir(P("a/y"));
  StartWatching();
  // One batch: the IN_MOVED_FROM without its IN_MOVED_TO is settled after the
  // new a/y is watched.
  Rename(P("a/y"), outside_ + "/y");
  Mkdir(P("a/y"));
  Write(P("a/y/f"));
  EXPECT_TRUE(CannotVouch());
  Write(P("a/y/f"), "later");
  EXPECT_EQ(Changes(), Dirs{"a/y"});
  Write(outside_ + "/y/g");
  EXPECT_EQ(Changes(), Dirs{});
}

TEST_F(WatchTest, TwoExchangedDirectoriesAreReportedUnderTheirNewPaths) {
  Mkdir(P("a"));
  Mkdir(P("a/sub"));
  Mkdir(P("b"));
  StartWatching();
  ASSERT_EQ(::renameat2(AT_FDCWD, P("a").c_str(), AT_FDCWD, P("b").c_str(), RENAME_EXCHANGE), 0)
      << std::strerror(errno);
  EXPECT_TRUE(CannotVouch());
  Write(P("a/f"));  // the directory that was b
  EXPECT_EQ(Changes(), Dirs{"a"});
  Write(P("b/f"));  // the directory that was a
  EXPECT_EQ(Changes(), Dirs{"b"});
  Write(P("b/sub/f"));
  EXPECT_EQ(Changes(), Dirs{"b/sub"});
}

TEST_F(WatchTest, AMountOrUnmountBeneathTheTreeIsNotVouchedFor) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  Mkdir(P("a"));
  Mkdir(P("a/m"));
  StartWatching();
  if (::mount("none", P("a/m").c_str(), "tmpfs", 0, nullptr) != 0) {
    FAIL() << "mount tmpfs " << P("a/m") << ": " << std::strerror(errno);
  }
  MountGuard unmount{P("a/m")};
  EXPECT_TRUE(CannotVouch());
  EXPECT_EQ(Changes(), Dirs{"a"}) << "the mount point's parent, always";
  ASSERT_EQ(::umount(P("a/m").c_str()), 0) << std::strerror(errno);
  unmount.mounted = false;
  EXPECT_TRUE(CannotVouch());
}

// umount and mount at the same point between two reads of the mount table: the table's line is
// the same (mount IDs and anonymous devices are reused at once), the mount is not.
TEST_F(WatchTest, AMountReplacedAtTheSamePointIsNotVouchedFor) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  Mkdir(P("a"));
  Mkdir(P("a/m"));
  ASSERT_EQ(::mount("none", P("a/m").c_str(), "tmpfs", 0, "mode=755"), 0) << std::strerror(errno);
  MountGuard unmount{P("a/m")};
  StartWatching();
  EXPECT_EQ(Changes(), Dirs{"a"});
  ASSERT_EQ(::umount(P("a/m").c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(::mount("none", P("a/m").c_str(), "tmpfs", 0, "mode=700"), 0) << std::strerror(errno);
  EXPECT_TRUE(CannotVouch());
  EXPECT_EQ(Changes(), Dirs{"a"});
}

// What is mounted beneath the tree raises no event in the directory holding it: the root of a
// filesystem mounted there (its metadata changes with every name made in it), a file bound over
// a name (a write through it is reported in the bound file's own directory). That directory is
// reported in every answer.
TEST_F(WatchTest, TheDirectoryHoldingAMountPointIsAlwaysReported) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  Mkdir(P("a"));
  Mkdir(P("a/m"));
  Mkdir(P("b"));
  Mkdir(P("c"));
  Write(P("b/f"));
  Write(P("c/g"));
  ASSERT_EQ(::mount("none", P("a/m").c_str(), "tmpfs", 0, nullptr), 0) << std::strerror(errno);
  MountGuard unmount{P("a/m")};
  ASSERT_EQ(::mount(P("c/g").c_str(), P("b/f").c_str(), nullptr, MS_BIND, nullptr), 0)
      << std::strerror(errno);
  MountGuard unbind{P("b/f")};
  StartWatching();
  Write(P("a/m/new"));
  EXPECT_EQ(Changes(), (Dirs{"a", "b"})) << "a new name in the mounted filesystem";
  ASSERT_EQ(::chmod(P("a/m").c_str(), 0700), 0);
  EXPECT_EQ(Changes(), (Dirs{"a", "b"})) << "its root's mode";
  Write(P("b/f"), "written through the bound name");
  EXPECT_EQ(Changes(), (Dirs{"a", "b", "c"})) << "the bound file, written";
  EXPECT_EQ(Changes(), (Dirs{"a", "b"})) << "nothing changed";
}

// A directory of the tree bound at a second path of it (same filesystem): inotify gives both
// paths one watch, so a change would be reported under one of them only. The watcher vouches
// for nothing while the tree has such a directory, whether bound before it started or after.
TEST_F(WatchTest, ADirectoryBoundAtASecondPathOfTheTreeIsNotVouchedFor) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  Mkdir(P("a"));
  Mkdir(P("a/b"));
  Mkdir(P("c"));
  if (::mount(P("a").c_str(), P("c").c_str(), nullptr, MS_BIND, nullptr) != 0) {
    FAIL() << "mount --bind " << P("a") << " " << P("c") << ": " << std::strerror(errno);
  }
  MountGuard unmount{P("c")};
  StartWatching();
  Write(P("a/b/f"));
  EXPECT_TRUE(CannotVouch());
  EXPECT_TRUE(CannotVouch()) << "still bound";
}

// A mount elsewhere on the host (another test's FUSE mount, a container's) changes the mount
// table but nothing the walk of the tree would see.
TEST_F(WatchTest, AMountOutsideTheTreeChangesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  Mkdir(P("a"));
  Mkdir(outside_ + "/m");
  StartWatching();
  if (::mount("none", (outside_ + "/m").c_str(), "tmpfs", 0, nullptr) != 0) {
    FAIL() << "mount tmpfs " << outside_ << "/m: " << std::strerror(errno);
  }
  Write(P("a/f"));
  EXPECT_EQ(Changes(), Dirs{"a"});
  ASSERT_EQ(::umount((outside_ + "/m").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(Changes(), Dirs{});
}

TEST_F(WatchTest, ADirectoryMovedInIsReportedWithItsSubtreeAndThenWatched) {
  Mkdir(P("a"));
  Mkdir(outside_ + "/m");
  Mkdir(outside_ + "/m/n");
  StartWatching();
  Rename(outside_ + "/m", P("a/m"));
  EXPECT_EQ(Changes(), (Dirs{"a", "a/m", "a/m/n"}));
  Write(P("a/m/n/f"));
  EXPECT_EQ(Changes(), Dirs{"a/m/n"});
}

TEST_F(WatchTest, AnOldTokenGetsEverythingChangedSinceIt) {
  Mkdir(P("a"));
  Mkdir(P("c"));
  StartWatching();
  const WatchToken old = token_;
  Write(P("a/f"));
  EXPECT_EQ(Changes(), Dirs{"a"});
  Write(P("c/f"));
  EXPECT_EQ(Changes(), Dirs{"c"});
  auto replay = watcher_->Sync(old);
  ASSERT_TRUE(replay);
  EXPECT_FALSE(replay->all);
  EXPECT_EQ(replay->dirty, (Dirs{"a", "c"}));
}

TEST_F(WatchTest, AfterAnOverflowOnlyTokensIssuedSinceAreVouchedFor) {
  Mkdir(P("a"));
  auto tree = InotifyTree::Open(root_);
  ASSERT_TRUE(tree) << tree.error().ToString();
  auto first = (*tree)->Sync({});
  ASSERT_TRUE(first);
  auto second = (*tree)->Sync(first->token);
  ASSERT_TRUE(second);
  ASSERT_FALSE(second->all);
  // A directory made while events were lost (its event thrown away, the
  // overflow record in its place) is watched by the recovery's walk.
  Mkdir(P("b"));
  char lost[64 * 1024];
  ASSERT_GT(::read((*tree)->fd(), lost, sizeof(lost)), 0);
  struct inotify_event overflow {};
  overflow.wd = -1;
  overflow.mask = IN_Q_OVERFLOW;
  (*tree)->HandleEvents(
      std::string_view(reinterpret_cast<const char*>(&overflow), sizeof(overflow)));
  (*tree)->Settle();
  auto after = (*tree)->Sync(second->token);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->all);
  auto older = (*tree)->Sync(first->token);
  ASSERT_TRUE(older);
  EXPECT_TRUE(older->all);
  Write(P("b/f"));
  auto fresh = (*tree)->Sync(after->token);
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->all);
  EXPECT_EQ(fresh->dirty, Dirs{"b"});
}

TEST_F(WatchTest, StartFailsOnAMissingRoot) {
  auto w = TreeWatcher::Start(base_ + "/no-such");
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().ToString().find("no-such"), std::string::npos);
}

TEST_F(WatchTest, TheSocketPathIsUnderTheCacheAndBounded) {
  auto p = WatchSocketPath("/c", "/some/root");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->size(), std::string("/c/watch/").size() + 16 + 5);
  EXPECT_EQ(p->substr(0, 9), "/c/watch/");
  EXPECT_NE(*p, *WatchSocketPath("/c", "/other/root"));
  EXPECT_FALSE(WatchSocketPath("/" + std::string(100, 'c'), "/r"));
}

// Serve on a thread of its own, stopped through a pipe.
class ServeTest : public WatchTest {
 protected:
  void StartServing() {
    StartWatching();
    ASSERT_EQ(::pipe(stop_), 0);
    auto path = WatchSocketPath(cache_, root_);
    ASSERT_TRUE(path);
    socket_ = *path;
    struct stat st;
    ASSERT_EQ(::stat(root_.c_str(), &st), 0);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    server_ = std::thread([this] { served_ = watcher_->Serve(socket_, stop_[0]); });
    // Until it listens: an answer (the empty token) or the deadline.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!Ask({}) && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  }
  Status StopServing() {
    if (server_.joinable()) {
      EXPECT_EQ(::write(stop_[1], "x", 1), 1);
      server_.join();
    }
    for (int& fd : stop_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    return served_;
  }
  void TearDown() override {
    (void)StopServing();
    WatchTest::TearDown();
  }
  std::optional<WatchReport> Ask(const WatchToken& since) {
    return AskWatcher(cache_, root_, dev_, ino_, since);
  }

  int stop_[2] = {-1, -1};
  std::string socket_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::thread server_;
  Status served_;
};

TEST_F(ServeTest, AskWatcherGetsWhatSyncWouldThroughTheSocket) {
  Mkdir(P("a"));
  StartServing();
  auto first = Ask({});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->all);
  Mkdir(P("a/x\ny"));
  Write(P("a/x\ny/f"));
  auto changed = Ask(first->token);
  ASSERT_TRUE(changed);
  EXPECT_FALSE(changed->all);
  EXPECT_EQ(changed->dirty, (Dirs{"a", "a/x\ny"}));
  auto quiet = Ask(changed->token);
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(quiet->all);
  EXPECT_EQ(quiet->dirty, Dirs{});
  EXPECT_EQ(quiet->token.epoch, changed->token.epoch + 1);
  EXPECT_TRUE(StopServing().ok());
  EXPECT_FALSE(std::filesystem::exists(socket_));
  EXPECT_FALSE(Ask(quiet->token));
}

TEST_F(ServeTest, AWatcherOfAnotherTreeAtThatPathDoesNotAnswer) {
  StartServing();
  ASSERT_TRUE(Ask({}));
  EXPECT_FALSE(AskWatcher(cache_, root_, dev_, ino_ + 1, {}));
  EXPECT_FALSE(AskWatcher(cache_, root_, dev_ + 1, ino_, {}));
}

TEST_F(ServeTest, ASecondWatcherOnTheSameSocketIsRefused) {
  StartServing();
  auto second = TreeWatcher::Start(root_);
  ASSERT_TRUE(second);
  int never[2];
  ASSERT_EQ(::pipe(never), 0);
  Status s = (*second)->Serve(socket_, never[0]);
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
  EXPECT_NE(s.ToString().find(socket_), std::string::npos) << s.ToString();
  ::close(never[0]);
  ::close(never[1]);
  EXPECT_TRUE(Ask({}));  // the first one still answers
}

TEST_F(ServeTest, AStaleSocketFileIsReplaced) {
  auto path = WatchSocketPath(cache_, root_);
  ASSERT_TRUE(path);
  std::filesystem::create_directories(cache_ + "/watch");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path->c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);  // the file stays, nobody listens
  EXPECT_FALSE(Ask({}));
  StartServing();
  EXPECT_TRUE(Ask({}));
}

TEST_F(ServeTest, ServeFailsAndRemovesItsSocketWhenTheRootIsRemoved) {
  StartServing();
  ASSERT_TRUE(Ask({}));
  ASSERT_TRUE(std::filesystem::exists(socket_));
  ASSERT_EQ(::rmdir(root_.c_str()), 0);
  server_.join();  // without the stop pipe: the removal ends it
  EXPECT_FALSE(served_.ok());
  EXPECT_NE(served_.ToString().find("the root was removed or moved"), std::string::npos)
      << served_.ToString();
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(ServeTest, AClientThatTricklesItsRequestIsDroppedWithinTheDeadline) {
  StartServing();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, socket_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const auto start = std::chrono::steady_clock::now();
  bool dropped = false;
  // A byte every 300 ms: each well within a second, the whole request never
  // complete.
  for (int i = 0; i < 12 && !dropped; ++i) {
    if (::send(fd, "c", 1, MSG_NOSIGNAL) != 1) {  // closed by the watcher
      dropped = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 300) == 1) {
      char c;
      dropped = ::read(fd, &c, 1) == 0;
    }
  }
  const auto held = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_TRUE(dropped);
  EXPECT_LT(held, std::chrono::milliseconds(2500));
  EXPECT_TRUE(Ask({}));
}

TEST_F(ServeTest, AMountWhileServingIsNotVouchedFor) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  Mkdir(P("m"));
  StartServing();
  auto before = Ask({});
  ASSERT_TRUE(before);
  ASSERT_EQ(::mount("none", P("m").c_str(), "tmpfs", 0, nullptr), 0) << std::strerror(errno);
  // Serve's poll wakes on the mount and consumes its report: the watcher must
  // not forget it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto after = Ask(before->token);
  ::umount2(P("m").c_str(), MNT_DETACH);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->all);
}

// The same root seen from another mount namespace may hold other mounts: not the tree watched.
TEST_F(ServeTest, AQuestionFromAnotherMountNamespaceIsNotAnswered) {
  StartServing();
  ASSERT_NE(OwnMountNamespace(), 0u);
  auto ask = [&](uint64_t ns) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, socket_.c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    std::string req = EncodeWatchRequest({dev_, ino_, {}, ns});
    EXPECT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
    std::string answer;
    char buf[256];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) answer.append(buf, n);
    ::close(fd);
    return answer;
  };
  EXPECT_EQ(ask(OwnMountNamespace() + 1), "cairn-watch 1 not-mine\n");
  EXPECT_EQ(ask(OwnMountNamespace()).substr(0, 18), "cairn-watch 1 all ");
}

TEST_F(ServeTest, AClientThatSendsGarbageIsDroppedAndTheWatcherGoesOn) {
  StartServing();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, socket_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::write(fd, "GET / HTTP/1.0\n\n\n\n\n", 19), 19);
  char c;
  EXPECT_EQ(::read(fd, &c, 1), 0);  // closed without an answer
  ::close(fd);
  EXPECT_TRUE(Ask({}));
}

// A `dirty` answer of instance `inst` at `epoch` listing `dirs`, as the watcher
// encodes it.
std::string DirtyAnswer(const std::string& inst, uint64_t epoch, const Dirs& dirs) {
  WatchReport r;
  r.all = false;
  r.token = {inst, epoch};
  r.dirty = dirs;
  return EncodeWatchAnswer(r);
}

TEST(WatchWireTest, AnAnswerRoundTrips) {
  const std::string inst(32, 'a');
  auto r = DecodeWatchAnswer(DirtyAnswer(inst, 5, {"", "a", "a\nb", "b"}), {inst, 4});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->all);
  EXPECT_EQ(r->token, (WatchToken{inst, 5}));
  EXPECT_EQ(r->dirty, (Dirs{"", "a", "a\nb", "b"}));
  WatchReport all;
  all.token = {std::string(32, 'b'), 1};
  auto a = DecodeWatchAnswer(EncodeWatchAnswer(all), {inst, 4});
  ASSERT_TRUE(a);  // another instance may say it cannot vouch
  EXPECT_TRUE(a->all);
}

TEST(WatchWireTest, ADirtyListNotStrictlyIncreasingIsRejected) {
  const std::string inst(32, 'a');
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {"b", "a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {"a", "a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {"a", "", "b"}), {inst, 4}));
}

TEST(WatchWireTest, ADirtyAnswerOfAnotherInstanceOrNoLaterEpochIsRejected) {
  const std::string inst(32, 'a'), other(32, 'c');
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(other, 5, {"a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 5, {}), {"", 0}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 4, {"a"}), {inst, 4}));
  EXPECT_FALSE(DecodeWatchAnswer(DirtyAnswer(inst, 3, {"a"}), {inst, 4}));
}

TEST(WatchWireTest, ARequestRoundTripsAndGarbageIsRejected) {
  auto r = DecodeWatchRequest(EncodeWatchRequest({7, 9, {std::string(32, 'f'), 3}, 4026531841}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dev, 7u);
  EXPECT_EQ(r->ino, 9u);
  EXPECT_EQ(r->since, (WatchToken{std::string(32, 'f'), 3}));
  EXPECT_EQ(r->mnt_ns, 4026531841u);
  EXPECT_FALSE(DecodeWatchRequest("GET / HTTP/1.0\n\n\n\n\n"));
}

TEST(MountsBeneathTest, TakesTheMountPointsAtOrBeneathTheRootWithTheirEscapesUndone) {
  const std::string table =
      "22 1 8:1 / / rw - ext4 /dev/vda rw\n"
      "30 22 0:5 / /srv/golden rw - ext4 /dev/vdb rw\n"
      "31 30 0:6 / /srv/golden/a\\040b rw - tmpfs none rw\n"
      "32 22 0:7 / /srv/golden-other rw - tmpfs none rw\n"
      "33 31 0:8 / /srv/golden/a\\040b/c\\134d rw - tmpfs none rw\n"
      "34 22 0:9 / /srv/gold rw - tmpfs none rw\n";
  EXPECT_EQ(MountsBeneath(table, "/srv/golden"),
            (Dirs{"/srv/golden", "/srv/golden/a b", "/srv/golden/a b/c\\d"}));
  EXPECT_EQ(MountsBeneath(table, "/srv/golden/a b/c\\d"), Dirs{"/srv/golden/a b/c\\d"});
  EXPECT_EQ(MountsBeneath(table, "/tmp"), Dirs{});
  EXPECT_EQ(MountsBeneath(table, "/").size(), 6u) << "every mount point is beneath /";
  EXPECT_EQ(MountsBeneath("garbage\n\n", "/"), Dirs{});
}

TEST(UnwatchableFilesystemTest, NetworkAndUserSpaceFilesystemsAreNamedOthersAreNot) {
  EXPECT_EQ(UnwatchableFilesystem(0x6969), "NFS");
  EXPECT_EQ(UnwatchableFilesystem(0xFF534D42), "CIFS");
  EXPECT_EQ(UnwatchableFilesystem(0xFE534D42), "SMB2");
  EXPECT_EQ(UnwatchableFilesystem(0x65735546), "FUSE");
  EXPECT_EQ(UnwatchableFilesystem(0x00C36400), "Ceph");
  EXPECT_EQ(UnwatchableFilesystem(0x01021997), "9P");
  EXPECT_EQ(UnwatchableFilesystem(0x5346414F), "AFS");
  EXPECT_FALSE(UnwatchableFilesystem(0xEF53));      // ext4
  EXPECT_FALSE(UnwatchableFilesystem(0x58465342));  // xfs
  EXPECT_FALSE(UnwatchableFilesystem(0x01021994));  // tmpfs
  EXPECT_FALSE(UnwatchableFilesystem(0x794C7630));  // overlayfs
}

TEST(AskWatcherTest, NoSocketMeansNoAnswer) {
  EXPECT_FALSE(AskWatcher("/nonexistent-cache-dir", "/some/root", 1, 2, {}));
}

}  // namespace
}  // namespace cairn::indexer
