// POSIX access ACLs in their xattr form (system.posix_acl_access: a little-endian u32 version 2,
// then entries of u16 tag, u16 permissions, u32 id). A filesystem that stores them must keep
// the file mode and the ACL in step, as the kernel does for local filesystems: setting an ACL
// sets the mode's permission bits (owner from USER_OBJ, group from MASK or else GROUP_OBJ,
// others from OTHER), an ACL with no other entries is the mode itself and is not stored, and
// chmod rewrites those entries. Without this, `sed -i` (which copies the ACL onto its new file
// through libacl) left files 0600 with a stored ACL.
#ifndef CAIRN_VMOUNT_POSIX_ACL_H_
#define CAIRN_VMOUNT_POSIX_ACL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "cas/tree.h"

namespace cairn::vmount {

inline constexpr std::string_view kAclAccessXattr = "system.posix_acl_access";
inline constexpr std::string_view kAclDefaultXattr = "system.posix_acl_default";

struct AclMode {
  uint32_t permissions = 0;  // rwxrwxrwx bits the ACL implies
  bool minimal = false;      // only USER_OBJ, GROUP_OBJ and OTHER: the mode says it all
};

// InvalidArgument (EINVAL at the fuse edge) unless `xattr` is a well-formed access ACL.
Result<AclMode> ModeOfAcl(std::string_view xattr);

// `xattr` with its owner, group-class (MASK, else GROUP_OBJ) and other permissions set from
// `mode`. REQUIRES: ModeOfAcl(xattr) succeeded.
std::string AclWithMode(std::string_view xattr, uint32_t mode);

// What an entry made in a directory with the default ACL `dflt` gets, as acl(5) says: the
// default ACL as its access ACL, with the owner, group-class and other permissions cut to those
// of `mode` (the mode asked for, no umask applied), and a directory the default ACL as its own.
struct InheritedAcl {
  uint32_t mode = 0;   // `mode` with its permission bits cut as the ACL's
  std::string access;  // empty when the ACL says no more than the mode
  std::string dflt;    // a directory's default ACL, else empty
};
// The default ACL among a directory's xattrs, or null.
const std::string* DefaultAclIn(const cas::Xattrs& xattrs);
// nullopt when `dflt` is no well-formed ACL (nothing is inherited then).
std::optional<InheritedAcl> InheritAcl(std::string_view dflt, uint32_t mode, bool directory);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_POSIX_ACL_H_
