// The inode record of MutableTree (vmount/mutable_tree.h); private to its .cc files.
#ifndef CAIRN_VMOUNT_MUTABLE_TREE_NODE_H_
#define CAIRN_VMOUNT_MUTABLE_TREE_NODE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cas/ingestor.h"
#include "vmount/mutable_tree.h"

namespace cairn::vmount {

struct MutableTree::Node {
  Ino ino = 0;
  cas::EntryType type = cas::EntryType::kRegular;
  cas::Metadata meta;  // a directory's: valid once loaded

  // ---- directories ----
  bool loaded = false;               // children and meta read from tree_id
  std::optional<ObjectId> tree_id;   // the stored Tree equal to this directory when !dirty
  bool dirty = false;                // this directory or something beneath it changed
  // Renamed since the mount's base: the paths beneath it are not as long or as deep as in the
  // stored Tree it may still equal (Commit checks them against base/rel_path.h's limits).
  bool moved = false;
  std::map<std::string, Ino, std::less<>> children;
  Node* parent = nullptr;            // null for the root and for removed directories
  std::string name;                  // its name in parent
  uint32_t subdirs = 0;
  std::optional<ObjectId> committed_tree;  // Commit's result, applied by Rebase

  // ---- everything else: each name as (directory inode, name) ----
  std::vector<std::pair<Ino, std::string>> links;

  // ---- regular files ----
  uint64_t size = 0;
  ObjectId content;
  bool sparse = false;
  std::vector<cas::Extent> extents;
  int64_t upper = -1;    // upper file number once copied up
  int upper_fd = -1;
  int opens = 0;
  // Content not stored yet: copied up (upper >= 0), or held in memory in `bytes` (upper < 0).
  bool content_dirty = false;
  std::string bytes;          // held in memory: the whole content (size == bytes.size())
  uint64_t written = 0;       // held in memory: the bytes of the writes journaled for it
  struct Committed {
    ObjectId content;
    uint64_t size = 0;
    bool sparse = false;
    std::vector<cas::Extent> extents;
  };
  std::optional<Committed> committed;  // Commit's result, applied by Rebase

  // ---- symlinks and devices ----
  std::string target;
  uint32_t rdev_major = 0, rdev_minor = 0;

  bool is_dir() const { return type == cas::EntryType::kDirectory; }
};

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_MUTABLE_TREE_NODE_H_
