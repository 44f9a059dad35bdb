// cairn checkout NAME[:VER] TARGET [--format dir|tar|tar.gz|tar.zst] [--force]
#include <fmt/core.h>

#include "catalog/checkin.h"
#include "base/progress.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace cairn::tools {

int RunCheckout(const Args& args) {
  const CommandSpec spec{
      "checkout", "checkout NAME[:VER] TARGET [--format dir|tar|tar.gz|tar.zst] [--force]",
      "Write a version out: into directory TARGET (created; it must be empty unless --force),\n"
      "or as a tarball (the format follows TARGET's name unless --format; \"-\" is stdout).\n"
      "Owners and device nodes are restored when run as root. Nothing is ever written outside\n"
      "TARGET."};
  std::string repo, version, target, format;
  indexer::CheckoutOptions options;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("format,f", po::value(&format)->value_name("FMT"), "dir, tar, tar.gz or tar.zst")(
      "force", po::bool_switch(&options.force), "write into a non-empty directory")(
      "version", po::value(&version)->required(), "NAME[:VER]")(
      "target", po::value(&target)->required(), "where to write");
  po::positional_options_description pos;
  pos.add("version", 1).add("target", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  Progress progress("checkout " + version, 0);
  options.progress = &progress;
  auto out = catalog::CheckoutVersion(**r, version, target, format, options);
  progress.Done();
  if (!out) return Fail(out.error());
  if (target != "-") {
    fmt::print(stderr, "checked out {} to {}: {} files, {} directories, {}\n", version, target,
               out->files, out->dirs, Progress::Bytes(static_cast<double>(out->bytes)));
  }
  return kExitOk;
}

}  // namespace cairn::tools
