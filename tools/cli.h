// Shared pieces of the `cairn` command line: exit codes, option parsing, opening the
// repository, printing errors. Each subcommand lives in its own cmd_*.cc file.
#ifndef CAIRN_TOOLS_CLI_H_
#define CAIRN_TOOLS_CLI_H_

#include <boost/program_options.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cas/repository.h"

namespace cairn::tools {

namespace po = boost::program_options;

// Documented exit codes (docs/cli.md, `cairn --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitFound = 1,          // the command ran and found a problem (verify: damaged objects)
  kExitUsage = 2,          // bad option or argument
  kExitNotFound = 3,       // unknown id, image, version or file; not a repository
  kExitAmbiguous = 4,      // an id prefix matching several objects
  kExitCorruption = 5,     // stored data failed verification
  kExitIO = 6,             // the operating system refused (I/O error, permission denied)
  kExitNoSpace = 7,        // the disk is full
  kExitBusy = 8,           // another cairn process is writing to the repository
  kExitUnsupported = 9,    // not supported
  kExitExists = 10,        // already exists
  kExitInternal = 70,      // a bug in cairn
  kExitInterrupted = 130,  // interrupted (checkin, put: after undoing; base/interrupt.h)
};
int ExitCodeFor(const Status& s);
extern const char kExitCodeHelp[];

// Prints "cairn: <message>" on stderr and returns the exit code for `s`.
int Fail(const Status& s);

// Ends the process with `code` once a command's work is done and its repository closed: the
// output is flushed, and the rest (joining idle threads, freeing the heap, the static objects'
// destructors: 1.5-2 ms of a warm incremental checkin here) is left to the kernel. main() ends
// every command this way; `checkin` calls it itself, before its own teardown. Builds with
// AddressSanitizer return `code` instead, so that leaks are still reported.
int ExitNow(int code);
// Says on stderr that standard output could not be written (`err`: its errno, 0 if unknown)
// and returns the exit code for it: 7 on a full disk, else 6.
int FailOutput(int err);

struct CommandSpec {
  const char* name;
  const char* usage;    // "put FILE..."
  const char* summary;  // one line
};

// Parses `args` with `options` and positional `positional`. Returns an exit code when the
// command should stop now (--help printed: 0; a usage error printed: 2), else nullopt.
std::optional<int> ParseCommandLine(const CommandSpec& spec, const std::vector<std::string>& args,
                                    po::options_description& options,
                                    const po::positional_options_description& positional,
                                    po::variables_map* vm);

// Adds --repo DIR.
void AddRepoOption(po::options_description& options, std::string* repo);

// Opens the repository named by --repo, $CAIRN_REPO or the default; the default ones are
// created on first use. Writers wait for another writer, saying so on stderr (and setting
// `*waited`, when given).
Result<std::unique_ptr<cas::Repository>> OpenRepository(const std::string& repo_flag,
                                                        cas::Repository::Mode mode,
                                                        bool* waited = nullptr);

// Resolves a user-typed object id: a unique prefix of an object id (>= 8 hex digits), or the
// full SHA-256 of a large file's content.
Result<ObjectId> ResolveObject(cas::Repository& repo, const std::string& text);

// A Unix time in nanoseconds as "2026-11-22 21:37:58Z" (UTC).
std::string FormatTime(int64_t ns);
// Unix time `sec` as strftime `format` writes it in UTC, or "@SECONDS" when it lies beyond the
// calendar (a tarball's header may hold any 64-bit time).
std::string FormatSeconds(int64_t sec, const char* format);

}  // namespace cairn::tools

#endif  // CAIRN_TOOLS_CLI_H_
