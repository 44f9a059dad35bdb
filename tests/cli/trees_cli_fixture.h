// The fixture of the command-line tests on directory trees: a CliTest with a source directory.
#ifndef CAIRN_TESTS_CLI_TREES_CLI_FIXTURE_H_
#define CAIRN_TESTS_CLI_TREES_CLI_FIXTURE_H_

#include <string>
#include <vector>

#include "tests/cli/cli_runner.h"

namespace cairn::testing {

class TreesCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    src_ = dir_ + "/src";
  }
  // Checks in src_ as `image` and returns the printed id.
  std::string CheckinSrc(const std::string& image, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {src_, "--image", image};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = RunRepo("checkin", args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // `stats --json` without disk_bytes, which opening a repository for writing changes (logs).
  nlohmann::json Contents() {
    nlohmann::json j = Stats();
    j.erase("disk_bytes");
    return j;
  }
  nlohmann::json Json(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);  // throws (failing the test) if not JSON
  }
  std::string src_;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_CLI_TREES_CLI_FIXTURE_H_
