// TarSink: checks a Tree out as a tarball (pax format, with xattrs, sparse files, device nodes
// and hard links), optionally compressed with gzip or zstd, through libarchive. Entry names are
// relative ("./etc/passwd"-free: "etc/passwd"), never absolute or with "..".
#ifndef CAIRN_INDEXER_TAR_SINK_H_
#define CAIRN_INDEXER_TAR_SINK_H_

#include <string>
#include <string_view>

#include "indexer/sink.h"

namespace cairn::indexer {

// The tarball formats TarSink writes: "tar", "tar.gz", "tar.zst", "tar.xz", "tar.bz2".
bool IsTarFormat(std::string_view format);
// The tarball format a file name implies by its ending (".tar", ".tar.gz" or ".tgz", ".tar.zst",
// ".tar.xz" or ".txz", ".tar.bz2" or ".tbz2"), else "".
std::string TarFormatOf(std::string_view name);

class TarSink : public Sink {
 public:
  // format: "tar", "tar.gz" or "tar.zst". target "-" is standard output; otherwise the tarball
  // is written to a new unnamed or uniquely named file beside the target (OutputFile) and put
  // in place when complete (removed on failure). An existing target is replaced only with
  // options.force (else AlreadyExists).
  // Sockets are left out (tar cannot hold them).
  TarSink(std::string target, std::string format)
      : target_(std::move(target)), format_(std::move(format)) {}
  Result<CheckoutResult> Checkout(cas::ObjectStore* store, const ObjectId& root,
                                  const CheckoutOptions& options) override;

 private:
  std::string target_;
  std::string format_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_TAR_SINK_H_
