#include "vmount/posix_acl.h"

#include <cerrno>

#include "vmount/errors.h"

namespace cairn::vmount {
namespace {

constexpr uint32_t kVersion = 2;
constexpr size_t kHeader = 4, kEntry = 8;
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10,
                   kOther = 0x20;

uint32_t Le32(std::string_view s, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3])) << 24;
}
uint16_t Le16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) |
                               static_cast<unsigned char>(s[at + 1]) << 8);
}

}  // namespace

Result<AclMode> ModeOfAcl(std::string_view x) {
  auto bad = [] { return FsError(EINVAL, "set xattr", std::string(kAclAccessXattr)); };
  if (x.size() < kHeader || (x.size() - kHeader) % kEntry != 0 || Le32(x, 0) != kVersion) return bad();
  int user_obj = -1, group_obj = -1, mask = -1, other = -1;
  bool extended = false;
  for (size_t at = kHeader; at < x.size(); at += kEntry) {
    uint16_t tag = Le16(x, at), perm = Le16(x, at + 2);
    if (perm > 7) return bad();
    switch (tag) {
      case kUserObj: user_obj = perm; break;
      case kGroupObj: group_obj = perm; break;
      case kMask: mask = perm; break;
      case kOther: other = perm; break;
      case kUser:
      case kGroup: extended = true; break;
      default: return bad();
    }
  }
  if (user_obj < 0 || group_obj < 0 || other < 0 || (extended && mask < 0)) return bad();
  AclMode m;
  int group = mask >= 0 ? mask : group_obj;
  m.permissions = static_cast<uint32_t>(user_obj << 6 | group << 3 | other);
  m.minimal = !extended && mask < 0;
  return m;
}

std::string AclWithMode(std::string_view x, uint32_t mode) {
  std::string out(x);
  bool has_mask = false;
  for (size_t at = kHeader; at + kEntry <= x.size(); at += kEntry) has_mask |= Le16(x, at) == kMask;
  for (size_t at = kHeader; at + kEntry <= x.size(); at += kEntry) {
    uint16_t tag = Le16(x, at);
    int perm = -1;
    if (tag == kUserObj) perm = (mode >> 6) & 7;
    if (tag == kMask || (tag == kGroupObj && !has_mask)) perm = (mode >> 3) & 7;
    if (tag == kOther) perm = mode & 7;
    if (perm >= 0) {
      out[at + 2] = static_cast<char>(perm);
      out[at + 3] = 0;
    }
  }
  return out;
}

const std::string* DefaultAclIn(const cas::Xattrs& xattrs) {
  for (const auto& [k, v] : xattrs)
    if (k == kAclDefaultXattr) return &v;
  return nullptr;
}

std::optional<InheritedAcl> InheritAcl(std::string_view dflt, uint32_t mode, bool directory) {
  auto acl = ModeOfAcl(dflt);
  if (!acl) return std::nullopt;
  InheritedAcl out;
  const uint32_t perms = acl->permissions & mode & 0777;
  out.mode = (mode & 07000) | perms;
  if (!acl->minimal) out.access = AclWithMode(dflt, perms);
  if (directory) out.dflt = std::string(dflt);
  return out;
}

}  // namespace cairn::vmount
