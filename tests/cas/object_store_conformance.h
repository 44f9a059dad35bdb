// The ObjectStore conformance suite: every ObjectStore implementation must pass it.
//
// Instantiate it with a factory type (see tests/cas/test_util.h) that has
// `static std::unique_ptr<ObjectStore> Make(const std::string& dir)` and a `kName`:
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, ObjectStoreTest, ::testing::Types<MyFactory>, FactoryName);
#ifndef CAIRN_TESTS_CAS_OBJECT_STORE_CONFORMANCE_H_
#define CAIRN_TESTS_CAS_OBJECT_STORE_CONFORMANCE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "base/sha256.h"
#include "cas/object_store.h"
#include "tests/cas/test_util.h"

namespace cairn::cas::testing {

template <typename Factory>
class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Factory::Make(dir_.path()); }

  // Writes one object in a batch of its own.
  EncodedObject Put(ObjectType type, std::string_view raw, int zstd_level = 3) {
    EncodedObject obj = EncodeObject(type, raw, zstd_level);
    WriteObject(obj);
    return obj;
  }
  void WriteObject(const EncodedObject& obj) {
    WriteBatch b;
    b.PutObject(obj);
    ASSERT_TRUE(store_->Write(b, WriteOptions{}).ok());
  }
  // An id whose hex form starts with `hex_prefix`, the rest taken from `salt`'s digest.
  static ObjectId CraftedId(const std::string& hex_prefix, std::string_view salt) {
    std::string hex = Sha256::Of(salt).ToHex();
    hex.replace(0, hex_prefix.size(), hex_prefix);
    return *ObjectId::FromHex(hex);
  }
  // Writes an info entry (and record) under a crafted id: ResolvePrefix consults only the info
  // space, so the record need not hash to it.
  void PutWithId(const ObjectId& id) {
    WriteObject(EncodeObjectWithId(id, ObjectType::kBlob, "crafted", 0));
  }
  size_t CountObjects() { return AllObjectIds(store_.get()).size(); }
  size_t CountRecords() {
    size_t n = 0;
    EXPECT_TRUE(store_
                    ->ForEachRecord([&](uint64_t, std::string_view) {
                      ++n;
                      return true;
                    })
                    .ok());
    return n;
  }

  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
};

TYPED_TEST_SUITE_P(ObjectStoreTest);

TYPED_TEST_P(ObjectStoreTest, PutObjectsReadBackWithTypeAndInfo) {
  std::string big = RandomBytes(100000, 1);
  std::string compressible(50000, 'z');
  struct Case {
    ObjectType type;
    std::string raw;
  };
  std::vector<Case> cases = {
      {ObjectType::kBlob, ""},           {ObjectType::kBlob, "hello"},
      {ObjectType::kBlob, big},          {ObjectType::kBlob, compressible},
      {ObjectType::kTree, "tree bytes"}, {ObjectType::kVersion, "version bytes"}};
  std::vector<EncodedObject> written;
  for (const auto& c : cases) written.push_back(this->Put(c.type, c.raw));
  for (size_t i = 0; i < cases.size(); ++i) {
    const ObjectId& id = written[i].id;
    EXPECT_EQ(id, Sha256::Of(cases[i].raw));
    EXPECT_TRUE(*this->store_->Contains(id));
    auto obj = this->store_->Read(id);
    ASSERT_TRUE(obj.has_value()) << obj.status().ToString();
    EXPECT_EQ(obj->type, cases[i].type);
    EXPECT_EQ(obj->data, cases[i].raw);
    auto info = this->store_->Info(id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->type, cases[i].type);
    EXPECT_EQ(info->raw_size, cases[i].raw.size());
    EXPECT_EQ(info->stored_size, written[i].record.size());
  }
  // zstd was used where it helps and skipped where it does not.
  EXPECT_LT(written[3].record.size(), compressible.size() / 10);
  EXPECT_GE(written[2].record.size(), big.size());
}

