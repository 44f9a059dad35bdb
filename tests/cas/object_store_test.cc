// Runs the ObjectStore conformance suite against every implementation, plus what is specific
// to the RocksDB store (persistence, read-only opens).
#include "cas/rocks_store.h"
#include "tests/cas/object_store_conformance.h"

namespace cairn::cas::testing {

INSTANTIATE_TYPED_TEST_SUITE_P(All, ObjectStoreTest, StoreFactories, FactoryName);

namespace {

Result<std::unique_ptr<RocksStore>> OpenRocks(const std::string& dir, bool create, bool read_only) {
  RocksStoreOptions o;
  o.create_if_missing = create;
  o.read_only = read_only;
  return RocksStore::Open(dir, o);
}

TEST(RocksStoreTest, FlushedObjectsSurviveReopen) {
  TempDir dir;
  EncodedObject obj = EncodeObject(ObjectType::kBlob, RandomBytes(50000, 9), 3);
  {
    auto store = OpenRocks(dir.path() + "/db", true, false);
    ASSERT_TRUE(store.has_value()) << store.status().ToString();
    WriteBatch b;
    b.PutObject(obj);
    b.Put(Space::kMeta, "config", "x");
    ASSERT_TRUE((*store)->Write(b, WriteOptions{.bulk = true}).ok());
    ASSERT_TRUE((*store)->Flush().ok());
  }
  auto store = OpenRocks(dir.path() + "/db", false, true);
  ASSERT_TRUE(store.has_value()) << store.status().ToString();
  EXPECT_TRUE((*store)->read_only());
  EXPECT_EQ((*store)->Read(obj.id)->data, RandomBytes(50000, 9));
  EXPECT_EQ(**(*store)->Get(Space::kMeta, "config"), "x");
}

TEST(RocksStoreTest, ReadOnlyStoreRefusesWrites) {
  TempDir dir;
  { ASSERT_TRUE(OpenRocks(dir.path() + "/db", true, false).has_value()); }
  auto store = OpenRocks(dir.path() + "/db", false, true);
  ASSERT_TRUE(store.has_value());
  WriteBatch b;
  b.Put(Space::kMeta, "k", "v");
  EXPECT_FALSE((*store)->Write(b, WriteOptions{}).ok());
  EXPECT_FALSE((*store)->Get(Space::kMeta, "k")->has_value());
}

TEST(RocksStoreTest, OpeningAMissingDatabaseFailsNamingTheDirectory) {
  TempDir dir;
  auto store = OpenRocks(dir.path() + "/nothing", false, false);
  ASSERT_FALSE(store.has_value());
  EXPECT_NE(store.error().message().find(dir.path() + "/nothing"), std::string::npos)
      << store.error().message();
}

TEST(RocksStoreTest, SecondWriterOfTheSameDatabaseIsBusy) {
  TempDir dir;
  auto first = OpenRocks(dir.path() + "/db", true, false);
  ASSERT_TRUE(first.has_value());
  auto second = OpenRocks(dir.path() + "/db", false, false);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), Code::kBusy) << second.error().message();
  // A reader does not need the lock.
  EXPECT_TRUE(OpenRocks(dir.path() + "/db", false, true).has_value());
}

}  // namespace
}  // namespace cairn::cas::testing
