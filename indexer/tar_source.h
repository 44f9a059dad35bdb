// TarSource: checks in a tarball (tar, tar.gz, tar.zst, ...; the format is detected) through
// libarchive: pax headers with xattrs, GNU sparse files, device nodes, hard links. A tree checked
// in from a directory and from its tarball get the same root id.
#ifndef CAIRN_INDEXER_TAR_SOURCE_H_
#define CAIRN_INDEXER_TAR_SOURCE_H_

#include <string>

#include "indexer/source.h"

namespace cairn::indexer {

// Errors: Corruption naming the tarball when it is truncated, damaged or not an archive;
// InvalidArgument naming the entry for a ".." component, a hard link to an entry not read
// before it, or a path beneath a non-directory. Leading '/' are stripped, as GNU tar does; a
// later entry of the same name replaces the earlier; missing parent directories are made with
// mode 0755, owner 0:0, mtime 0 (details: tar_source.cc).
class TarSource : public Source {
 public:
  explicit TarSource(std::string path) : path_(std::move(path)) {}
  Result<CheckinResult> Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) override;

 private:
  std::string path_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_TAR_SOURCE_H_
