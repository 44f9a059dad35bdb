// The fixture of the FUSE tests: a CliTest with a source directory, a mount point, and every
// mount made through it unmounted (lazily) at the end, so a failing test leaves none behind.
#ifndef CAIRN_TESTS_VMOUNT_VMOUNT_FIXTURE_H_
#define CAIRN_TESTS_VMOUNT_VMOUNT_FIXTURE_H_

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "tests/cli/cli_runner.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::testing {

class VmountTest : public CliTest {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Checks in src_ (or `source`) as `image`; fails the test on error.
  void CheckinSrc(const std::string& image, const std::string& source = "");
  // `cairn vmount SPEC DIR extra...`, creating DIR; fails the test on error.
  void Mount(const std::string& spec, const std::string& dir, std::vector<std::string> extra = {});
  nlohmann::json Json(const RunResult& r);
  // Kills the mount process `pid` with SIGKILL and waits (up to 5 s) until it is gone.
  void KillMountProcess(pid_t pid);
  // KillMountProcess of the first mount `cairn mounts` lists.
  void KillFirstMount();

  std::string src_, mnt_;
  std::set<std::string> mounted_;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_VMOUNT_VMOUNT_FIXTURE_H_
