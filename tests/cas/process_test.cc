// Several processes on one repository: one writer at a time, readers beside it, and crashes
// (SIGKILL) in the middle of a large put. Children are this binary re-executed in a role
// (CAIRN_PROCESS_TEST_ROLE), so that no child inherits a forked copy of RocksDB's threads.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/sha256.h"
#include "cas/content_reader.h"
#include "cas/repository.h"
#include "cas/verify.h"
#include "tests/cas/test_util.h"

namespace cairn::cas::testing {
namespace {

using Mode = Repository::Mode;
constexpr char kRoleVar[] = "CAIRN_PROCESS_TEST_ROLE";

Result<std::unique_ptr<Repository>> OpenRepo(const std::string& dir, Mode mode,
                                             std::chrono::milliseconds wait) {
  Repository::OpenOptions o;
  o.mode = mode;
  o.wait = wait;
  return Repository::Open(dir, o);
}

// Child roles. Each prints one line to stdout when it has done its main step.
int HoldWriter(const std::string& repo) {
  auto r = OpenRepo(repo, Mode::kWrite, std::chrono::seconds(30));
  if (!r) return 2;
  std::printf("holding\n");
  std::fflush(stdout);
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  return 0;
}

int PutRandom(const std::string& repo, uint64_t size, uint64_t seed) {
  auto r = OpenRepo(repo, Mode::kWrite, std::chrono::seconds(30));
  if (!r) return 2;
  std::printf("opened\n");
  std::fflush(stdout);
  Ingestor ingestor((*r)->store(), (*r)->ingest_options());
  RandomFile file(size, seed);
  auto c = ingestor.PutStream(&file, "random");
  if (!c || !ingestor.Finish().ok()) return 3;
  std::printf("%s\n", c->id.ToHex().c_str());
  return 0;
}

int ReadAndVerify(const std::string& repo, const std::string& id_hex, const std::string& sha) {
  // Each failure says what it was on stderr, which the test's log shows.
  auto r = OpenRepo(repo, Mode::kRead, std::chrono::milliseconds(0));
  if (!r) {
    std::fprintf(stderr, "reader: open: %s\n", r.error().ToString().c_str());
    return 2;
  }
  ContentReader reader((*r)->store(), 1);
  Sha256 h;
  Status s = reader.Read(*ObjectId::FromHex(id_hex), [&](std::string_view piece) {
    h.Update(piece);
    return Status();
  });
  if (!s.ok() || h.Finish().ToHex() != sha) {
    std::fprintf(stderr, "reader: read: %s\n", s.ok() ? "wrong bytes" : s.ToString().c_str());
    return 3;
  }
  auto report = VerifyStore((*r)->store(), 1, {});
  if (!report || report->bad != 0) {
    std::fprintf(stderr, "reader: verify: %s\n",
                 !report ? report.error().ToString().c_str() : "bad objects");
    return 4;
  }
  std::printf("ok\n");
  return 0;
}

// Runs the child role named by the environment, if any; returns false when there is none.
// Called from main, after every static initialiser (RocksDB, linked statically, has its own).
}  // namespace

bool RunAsChild() {
  const char* role = std::getenv(kRoleVar);
  if (role == nullptr) return false;
  std::vector<std::string> a;
  for (std::string_view rest = role; !rest.empty();) {
    size_t sep = rest.find('|');
    a.emplace_back(rest.substr(0, sep));
    rest = sep == std::string_view::npos ? "" : rest.substr(sep + 1);
  }
  int rc = 1;
  if (a[0] == "hold") rc = HoldWriter(a[1]);
  if (a[0] == "put") rc = PutRandom(a[1], std::stoull(a[2]), std::stoull(a[3]));
  if (a[0] == "read") rc = ReadAndVerify(a[1], a[2], a[3]);
  std::fflush(stdout);
  ::_exit(rc);
}

namespace {

// A child process running this binary in `role`, with pipes to its stdin and from its stdout.
class Child {
 public:
  explicit Child(const std::string& role) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) std::abort();
    std::string env = std::string(kRoleVar) + "=" + role;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::putenv(env.data());
      ::execl("/proc/self/exe", "cas_process_test_child", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    CloseStdin();
    ::close(stdout_);
  }
  // The next line the child prints ("" at end of file).
  std::string ReadLine() {
    std::string line;
    char c;
    while (::read(stdout_, &c, 1) == 1 && c != '\n') line.push_back(c);
    return line;
  }
  void CloseStdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  void Kill() { ::kill(pid_, SIGKILL); }
  // The raw wait status.
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
};

bool ExitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

struct Known {
  ObjectId id;
  uint64_t size, seed;
};

// Stores RandomFile(size, seed) in this process and closes the repository.
Known PutInProcess(const std::string& repo, uint64_t size, uint64_t seed) {
  auto r = OpenRepo(repo, Mode::kWrite, std::chrono::seconds(10));
  EXPECT_TRUE(r.has_value()) << r.status().ToString();
  Ingestor ingestor((*r)->store(), (*r)->ingest_options());
  RandomFile file(size, seed);
  auto c = ingestor.PutStream(&file, "random");
  EXPECT_TRUE(c.has_value());
  EXPECT_TRUE(ingestor.Finish().ok());
  return {c->id, size, seed};
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = dir_.path() + "/repo";
    ASSERT_TRUE(Repository::Init(repo_, RepositoryConfig()).ok());
  }
  TempDir dir_;
  std::string repo_;
};

