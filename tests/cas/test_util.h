// Helpers shared by the cas tests: temporary directories, pseudo-random content, and the
// store factories the conformance suites are instantiated with.
#ifndef CAIRN_TESTS_CAS_TEST_UTIL_H_
#define CAIRN_TESTS_CAS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "base/env.h"
#include "cas/memory_store.h"
#include "cas/object_store.h"
#include "cas/rocks_store.h"

namespace cairn::cas::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `n` pseudo-random bytes, the same for the same seed.
std::string RandomBytes(size_t n, uint64_t seed);
// Writes `data` to `path` (aborts the test binary on failure: a broken fixture).
void WriteFileOrDie(const std::string& path, std::string_view data);

// A SequentialFile that yields RandomBytes(size, seed) piece by piece without holding it.
class RandomFile final : public SequentialFile {
 public:
  RandomFile(uint64_t size, uint64_t seed);
  Result<size_t> Read(char* buf, size_t n) override;
  uint64_t Size() const override { return size_; }

 private:
  uint64_t size_, pos_ = 0, seed_;
  std::string block_;
  uint64_t block_index_ = ~uint64_t{0};
};
// What RandomFile(size, seed) yields, in memory.
std::string RandomFileContent(uint64_t size, uint64_t seed);

// Every object id in the store (from the info space).
std::set<ObjectId> AllObjectIds(ObjectStore* store);
// Replaces the stored record of `damaged.id` (which must be present) with `damaged.record`, as
// a disk that returned wrong bytes would: the info entry is left as it was.
void OverwriteRecord(ObjectStore* store, const EncodedObject& damaged);
// Every key of one space.
std::set<std::string> AllKeys(ObjectStore* store, Space space);
// The whole content of `id`, read through ContentReader; an error if the read failed.
Result<std::string> ReadContent(ObjectStore* store, const ObjectId& id);

// Factories for the typed suites: each makes a fresh, empty store inside `dir`.
struct MemoryStoreFactory {
  static constexpr const char* kName = "MemoryStore";
  static std::unique_ptr<ObjectStore> Make(const std::string& dir);
};
struct RocksStoreFactory {
  static constexpr const char* kName = "RocksStore";
  static std::unique_ptr<ObjectStore> Make(const std::string& dir);
};

// Every ObjectStore implementation, for typed suites.
using StoreFactories = ::testing::Types<MemoryStoreFactory, RocksStoreFactory>;

// Names typed-test instantiations after the factory.
struct FactoryName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

}  // namespace cairn::cas::testing

#endif  // CAIRN_TESTS_CAS_TEST_UTIL_H_
