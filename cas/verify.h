// Verify: re-reads every object of a store, re-hashes it and checks the references between
// content objects, reporting each problem found.
#ifndef CAIRN_CAS_VERIFY_H_
#define CAIRN_CAS_VERIFY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "cas/object_store.h"

namespace cairn::cas {

struct VerifyReport {
  uint64_t objects = 0;
  uint64_t bytes = 0;  // uncompressed bytes re-hashed
  // Objects with a problem, each reported through on_problem; also 1 for damage to the
  // store's files outside every object (reported with a zero id).
  uint64_t bad = 0;
};

struct VerifyCallbacks {
  // One call per problem: the object and a message naming it and what is wrong.
  std::function<void(const ObjectId&, const Status&)> on_problem;
  // Progress: objects and bytes done so far (called now and then).
  std::function<void(uint64_t objects, uint64_t bytes)> on_progress;
};

// Walks every record. Returns the report, or an error if the store could not be read at all.
// Checks: the record decodes and hashes to its key; an info entry exists and agrees; a
// chunk-index decodes and every chunk it lists is present with the listed size; the content
// entry of a chunk-index names it; a Tree's subdirectories and files' contents, a Disk's Trees
// and contents and a Version's root are present, of their type; every other space reads whole
// (RocksDB's block checksums).
Result<VerifyReport> VerifyStore(ObjectStore* store, int threads, const VerifyCallbacks& cb);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_VERIFY_H_
