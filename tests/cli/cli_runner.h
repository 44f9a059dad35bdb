// Runs the real `cairn` binary for the CLI tests, in a temporary directory of its own.
#ifndef CAIRN_TESTS_CLI_CLI_RUNNER_H_
#define CAIRN_TESTS_CLI_CLI_RUNNER_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cairn::testing {

struct RunResult {
  int exit_code = -1;  // -1 when the process did not exit normally
  std::string out, err;
};

// A user to run commands as (the test runs as root): its uid, gid and supplementary groups.
struct User {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs `cairn args...` with HOME set to the temporary directory (so the stat cache is in its
  // .cache/cairn), without CAIRN_REPO, CAIRN_CACHE_DIR and XDG_CACHE_HOME, and with `env` added.
  RunResult Run(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {}) {
    return Launch(args, env, nullptr);
  }
  // The same, as user `who` (the test runs as root).
  RunResult RunAs(const User& who, const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env = {}) {
    return Launch(args, env, &who);
  }
  // `cairn checkin SOURCE --repo repo_ --json more...` as `who`, with the stat cache in
  // `cache_dir`: its JSON, after an expectation that it exits 0 (an empty object if not).
  nlohmann::json CheckinAs(const User& who, const std::string& source, const std::string& cache_dir,
                           const std::vector<std::string>& more);
  // Runs with --repo repo_ appended after the command name.
  RunResult RunRepo(const std::string& command, std::vector<std::string> args = {});
  // Writes a file under the temporary directory and returns its path.
  std::string MakeFile(const std::string& name, const std::string& data);
  std::string ReadFile(const std::string& path);
  bool Exists(const std::string& path);
  nlohmann::json Stats();
  // Every regular file beneath `dir`, path -> bytes: what a command that must change nothing
  // leaves as it was.
  static std::map<std::string, std::string> FilesOf(const std::string& dir);

  std::string stdin_ = "/dev/null";  // what Run gives the command as standard input
  std::string dir_;   // temporary, removed at the end
  std::string repo_;  // dir_/repo, initialised by SetUp

 private:
  // `who`: null for the test's own user.
  RunResult Launch(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const User* who);
};

// Switches the calling process to `user` (setgroups, setgid, setuid); false if one failed.
bool BecomeUser(const User& user);

// n pseudo-random bytes.
std::string RandomData(size_t n, uint64_t seed);
// Lower-case hex SHA-256.
std::string Sha256Hex(const std::string& data);
// Finds `needle` in the repository's database files (those ending in `ext`, when given) and
// flips a byte of every copy; returns how many it flipped.
int FlipOnDisk(const std::string& db, const std::string& needle, const std::string& ext = "");

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_CLI_CLI_RUNNER_H_
