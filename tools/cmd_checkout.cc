// cairn checkout NAME[:VER] TARGET [--format dir|tar|tar.gz|tar.zst|tar.xz|tar.bz2|raw|qcow2]
// [--size N] [--force]
#include <fmt/core.h>
#include <unistd.h>

#include "base/progress.h"
#include "catalog/checkin.h"
#include "indexer/disk_sink.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace cairn::tools {

int RunCheckout(const Args& args) {
  const CommandSpec spec{
      "checkout",
      "checkout NAME[:VER] TARGET [--format dir|tar|tar.gz|tar.zst|tar.xz|tar.bz2|raw|qcow2] "
      "[--size N] [--force]",
      "Write a version out: into directory TARGET (created; it must be empty unless --force),\n"
      "or as a tarball (the format follows TARGET's name unless --format; \"-\" is stdout).\n"
      "A disk version can also be written as a disk image (raw, qcow2; .raw, .img and .qcow2\n"
      "names imply them) with its partition table, filesystem UUIDs and labels and boot areas,\n"
      "the last partition grown to --size (20G, 512M...); this needs root.\n"
      "Owners and device nodes are restored when run as root; otherwise files get the user's\n"
      "owner, and each device node is left out with a warning. Nothing is ever written outside\n"
      "TARGET."};
  std::string repo, version, target, format, size;
  indexer::CheckoutOptions options;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("format,f", po::value(&format)->value_name("FMT"),
                     "dir, tar, tar.gz, tar.zst, tar.xz, tar.bz2, raw or qcow2")(
      "size", po::value(&size)->value_name("N"), "disk images: the new disk's size")(
      "force", po::bool_switch(&options.force), "write into a non-empty directory")(
      "version", po::value(&version)->required(), "NAME[:VER]")(
      "target", po::value(&target)->required(),
      "where to write; - for standard output (a tarball by default)");
  po::positional_options_description pos;
  pos.add("version", 1).add("target", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  if (target == "-" && ::isatty(1)) {
    return Fail(Status::InvalidArgument("checkout " + version +
                                        " -: refusing to write a tarball to a terminal; redirect "
                                        "standard output or name a file"));
  }
  if (target.empty()) {
    return Fail(Status::InvalidArgument("checkout " + version +
                                        ": TARGET is empty (a directory or file to write, or -)"));
  }
  if (!size.empty()) {
    auto n = indexer::ParseSize(size);
    if (!n) return Fail(n.error());
    if (*n == 0) {  // 0 would read as "not given" below
      return Fail(
          Status::InvalidArgument("checkout --size " + size + ": a disk's size is more than 0"));
    }
    options.disk_size = *n;
  }
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  Progress progress("checkout " + version, 0);
  options.progress = &progress;
  auto out = catalog::CheckoutVersion(**r, version, target, format, options);
  progress.Done();
  if (!out) return Fail(out.error());
  for (const auto& l : out->left_out) {
    fmt::print(stderr, "cairn: warning: left out {}: {}\n", l.path, l.why);
  }
  if (target != "-") {
    fmt::print(stderr, "checked out {} to {}: {} files, {} directories, {}\n", version, target,
               out->files, out->dirs, Progress::Bytes(static_cast<double>(out->bytes)));
  }
  return kExitOk;
}

}  // namespace cairn::tools
