// Helpers of the disk tests: the fixture images (make_disk.sh) and shell commands.
#ifndef CAIRN_TESTS_DISK_DISK_FIXTURE_H_
#define CAIRN_TESTS_DISK_DISK_FIXTURE_H_

#include <string>
#include <utility>
#include <vector>

#include "tests/cli/cli_runner.h"

namespace cairn::testing {

// Runs `cmd` with /bin/sh; returns its stdout, and its exit status in *rc (or fails the test
// when rc is null and the status is not 0).
std::string Sh(const std::string& cmd, int* rc = nullptr);

// A GPT disk `image` holding one ext4 filesystem of 8 MiB per (directory, UUID) of `fss`, in
// partitions numbered from 1, each made from its directory by mke2fs -d (hard links kept).
std::string MakeExtDisk(const std::string& image,
                        const std::vector<std::pair<std::string, std::string>>& fss);

// A disk dir/rescue.raw (MakeExtDisk) whose partition 1 is a rescue filesystem holding its own
// etc/fstab (and bin/ only when `rescue_is_os`) and a file marker "rescue\n", partition 2 an OS
// root (etc/fstab naming it by kRescueRootUuid, etc/os-release, bin/) with marker "root\n".
inline constexpr char kRescueRootUuid[] = "44444444-5555-4666-8777-888888888888";
std::string MakeRescueDisk(const std::string& dir, bool rescue_is_os);

class DiskTest : public CliTest {
 protected:
  void SetUp() override;
  // Builds a fixture image of `kind` (see make_disk.sh) under the temporary directory.
  std::string MakeDisk(const std::string& kind);
  // An ext4 filesystem image (no partition table) copied while it was mounted, after
  // `newfile` ("journaled\n") was made and synced: its journal needs replaying (needs_recovery),
  // and newfile may be in the journal only.
  std::string MakeUncleanExt4();
  // `cairn show NAME --json`, parsed.
  nlohmann::json Show(const std::string& version);
  // Checks `image` in as `name` and returns the Disk id (fails the test on error).
  std::string CheckinDisk(const std::string& image, const std::string& name, const std::string& via = "auto");
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_DISK_DISK_FIXTURE_H_
