// An interrupted checkin (SIGINT, SIGTERM) undoes what it wrote, as a failed one does, and ends
// by the signal (base/interrupt.h). It left ~400 objects (30 MB) behind before.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tests/cli/cli_runner.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::testing {
namespace {

// Writes all of `data` to `fd`; false if the reader went away.
bool WriteAll(int fd, const std::string& data) {
  for (size_t at = 0; at < data.size();) {
    ssize_t n = ::write(fd, data.data() + at, data.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

class InterruptTest : public CliTest, public ::testing::WithParamInterface<int> {
 protected:
  // A tarball on a pipe: three quarters of it written (so cairn has read all of that but the
  // pipe's 64 KiB, more than a memtable's 16 MiB: objects already flushed), then the signal, then
  // the rest, as `tar c | cairn checkin -` would go on writing; or, with `producer_dies`, nothing
  // more, as when the same Ctrl-C ends tar too. Expects cairn ended by the signal, saying so, and
  // the repository as it was.
  void ExpectInterruptedCheckinUndone(int sig, bool producer_dies) {
    const std::string& dir = dir_;
    const std::string& repo = repo_;
    const std::string src = dir + "/src";
    ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
    for (int i = 0; i < 300; ++i) MakeFile("src/f" + std::to_string(i), RandomData(100000, i));
    ASSERT_EQ(indexer::testing::Shell("tar -C " + src + " -cf " + dir + "/big.tar ."), 0);
    const std::string tar = ReadFile(dir + "/big.tar");
    nlohmann::json before = Stats();
    before.erase("disk_bytes");

    int in[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    const std::string err_path = dir + "/err";
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(in[0], 0);
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(err, 2);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::execl(CAIRN_BINARY, CAIRN_BINARY, "checkin", "-", "--image", "web", "--repo", repo.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    ::signal(SIGPIPE, SIG_IGN);
    EXPECT_TRUE(WriteAll(in[1], tar.substr(0, tar.size() * 3 / 4)));
    // Until a flush has made objects durable (a reader sees them): what the undo must remove.
    for (int i = 0; i < 500 && Stats()["objects"] == before["objects"]; ++i) ::usleep(20000);
    EXPECT_NE(Stats()["objects"], before["objects"]) << "no flush within 10 s";
    ASSERT_EQ(::kill(pid, sig), 0);
    if (!producer_dies) (void)WriteAll(in[1], tar.substr(tar.size() * 3 / 4));
    ::close(in[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    const std::string err = ReadFile(err_path);
    ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status) << ": " << err;
    EXPECT_EQ(WTERMSIG(status), sig) << err;
    EXPECT_EQ(err, std::string("cairn: interrupted by SIG") + ::sigabbrev_np(sig) + "\n")
        << "the signal, not the input it cut short, is named";
    nlohmann::json after = Stats();
    after.erase("disk_bytes");
    EXPECT_EQ(after, before) << err;
  }
};

TEST_P(InterruptTest, AnInterruptedCheckinLeavesTheRepositoryAsItWas) {
  ASSERT_NO_FATAL_FAILURE(ExpectInterruptedCheckinUndone(GetParam(), false));
  RunResult v = RunRepo("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  // The same checkin, not interrupted, goes through.
  stdin_ = dir_ + "/big.tar";
  RunResult again = RunRepo("checkin", {"-", "--image", "web"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

// `tar c | cairn checkin -` and Ctrl-C: tar ends too, so cairn's input ends short just after
// the signal. The signal is what cairn reports, not a truncated tarball.
TEST_P(InterruptTest, AnInterruptWhoseProducerDiesWithItNamesTheSignal) {
  ASSERT_NO_FATAL_FAILURE(ExpectInterruptedCheckinUndone(GetParam(), true));
}

INSTANTIATE_TEST_SUITE_P(Signals, InterruptTest, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& info) { return std::string(::sigabbrev_np(info.param)); });

}  // namespace
}  // namespace cairn::testing
