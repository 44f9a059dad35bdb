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

const WalkLinks::Content* WalkLinks::Join(const struct stat& st, const std::string& rel) {
  auto it = links_.find({st.st_dev, st.st_ino});
  if (it == links_.end()) return nullptr;
  it->second.paths.push_back(rel);
  return &it->second.content;
}

void WalkLinks::Add(const struct stat& st, const std::string& rel, Content content, bool recorded) {
  links_[{st.st_dev, st.st_ino}] = {{rel}, std::move(content), st.st_nlink, recorded};
}

void WalkLinks::AddOther(const std::string& rel, uint64_t nlink) {
  others_.push_back({{rel}, nlink});
}

bool WalkLinks::BeyondWalk() const {
  for (const auto& [key, link] : links_)
    if (!link.recorded && link.paths.size() < link.nlink) return true;
  return false;
}

std::vector<LinkGroup> WalkLinks::Groups(const std::set<std::string>& skipped,
                                         std::vector<std::vector<std::string>>* hardlinks) const {
  std::vector<LinkGroup> groups = others_;
  for (const auto& [key, link] : links_) {
    LinkGroup& g = groups.emplace_back();
    g.nlink = link.nlink;
    for (const auto& p : link.paths)
      if (!skipped.contains(p)) g.paths.push_back(p);
    if (g.paths.size() > 1) hardlinks->push_back(g.paths);
  }
  return groups;
}

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
