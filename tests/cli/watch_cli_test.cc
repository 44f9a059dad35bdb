// `cairn watch DIR`: runs until SIGTERM, then exits 0 and removes its socket; bad input.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "tests/cli/cli_runner.h"

namespace cairn::testing {
namespace {

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
  const pid_t pid = SpawnWatch(
      dir_ + "/tree",
      [&] {
        if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
          return false;
        ::setenv("CAIRN_CACHE_DIR", cache.c_str(), 1);
        return true;
      },
      &out);
  ASSERT_GT(pid, 0);
  EXPECT_NE(out.find("watching "), std::string::npos) << "the watcher run by nobody: " << out;
  // As root: a checkin asks for a token and gets none from nobody's watcher.
  RunResult r = Run({"checkin", dir_ + "/tree", "--repo", repo_, "--image", "t", "--json"},
                    {{"CAIRN_CACHE_DIR", cache}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"watcher\": \"\""), std::string::npos) << r.out;
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
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
