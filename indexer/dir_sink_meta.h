// The metadata of the entries a directory checkout makes (indexer/dir_sink.cc): owners, modes,
// xattrs and times, applied without following what another process may put in an entry's
// place, and what a target cannot hold. Private to the directory sink.
#ifndef CAIRN_INDEXER_DIR_SINK_META_H_
#define CAIRN_INDEXER_DIR_SINK_META_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "cas/tree.h"

namespace cairn::indexer {

// What a checkout may do to its target: give owners (root), and set trusted.* and security.*
// xattrs (root in the initial user namespace: root in another, as in a rootless container, has
// no CAP_SYS_ADMIN over the file system).
struct TargetFs {
  bool as_root = false;
  bool privileged_xattrs = false;
};

// What this process may do (root, and in the initial user namespace).
TargetFs ThisProcessTargetFs();

// Why Linux would not let the checkout set xattr `name` (of `value_size` bytes) on an entry of
// `type`, or "" when it would: a name above 255 bytes or a value above 65,536 (XATTR_NAME_MAX,
// XATTR_SIZE_MAX: a tarball made elsewhere may hold either); a namespace the kernel does not know
// (xattr(7)), which every file system refuses (EOPNOTSUPP); a user.* xattr on anything but a
// regular file or directory, which the kernel refuses (EPERM) because the permission bits of
// symbolic links and device nodes do not govern their xattrs (a tarball made elsewhere may hold
// either); or, for a checkout not `privileged` (TargetFs), a trusted.* or security.* one (a file
// capability, an SELinux label), which only root may set (CAP_SYS_ADMIN, CAP_SETFCAP), as such a
// checkout leaves owners and device nodes out.
std::string_view XattrNotHeld(std::string_view name, size_t value_size, cas::EntryType type,
                              bool privileged);

// Applies owner, mode, xattrs (but those Linux cannot hold: XattrNotHeld) and
// times to an entry of `type`. `fd` >= 0: an open file or directory; else the entry `name` in
// `dirfd`, which the checkout just made, through a PathHandle.
Status ApplyMetadata(int fd, int dirfd, const std::string& name, const cas::Metadata& m,
                     cas::EntryType type, const std::string& shown, const TargetFs& target);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DIR_SINK_META_H_
