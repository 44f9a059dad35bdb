// Runs the real `cairn` binary for the CLI tests, in a temporary directory of its own.
#ifndef CAIRN_TESTS_CLI_CLI_RUNNER_H_
#define CAIRN_TESTS_CLI_CLI_RUNNER_H_

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cairn::testing {

struct RunResult {
  int exit_code = -1;  // -1 when the process did not exit normally
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs `cairn args...` with HOME set to the temporary directory (so the stat cache is in its
  // .cache/cairn), without CAIRN_REPO, CAIRN_CACHE_DIR and XDG_CACHE_HOME, and with `env` added.
  RunResult Run(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {});
  // Runs with --repo repo_ appended after the command name.
  RunResult RunRepo(const std::string& command, std::vector<std::string> args = {});
  // Writes a file under the temporary directory and returns its path.
  std::string MakeFile(const std::string& name, const std::string& data);
  std::string ReadFile(const std::string& path);
  bool Exists(const std::string& path);
  nlohmann::json Stats();

  std::string stdin_ = "/dev/null";  // what Run gives the command as standard input
  std::string dir_;   // temporary, removed at the end
  std::string repo_;  // dir_/repo, initialised by SetUp
};

// n pseudo-random bytes.
std::string RandomData(size_t n, uint64_t seed);
// Lower-case hex SHA-256.
std::string Sha256Hex(const std::string& data);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_CLI_CLI_RUNNER_H_
