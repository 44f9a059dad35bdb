#include "indexer/link_groups.h"

namespace cairn::indexer {
namespace {

// Whether directory `dir` holds `path` (a path beneath it, or itself).
bool Holds(const std::string& dir, const std::string& path) {
  return dir.empty() || path == dir ||
         (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

// The subtree of `subtrees` that holds `path` (null: none).
const std::string* SubtreeOf(const std::string& path, const std::set<std::string>& subtrees) {
  for (std::string d = ParentRel(path); !d.empty(); d = ParentRel(d)) {
    auto it = subtrees.find(d);
    if (it != subtrees.end()) return &*it;
  }
  return nullptr;
}

}  // namespace

std::string ParentRel(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

std::map<std::string, uint64_t> NamesReachingOut(const std::vector<LinkGroup>& groups) {
  std::map<std::string, uint64_t> out;
  for (const LinkGroup& g : groups) {
    if (g.paths.empty()) continue;
    // Every name met: the directories at or beneath the deepest one holding them all see
    // every write to the file. Else none does.
    const bool whole = g.paths.size() == g.nlink;
    std::string common = ParentRel(g.paths[0]);
    for (const auto& p : g.paths) {
      while (!Holds(common, p)) common = ParentRel(common);
    }
    for (const auto& p : g.paths) {
      for (std::string d = ParentRel(p); !(whole && d == common); d = ParentRel(d)) {
        out[d]++;
        if (d.empty()) break;
      }
    }
  }
  return out;
}

std::optional<std::vector<std::vector<std::string>>> GroupsInside(
    const std::vector<std::vector<std::string>>& parent, const std::set<std::string>& subtrees) {
  std::vector<std::vector<std::string>> inside;
  if (subtrees.empty()) return inside;
  for (const auto& g : parent) {
    if (g.empty()) continue;
    const std::string* under = SubtreeOf(g[0], subtrees);
    for (const auto& p : g) {
      if (SubtreeOf(p, subtrees) != under) return std::nullopt;
    }
    if (under != nullptr) inside.push_back(g);
  }
  return inside;
}

}  // namespace cairn::indexer
