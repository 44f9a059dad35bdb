// Runs the ObjectStore conformance suite against every implementation, plus what is specific
// to the RocksDB store (persistence, read-only opens).
#include <filesystem>

#include "cas/rocks_store.h"
#include "tests/cas/object_store_conformance.h"
#include "tests/cas/power_cut_fs.h"

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

// Bytes in the database's write-ahead logs (what the next open replays).
uint64_t LogBytes(const std::string& db) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(db)) {
    if (e.path().extension() == ".log") n += e.file_size();
  }
  return n;
}

// Creates a store in `db` that holds one key, written synced (through the log).
void CreateWithKey(const std::string& db, Space space, const std::string& key,
                   const std::string& value) {
  auto store = OpenRocks(db, true, false);
  ASSERT_TRUE(store.has_value()) << store.status().ToString();
  WriteBatch b;
  b.Put(space, key, value);
  ASSERT_TRUE((*store)->Write(b, WriteOptions{.sync = true}).ok());
}

TEST(RocksStoreTest, ASmallLogIsLeftForTheNextOpenToReplay) {
  TempDir dir;
  const std::string db = dir.path() + "/db";
  ASSERT_NO_FATAL_FAILURE(CreateWithKey(db, Space::kRefs, "r1", "one"));
  EXPECT_GT(LogBytes(db), 0u) << "the synced write was flushed at close, not left in the log";
  {
    auto reader = OpenRocks(db, false, true);
    ASSERT_TRUE(reader.has_value()) << reader.status().ToString();
    EXPECT_EQ(**(*reader)->Get(Space::kRefs, "r1"), "one");
  }
  {  // a writer replays it, keeps it, and adds to it
    auto store = OpenRocks(db, false, false);
    ASSERT_TRUE(store.has_value()) << store.status().ToString();
    EXPECT_EQ(**(*store)->Get(Space::kRefs, "r1"), "one");
    WriteBatch b;
    b.Put(Space::kRefs, "r2", "two");
    ASSERT_TRUE((*store)->Write(b, WriteOptions{.sync = true}).ok());
  }
  auto reader = OpenRocks(db, false, true);
  ASSERT_TRUE(reader.has_value()) << reader.status().ToString();
  EXPECT_EQ(**(*reader)->Get(Space::kRefs, "r1"), "one");
  EXPECT_EQ(**(*reader)->Get(Space::kRefs, "r2"), "two");
}

TEST(RocksStoreTest, ALargeLogIsFlushedAtClose) {
  TempDir dir;
  const std::string db = dir.path() + "/db";
  const std::string value = RandomBytes(64 << 10, 3);
  {
    auto store = OpenRocks(db, true, false);
    ASSERT_TRUE(store.has_value()) << store.status().ToString();
    for (int i = 0; i < 8; ++i) {  // 512 KiB, more than a writer leaves in the log
      WriteBatch b;
      b.Put(Space::kCatalog, "k" + std::to_string(i), value);
      ASSERT_TRUE((*store)->Write(b, WriteOptions{.sync = true}).ok());
    }
  }
  EXPECT_EQ(LogBytes(db), 0u);
  auto reader = OpenRocks(db, false, true);
  ASSERT_TRUE(reader.has_value()) << reader.status().ToString();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(**(*reader)->Get(Space::kCatalog, "k" + std::to_string(i)), value);
}

// A writer does not sync the OPTIONS file RocksDB writes at each open (cas/rocks_store.cc): a
// power cut may leave the newest one empty or cut short. The next opens must not need it.
TEST(RocksStoreTest, ATornOptionsFileDoesNotStopTheNextOpen) {
  for (bool empty : {true, false}) {
    TempDir dir;
    const std::string db = dir.path() + "/db";
    ASSERT_NO_FATAL_FAILURE(CreateWithKey(db, Space::kMeta, "config", "x"));
    std::string newest;
    for (const auto& e : std::filesystem::directory_iterator(db)) {
      const std::string name = e.path().filename().string();
      if (name.starts_with("OPTIONS-") && name > newest) newest = name;
    }
    ASSERT_FALSE(newest.empty());
    const auto size = std::filesystem::file_size(db + "/" + newest);
    std::filesystem::resize_file(db + "/" + newest, empty ? 0 : size / 2);
    auto reader = OpenRocks(db, false, true);
    ASSERT_TRUE(reader.has_value()) << reader.status().ToString();
    EXPECT_EQ(**(*reader)->Get(Space::kMeta, "config"), "x");
    reader->reset();
    auto writer = OpenRocks(db, false, false);
    ASSERT_TRUE(writer.has_value()) << writer.status().ToString();
    EXPECT_EQ(**(*writer)->Get(Space::kMeta, "config"), "x");
  }
}

// Bulk writes outside the object spaces are made durable by FlushAll, not by Flush.
TEST(RocksStoreTest, FlushAllMakesBulkWritesToEverySpaceDurable) {
  for (bool all : {false, true}) {
    TempDir dir;
    const std::string db = dir.path() + "/db", after = dir.path() + "/after";
    { ASSERT_TRUE(OpenRocks(db, true, false).has_value()); }
    auto fs = std::make_shared<PowerCutFs>(db, 0, after);
    {
      RocksStoreOptions o;
      o.file_system = fs;
      auto store = RocksStore::Open(db, o);
      ASSERT_TRUE(store.has_value()) << store.status().ToString();
      EncodedObject obj = EncodeObject(ObjectType::kBlob, "some bytes", 3);
      WriteBatch b;
      b.PutObject(obj);
      b.Put(Space::kCatalog, "index-key", "v");
      ASSERT_TRUE((*store)->Write(b, WriteOptions{.bulk = true}).ok());
      ASSERT_TRUE((all ? (*store)->FlushAll() : (*store)->Flush()).ok());
      fs->CutNow();  // the power fails before the store is closed
      auto found = OpenRocks(after, false, true);
      ASSERT_TRUE(found.has_value()) << found.status().ToString();
      EXPECT_TRUE(*(*found)->Contains(obj.id));
      EXPECT_EQ((*found)->Get(Space::kCatalog, "index-key")->has_value(), all)
          << (all ? "FlushAll" : "Flush");
    }
  }
}

}  // namespace
}  // namespace cairn::cas::testing
