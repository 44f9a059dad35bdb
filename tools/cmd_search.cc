// cairn search [--path GLOB] [--sha256 HEX] [--package NAME[OP VERSION]] [--json]
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "catalog/search.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {

int RunSearch(const Args& args) {
  const CommandSpec spec{
      "search", "search [--path GLOB] [--sha256 HEX] [--package NAME[OP VERSION]] [--json]",
      "Which versions hold a path, a file content, or a package, across the whole library.\n"
      "Criteria combine (AND). GLOB without '/' matches file names; with '/' (a leading one too), "
      "whole\n"
      "paths from the root: '/bin' is the root's bin only.\n"
      "OP is one of < <= = >= > != with Debian version ordering, e.g. 'libssl3<3.0.22'."};
  std::string repo, glob, sha, package;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("path", po::value(&glob)->value_name("GLOB"), "path or file-name glob")(
      "sha256", po::value(&sha)->value_name("HEX"), "SHA-256 of a file's content")(
      "package", po::value(&package)->value_name("SPEC"), "installed package, optionally with a version constraint")(
      "json", "print as JSON");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, {}, &vm)) return *rc;
  catalog::SearchQuery q;
  if (vm.count("path")) q.path_glob = glob;
  if (vm.count("sha256")) {
    auto id = ObjectId::FromHex(sha);
    if (!id) return Fail(Status::InvalidArgument("--sha256 '" + sha + "': expected 64 hex digits"));
    q.sha256 = *id;
  }
  if (vm.count("package")) {
    auto c = catalog::ParsePackageConstraint(package);
    if (!c) return Fail(c.error());
    q.package = *c;
  }
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  auto hits = catalog::Search((*r)->store(), q);
  if (!hits) return Fail(hits.error());
  if (vm.count("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : *hits) {
      nlohmann::json pk = nlohmann::json::array();
      for (const auto& p : h.packages) pk.push_back({{"name", p.name}, {"version", p.version}});
      out.push_back({{"version", h.version}, {"id", h.id.ToHex()}, {"paths", h.paths}, {"packages", pk}});
    }
    PrintJson(std::move(out));
    return kExitOk;
  }
  for (const auto& h : *hits) {
    fmt::print("{}", h.version);
    for (const auto& p : h.packages) fmt::print("  {} {}", p.name, p.version);
    fmt::print("\n");
    for (const auto& p : h.paths) fmt::print("  /{}\n", p);
  }
  if (hits->empty()) fmt::print(stderr, "no version matches\n");
  return kExitOk;
}

}  // namespace cairn::tools
