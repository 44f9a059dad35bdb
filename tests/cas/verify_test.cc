#include "cas/verify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "base/sha256.h"
#include "cas/chunk_index.h"
#include "cas/ingestor.h"
#include "tests/cas/test_util.h"

namespace cairn::cas::testing {
namespace {

struct Problems {
  std::map<ObjectId, std::vector<std::string>> by_id;
  VerifyCallbacks callbacks() {
    VerifyCallbacks cb;
    cb.on_problem = [this](const ObjectId& id, const Status& s) {
      EXPECT_FALSE(s.ok());
      by_id[id].push_back(s.message());
    };
    return cb;
  }
};

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = MemoryStoreFactory::Make(dir_.path()); }
  FileContent Put(std::string_view data) {
    IngestOptions o;
    o.threads = 2;
    Ingestor ingestor(store_.get(), o);
    auto c = ingestor.PutBytes(data);
    EXPECT_TRUE(c.has_value());
    EXPECT_TRUE(ingestor.Finish().ok());
    return *c;
  }
  void Write(const WriteBatch& b) { ASSERT_TRUE(store_->Write(b, WriteOptions{}).ok()); }
  ChunkIndex IndexOf(const ObjectId& id) {
    return *DecodeChunkIndex(id, *store_->ReadTyped(id, ObjectType::kChunkIndex));
  }

  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(VerifyTest, EmptyStoreIsClean) {
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->objects, 0u);
  EXPECT_EQ(r->bad, 0u);
}

TEST_F(VerifyTest, CleanStoreHasNoBadObjects) {
  std::string large = RandomBytes(2 << 20, 40);
  Put(large);
  Put("small");
  Put("");
  Problems p;
  uint64_t progress_calls = 0;
  VerifyCallbacks cb = p.callbacks();
  cb.on_progress = [&](uint64_t, uint64_t) { ++progress_calls; };
  auto r = VerifyStore(store_.get(), 2, cb);
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->bad, 0u);
  EXPECT_TRUE(p.by_id.empty());
  EXPECT_EQ(r->objects, AllObjectIds(store_.get()).size());
  EXPECT_GE(r->bytes, large.size() + 5);
  EXPECT_GE(progress_calls, 1u);
}

TEST_F(VerifyTest, RecordThatDoesNotHashToItsIdIsReportedById) {
  Put(RandomBytes(1 << 20, 41));
  FileContent victim = Put("the original bytes");
  OverwriteRecord(store_.get(), EncodeObjectWithId(victim.id, ObjectType::kBlob, "the damaged bytes!", 0));
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  ASSERT_EQ(p.by_id.size(), 1u);
  ASSERT_TRUE(p.by_id.contains(victim.id));
  EXPECT_NE(p.by_id[victim.id][0].find(victim.id.Short()), std::string::npos);
}

