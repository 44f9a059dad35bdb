// Hard-link groups of a directory walk (indexer/dir_source.cc) against the subtrees a watched
// checkin takes unseen (indexer/watched_walk.h): which directories hold a name of a file that
// has another name outside them, and which of the parent version's groups lie inside the
// subtrees not walked. Paths are relative to the source root ("a/b/f"); "" is the root.
#ifndef CAIRN_INDEXER_LINK_GROUPS_H_
#define CAIRN_INDEXER_LINK_GROUPS_H_

#include <sys/stat.h>

#include <cstdint>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "indexer/file_reader.h"

namespace cairn::indexer {

// One file with several names: the names the walk met, and how many it has (its st_nlink).
struct LinkGroup {
  std::vector<std::string> paths;
  uint64_t nlink = 0;
};

// The multiply-linked files a walk meets, by inode: the names met, and the content the first
// name's read gives them all. Used by the walk's thread only.
class WalkLinks {
 public:
  using Content = std::shared_future<Result<FileOut>>;

  // A regular file of several names (lstat'ed as `st`), met as `rel`: the content of its
  // inode when another name of it was met, `rel` then joining its names; null otherwise.
  const Content* Join(const struct stat& st, const std::string& rel);
  // Its first name met, and the content read or taken for it. `recorded`: its inode and ctime
  // were as the stat cache recorded, so no name was added or removed since the last checkin
  // (either changes the ctime).
  void Add(const struct stat& st, const std::string& rel, Content content, bool recorded);
  // A name of a fifo, device, socket or symlink with several names: a Tree stores those once
  // per name, and each name counts as reaching out (SubtreeCounts::links_out).
  void AddOther(const std::string& rel, uint64_t nlink);

  // Whether a file the walk met fewer names of than it has gained or lost a name since the
  // last checkin: its other names may lie in the subtrees not walked. (One with no name added
  // since has its other names where they were: a subtree that held a name of it was walked, so
  // the rest lie outside the tree, as in a whole walk.)
  bool BeyondWalk() const;

  // Every file's names, less those in `skipped`, with its st_nlink; the regular files' groups
  // of two names or more are added to `hardlinks` (a root Tree's table).
  std::vector<LinkGroup> Groups(const std::set<std::string>& skipped,
                                std::vector<std::vector<std::string>>* hardlinks) const;

 private:
  struct Link {
    std::vector<std::string> paths;
    Content content;
    uint64_t nlink = 0;  // as the first name's lstat saw it
    bool recorded = false;
  };
  std::map<std::pair<dev_t, ino_t>, Link> links_;
  std::vector<LinkGroup> others_;
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
