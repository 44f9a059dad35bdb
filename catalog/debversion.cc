#include "catalog/debversion.h"

#include <cctype>

namespace cairn::catalog {
namespace {

// dpkg's order of a character in a non-digit run: '~' first, then the end of the part (and a
// digit, which ends the run), then letters, then everything else. A NUL byte, which no version
// dpkg accepts holds but an image's database may, sorts with everything else: ordered as the end
// of the part (dpkg's C strings end there), it let the run step over a digit on the other side
// and the order stopped being transitive (found by fuzz/debversion_fuzzer.cc).
int Order(int c) {
  if (std::isdigit(c)) return 0;
  if (std::isalpha(c)) return c;
  if (c == '~') return -1;
  return c + 256;
}

int ComparePart(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !std::isdigit(static_cast<unsigned char>(a[i]))) ||
           (j < b.size() && !std::isdigit(static_cast<unsigned char>(b[j])))) {
      int ac = i < a.size() ? Order(static_cast<unsigned char>(a[i])) : 0;
      int bc = j < b.size() ? Order(static_cast<unsigned char>(b[j])) : 0;
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i])) && j < b.size() &&
           std::isdigit(static_cast<unsigned char>(b[j]))) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) return 1;
    if (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct Parsed {
  long epoch = 0;
  std::string_view upstream, revision;
};

Parsed Split(std::string_view v) {
  Parsed p;
  size_t colon = v.find(':');
  if (colon != std::string_view::npos) {
    p.epoch = std::strtol(std::string(v.substr(0, colon)).c_str(), nullptr, 10);
    v.remove_prefix(colon + 1);
  }
  size_t dash = v.rfind('-');
  if (dash != std::string_view::npos) {
    p.upstream = v.substr(0, dash);
    p.revision = v.substr(dash + 1);
  } else {
    p.upstream = v;
  }
  return p;
}

}  // namespace

int CompareDebianVersions(std::string_view a, std::string_view b) {
  Parsed pa = Split(a), pb = Split(b);
  if (pa.epoch != pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  if (int c = ComparePart(pa.upstream, pb.upstream)) return c < 0 ? -1 : 1;
  int c = ComparePart(pa.revision, pb.revision);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

bool PackageConstraint::Matches(std::string_view installed) const {
  if (op == Op::kAny) return true;
  int c = CompareDebianVersions(installed, version);
  switch (op) {
    case Op::kLess: return c < 0;
    case Op::kLessEq: return c <= 0;
    case Op::kEqual: return c == 0;
    case Op::kGreaterEq: return c >= 0;
    case Op::kGreater: return c > 0;
    case Op::kNotEqual: return c != 0;
    case Op::kAny: return true;
  }
  return false;
}

Result<PackageConstraint> ParsePackageConstraint(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("package constraint '" + std::string(text) + "': " + why);
  };
  PackageConstraint c;
  size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '+' ||
                             text[i] == '-' || text[i] == '.' || text[i] == ':')) {
    ++i;
  }
  c.name = std::string(text.substr(0, i));
  if (c.name.empty()) return bad("expected a package name first");
  while (i < text.size() && text[i] == ' ') ++i;
  if (i == text.size()) return c;
  std::string_view rest = text.substr(i);
  struct {
    std::string_view token;
    PackageConstraint::Op op;
  } const kOps[] = {{"<=", PackageConstraint::Op::kLessEq}, {">=", PackageConstraint::Op::kGreaterEq},
                    {"!=", PackageConstraint::Op::kNotEqual}, {"==", PackageConstraint::Op::kEqual},
                    {"<<", PackageConstraint::Op::kLess},  {">>", PackageConstraint::Op::kGreater},
                    {"<", PackageConstraint::Op::kLess},   {">", PackageConstraint::Op::kGreater},
                    {"=", PackageConstraint::Op::kEqual}};
  bool found = false;
  for (const auto& o : kOps) {
    if (rest.starts_with(o.token)) {
      c.op = o.op;
      rest.remove_prefix(o.token.size());
      found = true;
      break;
    }
  }
  if (!found) return bad("expected one of < <= = >= > != after the name");
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return bad("expected a version after the operator");
  for (char ch : rest) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || std::string_view(".+-~:").find(ch) != std::string_view::npos)) {
      return bad("'" + std::string(1, ch) + "' cannot appear in a Debian version");
    }
  }
  if (!std::isdigit(static_cast<unsigned char>(rest.front()))) return bad("a version starts with a digit");
  c.version = std::string(rest);
  return c;
}

}  // namespace cairn::catalog