TYPED_TEST_P(ObjectStoreTest, ReadOfAbsentObjectIsNotFoundNamingIt) {
  ObjectId id = Sha256::Of("never stored");
  EXPECT_FALSE(*this->store_->Contains(id));
  auto r = this->store_->Read(id);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_NE(r.error().message().find(id.ToHex()), std::string::npos) << r.error().message();
  EXPECT_EQ(this->store_->Info(id).error().code(), Code::kNotFound);
  EXPECT_EQ(this->store_->ReadTyped(id, ObjectType::kBlob).error().code(), Code::kNotFound);
}

TYPED_TEST_P(ObjectStoreTest, PutTwiceStoresOneCopy) {
  EncodedObject a = this->Put(ObjectType::kBlob, RandomBytes(10000, 2));
  this->WriteObject(a);
  WriteBatch both;
  both.PutObject(a);
  both.PutObject(a);
  ASSERT_TRUE(this->store_->Write(both, WriteOptions{.bulk = true}).ok());
  EXPECT_EQ(this->CountObjects(), 1u);
  EXPECT_EQ(this->CountRecords(), 1u);
  EXPECT_EQ(this->store_->Read(a.id)->data, RandomBytes(10000, 2));
}

TYPED_TEST_P(ObjectStoreTest, GetPutAndDeleteInKeySpaces) {
  EXPECT_FALSE(this->store_->Get(Space::kMeta, "k")->has_value());
  WriteBatch b;
  b.Put(Space::kMeta, "k", "meta value");
  b.Put(Space::kRefs, "k", "refs value");
  b.Put(Space::kMeta, std::string("bin\0key", 7), std::string("v\0", 2));
  ASSERT_TRUE(this->store_->Write(b, WriteOptions{.sync = true}).ok());
  EXPECT_EQ(**this->store_->Get(Space::kMeta, "k"), "meta value");
  EXPECT_EQ(**this->store_->Get(Space::kRefs, "k"), "refs value");
  EXPECT_FALSE(this->store_->Get(Space::kCatalog, "k")->has_value());
  EXPECT_EQ(**this->store_->Get(Space::kMeta, std::string("bin\0key", 7)), std::string("v\0", 2));
  // Operations of one batch apply in order: a later delete wins over an earlier put.
  WriteBatch c;
  c.Put(Space::kMeta, "k", "overwritten");
  c.Delete(Space::kMeta, "k");
  c.Put(Space::kRefs, "k", "new refs value");
  ASSERT_TRUE(this->store_->Write(c, WriteOptions{}).ok());
  EXPECT_FALSE(this->store_->Get(Space::kMeta, "k")->has_value());
  EXPECT_EQ(**this->store_->Get(Space::kRefs, "k"), "new refs value");
}

