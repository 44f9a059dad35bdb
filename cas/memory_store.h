// MemoryStore: an ObjectStore held in memory, for tests and as the reference implementation
// the conformance suite (tests/cas/object_store_conformance.h) checks the others against.
//
// Thread-safety: as ObjectStore (one mutex).
#ifndef CAIRN_CAS_MEMORY_STORE_H_
#define CAIRN_CAS_MEMORY_STORE_H_

#include <array>
#include <map>
#include <mutex>
#include <string>

#include "cas/object_store.h"

namespace cairn::cas {

class MemoryStore final : public ObjectStore {
 public:
  Status WriteRaw(std::span<const RawOp> ops, const WriteOptions& options) override;
  Result<std::optional<std::string>> Get(Space space, std::string_view key) override;
  Result<std::optional<std::string>> LastKey(Space space) override;
  Status Scan(Space space, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override;
  Status Flush() override { return Status(); }
  bool read_only() const override { return false; }

 private:
  std::mutex mu_;
  std::array<std::map<std::string, std::string, std::less<>>, kNumSpaces> spaces_;
};

}  // namespace cairn::cas

#endif  // CAIRN_CAS_MEMORY_STORE_H_
