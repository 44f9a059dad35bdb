// The descriptors a directory checkout reaches its target through (indexer/dir_fds.h): removal
// of what --force replaces, and the cursor that opens the directories of hard links.
#include "indexer/dir_fds.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {
namespace {

class DirFdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-dirfds-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    fd_ = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    std::string cmd = "chmod -R u+rwx " + dir_ + " 2>/dev/null; rm -rf " + dir_;
    (void)std::system(cmd.c_str());
  }
  // MakeDeepTree beneath root_/at, numbered.
  void MakeChain(const std::string& at, int levels) {
    testing::MakeDeepTree(root_ + "/" + at, levels, /*root_exists=*/true, /*numbered=*/true);
  }
  // Lowers the descriptors this process may open to `n` until the test ends.
  void LimitDescriptors(rlim_t n) {
    struct rlimit was;
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &was), 0);
    struct rlimit few = was;
    few.rlim_cur = n;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &few), 0);
    restore_ = was;
  }
  void RestoreDescriptors() {
    if (restore_.rlim_max != 0) ::setrlimit(RLIMIT_NOFILE, &restore_);
  }
  // RemoveBeneath(`name`, `shown`) in root_ bound read-only over itself (unmounted after).
  Status RemoveBeneathReadOnly(const std::string& name, const std::string& shown) {
    if (std::system(("mount --bind " + root_ + " " + root_ + " && mount -o remount,ro,bind " +
                     root_ + " " + root_)
                        .c_str()) != 0) {
      return Status::Internal("could not bind " + root_ + " read-only");
    }
    testing::MountGuard guard{root_};
    const int ro = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ro < 0) return Status::Internal("could not open " + root_);
    Status s = RemoveBeneath(ro, name, shown);
    ::close(ro);
    return s;
  }
  std::string dir_, root_;
  int fd_ = -1;
  struct rlimit restore_ {};
};

TEST_F(DirFdsTest, RemoveBeneathRemovesEachKindOfEntryAndNothingWhenThereIsNone) {
  std::ofstream(root_ + "/file") << "x";
  ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir((root_ + "/tree").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root_ + "/tree/sub").c_str(), 0755), 0);
  std::ofstream(root_ + "/tree/sub/g") << "y";
  ASSERT_EQ(::symlink("../..", (root_ + "/tree/sub/up").c_str()), 0);
  for (const char* name : {"file", "fifo", "tree", "absent"}) {
    ASSERT_TRUE(RemoveBeneath(fd_, name, root_ + "/" + name).ok()) << name;
    struct stat st;
    EXPECT_NE(::lstat((root_ + "/" + name).c_str(), &st), 0) << name;
  }
  EXPECT_TRUE(std::filesystem::is_empty(root_));
}