TYPED_TEST_P(ObjectStoreTest, ScanVisitsKeysWithThePrefixInByteOrder) {
  std::vector<std::string> keys = {"img/web",  "img/base", "img/",     "im",       "img0",
                                   "img/db/x", "imh",      "img/\xff", "img/\x01", "a"};
  WriteBatch b;
  for (const auto& k : keys) b.Put(Space::kRefs, k, "v:" + k);
  ASSERT_TRUE(this->store_->Write(b, WriteOptions{}).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(this->store_
                  ->Scan(Space::kRefs, "img/",
                         [&](std::string_view k, std::string_view v) {
                           EXPECT_EQ(v, "v:" + std::string(k));
                           seen.emplace_back(k);
                           return true;
                         })
                  .ok());
  std::vector<std::string> want = {"img/",     "img/\x01", "img/base",
                                   "img/db/x", "img/web",  "img/\xff"};
  EXPECT_EQ(seen, want);
  // Stops when the callback says so.
  seen.clear();
  ASSERT_TRUE(this->store_
                  ->Scan(Space::kRefs, "",
                         [&](std::string_view k, std::string_view) {
                           seen.emplace_back(k);
                           return seen.size() < 3;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "im", "img/"}));
  // Other spaces are separate.
  int other = 0;
  ASSERT_TRUE(
      this->store_->Scan(Space::kMeta, "img", [&](auto, auto) { return ++other, true; }).ok());
  EXPECT_EQ(other, 0);
}

TYPED_TEST_P(ObjectStoreTest, ScanCallbackMayReadTheStore) {
  std::vector<ObjectId> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(this->Put(ObjectType::kBlob, "obj" + std::to_string(i)).id);
  int read = 0;
  ASSERT_TRUE(this->store_
                  ->ForEachObject([&](const ObjectId& id, const ObjectInfo&) {
                    auto obj = this->store_->Read(id);
                    EXPECT_TRUE(obj.has_value());
                    ++read;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(read, 10);
}

TYPED_TEST_P(ObjectStoreTest, ForEachObjectVisitsEveryObjectInIdOrder) {
  std::vector<ObjectId> ids;
  for (int i = 0; i < 40; ++i)
    ids.push_back(this->Put(ObjectType::kBlob, RandomBytes(i * 37, i)).id);
  std::vector<ObjectId> seen;
  ASSERT_TRUE(this->store_
                  ->ForEachObject([&](const ObjectId& id, const ObjectInfo& info) {
                    EXPECT_EQ(info.type, ObjectType::kBlob);
                    seen.push_back(id);
                    return true;
                  })
                  .ok());
  std::vector<ObjectId> written = ids;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(seen, ids);
  // Records come in position order, which is the order they were written in.
  std::vector<ObjectId> records;
  uint64_t last = 0;
  ASSERT_TRUE(this->store_
                  ->ForEachRecord([&](uint64_t position, std::string_view rec) {
                    EXPECT_GT(position, last);
                    last = position;
                    auto id = IdOfRecord(rec);
                    EXPECT_TRUE(id.has_value());
                    if (id) {
                      EXPECT_EQ(this->store_->Info(*id)->position, position);
                      records.push_back(*id);
                    }
                    return true;
                  })
                  .ok());
  EXPECT_EQ(records, written);
}

TYPED_TEST_P(ObjectStoreTest, PutAndDeleteOfOneObjectInOneBatchApplyInOrder) {
  EncodedObject a = this->Put(ObjectType::kBlob, "first life");
  // Deleted, then put back, in one batch: present, in one record.
  WriteBatch again;
  again.DeleteObject(a.id);
  again.PutObject(a);
  ASSERT_TRUE(this->store_->Write(again, WriteOptions{}).ok());
  EXPECT_EQ(this->store_->Read(a.id)->data, "first life");
  EXPECT_EQ(this->CountRecords(), 1u);
  // Put, then deleted, in one batch: absent, no record left behind.
  EncodedObject b = EncodeObject(ObjectType::kBlob, "short life", 0);
  WriteBatch brief;
  brief.PutObject(b);
  brief.DeleteObject(b.id);
  ASSERT_TRUE(this->store_->Write(brief, WriteOptions{}).ok());
  EXPECT_FALSE(*this->store_->Contains(b.id));
  EXPECT_EQ(this->CountRecords(), 1u);
  // Deleting an absent object does nothing.
  WriteBatch none;
  none.DeleteObject(Sha256::Of("never stored"));
  ASSERT_TRUE(this->store_->Write(none, WriteOptions{}).ok());
  EXPECT_EQ(this->CountObjects(), 1u);
}

TYPED_TEST_P(ObjectStoreTest, ResolvePrefixFindsTheUniqueObject) {
  EncodedObject a = this->Put(ObjectType::kBlob, "alpha");
  this->Put(ObjectType::kBlob, "beta");
  std::string hex = a.id.ToHex();
  for (size_t len : {8, 9, 13, 63, 64}) {
    auto id = this->store_->ResolvePrefix(hex.substr(0, len));
    ASSERT_TRUE(id.has_value()) << len << ": " << id.status().ToString();
    EXPECT_EQ(*id, a.id);
  }
  std::string upper = hex.substr(0, 10);
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(*this->store_->ResolvePrefix(upper), a.id);
}

TYPED_TEST_P(ObjectStoreTest, ResolvePrefixOfNoObjectIsNotFound) {
  this->PutWithId(this->CraftedId("abcdef0000", "x"));
  for (std::string p : {std::string("abcdef01"), std::string("abcdef001"), std::string("00000000"),
                        std::string(64, '1')}) {
    auto id = this->store_->ResolvePrefix(p);
    ASSERT_FALSE(id.has_value()) << p;
    EXPECT_EQ(id.error().code(), Code::kNotFound) << p;
    EXPECT_NE(id.error().message().find(p), std::string::npos) << id.error().message();
  }
}

TYPED_TEST_P(ObjectStoreTest, ResolvePrefixSharedByTwoObjectsIsAmbiguous) {
  ObjectId a = this->CraftedId("1234567800", "a");
  ObjectId b = this->CraftedId("1234567811", "b");
  ObjectId c = this->CraftedId("1234567900", "c");
  for (const auto& id : {a, b, c}) this->PutWithId(id);
  auto r = this->store_->ResolvePrefix("12345678");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kAmbiguous);
  EXPECT_NE(r.error().message().find(a.Short()), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(b.Short()), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().message().find(c.Short()), std::string::npos) << r.error().message();
  // One more digit tells them apart, including an odd number of digits.
  EXPECT_EQ(*this->store_->ResolvePrefix("123456780"), a);
  EXPECT_EQ(*this->store_->ResolvePrefix("123456781"), b);
  EXPECT_EQ(*this->store_->ResolvePrefix("1234567800"), a);
  EXPECT_EQ(*this->store_->ResolvePrefix("12345679"), c);
}

TYPED_TEST_P(ObjectStoreTest, ResolvePrefixRejectsMalformedText) {
  this->Put(ObjectType::kBlob, "something");
  for (std::string bad : {std::string(), std::string("1234567"), std::string("xyzxyzxy"),
                          std::string("12345678 "), std::string(65, 'a')}) {
    auto r = this->store_->ResolvePrefix(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << bad;
  }
}

TYPED_TEST_P(ObjectStoreTest, RecordThatDoesNotHashToItsIdIsCorruptionNamingTheObject) {
  ObjectId wrong = Sha256::Of("what the id claims");
  this->WriteObject(EncodeObjectWithId(wrong, ObjectType::kBlob, "what is stored", 0));
  EXPECT_TRUE(*this->store_->Contains(wrong));
  auto r = this->store_->Read(wrong);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kCorruption);
  EXPECT_NE(r.error().message().find(wrong.Short()), std::string::npos) << r.error().message();
  auto t = this->store_->ReadTyped(wrong, ObjectType::kBlob);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), Code::kCorruption);
  // Compressed records are verified after decompression too.
  ObjectId wrong2 = Sha256::Of("another claim");
  this->WriteObject(EncodeObjectWithId(wrong2, ObjectType::kBlob, std::string(5000, 'q'), 3));
  EXPECT_EQ(this->store_->Read(wrong2).error().code(), Code::kCorruption);
}

TYPED_TEST_P(ObjectStoreTest, ReadTypedOfAnotherTypeIsCorruption) {
  EncodedObject tree = this->Put(ObjectType::kTree, "a tree");
  auto r = this->store_->ReadTyped(tree.id, ObjectType::kBlob);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kCorruption);
  EXPECT_NE(r.error().message().find("tree"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(tree.id.Short()), std::string::npos);
  auto ok = this->store_->ReadTyped(tree.id, ObjectType::kTree);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "a tree");
}

