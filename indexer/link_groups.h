// Hard-link groups of a directory walk (indexer/dir_source.cc) against the subtrees a watched
// checkin takes unseen (indexer/watched_walk.h): which directories hold a name of a file that
// has another name outside them, and which of the parent version's groups lie inside the
// subtrees not walked. Paths are relative to the source root ("a/b/f"); "" is the root.
#ifndef CAIRN_INDEXER_LINK_GROUPS_H_
#define CAIRN_INDEXER_LINK_GROUPS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cairn::indexer {

// One file with several names: the names the walk met, and how many it has (its st_nlink).
struct LinkGroup {
  std::vector<std::string> paths;
  uint64_t nlink = 0;
};

// For each directory, the names in it or beneath it of files that have a name outside it
// (SubtreeCounts::links_out); directories with none are left out. A file whose names were not
// all met (one outside the tree, or unread) reaches out of every directory above its names.
std::map<std::string, uint64_t> NamesReachingOut(const std::vector<LinkGroup>& groups);

// The groups of `parent` (a root Tree's hard-link table) whose names lie beneath one of
// `subtrees`; nullopt when a group has names both beneath one of them and elsewhere.
std::optional<std::vector<std::vector<std::string>>> GroupsInside(
    const std::vector<std::vector<std::string>>& parent, const std::set<std::string>& subtrees);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_LINK_GROUPS_H_
