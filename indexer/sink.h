// Sinks: what the indexer can check out to. Each Sink writes one stored root Tree out as one kind
// of thing (a directory, a tarball, later disk images). Every Sink refuses to write outside its
// target whatever the names, symlinks or hard links inside the tree.
#ifndef CAIRN_INDEXER_SINK_H_
#define CAIRN_INDEXER_SINK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/progress.h"
#include "cas/object_store.h"

namespace cairn::indexer {

struct CheckoutOptions {
  // Write into a target that exists and is not empty, replacing entries of the same name.
  // Default: false.
  bool force = false;
  Progress* progress = nullptr;  // may be null
  // Disk images: the new disk's size in bytes; 0 keeps the recorded size. Default: 0.
  uint64_t disk_size = 0;
};

// An entry a checkout left out, and why ("a socket, which a tarball cannot hold").
struct LeftOut {
  // The entry's path; for one xattr left out of an entry written without it, "xattr NAME of
  // PATH".
  std::string path;
  std::string why;
  bool operator==(const LeftOut&) const = default;
};

struct CheckoutResult {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;
  // Entries the target cannot hold, left out, in the order of the walk: sockets in a tarball,
  // device nodes in a directory written by a user who may not create them, xattrs outside
  // Linux's namespaces in a directory.
  std::vector<LeftOut> left_out;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Result<CheckoutResult> Checkout(cas::ObjectStore* store, const ObjectId& root,
                                          const CheckoutOptions& options) = 0;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_SINK_H_