// A symbolic link is removed as a link, whether it names a directory or a file outside, and
// whether it is the entry removed or one beneath it: nothing it names is touched.
TEST_F(DirFdsTest, RemoveBeneathNeverFollowsASymbolicLink) {
  const std::string outside = dir_ + "/outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  std::ofstream(outside + "/keep") << "kept";
  ASSERT_EQ(::symlink(outside.c_str(), (root_ + "/link").c_str()), 0);
  ASSERT_EQ(::mkdir((root_ + "/tree").c_str(), 0755), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (root_ + "/tree/link").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/keep").c_str(), (root_ + "/tree/file-link").c_str()), 0);
  ASSERT_TRUE(RemoveBeneath(fd_, "link", root_ + "/link").ok());
  ASSERT_TRUE(RemoveBeneath(fd_, "tree", root_ + "/tree").ok());
  EXPECT_TRUE(std::filesystem::is_empty(root_));
  std::ifstream in(outside + "/keep");
  std::string kept;
  in >> kept;
  EXPECT_EQ(kept, "kept");
}

// Deeper than the descriptors it may open, and than a checkin takes (what a target holds may be
// any depth): a level between those held is opened again by name when the walk comes back up
// to it; 65 descriptors and one per 64 levels beneath (143 here).
TEST_F(DirFdsTest, RemoveBeneathEmptiesATreeDeeperThanTheDescriptorsItMayOpen) {
  ASSERT_EQ(::mkdir((root_ + "/deep").c_str(), 0755), 0);
  ASSERT_NO_FATAL_FAILURE(MakeChain("deep", 5000));
  ASSERT_NO_FATAL_FAILURE(LimitDescriptors(200));
  Status s = RemoveBeneath(fd_, "deep", root_ + "/deep");
  RestoreDescriptors();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(std::filesystem::is_empty(root_));
}

TEST_F(DirFdsTest, RemoveBeneathEmptiesTheUsersReadOnlyDirectories) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody";
  for (const char* d : {"t", "t/a", "t/a/b", "t/c"}) {
    ASSERT_EQ(::mkdir((root_ + "/" + d).c_str(), 0755), 0);
    std::ofstream(root_ + "/" + d + "/f") << "x";
  }
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(std::system(("chown -R 65534:65534 " + root_).c_str()), 0);
  ASSERT_EQ(::chmod((root_ + "/t/a/b").c_str(), 0000), 0);
  ASSERT_EQ(::chmod((root_ + "/t/a").c_str(), 0444), 0);
  ASSERT_EQ(::chmod((root_ + "/t/c").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((root_ + "/t").c_str(), 0555), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(2);
    Status s = RemoveBeneath(fd_, "t", root_ + "/t");
    if (!s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
    _exit(s.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(std::filesystem::is_empty(root_));
}

// What is mounted beneath the target is not the target's: a mount point is refused, named, and
// nothing of what is mounted there is removed or given another mode. A reviewer bound a 0555
// directory from outside the target into it: the first RemoveBeneath emptied it and, as root,
// made it 0755 (std::filesystem::remove_all emptied it too).
TEST_F(DirFdsTest, RemoveBeneathStopsAtAMountPoint) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to bind-mount";
  const std::string outside = dir_ + "/outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((outside + "/sub").c_str(), 0755), 0);
  std::ofstream(outside + "/sub/q") << "q";
  ASSERT_EQ(::chmod((outside + "/sub").c_str(), 0555), 0);
  ASSERT_EQ(::chmod(outside.c_str(), 0555), 0);
  ASSERT_EQ(::mkdir((root_ + "/t").c_str(), 0755), 0);
  std::ofstream(root_ + "/t/a") << "a";
  ASSERT_EQ(::mkdir((root_ + "/t/mnt").c_str(), 0755), 0);
  ASSERT_EQ(std::system(("mount --bind " + outside + " " + root_ + "/t/mnt").c_str()), 0);
  testing::MountGuard guard{root_ + "/t/mnt"};
  Status s = RemoveBeneath(fd_, "t", "shown/t");
  ASSERT_EQ(std::system(("umount " + root_ + "/t/mnt").c_str()), 0);
  guard.mounted = false;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "remove shown/t/mnt: a mount point (what is mounted beneath the target is not "
            "removed: unmount it first)");
  struct stat st;
  ASSERT_EQ(::stat(outside.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  ASSERT_EQ(::stat((outside + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  EXPECT_EQ(::stat((outside + "/sub/q").c_str(), &st), 0);
}

// An entry that cannot be removed is named by its path beneath the name the caller gave (here
// the target is a read-only mount).
TEST_F(DirFdsTest, RemoveBeneathNamesWhatItCouldNotRemove) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  ASSERT_EQ(::mkdir((root_ + "/t").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root_ + "/t/sub").c_str(), 0755), 0);
  std::ofstream(root_ + "/t/sub/f") << "x";
  Status s = RemoveBeneathReadOnly("t", "shown/t");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "remove shown/t/sub/f: Read-only file system") << s.ToString();
}

// A directory that cannot be removed is named by its whole path (a reviewer found the
// directory's own name left out, "remove shown/t/a/b/", at depth 2 and below): empty
// directories on a read-only mount.
TEST_F(DirFdsTest, RemoveBeneathNamesADirectoryItCouldNotRemove) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  ASSERT_EQ(std::system(("mkdir -p " + root_ + "/t/a/b/c").c_str()), 0);
  Status s = RemoveBeneathReadOnly("t", "shown/t");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "remove shown/t/a/b/c: Read-only file system");
}

// The cursor reaches each directory of a chain deeper than the descriptors it may open, in tree
// order, in reverse, and jumping between two chains; each descriptor is the directory named
// (the file named after its level is there).
TEST_F(DirFdsTest, DirCursorOpensDirectoriesDeeperThanTheDescriptorsItMayOpen) {
  constexpr int kLevels = 600;
  for (const char* chain : {"a", "b"}) {
    ASSERT_EQ(::mkdir((root_ + "/" + chain).c_str(), 0755), 0);
    ASSERT_NO_FATAL_FAILURE(MakeChain(chain, kLevels));
  }
  auto path = [](const std::string& chain, int level) {
    std::string p = chain;
    for (int i = 0; i < level; ++i) p += "/d";
    return p;
  };
  auto opens_level = [&](DirCursor& cursor, const std::string& chain, int level) {
    Result<SharedFd> fd = cursor.Open(path(chain, level));
    if (!fd) return ::testing::AssertionFailure() << fd.error().ToString();
    struct stat st;
    const std::string marker = std::to_string(level);
    if (::fstatat((*fd)->fd, marker.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ::testing::AssertionFailure() << chain << " level " << level << ": no " << marker;
    }
    return ::testing::AssertionSuccess();
  };
  ASSERT_NO_FATAL_FAILURE(LimitDescriptors(100));
  DirCursor cursor(fd_, root_);
  for (int level = 0; level < kLevels; ++level) EXPECT_TRUE(opens_level(cursor, "a", level));
  for (int level = kLevels - 1; level >= 0; --level) EXPECT_TRUE(opens_level(cursor, "b", level));
  for (int level : {599, 3, 130, 129, 128, 127, 64, 65, 63, 0, 500, 501, 300}) {
    EXPECT_TRUE(opens_level(cursor, level % 2 ? "a" : "b", level));
    EXPECT_TRUE(opens_level(cursor, level % 2 ? "b" : "a", level));
  }
  Result<SharedFd> root = cursor.Open("");
  RestoreDescriptors();
  ASSERT_TRUE(root.has_value());
  struct stat a, b;
  ASSERT_EQ(::fstat((*root)->fd, &a), 0);
  ASSERT_EQ(::fstat(fd_, &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

// A symbolic link on the way is not followed, and the error names the path to it; the cursor
// goes on from where it was.
TEST_F(DirFdsTest, DirCursorNeverFollowsASymbolicLink) {
  ASSERT_EQ(::mkdir((root_ + "/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root_ + "/a/b").c_str(), 0755), 0);
  ASSERT_EQ(::symlink(dir_.c_str(), (root_ + "/a/out").c_str()), 0);
  DirCursor cursor(fd_, "T");
  ASSERT_TRUE(cursor.Open("a/b").has_value());
  Result<SharedFd> out = cursor.Open("a/out/root");
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message(), "open directory T/a/out: Not a directory");
  ASSERT_TRUE(cursor.Open("a/b").has_value());
  Result<SharedFd> missing = cursor.Open("a/none");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message(), "open directory T/a/none: No such file or directory");
  EXPECT_TRUE(cursor.Open("a").has_value());
}

}  // namespace
}  // namespace cairn::indexer