// ReadInto fills the caller's buffer with verified bytes, raw or compressed, and refuses another
// type, another size and bytes that do not hash to the id.
TYPED_TEST_P(ObjectStoreTest, ReadIntoFillsExactlyTheObjectAndRefusesAnyMismatch) {
  const std::string text(5000, 'q');
  EncodedObject packed = this->Put(ObjectType::kBlob, text);  // compressed
  EncodedObject raw = this->Put(ObjectType::kBlob, "short");  // does not shrink: raw
  std::string out(text.size(), '\0');
  ASSERT_TRUE(this->store_->ReadInto(packed.id, ObjectType::kBlob, out).ok());
  EXPECT_EQ(out, text);
  std::string out2(5, '\0');
  ASSERT_TRUE(this->store_->ReadInto(raw.id, ObjectType::kBlob, out2).ok());
  EXPECT_EQ(out2, "short");

  std::string small(text.size() - 1, '\0');
  Status s = this->store_->ReadInto(packed.id, ObjectType::kBlob, small);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find(packed.id.Short()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("5000 bytes"), std::string::npos) << s.message();

  EncodedObject tree = this->Put(ObjectType::kTree, "a tree");
  std::string t(6, '\0');
  s = this->store_->ReadInto(tree.id, ObjectType::kBlob, t);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("is a tree"), std::string::npos) << s.message();

  for (int level : {0, 3}) {  // a raw record and a compressed one that do not hash to their id
    ObjectId wrong = Sha256::Of("claim " + std::to_string(level));
    this->WriteObject(EncodeObjectWithId(wrong, ObjectType::kBlob, text, level));
    std::string w(text.size(), '\0');
    s = this->store_->ReadInto(wrong, ObjectType::kBlob, w);
    EXPECT_EQ(s.code(), Code::kCorruption) << level;
    EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s.message();
  }
  std::string none(1, '\0');
  EXPECT_EQ(this->store_->ReadInto(Sha256::Of("absent"), ObjectType::kBlob, none).code(),
            Code::kNotFound);
}

