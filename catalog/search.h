// Search across every active version of the library, answered from the persistent indexes
// (catalog/search_index.h): by path glob, by content SHA-256, by package (with a Debian version
// constraint); criteria combine with AND.
#ifndef CAIRN_CATALOG_SEARCH_H_
#define CAIRN_CATALOG_SEARCH_H_

#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/debversion.h"

namespace cairn::catalog {

struct SearchQuery {
  // A glob over paths (fnmatch; '*' crosses '/'). Without a '/', it matches basenames, as
  // `find -name` does; with one, whole paths from the root, a leading '/' included ("/bin" is
  // the root's bin alone, as `find -path ./bin` finds; "/usr/bin" and "usr/bin" are the same).
  std::optional<std::string> path_glob;
  std::optional<ObjectId> sha256;
  std::optional<PackageConstraint> package;
};

struct SearchHit {
  std::string version;  // NAME:N
  ObjectId id;
  std::vector<std::string> paths;     // matched by path or sha256 (sorted)
  std::vector<Package> packages;      // matched by package
};

// InvalidArgument for a query with no criteria or a glob that cannot match anything (empty,
// ending in '/', an unclosed '[').
Result<std::vector<SearchHit>> Search(cas::ObjectStore* store, const SearchQuery& query);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_SEARCH_H_
