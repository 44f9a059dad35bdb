// The tree watcher (indexer/watch.h) on real directories: which directories
// each kind of change marks, renames in, out of and inside the tree, mounts,
// old tokens and an overflow of the event queue.
#include "indexer/watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
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
#include <utility>

#include "indexer/dir_scan.h"
#include "indexer/watch_events.h"
#include "indexer/watch_wire.h"
#include "tests/indexer/watch_fixture.h"

namespace cairn::indexer {
namespace {

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

// A file made with O_TMPFILE in one directory and given its one name in another by linkat(2):
// a write through the descriptor is reported in the first directory, as "#INODE", not in the
// second, which a checkin would take unseen. Where the name is cannot be known: the watcher
// vouches for nothing before. A write to a file really named "#12" is a plain change.
TEST_F(WatchTest, AWriteThroughAnOTmpfileDescriptorNamedElsewhereIsNotVouchedFor) {
  Mkdir(P("s1"));
  Mkdir(P("s3"));
  Write(P("s1/#12"));
  StartWatching();
  Write(P("s1/#12"), "a file of that name");
  EXPECT_EQ(Changes(), (Dirs{"s1"}));
  int fd = ::open(P("s1").c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::write(fd, "aaaa", 4), 4);
  ASSERT_EQ(::linkat(fd, "", AT_FDCWD, P("s3/g").c_str(), AT_EMPTY_PATH), 0)
      << std::strerror(errno);
  CannotVouch();  // whatever the write before the link says, the token after it is fresh
  ASSERT_EQ(::pwrite(fd, "bbbb", 4, 0), 4);
  ::close(fd);
  EXPECT_TRUE(CannotVouch());
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

// A file of the tree behind a loop device is written by the kernel, with no inotify event: its
// directory is reported while the device is attached, and detaching it (which closes the file)
// is an event.
TEST_F(WatchTest, TheDirectoryOfAFileBehindALoopDeviceIsReportedWhileAttached) {
  if (::geteuid() != 0) GTEST_SKIP() << "attaching a loop device needs root";
  Mkdir(P("a"));
  Mkdir(P("b"));
  Write(P("a/disk.img"), "");
  ASSERT_EQ(::truncate(P("a/disk.img").c_str(), 1 << 20), 0);
  StartWatching();
  int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  ASSERT_GE(control, 0) << "/dev/loop-control: " << std::strerror(errno);
  const int n = ::ioctl(control, LOOP_CTL_GET_FREE);
  ::close(control);
  ASSERT_GE(n, 0) << "no free loop device: " << std::strerror(errno);
  const std::string dev = "/dev/loop" + std::to_string(n);
  int loop = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(loop, 0) << dev << ": " << std::strerror(errno);
  {
    int file = ::open(P("a/disk.img").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(file, 0);
    ASSERT_EQ(::ioctl(loop, LOOP_SET_FD, file), 0) << dev << ": " << std::strerror(errno);
    ::close(file);  // the device holds the file now
  }
  struct Detach {
    int fd;
    ~Detach() {
      ::ioctl(fd, LOOP_CLR_FD, 0);
      ::close(fd);
    }
  } detach{loop};
  Changes();  // the test's own close of the file it attached
  const std::string block(4096, 'w');
  ASSERT_EQ(::pwrite(loop, block.data(), block.size(), 8192), static_cast<ssize_t>(block.size()));
  ASSERT_EQ(::fsync(loop), 0) << "the kernel has written the file";
  EXPECT_EQ(Changes(), Dirs{"a"}) << "written through " << dev;
  EXPECT_EQ(Changes(), Dirs{"a"}) << "still attached: it may be written at any time";
  ASSERT_EQ(::ioctl(loop, LOOP_CLR_FD, 0), 0) << std::strerror(errno);
  // The kernel releases the file when the last descriptor of the device is closed.
  ::close(std::exchange(detach.fd, -1));
  const std::string attached = "/sys/block/loop" + std::to_string(n) + "/loop/backing_file";
  for (int i = 0; i < 100 && std::filesystem::exists(attached); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Changes(), Dirs{"a"}) << "detached: the file's close";
  EXPECT_EQ(Changes(), Dirs{}) << "nothing since";
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

}  // namespace
}  // namespace cairn::indexer