TYPED_TEST_P(ObjectStoreTest, DeleteObjectRemovesRecordAndInfo) {
  EncodedObject keep = this->Put(ObjectType::kBlob, "keep");
  EncodedObject gone = this->Put(ObjectType::kBlob, "gone");
  WriteBatch b;
  b.DeleteObject(gone.id);
  ASSERT_TRUE(this->store_->Write(b, WriteOptions{.sync = true}).ok());
  EXPECT_FALSE(*this->store_->Contains(gone.id));
  EXPECT_EQ(this->store_->Read(gone.id).error().code(), Code::kNotFound);
  EXPECT_EQ(this->store_->ResolvePrefix(gone.id.ToHex().substr(0, 10)).error().code(),
            Code::kNotFound);
  EXPECT_EQ(AllObjectIds(this->store_.get()), std::set<ObjectId>{keep.id});
  EXPECT_EQ(this->CountRecords(), 1u);
  EXPECT_EQ(this->store_->Read(keep.id)->data, "keep");
}

TYPED_TEST_P(ObjectStoreTest, ConcurrentWritersAndReadersAllSucceed) {
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      for (int i = 0; i < kPerThread; ++i) {
        EncodedObject obj = EncodeObject(ObjectType::kBlob, RandomBytes(1000 + i, t * 1000 + i), 1);
        WriteBatch b;
        b.PutObject(obj);
        if (!this->store_->Write(b, WriteOptions{.bulk = true}).ok()) ++failures[t];
        auto back = this->store_->Read(obj.id);
        if (!back || back->data != RandomBytes(1000 + i, t * 1000 + i)) ++failures[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  EXPECT_EQ(this->CountObjects(), size_t{kThreads * kPerThread});
  EXPECT_EQ(this->CountRecords(), size_t{kThreads * kPerThread});
  EXPECT_TRUE(this->store_->Flush().ok());
}

REGISTER_TYPED_TEST_SUITE_P(
    ObjectStoreTest, PutObjectsReadBackWithTypeAndInfo, ReadOfAbsentObjectIsNotFoundNamingIt,
    PutTwiceStoresOneCopy, GetPutAndDeleteInKeySpaces, ScanVisitsKeysWithThePrefixInByteOrder,
    ScanCallbackMayReadTheStore, ForEachObjectVisitsEveryObjectInIdOrder,
    ResolvePrefixFindsTheUniqueObject, ResolvePrefixOfNoObjectIsNotFound,
    ResolvePrefixSharedByTwoObjectsIsAmbiguous, ResolvePrefixRejectsMalformedText,
    RecordThatDoesNotHashToItsIdIsCorruptionNamingTheObject, ReadTypedOfAnotherTypeIsCorruption,
    ReadIntoFillsExactlyTheObjectAndRefusesAnyMismatch, DeleteObjectRemovesRecordAndInfo,
    ConcurrentWritersAndReadersAllSucceed, PutAndDeleteOfOneObjectInOneBatchApplyInOrder);

}  // namespace cairn::cas::testing

#endif  // CAIRN_TESTS_CAS_OBJECT_STORE_CONFORMANCE_H_
