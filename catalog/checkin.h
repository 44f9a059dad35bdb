// Checkin and checkout of versions: the glue between the indexer's Sources and Sinks and the
// catalog. Each is one call for the CLI.
#ifndef CAIRN_CATALOG_CHECKIN_H_
#define CAIRN_CATALOG_CHECKIN_H_

#include <memory>
#include <string>

#include "base/phase_timer.h"
#include "cas/ingestor.h"
#include "cas/repository.h"
#include "catalog/catalog.h"
#include "indexer/sink.h"
#include "indexer/source.h"

namespace cairn::catalog {

// Search-index keys held before they are written (catalog::KeySink): a large tree's keys go to
// the store in batches of this many, and are taken out again if the version is not recorded.
inline constexpr size_t kIndexBatchKeys = 65536;

struct CheckinRequest {
  std::string source;   // a directory, a tarball or a disk image
  std::string image;
  std::string parent;   // "NAME[:VER]" or empty: provenance and, for directories, the stat cache
  bool paranoid = false;  // re-read every file even with a parent
  std::string message;
  std::string author;  // default: $USER@hostname (StampVersion)
  indexer::CheckinOptions options;
  size_t index_batch_keys = kIndexBatchKeys;  // tests write index keys in small batches
};

struct CheckinOutcome {
  VersionRef version;
  indexer::CheckinResult result;
  cas::IngestStats* stats = nullptr;
  uint64_t objects_new = 0, bytes_new = 0, bytes_stored = 0;
};

// Picks the Source for `source` (a directory: DirSource; a regular file: a disk image when its
// content says so (DiskSource), else a tarball), stores it and records a new Version of
// `image` (a disk version for a disk image). On any error the repository is left as it was.
Result<CheckinOutcome> CheckinVersion(cas::Repository& repo, const CheckinRequest& request);

// Records `v`, whose objects went into the store through `ingestor`: indexes the Trees under
// `tree` (their search-index keys written in batches of `index_batch_keys` as they are made,
// catalog::KeySink; `base_tree`, the parent version's root Tree or zero, as for IndexTrees),
// then writes the version's record with the ingestor's last objects and
// makes all of it durable in one flush (cas::Ingestor::Finish). On error the index keys and the
// ingested objects are taken away again, so the repository is as it was. `timer` marks
// "index", "record" and "flush".
Result<VersionRef> RecordIngestedVersion(cas::Repository& repo, cas::Ingestor& ingestor,
                                         cas::Version v, const ObjectId& tree,
                                         const ObjectId& base_tree, size_t index_batch_keys,
                                         PhaseTimer& timer);

// Sets who made `v` (`author`, or $USER@host when empty; without $USER, the effective uid's
// name, or the uid in decimal when it has none) and when (now), for every path that records a
// version: checkin, clone, a mount's commit.
void StampVersion(cas::Version* v, const std::string& author);

// Makes the Source for a path: InvalidArgument naming it when it is neither a directory nor a
// readable file.
Result<std::unique_ptr<indexer::Source>> OpenSource(const std::string& path);

// Writes version `spec` to `target` in `format` ("dir", "tar", "tar.gz", "tar.zst", and for
// disk versions "raw" and "qcow2"; empty: from the target's name). A disk version checked out
// as a directory or tarball gives its view Tree.
Result<indexer::CheckoutResult> CheckoutVersion(cas::Repository& repo, const std::string& spec,
                                                const std::string& target, std::string format,
                                                const indexer::CheckoutOptions& options);

// Makes `new_image`'s next version from `spec` without copying data: the same root, with
// `spec` as its parent.
Result<VersionRef> CloneVersion(cas::Repository& repo, const std::string& spec,
                                const std::string& new_image, const std::string& message);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_CHECKIN_H_