TEST_F(VerifyTest, UndecodableRecordIsReported) {
  FileContent victim = Put("some content");
  EncodedObject junk = EncodeObjectWithId(victim.id, ObjectType::kBlob, "some content", 0);
  junk.record[0] = 9;  // unknown codec
  OverwriteRecord(store_.get(), junk);
  Problems p;
  auto r = VerifyStore(store_.get(), 1, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  EXPECT_TRUE(p.by_id.contains(victim.id));
}

TEST_F(VerifyTest, ChunkIndexWithAMissingChunkIsReported) {
  FileContent c = Put(RandomBytes(2 << 20, 42));
  ASSERT_EQ(c.type, ObjectType::kChunkIndex);
  ObjectId lost = IndexOf(c.id).chunks[2].id;
  WriteBatch b;
  b.DeleteObject(lost);
  Write(b);
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  ASSERT_TRUE(p.by_id.contains(c.id));
  EXPECT_NE(p.by_id[c.id][0].find(lost.Short()), std::string::npos) << p.by_id[c.id][0];
}

TEST_F(VerifyTest, InfoEntryWithoutRecordIsReported) {
  FileContent c = Put("lonely info");
  WriteBatch b;
  b.Delete(Space::kObjects, RecordKey(store_->Info(c.id)->position));
  Write(b);
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  EXPECT_TRUE(p.by_id.contains(c.id));
}

TEST_F(VerifyTest, RecordWithoutInfoEntryIsReported) {
  Put("keeps its info");
  FileContent c = Put("loses its info");
  WriteBatch b;
  b.Delete(Space::kObjectInfo, c.id.AsBytes());
  Write(b);
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  EXPECT_EQ(r->objects, 2u);
  EXPECT_TRUE(p.by_id.contains(c.id));
}

TEST_F(VerifyTest, TwoInfoEntriesNamingOneRecordAreReported) {
  FileContent a = Put("the record's own object");
  ObjectId impostor = Sha256::Of("an object that was never stored");
  ObjectInfo info = *store_->Info(a.id);
  std::string value = EncodeObjectInfo(info);
  RawOp op{true, Space::kObjectInfo, impostor.AsBytes(), value};
  ASSERT_TRUE(store_->WriteRaw(std::span<const RawOp>(&op, 1), WriteOptions{}).ok());
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  EXPECT_TRUE(p.by_id.contains(impostor));
  EXPECT_FALSE(p.by_id.contains(a.id));
}

TEST_F(VerifyTest, InfoEntryThatDisagreesWithTheRecordIsReported) {
  EncodedObject obj = EncodeObject(ObjectType::kBlob, "typed wrongly", 0);
  obj.type = ObjectType::kTree;  // the info entry will say tree; the record says blob
  WriteBatch b;
  b.PutObject(obj);
  Write(b);
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  EXPECT_TRUE(p.by_id.contains(obj.id));
}

// Damage on disk, under RocksDB: the store's own checksums or cairn's must catch it, and verify
// must name the damaged object and go on instead of giving up.
TEST(VerifyRocksTest, DamagedBytesOnDiskAreReportedById) {
  TempDir dir;
  auto store = RocksStoreFactory::Make(dir.path());
  std::string data = RandomBytes(1 << 20, 43);
  IngestOptions o;
  o.threads = 2;
  Ingestor ingestor(store.get(), o);
  auto c = ingestor.PutBytes(data);
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(ingestor.Finish().ok());
  store.reset();

  // Random data is stored raw, so it appears verbatim in a blob file.
  std::string needle = data.substr(500000, 64);
  int flipped = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/db")) {
    std::string bytes = *ReadFileToString(Env::Default(), e.path().string());
    for (size_t at = bytes.find(needle); at != std::string::npos; at = bytes.find(needle, at + 1)) {
      bytes[at + 10] ^= 0x55;
      ++flipped;
    }
    if (flipped > 0) WriteFileOrDie(e.path().string(), bytes);
  }
  ASSERT_GT(flipped, 0) << "the content was not found in the database files";

  // Which chunk holds offset 500000.
  ChunkerOptions chunker;
  ObjectId damaged;
  size_t pos = 0;
  for (size_t len :
       ChunkLengths(chunker, {reinterpret_cast<const uint8_t*>(data.data()), data.size()})) {
    if (pos <= 500010 && 500010 < pos + len)
      damaged = Sha256::Of(std::string_view(data).substr(pos, len));
    pos += len;
  }
  store = RocksStoreFactory::Make(dir.path());
  Problems p;
  auto r = VerifyStore(store.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->bad, 1u);
  EXPECT_TRUE(p.by_id.contains(damaged)) << "damaged chunk " << damaged.ToHex() << " not reported";
  EXPECT_EQ(r->objects, AllObjectIds(store.get()).size());
  EXPECT_EQ(store->Read(damaged).error().code(), Code::kCorruption);
}

}  // namespace
}  // namespace cairn::cas::testing
