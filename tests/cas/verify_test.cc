#include "cas/verify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "base/sha256.h"
#include "cas/chunk_index.h"
#include "cas/ingestor.h"
#include "cas/rocks_store.h"
#include "cas/tree.h"
#include "cas/version.h"
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

// A Tree's subdirectory or file content, or a Version's root, that is not in the store is
// reported against the object naming it: a checkout reaches it. verify passed a repository
// whose version's file was gone ("cat ...: object ...: not in the repository").
TEST_F(VerifyTest, ATreeOrVersionNamingAMissingObjectIsReported) {
  FileContent content = Put("the file's bytes");
  FileContent kept = Put("another file's bytes");
  Tree sub;
  sub.meta.mode = 0755;
  EncodedObject sub_obj = EncodeObject(ObjectType::kTree, EncodeTree(sub), 0);
  Tree root;
  root.meta.mode = 0755;
  TreeEntry dir{.name = "dir", .type = EntryType::kDirectory, .id = sub_obj.id};
  TreeEntry file{.name = "file", .type = EntryType::kRegular, .id = content.id};
  file.meta.mode = 0644;
  file.size = 16;
  TreeEntry other{.name = "other", .type = EntryType::kRegular, .id = kept.id};
  other.meta.mode = 0644;
  other.size = 20;
  root.entries = {dir, file, other};
  ASSERT_TRUE(ValidateTree(root).ok());
  EncodedObject root_obj = EncodeObject(ObjectType::kTree, EncodeTree(root), 0);
  Version v;
  v.root = root_obj.id;
  v.image = "x";
  EncodedObject v_obj = EncodeObject(ObjectType::kVersion, EncodeVersion(v), 0);
  WriteBatch b;
  for (const auto* o : {&sub_obj, &root_obj, &v_obj}) b.PutObject(*o);
  Write(b);
  {
    Problems p;
    auto r = VerifyStore(store_.get(), 2, p.callbacks());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->bad, 0u);
  }
  WriteBatch lose;
  lose.DeleteObject(content.id);
  lose.DeleteObject(sub_obj.id);
  Write(lose);
  {
    Problems p;
    auto r = VerifyStore(store_.get(), 2, p.callbacks());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->bad, 1u);
    ASSERT_EQ(p.by_id[root_obj.id].size(), 2u);
    EXPECT_NE(
        p.by_id[root_obj.id][0].find("entry dir: directory " + sub_obj.id.Short() + " is missing"),
        std::string::npos)
        << p.by_id[root_obj.id][0];
    EXPECT_NE(
        p.by_id[root_obj.id][1].find("entry file: content " + content.id.Short() + " is missing"),
        std::string::npos)
        << p.by_id[root_obj.id][1];
  }
  WriteBatch lose_root;
  lose_root.DeleteObject(root_obj.id);
  Write(lose_root);
  Problems p;
  auto r = VerifyStore(store_.get(), 2, p.callbacks());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->bad, 1u);
  ASSERT_EQ(p.by_id[v_obj.id].size(), 1u);
  EXPECT_NE(p.by_id[v_obj.id][0].find("root " + root_obj.id.Short() + " is missing"),
            std::string::npos)
      << p.by_id[v_obj.id][0];
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

// Damage to any table file is reported, whatever space it holds: verify read only the object
// spaces, and passed a repository whose map of large files' SHA-256s (the content space) failed
// every checkin of a large file ("block checksum mismatch", exit 5).
TEST(VerifyRocksTest, DamageToAnyTableFileIsReported) {
  TempDir dir;
  const std::string db = dir.path() + "/good";
  {
    RocksStoreOptions o;
    o.create_if_missing = true;
    auto store = RocksStore::Open(db, o);
    ASSERT_TRUE(store.has_value()) << store.status().ToString();
    IngestOptions io;
    io.threads = 2;
    Ingestor ingestor(store->get(), io);
    ASSERT_TRUE(ingestor.PutBytes(RandomBytes(2 << 20, 44)).has_value());  // a content entry
    ASSERT_TRUE(ingestor.Finish().ok());
    // Enough in the log for the close to flush it into tables (a small log is left to replay).
    for (int i = 0; i < 3; ++i) {
      WriteBatch b;
      b.Put(Space::kRefs, "image/x" + std::to_string(i), RandomBytes(64 << 10, 50 + i));
      b.Put(Space::kCatalog, "version/x/" + std::to_string(i), RandomBytes(64 << 10, 60 + i));
      b.Put(Space::kMeta, "setting" + std::to_string(i), RandomBytes(64 << 10, 70 + i));
      ASSERT_TRUE((*store)->Write(b, WriteOptions{.sync = true}).ok());
    }
    ASSERT_TRUE((*store)->FlushAll().ok());
  }
  int tables = 0;
  for (const auto& e : std::filesystem::directory_iterator(db)) {
    if (e.path().extension() != ".sst") continue;
    ++tables;
    const std::string copy = dir.path() + "/copy" + std::to_string(tables);
    std::filesystem::copy(db, copy);
    const std::string table = copy + "/" + e.path().filename().string();
    std::string bytes = *ReadFileToString(Env::Default(), table);
    ASSERT_GT(bytes.size(), 8u);
    bytes[8] ^= 0x40;  // in the first data block
    WriteFileOrDie(table, bytes);
    RocksStoreOptions o;
    o.read_only = true;
    auto store = RocksStore::Open(copy, o);
    if (!store.has_value()) {  // refused at open: reported too
      EXPECT_EQ(store.error().code(), Code::kCorruption) << table;
      continue;
    }
    Problems p;
    auto r = VerifyStore(store->get(), 2, p.callbacks());
    if (!r.has_value()) {
      EXPECT_EQ(r.error().code(), Code::kCorruption) << table;
      continue;
    }
    EXPECT_GE(r->bad, 1u) << table << " damaged, verify found nothing";
  }
  EXPECT_GE(tables, 5) << "object info, content, refs, catalog, meta";
}

}  // namespace
}  // namespace cairn::cas::testing
