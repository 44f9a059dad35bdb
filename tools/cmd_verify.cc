// cairn verify
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "base/progress.h"
#include "base/thread_pool.h"
#include "cas/verify.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {

int RunVerify(const Args& args) {
  const CommandSpec spec{"verify", "verify [--json]",
                         "Re-read and re-hash every object; report each damaged one.\n"
                         "Exits 1 if any object is damaged."};
  std::string repo;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print the report as JSON");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, {}, &vm)) return *rc;
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  bool json = vm.count("json") > 0;
  nlohmann::json problems = nlohmann::json::array();
  Progress progress("verify", 0);
  uint64_t last_objects = 0, last_bytes = 0;
  cas::VerifyCallbacks cb;
  cb.on_problem = [&](const ObjectId& id, const Status& s) {
    if (json) {
      problems.push_back({{"id", id.ToHex()}, {"problem", s.message()}});
    } else {
      progress.Done();
      fmt::print("BAD {} {}\n", id.ToHex(), s.message());
    }
  };
  cb.on_progress = [&](uint64_t objects, uint64_t bytes) {
    progress.Add(objects - last_objects, bytes - last_bytes);
    last_objects = objects;
    last_bytes = bytes;
  };
  auto report = cas::VerifyStore((*r)->store(), ThreadPool::DefaultThreads(), cb);
  progress.Done();
  if (!report) return Fail(report.error());
  if (json) {
    nlohmann::json out = {{"objects", report->objects},
                          {"bytes", report->bytes},
                          {"bad", report->bad},
                          {"problems", problems}};
    PrintJson(std::move(out));
  } else {
    fmt::print("verified {} objects ({}): {}\n", report->objects,
               Progress::Bytes(static_cast<double>(report->bytes)),
               report->bad == 0 ? std::string("all good")
                                : std::to_string(report->bad) + " damaged");
  }
  return report->bad == 0 ? kExitOk : kExitFound;
}

}  // namespace cairn::tools