TEST_F(ProcessTest, SecondWriterProcessIsBusyAfterItsWait) {
  Child holder("hold|" + repo_);
  ASSERT_EQ(holder.ReadLine(), "holding");
  auto busy = OpenRepo(repo_, Mode::kWrite, std::chrono::milliseconds(300));
  ASSERT_FALSE(busy.has_value());
  EXPECT_EQ(busy.error().code(), Code::kBusy) << busy.error().message();
  EXPECT_NE(busy.error().message().find(repo_), std::string::npos);
  // Readers never wait for the writer.
  EXPECT_TRUE(OpenRepo(repo_, Mode::kRead, std::chrono::milliseconds(0)).has_value());
  holder.CloseStdin();
  EXPECT_TRUE(ExitedWith(holder.Wait(), 0));
  auto now_free = OpenRepo(repo_, Mode::kWrite, std::chrono::milliseconds(300));
  EXPECT_TRUE(now_free.has_value()) << now_free.status().ToString();
}

TEST_F(ProcessTest, ReadersInOtherProcessesSeeAConsistentStoreWhileAWriterWorks) {
  Known a = PutInProcess(repo_, 6 << 20, 1);
  std::string sha = Sha256::Of(RandomFileContent(a.size, a.seed)).ToHex();
  Child writer("put|" + repo_ + "|" + std::to_string(64 << 20) + "|2");
  ASSERT_EQ(writer.ReadLine(), "opened");
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<Child>> readers;
    for (int i = 0; i < 3; ++i) {
      readers.push_back(std::make_unique<Child>("read|" + repo_ + "|" + a.id.ToHex() + "|" + sha));
    }
    for (auto& r : readers) {
      EXPECT_EQ(r->ReadLine(), "ok");
      EXPECT_TRUE(ExitedWith(r->Wait(), 0));
    }
  }
  std::string id = writer.ReadLine();
  EXPECT_TRUE(ExitedWith(writer.Wait(), 0));
  EXPECT_EQ(id.size(), 64u);
}

TEST_F(ProcessTest, KilledPutsLeaveAVerifiableStoreAndLoseNothingFinished) {
  std::vector<Known> finished;
  for (uint64_t seed = 10; seed < 13; ++seed) {
    finished.push_back(PutInProcess(repo_, (seed - 9) * (3 << 20) + 12345, seed));
  }
  finished.push_back(PutInProcess(repo_, 777, 13));  // a small one-chunk file too
  std::mt19937_64 rng(2024);
  for (int i = 0; i < 20; ++i) {
    uint64_t seed = 100 + i;
    {
      Child putter("put|" + repo_ + "|" + std::to_string(64 << 20) + "|" + std::to_string(seed));
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 301));
      putter.Kill();
      int status = putter.Wait();
      if (ExitedWith(status, 0)) finished.push_back({ObjectId(), 64 << 20, seed});
    }
    auto r = OpenRepo(repo_, Mode::kWrite, std::chrono::seconds(10));
    ASSERT_TRUE(r.has_value()) << "after kill " << i << ": " << r.status().ToString();
    std::vector<std::string> problems;
    VerifyCallbacks cb;
    cb.on_problem = [&](const ObjectId&, const Status& s) { problems.push_back(s.message()); };
    auto report = VerifyStore((*r)->store(), 2, cb);
    ASSERT_TRUE(report.has_value()) << report.status().ToString();
    EXPECT_EQ(report->bad, 0u) << "after kill " << i << ": "
                               << (problems.empty() ? "" : problems[0]);
    ContentReader reader((*r)->store(), 2);
    for (const Known& k : finished) {
      std::string want = RandomFileContent(k.size, k.seed);
      auto id = k.id.IsZero() ? reader.FindBySha256(Sha256::Of(want)) : Result<ObjectId>(k.id);
      ASSERT_TRUE(id.has_value()) << "after kill " << i << ": " << id.status().ToString();
      auto back = ReadContent((*r)->store(), *id);
      ASSERT_TRUE(back.has_value()) << "after kill " << i << ": " << back.status().ToString();
      EXPECT_TRUE(*back == want) << "after kill " << i << ": content of seed " << k.seed
                                 << " differs";
    }
  }
}

}  // namespace
}  // namespace cairn::cas::testing

// This binary's own main (instead of gtest_main): a child re-executed in a role runs it and
// exits before any test starts.
int main(int argc, char** argv) {
  cairn::cas::testing::RunAsChild();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
