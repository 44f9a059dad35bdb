// Running the system tools the disk paths use (mount, umount, sfdisk, mkfs, mkswap, qemu-img):
// a child process with its arguments as given (no shell), its output captured.
#ifndef CAIRN_INDEXER_COMMAND_H_
#define CAIRN_INDEXER_COMMAND_H_

#include <string>
#include <vector>

#include "base/result.h"

namespace cairn::indexer {

struct CommandOutput {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv[0] (searched in PATH) with `input` on stdin. IOError naming the program when it
// cannot be started; a non-zero exit is not an error here (see RunChecked).
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv, const std::string& input = "");

// As RunCommand, but a non-zero exit is an IOError "`what`: <program>: <its stderr>".
Result<std::string> RunChecked(const std::string& what, const std::vector<std::string>& argv,
                               const std::string& input = "");

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_COMMAND_H_
