// The `cairn` command line at the edges of what a checkin or checkout can hold: trees as deep
// as the walk takes, target file systems that keep less than a version holds (times, xattrs,
// inode space), a target file replaced, root without the host's privileges. Split from
// trees_cli_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/cli/cli_runner.h"
#include "tests/cli/trees_cli_fixture.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::testing {
namespace {

using indexer::testing::MakeDeepTree;

// Commands on trees as deep as a checkin takes, under `ulimit -s 1024 && ulimit -n 1024`.
class DeepTreesCliTest : public TreesCliTest {
 protected:
  // Runs `cairn COMMAND --repo ...` under those limits; returns its exit status (its stderr:
  // Err()).
  int Sh(const std::string& command) {
    return indexer::testing::Shell("ulimit -s 1024 && ulimit -n 1024 && " +
                                   std::string(CAIRN_BINARY) + " " + command + " --repo " + repo_ +
                                   " >/dev/null 2>" + dir_ + "/err");
  }
  std::string Err() { return ReadFile(dir_ + "/err"); }
  // The root id of `image`, by `show --json` (paths that pass PATH_MAX cannot be listed).
  std::string Root(const std::string& image) {
    RunResult r = RunRepo("show", {image, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out)["root"].get<std::string>() : "";
  }
};

// A tree as deep as a checkin takes (kMaxDepth, base/rel_path.h) goes in and out, from a
// directory and from a tarball, whatever `ulimit -s` says: the commands run on a stack of their
// own (base/large_stack.h). One deeper is refused by name, exit 9. Before, 4,400 levels
// overflowed the walk's stack (SIGSEGV, no message) and 1,000 did with `ulimit -s 1024`. With
// `ulimit -n 1024` too: the checkout to a directory held one descriptor per level and failed
// (EMFILE) at ~1,000 levels.
TEST_F(DeepTreesCliTest, ATreeAsDeepAsTheLimitGoesInAndOutAndADeeperOneIsRefused) {
  const std::string deep = dir_ + "/deep", deeper = dir_ + "/deeper";
  ASSERT_NO_FATAL_FAILURE(MakeDeepTree(deep, 4097));    // entries 4,096 directories deep
  ASSERT_NO_FATAL_FAILURE(MakeDeepTree(deeper, 4098));  // one more
  ASSERT_EQ(Sh("checkin " + deep + " --image deep"), 0) << Err();
  ASSERT_EQ(Sh("checkout deep " + dir_ + "/out.tar"), 0) << Err();
  ASSERT_EQ(Sh("checkin " + dir_ + "/out.tar --image from-tar"), 0) << Err();
  ASSERT_EQ(Sh("checkout from-tar " + dir_ + "/out"), 0) << Err();
  ASSERT_EQ(Sh("checkin " + dir_ + "/out --image again"), 0) << Err();
  // The paths pass PATH_MAX (a listing by path fails): the round trip is checked by root id.
  EXPECT_EQ(Root("from-tar"), Root("deep"));
  EXPECT_EQ(Root("again"), Root("deep"));
  RunResult show = RunRepo("show", {"deep", "--json"});
  EXPECT_EQ(nlohmann::json::parse(show.out)["files"], 4097) << show.out;
  for (const char* command : {"ls -R deep", "diff deep from-tar", "search --path f", "verify"}) {
    EXPECT_EQ(Sh(command), 0) << command << ": " << Err();
  }

  EXPECT_EQ(Sh("checkin " + deeper + " --image deeper"), 9) << Err();
  EXPECT_NE(Err().find("' is 4097 directories deep (cairn takes 4096)"), std::string::npos)
      << Err();
  ASSERT_EQ(indexer::testing::Shell("tar -C " + deeper + " -cf " + dir_ + "/deeper.tar ."), 0);
  EXPECT_EQ(Sh("checkin " + dir_ + "/deeper.tar --image deeper"), 9) << Err();
  EXPECT_NE(Err().find("' is 4097 directories deep"), std::string::npos) << Err();
  RunResult versions = RunRepo("versions", {"deeper"});
  EXPECT_EQ(versions.exit_code, 3) << "nothing recorded";
}

// A directory of the target moved out of it while a deep checkout writes beneath it: what it
// still had to hold is not written where it went, the checkout fails naming it (exit 3). A
// checkout keeps 64 levels open, then every 64th; a level between is closed while its
// subdirectory is written and opened again by name from the kept one above. The first version
// of that reopened it through ".." from the subdirectory, following it out of the target (with
// an inode check, which a deleted level's inode number reused outside passed); before, every
// level stayed open and was written wherever it went. (The subdirectory being written when the
// level moved went with it, and is written there: it is open.)
TEST_F(TreesCliTest, ALevelMovedOutOfTheTargetDuringADeepCheckoutIsNotWrittenWhereItWent) {
  const std::string deep = dir_ + "/deep", out = dir_ + "/out", away = dir_ + "/away";
  ASSERT_NO_FATAL_FAILURE(MakeDeepTree(deep, 3000));
  RunResult in = RunRepo("checkin", {deep, "--image", "deep"});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  auto levels = [](int n) {
    std::string p;
    for (int i = 0; i < n; ++i) p += "/d";
    return p;
  };
  const std::string err = dir_ + "/checkout.err";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::dup2(fd, 2);
    ::execl(CAIRN_BINARY, "cairn", "checkout", "deep", out.c_str(), "--repo", repo_.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Stopped once it is 1,200 levels down: every level's "f" ("d" sorts first) is still to come.
  const std::string deep_in_out = out + levels(1200);
  struct stat st;
  int status = 0;
  while (::stat(deep_in_out.c_str(), &st) != 0) {
    ASSERT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "the checkout ended before it was stopped";
  }
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  ASSERT_EQ(::rename((out + levels(100)).c_str(), away.c_str()), 0);
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3) << ReadFile(err);
  EXPECT_NE(ReadFile(err).find("open directory " + out + "/d/d/d/"), std::string::npos)
      << ReadFile(err);
  EXPECT_FALSE(Exists(away + "/f")) << "level 100's own file, written after it had moved";
  EXPECT_FALSE(Exists(away + levels(20) + "/f")) << "level 120's";
}

// --force replaces a directory of the target by the version's file however deep the directory
// is: it was removed with one descriptor per level (std::filesystem::remove_all), which failed
// a tree 4,096 deep under `ulimit -n 1024` ("Too many open files").
TEST_F(DeepTreesCliTest, ForceReplacesADirectoryAsDeepAsTheLimitByAFile) {
  const std::string deep = dir_ + "/deep", flat = dir_ + "/flat", out = dir_ + "/out";
  ASSERT_NO_FATAL_FAILURE(MakeDeepTree(deep, 4097));
  ASSERT_EQ(::mkdir(flat.c_str(), 0755), 0);
  std::ofstream(flat + "/d") << "now a file\n";
  std::ofstream(flat + "/f") << "new\n";
  ASSERT_EQ(Sh("checkin " + deep + " --image deep"), 0) << Err();
  ASSERT_EQ(Sh("checkin " + flat + " --image flat"), 0) << Err();
  ASSERT_EQ(Sh("checkout deep " + out), 0) << Err();
  ASSERT_EQ(Sh("checkout flat " + out + " --force"), 0) << Err();
  EXPECT_EQ(ReadFile(out + "/d"), "now a file\n");
  EXPECT_EQ(ReadFile(out + "/f"), "new\n");
  ASSERT_EQ(Sh("checkin " + out + " --image again"), 0) << Err();
  EXPECT_EQ(Root("again"), Root("flat"));
}

// Checkin and checkout open no more files at once than the descriptors they may open allow:
// with 128 files written at once whatever the limit, a checkout of 2,000 files failed under
// `ulimit -n 256` ("create ...: Too many open files", exit 6), as it did corpus v3's; a checkin
// (64 small files read at once by each reader, 512 table files kept by the store) failed under
// `ulimit -n 128` and `64` ("read directory ...: Too many open files", exit 6). All of it now
// runs under 64, and each result is the same as without the limit.
TEST_F(DeepTreesCliTest, CheckinAndCheckoutOpenNoMoreFilesAtOnceThanTheyMay) {
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  for (int d = 0; d < 4; ++d) {
    ASSERT_EQ(::mkdir((src_ + "/d" + std::to_string(d)).c_str(), 0755), 0);
    for (int i = 0; i < 500; ++i) {
      MakeFile("src/d" + std::to_string(d) + "/f" + std::to_string(i), RandomData(20000, i + d));
    }
  }
  MakeFile("src/big", RandomData(3 << 20, 7));  // read alone, beside the batches
  auto limited = [&](const std::string& command) {
    return indexer::testing::Shell("ulimit -n 64 && CAIRN_CACHE_DIR=" + dir_ + "/cache " +
                                   std::string(CAIRN_BINARY) + " " + command + " --repo " + repo_ +
                                   " >/dev/null 2>" + dir_ + "/err");
  };
  ASSERT_EQ(Sh("checkin " + src_ + " --image many"), 0) << Err();
  ASSERT_EQ(limited("checkin " + src_ + " --image limited"), 0) << Err();
  EXPECT_EQ(Root("limited"), Root("many"));
  // An incremental one: a changed file in each directory, read again.
  for (int d = 0; d < 4; ++d) {
    MakeFile("src/d" + std::to_string(d) + "/f7", RandomData(30000, 100 + d));
  }
  ASSERT_EQ(Sh("checkin " + src_ + " --image many"), 0) << Err();
  ASSERT_EQ(limited("checkin " + src_ + " --image limited -p limited:1"), 0) << Err();
  EXPECT_EQ(Root("limited"), Root("many"));
  ASSERT_EQ(limited("checkout limited " + dir_ + "/out"), 0) << Err();
  ASSERT_EQ(Sh("checkin " + dir_ + "/out --image again"), 0) << Err();
  EXPECT_EQ(Root("again"), Root("many"));
}

// A tarball written over a private empty file made for it (`install -m 600 /dev/null out.tar`)
// keeps that file's permissions and owner, as writing into it would: it became a new 0644 file
// A checkout's target given as a symbolic link is refused as one (a checkout never writes
// through a link), whatever it points at and with a trailing slash too (which made the kernel
// follow it: the checkout wrote into the directory it points at): "target exists and is not a
// directory" was said of a link to an empty directory. A disk format for a file tree is refused as
// such with or without
// --size (which said "--size is the size of a disk image, not of a raw of a file tree").
TEST_F(TreesCliTest, ACheckoutNamesWhatIsWrongWithItsTargetAndFormat) {
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  MakeFile("src/a", "a\n");
  CheckinSrc("web");
  ASSERT_EQ(::mkdir((dir_ + "/empty").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("empty", (dir_ + "/to-empty").c_str()), 0);
  ASSERT_EQ(::symlink("nowhere", (dir_ + "/dangling").c_str()), 0);
  for (const char* link : {"to-empty", "dangling", "to-empty/", "to-empty//"}) {
    for (bool force : {false, true}) {
      std::vector<std::string> args = {"web", dir_ + "/" + link};
      if (force) args.push_back("--force");
      RunResult r = RunRepo("checkout", args);
      EXPECT_EQ(r.exit_code, 2) << link << ": " << r.err;
      const std::string named =
          dir_ + "/" + std::string(link).substr(0, std::string(link).find('/'));
      EXPECT_NE(r.err.find(named + ": target is a symbolic link"), std::string::npos) << r.err;
    }
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/empty"));
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--size", "1G"}}) {
    std::vector<std::string> args = {"web", dir_ + "/out.img", "--format", "raw"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = RunRepo("checkout", args);
    EXPECT_EQ(r.exit_code, 9) << r.err;
    EXPECT_NE(r.err.find("the version is a file tree, not a disk"), std::string::npos) << r.err;
  }
  RunResult r = RunRepo("checkout", {"web", dir_ + "/out", "--size", "1G"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--size is the size of a disk image (raw or qcow2), not of a directory"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(Exists(dir_ + "/out.img"));
  EXPECT_FALSE(Exists(dir_ + "/out"));
}

// of root's, and any user could read the image's /etc/shadow from it.
TEST_F(TreesCliTest, ATarballReplacingAFileKeepsItsOwnerAndPermissions) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving an owner needs root (CI runs as root)";
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  MakeFile("src/shadow", "root:secret\n");
  CheckinSrc("img");
  const std::string out = MakeFile("out.tar", "");
  ASSERT_EQ(::chmod(out.c_str(), 0600), 0);
  ASSERT_EQ(::chown(out.c_str(), 65534, 65534), 0);
  RunResult r = RunRepo("checkout", {"img", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
  EXPECT_GT(st.st_size, 0);
}

// On ext4 made with 128-byte inodes (whole-second times, no room for xattrs in the inode): a
// file whose mtime has a fraction of a second fails the checkout naming it (exit 9), as a time
// beyond the file system's range does (it was dropped without a word); a file with more xattrs
// than one block holds fails as not supported (exit 9), not as a full disk (exit 7).
TEST_F(TreesCliTest, ACheckoutOntoAFileSystemThatDropsPartOfAnEntryFailsNamingIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "loop mounts need root (CI runs as root)";
  const std::string img = dir_ + "/coarse.img", mnt = dir_ + "/coarse";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(indexer::testing::Shell("truncate -s 32M " + img + " && mkfs.ext4 -q -F -I 128 " + img +
                                    " >/dev/null 2>&1 && mount -o loop " + img + " " + mnt),
            0);
  indexer::testing::MountGuard unmount{mnt};
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  const std::string f = MakeFile("src/f", "data\n");
  struct timespec ts[2] = {{1700000000, 5}, {1700000000, 5}};
  ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), ts, 0), 0);
  CheckinSrc("fraction");
  RunResult r = RunRepo("checkout", {"fraction", mnt + "/a"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("cannot hold mtime 1700000000.000000005 s (it kept 1700000000.000000000 s)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(tmpfs, btrfs, XFS, ext4 with 256-byte inodes)"), std::string::npos)
      << r.err;
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), ts, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, src_.c_str(), ts, 0), 0);
  CheckinSrc("seconds");
  r = RunRepo("checkout", {"seconds", mnt + "/b"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A time past the file system's range: the advice does not send the user to ext4 with
  // 256-byte inodes, which ends in 2446 (the message recommended it for a time in 2603).
  struct timespec later[2] = {{4102444800, 0}, {4102444800, 0}};  // 2100-01-01
  ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), later, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, src_.c_str(), ts, 0), 0);
  CheckinSrc("later");
  r = RunRepo("checkout", {"later", mnt + "/later"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("cannot hold mtime 4102444800.000000000 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(tmpfs, btrfs, XFS with bigtime; ext4 holds 1901 to 2446 at most)"),
            std::string::npos)
      << r.err;

  // Made on tmpfs, which holds them.
  const std::string xsrc = dir_ + "/xsrc";
  ASSERT_EQ(::mkdir(xsrc.c_str(), 0755), 0);
  ASSERT_EQ(::mount("none", xsrc.c_str(), "tmpfs", 0, "size=1m"), 0) << errno;
  indexer::testing::MountGuard unmount_xsrc{xsrc};
  const std::string x = MakeFile("xsrc/x", "data\n");
  const std::string big(1000, 'x');
  for (int i = 0; i < 6; ++i) {
    const std::string name = "user.n" + std::to_string(i);
    ASSERT_EQ(::setxattr(x.c_str(), name.c_str(), big.data(), big.size(), 0), 0) << errno;
  }
  ASSERT_EQ(RunRepo("checkin", {xsrc, "--image", "xattrs"}).exit_code, 0);
  r = RunRepo("checkout", {"xattrs", mnt + "/c"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("the file system cannot hold this entry's 6 xattrs"), std::string::npos)
      << r.err;

  // Every entry is checked, not the first of the checkout only: --force into a tmpfs target
  // (exact times) holding the coarse file system at z. z and z/f lost their fractions with exit 0.
  const std::string target = dir_ + "/xsrc/t";  // on the tmpfs above
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((target + "/z").c_str(), 0755), 0);
  const std::string img2 = dir_ + "/coarse2.img";
  ASSERT_EQ(
      indexer::testing::Shell("truncate -s 16M " + img2 + " && mkfs.ext4 -q -F -I 128 " + img2 +
                              " >/dev/null 2>&1 && mount -o loop " + img2 + " " + target + "/z"),
      0);
  indexer::testing::MountGuard unmount_z{target + "/z"};
  const std::string two = dir_ + "/two";
  ASSERT_EQ(::mkdir(two.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((two + "/z").c_str(), 0755), 0);
  std::ofstream(two + "/z/f") << "data\n";
  // a: a directory, whose time is set on the walk's thread, before z's (files' times are set
  // by the writing threads, in no set order).
  ASSERT_EQ(::mkdir((two + "/a").c_str(), 0755), 0);
  for (const std::string& p : {two + "/a", two + "/z/f", two + "/z"}) {
    struct timespec t[2] = {{1700000000, 123456789}, {1700000000, 123456789}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), t, 0), 0);
  }
  ASSERT_EQ(RunRepo("checkin", {two, "--image", "two"}).exit_code, 0);
  r = RunRepo("checkout", {"two", target, "--force"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  // z or z/f, whichever gets its time first.
  EXPECT_NE(r.err.find("set times of " + target + "/z"), std::string::npos) << r.err;
}

// A full file system is named so (exit 7), whatever the call that found it: tmpfs out of inode
// space refuses an xattr with ENOSPC, which was taken for ext4's per-inode limit (exit 9).
TEST_F(TreesCliTest, AFileSystemOutOfInodeSpaceIsFull) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting tmpfs needs root (CI runs as root)";
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  const std::string value(2000, 'v');
  for (int i = 0; i < 10; ++i) {
    const std::string f = MakeFile("src/f" + std::to_string(i), "data\n");
    ASSERT_EQ(::setxattr(f.c_str(), "user.big", value.data(), value.size(), 0), 0) << errno;
  }
  CheckinSrc("x");
  const std::string t = dir_ + "/t";
  ASSERT_EQ(::mkdir(t.c_str(), 0755), 0);
  ASSERT_EQ(::mount("none", t.c_str(), "tmpfs", 0, "size=64m,nr_inodes=16"), 0) << errno;
  indexer::testing::MountGuard unmount{t};
  RunResult r = RunRepo("checkout", {"x", t + "/o"});
  EXPECT_EQ(r.exit_code, 7) << r.err;
}

// Root in a user namespace (a rootless container) has no CAP_SYS_ADMIN over the file system:
// a trusted.* xattr is left out with a warning, as for another user; it failed with exit 6.
TEST_F(TreesCliTest, RootInAUserNamespaceLeavesTrustedXattrsOutWithAWarning) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CI runs as root)";
  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  const std::string f = MakeFile("src/f", "data\n");
  ASSERT_EQ(::setxattr(f.c_str(), "trusted.origin", "build", 5, 0), 0) << errno;
  CheckinSrc("t");
  const int rc = indexer::testing::Shell("unshare -U --map-user=0 --map-group=0 " +
                                         std::string(CAIRN_BINARY) + " checkout t " + dir_ +
                                         "/out --repo " + repo_ + " 2>" + dir_ + "/err");
  EXPECT_EQ(rc, 0) << ReadFile(dir_ + "/err");
  EXPECT_NE(ReadFile(dir_ + "/err").find("warning: left out xattr trusted.origin of f"),
            std::string::npos)
      << ReadFile(dir_ + "/err");
}

}  // namespace
}  // namespace cairn::testing
