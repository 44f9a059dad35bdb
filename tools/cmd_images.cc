// cairn images [--json]; cairn versions NAME [--json]
#include <fmt/core.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {
namespace {

nlohmann::json VersionJson(const catalog::VersionRef& v) {
  nlohmann::json parents = nlohmann::json::array();
  for (const auto& p : v.version.parents) parents.push_back(p.ToHex());
  return {{"version", v.Name()},     {"number", v.number},
          {"id", v.id.ToHex()},       {"root", v.version.root.ToHex()},
          {"time", FormatTime(v.version.time_ns)},
          {"author", v.version.author}, {"message", v.version.message},
          {"parents", parents}};
}

}  // namespace

int RunImages(const Args& args) {
  const CommandSpec spec{"images", "images [--json]", "List images with their latest version."};
  std::string repo;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print as JSON");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, {}, &vm)) return *rc;
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  catalog::Catalog catalog((*r)->store());
  auto images = catalog.Images();
  if (!images) return Fail(images.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& name : *images) {
    auto latest = catalog.Resolve(catalog::VersionSpec{name, std::nullopt, std::nullopt});
    if (!latest) return Fail(latest.error());
    auto count = catalog.CountVersions(name);  // active ones: numbers may have gaps after purge
    if (!count) return Fail(count.error());
    if (vm.count("json")) {
      out.push_back({{"image", name}, {"versions", *count}, {"latest", VersionJson(*latest)}});
    } else {
      fmt::print("{:<24} {:>4} versions  latest {}  {}\n", name, *count,
                 FormatTime(latest->version.time_ns), latest->id.Short());
    }
  }
  if (vm.count("json")) PrintJson(std::move(out));
  return kExitOk;
}

int RunVersions(const Args& args) {
  const CommandSpec spec{"versions", "versions NAME [--json]", "List the versions of an image."};
  std::string repo, image;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print as JSON")("image", po::value(&image)->required(), "image");
  po::positional_options_description pos;
  pos.add("image", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  if (Status s = catalog::ValidateImageName(image); !s.ok()) return Fail(s);
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  catalog::Catalog catalog((*r)->store());
  auto versions = catalog.Versions(image);
  if (!versions) return Fail(versions.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : *versions) {
    if (vm.count("json")) {
      out.push_back(VersionJson(v));
    } else {
      fmt::print("{:<20} {}  {}  {}  {}\n", v.Name(), v.id.Short(), FormatTime(v.version.time_ns),
                 v.version.author, v.version.message);
    }
  }
  if (vm.count("json")) PrintJson(std::move(out));
  return kExitOk;
}

}  // namespace cairn::tools
