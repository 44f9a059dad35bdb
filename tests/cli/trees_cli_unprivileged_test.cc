// The `cairn` command line on directory trees run as another user than root: checkout without
// CAP_MKNOD or ownership, and checkin of files it cannot read (--skip-unreadable).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/cli/cli_runner.h"
#include "tests/cli/trees_cli_fixture.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::testing {
namespace {

using indexer::testing::BuildTree;
using indexer::testing::Diff;
using indexer::testing::Listing;

// Checkout as a user other than root (the test runs as root and checks in as root).
class NonRootCheckoutTest : public TreesCliTest {
 protected:
  void SetUp() override {
    TreesCliTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody";
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
    outs_ = dir_ + "/outs";
    ASSERT_EQ(::mkdir(outs_.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(outs_.c_str(), 0777), 0);
  }
  // Checks src_ in as `image` (as root), then makes the repository nobody's.
  void CheckinAsRoot(const std::string& image) {
    CheckinSrc(image);
    ASSERT_EQ(indexer::testing::Shell("chown -R 65534:65534 " + repo_ + " " + src_), 0);
  }
  RunResult CheckoutAsNobody(const std::string& image, const std::string& target) {
    return RunAs(User{65534, 65534, {}}, {"checkout", "--repo", repo_, image, target});
  }
  std::string outs_;
};

// A read-only directory (0555, as Go's module cache) holding a second name of a file: the
// directory gets its mode only after the link is made in it.
TEST_F(NonRootCheckoutTest, AReadOnlyDirectoryGetsItsHardLinks) {
  ASSERT_EQ(::mkdir((src_ + "/ro").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src_ + "/ro/deeper").c_str(), 0755), 0);
  MakeFile("src/ro/a", "data\n");
  ASSERT_EQ(::link((src_ + "/ro/a").c_str(), (src_ + "/ro/b").c_str()), 0);
  ASSERT_EQ(::link((src_ + "/ro/a").c_str(), (src_ + "/ro/deeper/c").c_str()), 0);
  ASSERT_EQ(::chmod((src_ + "/ro/deeper").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((src_ + "/ro").c_str(), 0555), 0);
  CheckinAsRoot("ro");
  RunResult r = CheckoutAsNobody("ro", outs_ + "/o");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::stat((outs_ + "/o/ro/deeper/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 3u);
  // As the source, but for the owner (nobody's checkout keeps its own).
  EXPECT_EQ(Diff(Listing(outs_ + "/o"), Listing(src_)), "");
}

// A read-only file or directory with a user.* xattr: setting the xattr needs write permission,
// so it goes on before the entry gets its mode. nobody's checkout failed ("set xattr
// user.origin on ...: Permission denied", exit 6).
TEST_F(NonRootCheckoutTest, ReadOnlyEntriesKeepTheirUserXattrs) {
  ASSERT_EQ(::mkdir((src_ + "/ro").c_str(), 0755), 0);
  MakeFile("src/ro/f", "data\n");
  for (const char* path : {"/ro/f", "/ro"}) {
    const std::string p = src_ + path;
    ASSERT_EQ(::setxattr(p.c_str(), "user.origin", "mirror", 6, 0), 0) << p;
  }
  ASSERT_EQ(::chmod((src_ + "/ro/f").c_str(), 0444), 0);
  ASSERT_EQ(::chmod((src_ + "/ro").c_str(), 0555), 0);
  CheckinAsRoot("ro");
  RunResult r = CheckoutAsNobody("ro", outs_ + "/o");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Diff(Listing(outs_ + "/o"), Listing(src_)), "");
}

// A device node needs CAP_MKNOD: nobody's checkout leaves each out, naming it, and writes the
// rest, as it does without owners.
TEST_F(NonRootCheckoutTest, DeviceNodesAreLeftOutWithAWarning) {
  ASSERT_EQ(
      indexer::testing::Shell("mkdir " + src_ + "/dev " + src_ + "/etc && mknod " + src_ +
                              "/dev/console c 5 1 && mknod " + src_ + "/dev/sda b 8 0 && mkfifo " +
                              src_ + "/dev/fifo && echo x > " + src_ + "/etc/zz"),
      0);
  CheckinAsRoot("dev");
  RunResult r = CheckoutAsNobody("dev", outs_ + "/o");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cairn: warning: left out dev/console: a device node, which only root may "
                       "create\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("left out dev/sda: "), std::string::npos) << r.err;
  auto want = Listing(src_);
  want.entries.erase("dev/console");
  want.entries.erase("dev/sda");
  auto got = Listing(outs_ + "/o");
  EXPECT_EQ(Diff(got, want), "") << "all but the devices, with their metadata";
  RunResult root = RunRepo("checkout", {"dev", dir_ + "/as-root"});
  ASSERT_EQ(root.exit_code, 0) << root.err;
  EXPECT_EQ(root.err.find("warning"), std::string::npos) << root.err;
}

// Only root may set a trusted.* or security.* xattr (a file capability, as Debian's ping has):
// nobody's checkout leaves each out, naming it, and writes the file without it; it failed
// ("set xattr security.capability on ...: Operation not permitted", exit 6) and left the target
// half written.
TEST_F(NonRootCheckoutTest, XattrsOnlyRootMaySetAreLeftOutWithAWarning) {
  ASSERT_EQ(::mkdir((src_ + "/bin").c_str(), 0755), 0);
  MakeFile("src/bin/ping", "an executable\n");
  MakeFile("src/bin/other", "with a user xattr\n");
  // VFS_CAP_REVISION_2 with the effective flag, cap_net_raw (13) permitted.
  const unsigned char cap[20] = {0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0,
                                 0,    0, 0, 0,    0, 0,    0, 0, 0, 0};
  const std::string ping = src_ + "/bin/ping", other = src_ + "/bin/other";
  ASSERT_EQ(::setxattr(ping.c_str(), "security.capability", cap, sizeof cap, 0), 0) << errno;
  ASSERT_EQ(::setxattr(ping.c_str(), "trusted.origin", "build", 5, 0), 0) << errno;
  ASSERT_EQ(::setxattr(other.c_str(), "user.origin", "build", 5, 0), 0) << errno;
  CheckinAsRoot("caps");
  RunResult r = CheckoutAsNobody("caps", outs_ + "/o");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cairn: warning: left out xattr security.capability of bin/ping: a file "
                       "capability, which only root may set\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("left out xattr trusted.origin of bin/ping: "), std::string::npos) << r.err;
  auto want = Listing(src_);
  want.entries.at("bin/ping").xattrs.clear();
  EXPECT_EQ(Diff(Listing(outs_ + "/o"), want), "") << "all but those xattrs";
}

// An empty target its user cannot list (0300) is named as such, exit 6: it was called "not
// empty (use --force to write into it)", exit 2, which --force could not help.
TEST_F(NonRootCheckoutTest, ATargetThatCannotBeListedIsNamedSo) {
  MakeFile("src/f", "data\n");
  CheckinAsRoot("img");
  const std::string target = outs_ + "/t";
  ASSERT_EQ(::mkdir(target.c_str(), 0300), 0);
  ASSERT_EQ(::chown(target.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(target.c_str(), 0300), 0);
  RunResult r = CheckoutAsNobody("img", target);
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("list " + target + ": Permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not empty"), std::string::npos) << r.err;
}

// Deeper than the 64 levels a checkout keeps open, a level is opened again by name once its
// subdirectory is written; as nobody, over its own earlier checkout (--force), with directories
// that have no search permission at levels 10 and 80 (an empty one, and one holding a file)
// and a read-only root, it works as near the top. A first version of the reopen went through
// ".." from the subdirectory, which needs search permission on it: the empty 0644 directory at
// level 80 failed the second checkout ("Permission denied"); and before, --force could not
// write into the read-only directories an earlier checkout left (the root, r/).
TEST_F(NonRootCheckoutTest, ADeepTreeWithClosedDirectoriesChecksOutAgainOverItself) {
  std::string level = src_;
  for (int i = 1; i <= 100; ++i) {
    level += "/d";
    ASSERT_EQ(::mkdir(level.c_str(), 0755), 0);
    if (i == 10 || i == 80) {
      ASSERT_EQ(::mkdir((level + "/e").c_str(), 0644), 0);
      ASSERT_EQ(::mkdir((level + "/r").c_str(), 0755), 0);
      std::ofstream(level + "/r/f") << "data\n";
      ASSERT_EQ(::chmod((level + "/r").c_str(), 0444), 0);
    }
  }
  ASSERT_EQ(::chmod(src_.c_str(), 0555), 0);
  CheckinAsRoot("deep");
  const std::string target = outs_ + "/t";
  for (bool force : {false, true}) {
    std::vector<std::string> args = {"checkout", "--repo", repo_, "deep", target};
    if (force) args.push_back("--force");
    RunResult r = RunAs(User{65534, 65534, {}}, args);
    ASSERT_EQ(r.exit_code, 0) << (force ? "over itself: " : "") << r.err;
    struct stat root;
    ASSERT_EQ(::stat(target.c_str(), &root), 0);
    EXPECT_EQ(root.st_mode & 07777, 0555u);
    std::string at = target;
    for (int i = 1; i <= 80; ++i) at += "/d";
    struct stat st;
    ASSERT_EQ(::stat((at + "/e").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    ASSERT_EQ(::stat((at + "/r").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0444u);
  }
}

// --force replaces a directory of an earlier checkout by the version's file, as nobody, when
// that directory holds directories its owner may not write into or even list (0555, 0444,
// 0000, as a checkout of Go's module cache leaves): each of the user's own is made writable
// through a descriptor of it before it is emptied. std::filesystem::remove_all failed on the
// first ("Permission denied").
TEST_F(NonRootCheckoutTest, ForceReplacesAnEarlierCheckoutsReadOnlyDirectoriesByAFile) {
  ASSERT_EQ(::mkdir((src_ + "/x").c_str(), 0755), 0);
  for (const char* d : {"ro", "r", "closed"}) {
    ASSERT_EQ(::mkdir((src_ + "/x/" + d).c_str(), 0755), 0);
    MakeFile("src/x/" + std::string(d) + "/f", "data\n");
    ASSERT_EQ(::mkdir((src_ + "/x/" + d + "/sub").c_str(), 0755), 0);
    MakeFile("src/x/" + std::string(d) + "/sub/g", "more\n");
  }
  ASSERT_EQ(::chmod((src_ + "/x/ro/sub").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((src_ + "/x/ro").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((src_ + "/x/r").c_str(), 0444), 0);
  ASSERT_EQ(::chmod((src_ + "/x/closed").c_str(), 0000), 0);
  ASSERT_EQ(::chmod((src_ + "/x").c_str(), 0555), 0);
  CheckinAsRoot("dirs");
  ASSERT_EQ(indexer::testing::Shell("rm -rf " + src_ + " && mkdir " + src_ + " && echo file > " +
                                    src_ + "/x"),
            0);
  CheckinAsRoot("file");
  const std::string target = outs_ + "/t";
  RunResult r = CheckoutAsNobody("dirs", target);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::stat((target + "/x/closed").c_str(), &st), 0);
  ASSERT_EQ(st.st_mode & 07777, 0000u);
  r = RunAs(User{65534, 65534, {}}, {"checkout", "--repo", repo_, "file", target, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(target + "/x"), "file\n");
}

// A user's own empty read-only directory is a target as any empty directory is: the checkout
// makes it writable to its owner, as --force does an earlier checkout's, and gives it the
// version's root mode at the end. It failed without --force ("create .../a: Permission
// denied", exit 6) and worked with it.
TEST_F(NonRootCheckoutTest, AnEmptyReadOnlyTargetOfTheUsersOwnIsWrittenInto) {
  MakeFile("src/a", "a\n");
  ASSERT_EQ(::chmod(src_.c_str(), 0750), 0);
  CheckinAsRoot("web");
  const std::string target = outs_ + "/t";
  ASSERT_EQ(::mkdir(target.c_str(), 0555), 0);
  ASSERT_EQ(::chmod(target.c_str(), 0555), 0);
  ASSERT_EQ(::chown(target.c_str(), 65534, 65534), 0);
  RunResult r = CheckoutAsNobody("web", target);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(target + "/a"), "a\n");
  struct stat st;
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

// As root every file is readable, so the checkin runs as nobody (CliTest::RunAs): a file only
// root may read is unreadable.
class UnprivilegedCliTest : public TreesCliTest {
 protected:
  void SetUp() override {
    TreesCliTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody";
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    ASSERT_EQ(indexer::testing::Shell("chown -R 65534:65534 " + repo_), 0);
    ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
    MakeFile("src/public", "everyone\n");
    MakeFile("src/secret", "root only\n");
    ASSERT_EQ(::chmod((src_ + "/secret").c_str(), 0600), 0);
    ASSERT_EQ(::mkdir((src_ + "/d").c_str(), 0755), 0);
    // Three names: the walk meets d/secret-link first.
    ASSERT_EQ(::link((src_ + "/secret").c_str(), (src_ + "/d/secret-link").c_str()), 0);
    ASSERT_EQ(::link((src_ + "/secret").c_str(), (src_ + "/d/secret-link2").c_str()), 0);
    MakeFile("src/d/also-public", "yes\n");
    ::chmod((src_ + "/d/also-public").c_str(), 0644);
    ::chmod((src_ + "/public").c_str(), 0644);
  }
  // Runs `cairn args...` as uid/gid 65534.
  RunResult RunAsNobody(const std::vector<std::string>& args) {
    return RunAs(User{65534, 65534, {}}, args);
  }
  // Removes the secret file's three names: what a test makes unreadable is its directories.
  void OnlyDirectoriesUnreadable() {
    for (const char* name : {"/secret", "/d/secret-link", "/d/secret-link2"}) {
      ASSERT_EQ(::unlink((src_ + name).c_str()), 0) << name;
    }
  }
  // A stat cache directory nobody may write, made once the tree is: its ctimes are then past
  // RacyCtime's doubt.
  std::string NobodysCache() {
    const std::string cache = dir_ + "/cache";
    EXPECT_EQ(::mkdir(cache.c_str(), 0755), 0);
    EXPECT_EQ(::chown(cache.c_str(), 65534, 65534), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return cache;
  }
};

TEST_F(UnprivilegedCliTest, UnreadableFileFailsTheCheckinAndRecordsNothing) {
  auto before = Contents();
  RunResult r = RunAsNobody({"checkin", "--repo", repo_, src_, "--image", "web"});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  EXPECT_NE(r.err.find("secret"), std::string::npos) << r.err;
  EXPECT_EQ(Contents(), before);
}

TEST_F(UnprivilegedCliTest, SkipUnreadableLeavesOutEveryNameOfTheFile) {
  RunResult r =
      RunAsNobody({"checkin", "--repo", repo_, src_, "--image", "web", "--skip-unreadable"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("skipped unreadable secret"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped unreadable d/secret-link\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped unreadable d/secret-link2\n"), std::string::npos) << r.err;
  // nobody cannot write HOME (root's 0755 directory): the version stands, and says so.
  EXPECT_NE(r.err.find("warning: stat cache not saved"), std::string::npos) << r.err;
  auto json = Json(RunRepo("ls", {"--json", "-R", "web"}));
  EXPECT_EQ(json.size(), 3u) << json.dump();  // d, d/also-public, public
  RunResult co = RunRepo("checkout", {"web", dir_ + "/dst"});
  ASSERT_EQ(co.exit_code, 0) << co.err;
  auto want = Listing(src_);
  want.entries.erase("secret");
  want.entries.erase("d/secret-link");
  want.entries.erase("d/secret-link2");
  auto got = Listing(dir_ + "/dst");
  EXPECT_EQ(Diff(got, want), "");
}

// A directory its user cannot list, and the entries of one it cannot search, are left out and
// named by --skip-unreadable as unreadable files are; without it the checkin fails. The
// directories that left them out are looked at again by the next incremental checkin, which
// takes them in once its user may, though nothing in the tree changed.
TEST_F(UnprivilegedCliTest, SkipUnreadableLeavesOutDirectoriesItCannotList) {
  const gid_t kReaders = 47114;
  ASSERT_EQ(::mkdir((src_ + "/d/locked").c_str(), 0750), 0);  // in a directory left as it is
  MakeFile("src/d/locked/inside", "group only\n");
  ASSERT_EQ(::chmod((src_ + "/d/locked/inside").c_str(), 0644), 0);
  ASSERT_EQ(::mkdir((src_ + "/nosearch").c_str(), 0754), 0);  // others list it, cannot stat in it
  MakeFile("src/nosearch/entry", "hidden\n");
  ASSERT_EQ(::chmod((src_ + "/nosearch/entry").c_str(), 0644), 0);
  for (const char* dir : {"/d/locked", "/nosearch"}) {
    ASSERT_EQ(::chown((src_ + dir).c_str(), 0, kReaders), 0);
  }
  ASSERT_NO_FATAL_FAILURE(OnlyDirectoriesUnreadable());
  const std::string cache = NobodysCache();
  auto before = Contents();
  RunResult fail = RunAsNobody({"checkin", "--repo", repo_, src_, "--image", "web"});
  EXPECT_EQ(fail.exit_code, 6) << fail.err;
  EXPECT_EQ(Contents(), before);
  const User nobody{65534, 65534, {}}, reader{65534, 65534, {kReaders}};
  nlohmann::json one = CheckinAs(nobody, src_, cache, {"--image", "web", "--skip-unreadable"});
  EXPECT_EQ(one["skipped"], nlohmann::json({"d/locked", "nosearch/entry"})) << one.dump();
  std::set<std::string> paths;
  for (const auto& e : Json(RunRepo("ls", {"--json", "-R", "web"}))) paths.insert(e["path"]);
  EXPECT_EQ(paths, (std::set<std::string>{"d", "d/also-public", "nosearch", "public"}));
  nlohmann::json two =
      CheckinAs(reader, src_, cache, {"--image", "web", "-p", "web:1", "--skip-unreadable"});
  nlohmann::json whole = CheckinAs(reader, src_, cache, {"--image", "whole"});
  EXPECT_EQ(two["skipped"].size(), 0u) << two.dump();
  EXPECT_EQ(two["root"], whole["root"]) << two.dump() << whole.dump();
}

// An incremental checkin lists again a directory whose every entry was left out as unreadable
// (its stat cache record holds no entry, as an empty directory's would), so it skips the same
// names, and reads them once its user may, though nothing in the tree changed.
TEST_F(UnprivilegedCliTest, AnIncrementalCheckinTriesTheSkippedNamesAgain) {
  const gid_t kReaders = 47113;
  ASSERT_EQ(::mkdir((src_ + "/only").c_str(), 0755), 0);
  ASSERT_EQ(::link((src_ + "/secret").c_str(), (src_ + "/only/secret-link3").c_str()), 0);
  ASSERT_EQ(::chown((src_ + "/secret").c_str(), 0, kReaders), 0);
  ASSERT_EQ(::chmod((src_ + "/secret").c_str(), 0640), 0);
  const std::string cache = dir_ + "/cache";
  ASSERT_EQ(::mkdir(cache.c_str(), 0755), 0);
  ASSERT_EQ(::chown(cache.c_str(), 65534, 65534), 0);
  // The tree's ctimes out of the stat cache's doubt (RacyCtime).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto checkin = [&](const User& who, std::vector<std::string> more) {
    more.push_back("--skip-unreadable");
    return CheckinAs(who, src_, cache, more);
  };
  const User nobody{65534, 65534, {}}, reader{65534, 65534, {kReaders}};
  const nlohmann::json skipped = {"d/secret-link", "d/secret-link2", "only/secret-link3", "secret"};
  nlohmann::json one = checkin(nobody, {"--image", "web"});
  EXPECT_EQ(one["skipped"], skipped) << one.dump();
  EXPECT_EQ(one["warnings"].size(), 0u) << one.dump();
  nlohmann::json two = checkin(nobody, {"--image", "web", "-p", "web:1"});
  EXPECT_EQ(two["skipped"], skipped) << two.dump();
  EXPECT_EQ(two["root"], one["root"]);
  EXPECT_EQ(two["files_cached"], 2u) << "public and d/also-public" << two.dump();
  nlohmann::json three = checkin(reader, {"--image", "web", "-p", "web:2"});
  nlohmann::json whole = checkin(reader, {"--image", "whole"});
  EXPECT_EQ(three["skipped"].size(), 0u) << three.dump();
  EXPECT_EQ(three["files"], 6u) << three.dump();
  EXPECT_EQ(three["root"], whole["root"]) << three.dump() << whole.dump();
}

}  // namespace
// A stat cache holds for who made it: whether a name can be looked up or listed depends on
// the user, its groups and capabilities, and nothing on disk changes when those do. A user
// who could list a directory through a group and then left the group got, incrementally with
// --skip-unreadable, the directory recorded as empty (its names looked up from the cache, each
// refused); a full checkin leaves the directory out. Now the cache is another user's and is not
// used: the incremental checkin is the full one.
TEST_F(UnprivilegedCliTest, AnIncrementalCheckinBySomeoneElseSeesWhatAFullOneSees) {
  const gid_t kReaders = 47115;
  ASSERT_EQ(::mkdir((src_ + "/locked").c_str(), 0770), 0);
  MakeFile("src/locked/inside", "group only\n");
  ASSERT_EQ(::chmod((src_ + "/locked/inside").c_str(), 0644), 0);
  ASSERT_EQ(::chown((src_ + "/locked").c_str(), 0, kReaders), 0);
  ASSERT_NO_FATAL_FAILURE(OnlyDirectoriesUnreadable());
  const std::string cache = NobodysCache();
  const User nobody{65534, 65534, {}}, reader{65534, 65534, {kReaders}};
  nlohmann::json one = CheckinAs(reader, src_, cache, {"--image", "web"});
  EXPECT_EQ(one["skipped"].size(), 0u) << one.dump();
  nlohmann::json two =
      CheckinAs(nobody, src_, cache, {"--image", "web", "-p", "web:1", "--skip-unreadable"});
  nlohmann::json whole = CheckinAs(nobody, src_, cache, {"--image", "whole", "--skip-unreadable"});
  EXPECT_EQ(two["skipped"], nlohmann::json({"locked"})) << two.dump();
  EXPECT_EQ(two["root"], whole["root"]) << two.dump() << whole.dump();
  EXPECT_EQ(two["files_cached"], 0u) << two.dump();
  // The same user again takes its own cache.
  nlohmann::json three =
      CheckinAs(nobody, src_, cache, {"--image", "web", "-p", "web:2", "--skip-unreadable"});
  EXPECT_EQ(three["root"], whole["root"]) << three.dump();
  EXPECT_EQ(three["files_cached"], 2u) << "public and d/also-public" << three.dump();
}

}  // namespace cairn::testing
