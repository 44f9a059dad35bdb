// Names and metadata of libarchive entries, as TarSource (indexer/tar_source.cc) stores them.
//
// Names are normalised as GNU tar extracts them: leading '/' are stripped, "" and "."
// components are dropped ("./etc/" is "etc"); a ".." component is refused. POSIX ACLs recorded
// only as ACL headers (SCHILY.acl.*, not as xattrs) become the system.posix_acl_* xattrs the
// kernel would hold.
#ifndef CAIRN_INDEXER_TAR_ENTRY_H_
#define CAIRN_INDEXER_TAR_ENTRY_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cas/tree.h"

struct archive_entry;

namespace cairn::indexer {

// Splits an archive name into its components, as extraction would create them; InvalidArgument
// naming `tarball` and the entry for a ".." component.
Result<std::vector<std::string>> SplitName(std::string_view name, const std::string& tarball);
// The components joined with '/'.
std::string JoinPath(const std::vector<std::string>& parts);
// The entry's mode bits, owner, mtime and xattrs (ACL headers included; a user or group an ACL
// entry names without a numeric id is looked up in this host's databases, as GNU tar does on
// extraction; xattr names of GNU tar's SCHILY.xattr records unescaped as GNU tar does).
// NotSupported, naming `shown`, for NFSv4 ACLs and ACL entries naming a user or group this
// host does not know;
// InvalidArgument, naming `shown` and the xattr, for an ACL Linux cannot hold (not one
// posix_acl_valid takes, a default ACL on a non-directory, an ACL on a symbolic link).
Result<cas::Metadata> EntryMetadata(struct archive_entry* e, const std::string& shown);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_TAR_ENTRY_H_
