// cairn init [--repo DIR] [--zstd-level N] [--chunk-avg BYTES]
#include <fmt/core.h>

#include "tools/cli.h"
#include "tools/commands.h"

namespace cairn::tools {

int RunInit(const Args& args) {
  const CommandSpec spec{"init", "init [--repo DIR] [--zstd-level N] [--chunk-avg BYTES]",
                         "Create an empty repository in DIR (which must be absent or empty)."};
  std::string repo;
  cas::RepositoryConfig config;
  size_t avg = config.chunker.avg_size;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("zstd-level", po::value(&config.zstd_level)->default_value(config.zstd_level),
                     "zstd level for stored objects (0 stores them raw)")(
      "zstd-level-small", po::value(&config.small_zstd_level)->default_value(config.small_zstd_level),
      "zstd level for objects smaller than the minimum chunk (small files, trees)")(
      "chunk-avg", po::value(&avg)->default_value(avg),
      "average chunk size of large files (a power of two; min = avg/4, max = avg*4)");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, {}, &vm)) return *rc;
  config.chunker = {avg / 4, avg, avg * 4};
  bool explicit_choice;
  std::string dir = cas::DefaultRepositoryDir(repo, &explicit_choice);
  Status s = cas::Repository::Init(dir, config);
  if (!s.ok()) return Fail(s);
  fmt::print("initialized empty cairn repository in {}\n", dir);
  return kExitOk;
}

}  // namespace cairn::tools
