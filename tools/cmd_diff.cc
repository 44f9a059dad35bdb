// cairn diff A B [PATH] [--stat] [--json]
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "catalog/diff.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {

int RunDiff(const Args& args) {
  const CommandSpec spec{
      "diff", "diff A B [PATH] [--stat] [--json]",
      "Compare two versions (of one image or two): entries added (+), removed (-), modified (M)\n"
      "and changed in metadata only (m, with what changed), then packages added, removed and\n"
      "upgraded. Unchanged subtrees are skipped: the cost follows the size of the change."};
  std::string repo, a, b, path;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("stat", "counts only")("json", "print as JSON")(
      "a", po::value(&a)->required(), "NAME[:VER]")("b", po::value(&b)->required(), "NAME[:VER]")(
      "path", po::value(&path)->default_value(""), "limit to this path");
  po::positional_options_description pos;
  pos.add("a", 1).add("b", 1).add("path", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  catalog::Catalog c((*r)->store());
  auto va = c.Resolve(a);
  if (!va) return Fail(va.error());
  auto vb = c.Resolve(b);
  if (!vb) return Fail(vb.error());
  auto d = catalog::DiffVersions((*r)->store(), *va, *vb, path);
  if (!d) return Fail(d.error());
  std::map<std::string_view, uint64_t> counts;
  for (const auto& e : d->entries) counts[catalog::DiffKindName(e.kind)]++;
  std::map<std::string_view, uint64_t> pcounts;
  for (const auto& p : d->packages) pcounts[catalog::PackageChangeName(p.kind)]++;
  if (vm.count("json")) {
    nlohmann::json entries = nlohmann::json::array(), packages = nlohmann::json::array();
    if (!vm.count("stat")) {
      for (const auto& e : d->entries) {
        nlohmann::json j = {{"change", catalog::DiffKindName(e.kind)}, {"path", e.path},
                            {"type", cas::EntryTypeName(e.type)}};
        if (!e.changed.empty()) j["what"] = e.changed;
        if (e.type == cas::EntryType::kRegular) j["size"] = {e.size_a, e.size_b};
        entries.push_back(j);
      }
      for (const auto& p : d->packages) {
        packages.push_back({{"change", catalog::PackageChangeName(p.kind)}, {"name", p.name},
                            {"old", p.old_version}, {"new", p.new_version}});
      }
    }
    nlohmann::json out = {{"a", va->Name()}, {"b", vb->Name()}, {"counts", counts},
                          {"package_counts", pcounts}, {"entries", entries}, {"packages", packages},
                          {"trees_compared", d->trees_compared}};
    PrintJson(std::move(out));
    return kExitOk;
  }
  if (!vm.count("stat")) {
    for (const auto& e : d->entries) {
      const char* mark = e.kind == catalog::DiffEntry::Kind::kAdded     ? "+"
                         : e.kind == catalog::DiffEntry::Kind::kRemoved ? "-"
                         : e.kind == catalog::DiffEntry::Kind::kModified ? "M"
                                                                         : "m";
      std::string what;
      for (const auto& w : e.changed) what += (what.empty() ? " (" : ", ") + w;
      if (!what.empty()) what += ")";
      fmt::print("{} {}{}{}\n", mark, e.path, e.type == cas::EntryType::kDirectory ? "/" : "", what);
    }
    for (const auto& p : d->packages) {
      switch (p.kind) {
        case catalog::PackageChange::Kind::kAdded: fmt::print("package + {} {}\n", p.name, p.new_version); break;
        case catalog::PackageChange::Kind::kRemoved: fmt::print("package - {} {}\n", p.name, p.old_version); break;
        default:
          fmt::print("package {} {} {} -> {}\n", p.kind == catalog::PackageChange::Kind::kUpgraded ? "^" : "v",
                     p.name, p.old_version, p.new_version);
      }
    }
  }
  fmt::print("{} added, {} removed, {} modified, {} metadata only; packages: {} added, {} removed, "
             "{} upgraded, {} downgraded\n",
             counts["added"], counts["removed"], counts["modified"], counts["metadata"], pcounts["added"],
             pcounts["removed"], pcounts["upgraded"], pcounts["downgraded"]);
  return kExitOk;
}

}  // namespace cairn::tools
