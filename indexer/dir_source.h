// DirSource: checks in a directory tree (a golden client, a debootstrap chroot, a mounted
// filesystem) with full fidelity (DESIGN.md, Fidelity).
//
// The walk runs in the calling thread; file contents are read, hashed, chunked and compressed
// on a pool of workers while the walk goes on; directories become Trees in post-order as soon
// as their files are stored. Memory is bounded by the number of files and directories in flight,
// not by the size of the tree. Does not cross into other filesystems (a mount point is kept as an
// empty directory). Hard links are detected by inode.
#ifndef CAIRN_INDEXER_DIR_SOURCE_H_
#define CAIRN_INDEXER_DIR_SOURCE_H_

#include <memory>
#include <string>

#include "indexer/source.h"

namespace cairn::indexer {

class DirSource : public Source {
 public:
  // REQUIRES: `root` names a directory.
  explicit DirSource(std::string root, int threads = ThreadPool::DefaultThreads())
      : root_(std::move(root)), threads_(threads) {}
  Result<CheckinResult> Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) override;

 private:
  std::string root_;
  int threads_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DIR_SOURCE_H_
