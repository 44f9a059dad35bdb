// Inspection of a stored root Tree without booting or extracting it: OS, distribution, version,
// architecture, hostname and installed packages (the dpkg status database), plus counts.
// The result is kept in the Version as its summary (docs/format/catalog.md).
#ifndef CAIRN_CATALOG_INSPECT_H_
#define CAIRN_CATALOG_INSPECT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cas/object_store.h"
#include "cas/tree_reader.h"

namespace cairn::catalog {

struct Package {
  std::string name, version, arch;
  bool operator==(const Package&) const = default;
};

struct Inspection {
  std::string os;            // "linux" when a Linux root is recognised, else empty
  std::string distro;        // os-release ID: "debian"
  std::string version;       // os-release VERSION_ID: "12"
  std::string pretty_name;   // os-release PRETTY_NAME
  std::string arch;          // dpkg's native architecture: the dpkg package's, else the most
                             // frequent of the packages': "amd64"
  std::string hostname;      // /etc/hostname
  std::string package_format;  // "deb" when a dpkg database is present
  uint64_t files = 0, dirs = 0, symlinks = 0, others = 0, bytes = 0;
  std::vector<Package> packages;  // sorted by name
};

// The package's name as dpkg prints it in `in`: "libc6:i386" for a foreign architecture,
// the bare name for the image's own and for "all" (never "tzdata:all"). The package index and
// diff key packages by it, so that two architectures of one name are two packages.
std::string DpkgName(const Package& p, const Inspection& in);

// Reads /etc/os-release (following symlinks inside the tree), /etc/hostname and dpkg's
// database as dpkg reads it: /var/lib/dpkg/status with the entries of its journal,
// /var/lib/dpkg/updates/NNNN, over it. Missing files leave fields empty; an unreadable store is
// an error.
// Counts are filled by the caller's walk (see search_index.h), not here.
Result<Inspection> InspectTree(cas::ObjectStore* store, const ObjectId& root);

std::string EncodeInspection(const Inspection& in);
Inspection DecodeInspection(std::string_view text);

// Reads a whole file of a tree, following symlinks inside the tree as cas::ResolvePath does.
// NotFound when absent. With `cache`, the Trees on the way are decoded once for every call
// given it.
Result<std::string> ReadTreeFile(cas::ObjectStore* store, const ObjectId& root, std::string path,
                                 cas::TreeCache* cache = nullptr);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_INSPECT_H_
