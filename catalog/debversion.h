// Debian version ordering (deb-version(7), as dpkg --compare-versions) and package constraints
// such as "libssl3<3.0.22".
#ifndef CAIRN_CATALOG_DEBVERSION_H_
#define CAIRN_CATALOG_DEBVERSION_H_

#include <string>
#include <string_view>

#include "base/result.h"

namespace cairn::catalog {

// <0, 0, >0 as a is older than, equal to, or newer than b. Epochs, upstream and revision parts,
// '~' sorting before everything, digits compared numerically.
int CompareDebianVersions(std::string_view a, std::string_view b);

struct PackageConstraint {
  enum class Op { kAny, kLess, kLessEq, kEqual, kGreaterEq, kGreater, kNotEqual };
  std::string name;
  Op op = Op::kAny;
  std::string version;
  bool Matches(std::string_view installed_version) const;
};

// Parses NAME, or NAME followed by one of < <= = == >= > != and a version ("libssl3<3.0.22",
// "libc6 >= 2.36"). InvalidArgument naming the text when malformed.
Result<PackageConstraint> ParsePackageConstraint(std::string_view text);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_DEBVERSION_H_
