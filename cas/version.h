// Version: one immutable version of an image (type kVersion). Encoding: docs/format/catalog.md.
#ifndef CAIRN_CAS_VERSION_H_
#define CAIRN_CAS_VERSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/object_id.h"
#include "base/result.h"

namespace cairn::cas {

struct Version {
  enum class RootType : uint8_t { kTree = 1, kDisk = 2 };  // stable numbers
  RootType root_type = RootType::kTree;
  ObjectId root;
  std::vector<ObjectId> parents;  // Versions this one derives from (provenance)
  std::string image;
  std::string author;
  int64_t time_ns = 0;  // Unix time of the checkin
  std::string message;
  std::string summary;  // inspection summary, JSON text (may be empty)
};

std::string EncodeVersion(const Version& v);
Result<Version> DecodeVersion(const ObjectId& id, std::string_view data);

class ObjectStore;
// The root Tree of a version's files: `root` itself for a tree version; for a disk version the
// Disk's view Tree (every filesystem grafted at its mount point). Every reader of a version's
// files (ls, cat, diff, search, vmount, checkout to a directory) goes through this.
// Errors of reading the Disk (NotFound, Corruption naming it).
Result<ObjectId> RootTreeOf(ObjectStore* store, const Version& v);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_VERSION_H_
