// DirSink: checks a Tree out into a directory, exactly: contents, sparse files written sparse,
// symlinks, device nodes, fifos and sockets, hard links, owners (when run as root), modes with
// setuid/setgid/sticky, xattrs (capabilities and ACLs included) and mtimes, directory mtimes
// last. A user who may not make device nodes (no CAP_MKNOD) gets the rest, and
// CheckoutResult::left_out names each device left out. An xattr outside the namespaces Linux
// holds (user., trusted., security., system.: a macOS tarball's com.apple.quarantine), which
// every file system refuses (EOPNOTSUPP), is left out too, its entry written without it and
// named in left_out; a tarball checkout keeps it.
//
// Never writes outside the target: every directory is created by the sink itself and entered
// with O_NOFOLLOW relative to its parent's descriptor, names are single safe components, and
// hard-link paths are resolved the same way, so no symlink, "..", or absolute name in a tree
// can lead out.
#ifndef CAIRN_INDEXER_DIR_SINK_H_
#define CAIRN_INDEXER_DIR_SINK_H_

#include <string>

#include "base/thread_pool.h"
#include "indexer/sink.h"

namespace cairn::indexer {

class DirSink : public Sink {
 public:
  explicit DirSink(std::string target, int threads = ThreadPool::DefaultThreads())
      : target_(std::move(target)), threads_(threads) {}
  // InvalidArgument if the target exists, is not empty and !options.force, or is not a
  // directory; errors from the store (Corruption, NotFound) name the object.
  Result<CheckoutResult> Checkout(cas::ObjectStore* store, const ObjectId& root,
                                  const CheckoutOptions& options) override;

 private:
  std::string target_;
  int threads_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DIR_SINK_H_
