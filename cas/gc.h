// Garbage collection: removes every object that no root reaches. Mark follows the typed
// objects (Version -> root Tree -> subtrees and contents -> chunks; Disk arrives later); sweep
// deletes the rest in batches and drops their content-digest entries, then compacts so the
// space is given back.
//
// REQUIRES: the caller holds the repository's write lock for the whole call (cas/repository.h):
// no checkin runs meanwhile, so no object can be referenced between mark and sweep.
#ifndef CAIRN_CAS_GC_H_
#define CAIRN_CAS_GC_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "cas/object_store.h"
#include "cas/tree.h"
#include "cas/write_batch.h"

namespace cairn::cas {

struct GcStats {
  uint64_t objects = 0;          // before
  uint64_t reachable = 0;
  uint64_t deleted = 0;
  uint64_t deleted_raw_bytes = 0;
  uint64_t deleted_stored_bytes = 0;
  // The store was compacted, giving the deleted objects' space back (false: readers kept it
  // from being, GcOptions::may_compact; a later gc does it).
  bool compacted = false;
};

// Called for each Tree the sweep removes, before it is removed, to delete what higher layers
// keep about it (the catalog's tree index) in the same batch.
using DeadTreeHook = std::function<Status(const ObjectId& id, const Tree& tree, WriteBatch* batch)>;

struct GcOptions {
  bool dry_run = false;
  // Progress: phase ("mark", "sweep") and objects done.
  std::function<void(const char* phase, uint64_t done)> on_progress;
  DeadTreeHook on_dead_tree;  // may be empty
  // Asked before the store is compacted (which drops and rewrites files that readers open
  // only when they first read from them): whether it may be now (Repository::ExcludeReaders).
  // Empty: always.
  std::function<Result<bool>()> may_compact;
  // The sweep's deletions are written in unsynced batches of about this many bytes.
  size_t sweep_batch_bytes = 1 << 20;
  // Tests: called after each batch of the sweep is written; false stops gc there with an
  // error, as a process killed at that moment would (nothing after it is written).
  std::function<bool()> after_sweep_batch;
};

Result<GcStats> CollectGarbage(ObjectStore* store, const std::vector<ObjectId>& roots,
                               const GcOptions& options);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_GC_H_
