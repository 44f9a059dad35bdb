// Package versions come from the dpkg databases of images of any origin, and constraints and
// version names ("web:3", "web@prod") from users: CompareDebianVersions must be a total order
// (search sorts and filters by it), and the parsers must answer or refuse with InvalidArgument.
// The input holds up to three versions separated by NUL bytes.
#include <vector>

#include "catalog/catalog.h"
#include "catalog/debversion.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

namespace {
int Sign(int c) { return (c > 0) - (c < 0); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  const std::vector<std::string_view> v = fuzz::SplitAtNul(in, 3);
  for (auto a : v) {
    FUZZ_CHECK(catalog::CompareDebianVersions(a, a) == 0,
               "a version equals itself: " + std::string(a));
    for (auto b : v) {
      const int ab = Sign(catalog::CompareDebianVersions(a, b));
      FUZZ_CHECK(ab == -Sign(catalog::CompareDebianVersions(b, a)),
                 "antisymmetric: " + std::string(a) + " vs " + std::string(b));
      for (auto c : v) {
        const int bc = Sign(catalog::CompareDebianVersions(b, c));
        if (ab <= 0 && bc <= 0) {
          FUZZ_CHECK(
              Sign(catalog::CompareDebianVersions(a, c)) <= 0,
              "transitive: " + std::string(a) + " <= " + std::string(b) + " <= " + std::string(c));
        }
      }
    }
  }
  auto constraint = catalog::ParsePackageConstraint(v[0]);
  if (constraint) {
    for (auto b : v) (void)constraint->Matches(b);
  } else {
    FUZZ_CHECK(constraint.error().code() == Code::kInvalidArgument, constraint.error().ToString());
  }
  auto spec = catalog::ParseVersionSpec(v[0]);
  if (spec) {
    FUZZ_CHECK(catalog::ValidateImageName(spec->image).ok(),
               "a parsed name is a valid image name: " + spec->image);
    FUZZ_CHECK(!(spec->number && spec->tag), "a number or a tag, not both");
    if (spec->tag)
      FUZZ_CHECK(catalog::ValidateImageName(*spec->tag).ok(), "a valid tag: " + *spec->tag);
  } else {
    FUZZ_CHECK(spec.error().code() == Code::kInvalidArgument, spec.error().ToString());
  }
  return 0;
}
