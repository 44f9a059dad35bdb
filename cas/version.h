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

}  // namespace cairn::cas

#endif  // CAIRN_CAS_VERSION_H_
