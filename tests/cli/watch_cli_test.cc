// `cairn watch DIR`: runs until SIGTERM, then exits 0 and removes its socket; bad input.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "tests/cli/cli_runner.h"

namespace cairn::testing {
namespace {

const User kNobody{65534, 65534, {}};

// Starts `cairn watch TREE` in a child process, after `setup` ran in it (its environment, its
// user; false: the child exits 126), and reads the child's stderr up to its first line into
// `*line`. The child's pid; -1 when it could not be started.
pid_t SpawnWatch(const std::string& tree, const std::function<bool()>& setup, std::string* line) {
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err[1], 2);
    if (!setup()) ::_exit(126);
    ::execl(CAIRN_BINARY, CAIRN_BINARY, "watch", tree.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(err[1]);
  char buf[512];
  while (pid > 0 && line->find('\n') == std::string::npos) {
    ssize_t n = ::read(err[0], buf, sizeof(buf));
    if (n <= 0) break;
    line->append(buf, static_cast<size_t>(n));
  }
  ::close(err[0]);
  return pid;
}

// `cairn watch TREE` as nobody, with its socket in `cache`.
pid_t SpawnWatchAsNobody(const std::string& tree, const std::string& cache, std::string* line) {
  return SpawnWatch(
      tree,
      [&] {
        ::setenv("CAIRN_CACHE_DIR", cache.c_str(), 1);
        return BecomeUser(kNobody);
      },
      line);
}

// Sends SIGTERM to watcher `pid` and expects it to exit 0.
void ExpectStopsCleanly(pid_t pid) {
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(CliTest, WatchRunsUntilSigtermThenExitsZeroAndRemovesItsSocket) {
  std::filesystem::create_directories(dir_ + "/tree/a/b");
  std::string out;
  const pid_t pid = SpawnWatch(
      dir_ + "/tree",
      [&] {
        ::setenv("HOME", dir_.c_str(), 1);
        ::unsetenv("CAIRN_CACHE_DIR");
        ::unsetenv("XDG_CACHE_HOME");
        return true;
      },
      &out);
  ASSERT_GT(pid, 0);
  EXPECT_NE(out.find("watching "), std::string::npos) << out;
  EXPECT_NE(out.find(": 3 directories (socket "), std::string::npos) << out;
  size_t at = out.find("(socket "), end = out.rfind(')');
  ASSERT_NE(at, std::string::npos);
  std::string socket = out.substr(at + 8, end - at - 8);
  EXPECT_EQ(socket.rfind(dir_ + "/.cache/cairn/watch/", 0), 0u) << socket;
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(Exists(socket));
}

// A watcher run by another user (not root) is not believed: with a shared cache directory it
// could bind the socket path and answer that nothing changed (indexer/watch.cc, SO_PEERCRED).
TEST_F(CliTest, AWatcherRunByAnotherUserIsNotBelieved) {
  if (::geteuid() != 0) GTEST_SKIP() << "running the watcher as another user needs root";
  std::filesystem::create_directories(dir_ + "/tree/a");
  MakeFile("tree/a/f", "x");
  const std::string cache = dir_ + "/cache";
  std::filesystem::create_directories(cache);
  // The other user (nobody) reads the tree and makes its socket in the shared cache directory.
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(cache.c_str(), 0777), 0);
  std::string out;
  const pid_t pid = SpawnWatchAsNobody(dir_ + "/tree", cache, &out);
  ASSERT_GT(pid, 0);
  EXPECT_NE(out.find("watching "), std::string::npos) << "the watcher run by nobody: " << out;
  // As root: a checkin asks for a token and gets none from nobody's watcher.
  RunResult r = Run({"checkin", dir_ + "/tree", "--repo", repo_, "--image", "t", "--json"},
                    {{"CAIRN_CACHE_DIR", cache}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"watcher\": \"\""), std::string::npos) << r.out;
  ExpectStopsCleanly(pid);
}

// A file the checkin's user could not read, skipped (--skip-unreadable) with its other name:
// it can become readable with no event in the tree (here the user gains a group), so a watched
// checkin never takes the subtree holding it unseen, and reads it once it can (a user with other
// groups takes nothing from the stat cache of the first).
TEST_F(CliTest, AWatchedCheckinTriesAgainTheSkippedNamesOfAHardLinkedFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "running the checkins as another user needs root";
  const gid_t kReaders = 47113;  // no such group needs to exist
  for (const char* d : {"tree/pub", "tree/other", "tree/sec/d"})
    std::filesystem::create_directories(dir_ + "/" + d);
  MakeFile("tree/pub/p", "public\n");
  MakeFile("tree/other/o", "other\n");
  const std::string secret = MakeFile("tree/sec/secret", "for the readers' group only\n");
  ASSERT_EQ(::link(secret.c_str(), (dir_ + "/tree/sec/d/link").c_str()), 0);
  ASSERT_EQ(::chown(secret.c_str(), 0, kReaders), 0);
  ASSERT_EQ(::chmod(secret.c_str(), 0640), 0);
  for (const char* f : {"tree/pub/p", "tree/other/o"})
    ASSERT_EQ(::chmod((dir_ + "/" + f).c_str(), 0644), 0);
  for (const char* d : {"", "/tree", "/tree/pub", "/tree/other", "/tree/sec", "/tree/sec/d"})
    ASSERT_EQ(::chmod((dir_ + d).c_str(), 0755), 0) << d;
  const std::string cache = dir_ + "/cache";
  std::filesystem::create_directories(cache);
  ASSERT_EQ(::chown(cache.c_str(), 65534, 65534), 0);
  ASSERT_EQ(std::system(("chown -R 65534:65534 " + repo_).c_str()), 0);
  // The tree's ctimes out of the stat cache's doubt (RacyCtime), so that its directories can
  // be taken unseen.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string out;
  const pid_t pid = SpawnWatchAsNobody(dir_ + "/tree", cache, &out);
  ASSERT_GT(pid, 0);
  ASSERT_NE(out.find("watching "), std::string::npos) << out;
  auto checkin = [&](const User& who, std::vector<std::string> more) {
    more.push_back("--skip-unreadable");
    return CheckinAs(who, dir_ + "/tree", cache, more);
  };
  const User reader{65534, 65534, {kReaders}};
  nlohmann::json one = checkin(kNobody, {"--image", "w"});
  EXPECT_EQ(one["skipped"].size(), 2u) << one.dump();
  MakeFile("tree/pub/p", "public, changed\n");
  nlohmann::json two = checkin(kNobody, {"--image", "w", "-p", "w:1"});
  EXPECT_EQ(two["watcher"], "changes") << two.dump();
  EXPECT_EQ(two["dirs_unwalked"], 1u) << "other; sec holds skipped names" << two.dump();
  EXPECT_EQ(two["skipped"].size(), 2u) << two.dump();
  // Nothing in the tree changed since; its user now reads the file. With other groups it is
  // another user to the stat cache (indexer/stat_cache.h, SourceOf): nothing is taken unseen.
  nlohmann::json three = checkin(reader, {"--image", "w", "-p", "w:2"});
  nlohmann::json whole = checkin(reader, {"--image", "whole"});
  EXPECT_EQ(three["dirs_unwalked"], 0u) << three.dump();
  EXPECT_EQ(three["files_cached"], 0u) << three.dump();
  EXPECT_EQ(three["skipped"].size(), 0u) << three.dump();
  EXPECT_EQ(three["root"], whole["root"]) << three.dump() << whole.dump();
  EXPECT_EQ(three["files"], 4u) << three.dump();
  EXPECT_NE(three["root"], two["root"]);
  // The same user again: the watcher's answer and its own cache hold, sec included now.
  MakeFile("tree/pub/p", "public, changed again\n");
  nlohmann::json four = checkin(reader, {"--image", "w", "-p", "w:3"});
  EXPECT_EQ(four["watcher"], "changes") << four.dump();
  EXPECT_EQ(four["dirs_unwalked"], 2u) << "other and sec" << four.dump();
  EXPECT_EQ(four["skipped"].size(), 0u) << four.dump();
  EXPECT_EQ(four["files"], 4u) << four.dump();
  ExpectStopsCleanly(pid);
}

TEST_F(CliTest, WatchOfAMissingDirectoryFailsNamingIt) {
  RunResult r = Run({"watch", dir_ + "/no/such"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(dir_ + "/no/such"), std::string::npos) << r.err;
  RunResult file = Run({"watch", MakeFile("f", "x")});
  EXPECT_EQ(file.exit_code, 2) << file.err;
  EXPECT_NE(file.err.find("not a directory"), std::string::npos) << file.err;
  EXPECT_EQ(Run({"watch"}).exit_code, 2);
}

TEST_F(CliTest, WatchAnswersHelpWithItsBlindSpotAndExitCodes) {
  RunResult r = Run({"watch", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("usage: cairn watch DIR"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mmap"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cairn::testing
