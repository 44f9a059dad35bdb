// The subcommands of `cairn`. Each Run* takes the arguments after the subcommand name and
// returns the process exit code (tools/cli.h).
#ifndef CAIRN_TOOLS_COMMANDS_H_
#define CAIRN_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

namespace cairn::tools {

using Args = std::vector<std::string>;

int RunInit(const Args& args);
int RunPut(const Args& args);
int RunGet(const Args& args);
int RunVerify(const Args& args);
int RunStats(const Args& args);
int RunCheckin(const Args& args);
int RunCheckout(const Args& args);
int RunLs(const Args& args);
int RunCat(const Args& args);
int RunImages(const Args& args);
int RunVersions(const Args& args);
int RunTag(const Args& args);
int RunClone(const Args& args);
int RunRm(const Args& args);
int RunRestore(const Args& args);
int RunPurge(const Args& args);
int RunLog(const Args& args);
int RunProvenance(const Args& args);
int RunShow(const Args& args);
int RunDiff(const Args& args);
int RunSearch(const Args& args);
int RunGc(const Args& args);
int RunVmount(const Args& args);
int RunUmount(const Args& args);
int RunCommit(const Args& args);
int RunDiscard(const Args& args);
int RunMounts(const Args& args);
int RunWatch(const Args& args);

}  // namespace cairn::tools

#endif  // CAIRN_TOOLS_COMMANDS_H_
