#include "indexer/link_groups.h"

#include "base/rel_path.h"

namespace cairn::indexer {
namespace {

// The subtree of `subtrees` that holds `path` (null: none).
const std::string* SubtreeOf(const std::string& path, const std::set<std::string>& subtrees) {
  for (std::string_view d = ParentOf(path); !d.empty(); d = ParentOf(d)) {
    auto it = subtrees.find(std::string(d));
    if (it != subtrees.end()) return &*it;
  }
  return nullptr;
}

}  // namespace

std::map<std::string, uint64_t> NamesReachingOut(const std::vector<LinkGroup>& groups) {
  std::map<std::string, uint64_t> out;
  for (const LinkGroup& g : groups) {
    if (g.paths.empty()) continue;
    // Every name met: the directories at or beneath the deepest one holding them all see
    // every write to the file. Else none does.
    const bool whole = g.paths.size() == g.nlink;
    std::string_view common = ParentOf(g.paths[0]);
    for (const auto& p : g.paths) {
      while (!AtOrBeneath(p, common)) common = ParentOf(common);
    }
    for (const auto& p : g.paths) {
      for (std::string_view d = ParentOf(p); !(whole && d == common); d = ParentOf(d)) {
        out[std::string(d)]++;
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
