// cairn stats [--json]
#include <fmt/core.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/progress.h"
#include "cas/store_stats.h"
#include "catalog/catalog.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {
namespace {

uint64_t DiskUsage(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

double Ratio(uint64_t a, uint64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; }

}  // namespace

int RunStats(const Args& args) {
  const CommandSpec spec{"stats", "stats [--json]",
                         "Objects, logical and stored bytes, dedup and compression ratios."};
  std::string repo;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print as JSON");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, {}, &vm)) return *rc;
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  auto stats = cas::ComputeStoreStats((*r)->store());
  if (!stats) return Fail(stats.error());
  // Logical: what every version held would give back, and what put stored since the last gc.
  auto in_versions = catalog::Catalog((*r)->store()).LogicalBytes();
  if (!in_versions) return Fail(in_versions.error());
  auto put = (*r)->PutBytes();
  if (!put) return Fail(put.error());
  const uint64_t logical = *in_versions + *put;
  uint64_t disk = DiskUsage((*r)->dir());
  const auto& s = *stats;
  double dedup = Ratio(logical, s.content_bytes);
  double compression = Ratio(s.raw_bytes, s.stored_bytes);
  if (vm.count("json")) {
    nlohmann::json by_type;
    for (auto t : {cas::ObjectType::kBlob, cas::ObjectType::kChunkIndex, cas::ObjectType::kTree,
                   cas::ObjectType::kDisk, cas::ObjectType::kVersion}) {
      by_type[std::string(cas::ObjectTypeName(t))] = s.objects_by_type[static_cast<size_t>(t)];
    }
    nlohmann::json out = {{"repository", (*r)->dir()},
                          {"objects", s.objects},
                          {"objects_by_type", by_type},
                          {"logical_bytes", logical},
                          {"unique_content_bytes", s.content_bytes},
                          {"object_bytes", s.raw_bytes},
                          {"stored_bytes", s.stored_bytes},
                          {"disk_bytes", disk},
                          {"dedup_ratio", dedup},
                          {"compression_ratio", compression}};
    PrintJson(std::move(out));
    return kExitOk;
  }
  auto B = [](uint64_t n) { return Progress::Bytes(static_cast<double>(n)); };
  fmt::print("repository         {}\n", (*r)->dir());
  fmt::print("objects            {} ({} blobs, {} chunk indexes)\n", s.objects,
             s.objects_by_type[1], s.objects_by_type[2]);
  fmt::print(
      "logical bytes      {} (the files of every version, and what put stored since the last gc)\n",
      B(logical));
  fmt::print("unique content     {}\n", B(s.content_bytes));
  fmt::print("stored bytes       {} (after compression)\n", B(s.stored_bytes));
  fmt::print("on disk            {}\n", B(disk));
  fmt::print("dedup ratio        {:.2f}x\n", dedup);
  fmt::print("compression ratio  {:.2f}x\n", compression);
  return kExitOk;
}

}  // namespace cairn::tools
