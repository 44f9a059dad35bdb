#include "catalog/search.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>

#include "catalog/keys.h"

namespace cairn::catalog {
namespace {

struct Matches {
  std::set<std::string> paths;
  std::vector<Package> packages;
};
using ByVersion = std::map<ObjectId, Matches>;

Status ValidateGlob(const std::string& glob) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("path glob '" + glob + "': " + why);
  };
  if (glob.empty()) return bad("empty");
  if (glob.back() == '/') return bad("ends with '/', and no path does");
  int depth = 0;
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '\\') ++i;
    else if (glob[i] == '[') depth = 1;
    else if (glob[i] == ']') depth = 0;
  }
  if (depth) return bad("unclosed '['");
  return Status();
}

Result<ByVersion> ByPath(cas::ObjectStore* store, std::string glob) {
  while (glob.starts_with("/")) glob.erase(0, 1);
  CAIRN_RETURN_IF_ERROR(ValidateGlob(glob));
  bool full = glob.find('/') != std::string::npos;
  size_t wild = glob.find_first_of("*?[\\");
  // Basename globs seek to their literal prefix; path globs scan the distinct basenames.
  std::string seek = full ? "" : glob.substr(0, wild);
  std::vector<std::string> paths;
  std::string prefix = keys::BasenamePrefix(seek);
  CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, prefix, [&](std::string_view key, std::string_view) {
    std::string_view rest = key.substr(2);
    size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) return true;
    std::string base(rest.substr(0, nul)), path(rest.substr(nul + 1));
    if (fnmatch(glob.c_str(), (full ? path : base).c_str(), 0) == 0) paths.push_back(path);
    return true;
  }));
  ByVersion out;
  for (const auto& p : paths) {
    std::string pp = keys::PathPrefix(p);
    CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, pp, [&](std::string_view key, std::string_view) {
      auto id = ObjectId::FromBytes(key.substr(pp.size()));
      if (id) out[*id].paths.insert(p);
      return true;
    }));
  }
  return out;
}

Result<ByVersion> BySha(cas::ObjectStore* store, const ObjectId& sha) {
  ByVersion out;
  std::string prefix = keys::DigestPrefix(sha);
  CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, prefix, [&](std::string_view key, std::string_view) {
    if (key.size() < prefix.size() + ObjectId::kSize) return true;
    auto id = ObjectId::FromBytes(key.substr(prefix.size(), ObjectId::kSize));
    if (id) out[*id].paths.insert(std::string(key.substr(prefix.size() + ObjectId::kSize)));
    return true;
  }));
  return out;
}

Result<ByVersion> ByPackage(cas::ObjectStore* store, const PackageConstraint& c) {
  ByVersion out;
  std::string prefix = keys::PackagePrefix(c.name);
  CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, prefix, [&](std::string_view key, std::string_view value) {
    auto id = ObjectId::FromBytes(key.substr(prefix.size()));
    if (id && c.Matches(value)) out[*id].packages.push_back({c.name, std::string(value), ""});
    return true;
  }));
  return out;
}

void Intersect(std::optional<ByVersion>* acc, ByVersion next) {
  if (!*acc) {
    *acc = std::move(next);
    return;
  }
  ByVersion merged;
  for (auto& [id, m] : **acc) {
    auto it = next.find(id);
    if (it == next.end()) continue;
    Matches both = std::move(m);
    if (!both.paths.empty() && !it->second.paths.empty()) {
      // Path and content criteria both name files: the same file must match both.
      std::erase_if(both.paths, [&](const std::string& p) { return !it->second.paths.contains(p); });
      if (both.paths.empty()) continue;
    } else {
      both.paths.insert(it->second.paths.begin(), it->second.paths.end());
    }
    both.packages.insert(both.packages.end(), it->second.packages.begin(), it->second.packages.end());
    merged.emplace(id, std::move(both));
  }
  *acc = std::move(merged);
}

}  // namespace

Result<std::vector<SearchHit>> Search(cas::ObjectStore* store, const SearchQuery& q) {
  if (!q.path_glob && !q.sha256 && !q.package) {
    return Status::InvalidArgument("search: give --path, --sha256 or --package");
  }
  std::optional<ByVersion> acc;
  if (q.path_glob) {
    CAIRN_ASSIGN_OR_RETURN(ByVersion m, ByPath(store, *q.path_glob));
    Intersect(&acc, std::move(m));
  }
  if (q.sha256) {
    CAIRN_ASSIGN_OR_RETURN(ByVersion m, BySha(store, *q.sha256));
    Intersect(&acc, std::move(m));
  }
  if (q.package) {
    CAIRN_ASSIGN_OR_RETURN(ByVersion m, ByPackage(store, *q.package));
    Intersect(&acc, std::move(m));
  }
  Catalog catalog(store);
  std::vector<SearchHit> out;
  for (auto& [id, m] : *acc) {
    CAIRN_ASSIGN_OR_RETURN(VersionState st, catalog.StateOf(id));
    if (st != VersionState::kActive) continue;
    auto name = catalog.NameOf(id);  // the name only: no Version object is read
    if (!name) {
      if (name.error().IsNotFound()) continue;  // purged meanwhile
      return name.error();
    }
    out.push_back({*name, id, {m.paths.begin(), m.paths.end()}, std::move(m.packages)});
  }
  std::sort(out.begin(), out.end(), [](const SearchHit& a, const SearchHit& b) {
    return a.version < b.version;
  });
  return out;
}

}  // namespace cairn::catalog
