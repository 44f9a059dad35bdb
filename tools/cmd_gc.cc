// cairn gc [--dry-run] [--json]
#include <fmt/core.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "base/progress.h"
#include "cas/gc.h"
#include "catalog/catalog.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"
#include "vmount/mount_service.h"

namespace cairn::tools {

int RunGc(const Args& args) {
  const CommandSpec spec{"gc", "gc [--dry-run] [--json]",
                         "Remove every object no version reaches (after `cairn purge`) and give\n"
                         "the space back. Checkins wait while it sweeps."};
  std::string repo;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("dry-run,n", "count what would be freed; change nothing")("json", "print as JSON");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, {}, &vm)) return *rc;
  const bool dry_run = vm.count("dry-run") > 0;
  // A dry run only reads: it neither waits for a writer nor touches the repository's files.
  auto r =
      OpenRepository(repo, dry_run ? cas::Repository::Mode::kRead : cas::Repository::Mode::kWrite);
  if (!r) return Fail(r.error());
  auto roots = vmount::GcRoots(**r);
  if (!roots) return Fail(roots.error());
  Progress progress("gc", 0);
  uint64_t last = 0;
  cas::GcOptions o;
  o.dry_run = dry_run;
  o.on_dead_tree = catalog::DropTreeIndex((*r)->store());
  o.may_compact = [&] { return (*r)->ExcludeReaders(std::chrono::seconds(10)); };
  o.on_progress = [&](const char*, uint64_t done) {
    progress.Add(done > last ? done - last : 0, 0);
    last = done;
  };
  auto stats = cas::CollectGarbage((*r)->store(), *roots, o);
  progress.Done();
  if (!stats) return Fail(stats.error());
  if (!o.dry_run) {
    // What put stored that no version holds is gone now; what a version holds it counts itself.
    if (Status s = (*r)->ResetPutBytes(); !s.ok()) return Fail(s);
  }
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  if (vm.count("json")) {
    nlohmann::json out = {{"versions", roots->size()},
                          {"objects", stats->objects},
                          {"reachable", stats->reachable},
                          {"deleted", stats->deleted},
                          {"deleted_bytes", stats->deleted_raw_bytes},
                          {"deleted_stored_bytes", stats->deleted_stored_bytes},
                          {"compacted", stats->compacted},
                          {"dry_run", o.dry_run},
                          {"peak_rss_kib", ru.ru_maxrss}};
    PrintJson(std::move(out));
    return kExitOk;
  }
  fmt::print("{}{} of {} objects unreachable from {} versions: {} ({} stored){}\n",
             o.dry_run ? "would free: " : "freed: ", stats->deleted, stats->objects, roots->size(),
             Progress::Bytes(static_cast<double>(stats->deleted_raw_bytes)),
             Progress::Bytes(static_cast<double>(stats->deleted_stored_bytes)),
             o.dry_run ? " (dry run)" : "");
  if (stats->deleted != 0 && !o.dry_run && !stats->compacted) {
    fmt::print(stderr,
               "cairn gc: note: readers kept the repository open for 10 s (a mount?): their "
               "files stay until a later gc gives the space back\n");
  }
  return kExitOk;
}

}  // namespace cairn::tools
