// Catalog: images and their numbered versions (the minimal catalog; provenance queries, tags,
// states and search arrive with the catalog issue). Keys in docs/format/catalog.md.
//
// Thread-safety: safe for concurrent readers; one writer process (cas/repository.h).
#ifndef CAIRN_CATALOG_CATALOG_H_
#define CAIRN_CATALOG_CATALOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cas/object_store.h"
#include "cas/version.h"

namespace cairn::catalog {

struct VersionRef {
  std::string image;
  uint64_t number = 0;
  ObjectId id;
  cas::Version version;
  std::string Name() const { return image + ":" + std::to_string(number); }
};

// A parsed "NAME[:VER]".
struct VersionSpec {
  std::string image;
  std::optional<uint64_t> number;  // latest when absent
};
// InvalidArgument naming `text` when it is not NAME or NAME:N.
Result<VersionSpec> ParseVersionSpec(std::string_view text);
// Image names: 1-128 of [A-Za-z0-9._+-], not starting with '.' or '-'.
Status ValidateImageName(std::string_view name);

class Catalog {
 public:
  explicit Catalog(cas::ObjectStore* store) : store_(store) {}

  // Stores `v` (whose image names the image) as the image's next version and moves the ref,
  // durably (sync). REQUIRES: every object `v` refers to is already durable.
  Result<VersionRef> AddVersion(cas::Version v);
  // NotFound naming the image or version, with the closest image names as suggestions.
  Result<VersionRef> Resolve(const VersionSpec& spec);
  Result<VersionRef> Resolve(std::string_view text);
  Result<std::vector<std::string>> Images();
  Result<std::vector<VersionRef>> Versions(const std::string& image);
  Result<cas::Version> ReadVersion(const ObjectId& id);

 private:
  Result<std::optional<uint64_t>> Latest(const std::string& image);
  Status NotFoundImage(const std::string& image);
  cas::ObjectStore* store_;
};

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_CATALOG_H_
