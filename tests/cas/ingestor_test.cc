// Ingestor and ContentReader on every ObjectStore: what goes in comes back byte-exact, is
// deduplicated, verified on the way out, and undone by Abort.
#include "cas/ingestor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "base/env.h"
#include "base/sha256.h"
#include "cas/content_reader.h"
#include "tests/cas/test_util.h"

namespace cairn::cas::testing {
namespace {

template <typename Factory>
class IngestorTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Factory::Make(dir_.path()); }

  IngestOptions Options() {
    IngestOptions o;
    o.threads = 2;
    return o;
  }
  // Stores `data` through a real file and PutStream, then Finish.
  FileContent PutFile(const std::string& data, Ingestor* ingestor = nullptr) {
    std::string path = dir_.path() + "/input-" + std::to_string(files_++);
    WriteFileOrDie(path, data);
    auto file = Env::Default()->NewSequentialFile(path);
    EXPECT_TRUE(file.has_value());
    std::unique_ptr<Ingestor> own;
    if (ingestor == nullptr) {
      own = std::make_unique<Ingestor>(store_.get(), Options());
      ingestor = own.get();
    }
    auto content = ingestor->PutStream(file->get(), path);
    EXPECT_TRUE(content.has_value()) << content.status().ToString();
    if (own) {
      EXPECT_TRUE(own->Finish().ok());
    }
    return content.has_value() ? *content : FileContent{};
  }

  TempDir dir_;
  std::unique_ptr<ObjectStore> store_;
  int files_ = 0;
};

TYPED_TEST_SUITE(IngestorTest, StoreFactories, FactoryName);

TYPED_TEST(IngestorTest, EmptyFileIsTheEmptyBlob) {
  FileContent c = this->PutFile("");
  EXPECT_EQ(c.id, Sha256::Of(""));
  EXPECT_EQ(c.type, ObjectType::kBlob);
  EXPECT_EQ(c.size, 0u);
  EXPECT_EQ(c.sha256, Sha256::Of(""));
  EXPECT_EQ(*ReadContent(this->store_.get(), c.id), "");
  Ingestor again(this->store_.get(), this->Options());
  auto b = again.PutBytes("");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->id, c.id);
}

TYPED_TEST(IngestorTest, SmallFileIdIsItsSha256) {
  std::string data = "hello, cairn\n";
  FileContent c = this->PutFile(data);
  EXPECT_EQ(c.id, Sha256::Of(data));
  EXPECT_EQ(c.type, ObjectType::kBlob);
  EXPECT_EQ(c.size, data.size());
  EXPECT_EQ(c.sha256, c.id);
  EXPECT_EQ(*ReadContent(this->store_.get(), c.id), data);
  ContentReader reader(this->store_.get(), 1);
  auto st = reader.Stat(c.id);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->size, data.size());
  EXPECT_EQ(st->type, ObjectType::kBlob);
}

TYPED_TEST(IngestorTest, MultiChunkFileRoundTripsByteExact) {
  // Larger than the ingestor's 4 MiB read block, with a compressible stretch in the middle.
  std::string data = RandomBytes(5 << 20, 11) + std::string(1 << 20, 'c') + RandomBytes(4321, 12);
  FileContent c = this->PutFile(data);
  EXPECT_EQ(c.type, ObjectType::kChunkIndex);
  EXPECT_EQ(c.size, data.size());
  EXPECT_EQ(c.sha256, Sha256::Of(data));
  EXPECT_NE(c.id, c.sha256);
  auto back = ReadContent(this->store_.get(), c.id);
  ASSERT_TRUE(back.has_value()) << back.status().ToString();
  EXPECT_TRUE(*back == data) << "content differs";
  ContentReader reader(this->store_.get(), 2);
  auto st = reader.Stat(c.id);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->size, data.size());
  EXPECT_EQ(st->sha256, Sha256::Of(data));
  EXPECT_EQ(st->type, ObjectType::kChunkIndex);
  // PutBytes cuts the same chunks and so names the same content.
  Ingestor ingestor(this->store_.get(), this->Options());
  auto bytes = ingestor.PutBytes(data);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->id, c.id);
}

TYPED_TEST(IngestorTest, FewSmallReadBlocksNeverStallTheStream) {
  // Read blocks far smaller than the chunks in flight: each block is pinned by the tasks (and
  // their futures) that point into it, so the reader must free blocks by collecting futures,
  // not by waiting on the pool (which hung: every task done, no block free).
  IngestOptions o = this->Options();
  o.read_block_size = 16 << 10;
  o.read_blocks = 3;
  std::string data = std::string(3 << 20, '\0') + RandomBytes(3 << 20, 21);  // max-size chunks too
  std::string path = this->dir_.path() + "/small-blocks";
  WriteFileOrDie(path, data);
  auto file = Env::Default()->NewSequentialFile(path);
  ASSERT_TRUE(file.has_value());
  Ingestor ingestor(this->store_.get(), o);
  auto content = ingestor.PutStream(file->get(), path);
  ASSERT_TRUE(content.has_value()) << content.status().ToString();
  ASSERT_TRUE(ingestor.Finish().ok());
  EXPECT_EQ(content->sha256, Sha256::Of(data));
  // The chunks do not depend on how the file was read.
  Ingestor whole(this->store_.get(), this->Options());
  EXPECT_EQ(whole.PutBytes(data)->id, content->id);
  auto back = ReadContent(this->store_.get(), content->id);
  ASSERT_TRUE(back.has_value()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
}

TYPED_TEST(IngestorTest, PutViewNamesWhatPutStreamNamesAndPreparesEachPieceInOrder) {
  // Small pieces (64 KiB) against 256 KiB chunks: a boundary is only decided once max_size
  // bytes past it are prepared. Sizes: one chunk, a few, and many pieces with a tail.
  IngestOptions o = this->Options();
  o.read_block_size = 64 << 10;
  for (size_t size : {size_t{20} << 10, size_t{300} << 10, (size_t{3} << 20) + 12345}) {
    std::string data = RandomBytes(size / 2, static_cast<uint32_t>(size)) + std::string(size / 4, 'z') +
                       RandomBytes(size - size / 2 - size / 4, 7);
    FileContent streamed = this->PutFile(data);
    Ingestor ingestor(this->store_.get(), o);
    std::vector<std::pair<size_t, size_t>> pieces;
    auto view = ingestor.PutView(data, "view", [&](size_t offset, size_t n) {
      pieces.emplace_back(offset, n);
      return Status();
    });
    ASSERT_TRUE(view.has_value()) << view.status().ToString();
    ASSERT_TRUE(ingestor.Finish().ok());
    EXPECT_EQ(view->id, streamed.id) << size;
    EXPECT_EQ(view->sha256, Sha256::Of(data)) << size;
    EXPECT_EQ(view->size, data.size());
    size_t next = 0;  // pieces cover the content once, in order
    for (const auto& [offset, n] : pieces) {
      EXPECT_EQ(offset, next);
      next += n;
    }
    EXPECT_EQ(next, data.size()) << size;
    auto back = ReadContent(this->store_.get(), view->id);
    ASSERT_TRUE(back.has_value()) << back.status().ToString();
    EXPECT_TRUE(*back == data);
  }
}

TYPED_TEST(IngestorTest, PutViewStopsAtAPreparationError) {
  IngestOptions o = this->Options();
  o.read_block_size = 64 << 10;
  std::string data = RandomBytes(1 << 20, 5);
  Ingestor ingestor(this->store_.get(), o);
  size_t prepared = 0;
  auto view = ingestor.PutView(data, "view", [&](size_t offset, size_t n) {
    if (offset >= (512u << 10)) return Status::IOError("read view: Input/output error");
    prepared = offset + n;
    return Status();
  });
  ASSERT_FALSE(view.has_value());
  EXPECT_EQ(view.status().code(), Code::kIOError);
  EXPECT_NE(view.status().message().find("Input/output error"), std::string::npos);
  EXPECT_EQ(prepared, 512u << 10);
  ASSERT_TRUE(ingestor.Abort().ok());
}

// An ObjectStore whose object lookups fail once `fail_after` more have been made: the chunk
// tasks of a file then fail in the middle of it.
class FailingLookups final : public ObjectStore {
 public:
  explicit FailingLookups(ObjectStore* base) : base_(base) {}
  std::atomic<int> fail_after{1 << 30};
  Status WriteRaw(std::span<const RawOp> ops, const WriteOptions& options) override {
    return base_->WriteRaw(ops, options);
  }
  Result<std::optional<std::string>> Get(Space space, std::string_view key) override {
    if (space == Space::kObjectInfo && fail_after.fetch_sub(1) <= 0) {
      return Status::IOError("read object info: Input/output error");
    }
    return base_->Get(space, key);
  }
  Result<std::optional<std::string>> LastKey(Space space) override { return base_->LastKey(space); }
  Status Scan(Space space, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    return base_->Scan(space, prefix, fn);
  }
  Status Flush() override { return base_->Flush(); }
  bool read_only() const override { return base_->read_only(); }

 private:
  ObjectStore* base_;
};

TYPED_TEST(IngestorTest, AChunkThatCannotBeStoredFailsItsFileByName) {
  // PutStream and PutView share the collection of chunk tasks: a failed task names the file,
  // every task is waited for, and the Ingestor can still be aborted and used again.
  IngestOptions o = this->Options();
  o.read_block_size = 64 << 10;
  const std::string data = RandomBytes(3 << 20, 11);  // ~24 chunks of the default chunker
  for (bool view : {false, true}) {
    FailingLookups store(this->store_.get());
    Ingestor ingestor(&store, o);
    store.fail_after = 5;
    Result<FileContent> r = Status::Internal("not run");
    if (view) {
      r = ingestor.PutView(data, "some/file", {});
    } else {
      const std::string path = this->dir_.path() + "/failing";
      WriteFileOrDie(path, data);
      auto file = Env::Default()->NewSequentialFile(path);
      ASSERT_TRUE(file.has_value());
      r = ingestor.PutStream(file->get(), "some/file");
    }
    ASSERT_FALSE(r.has_value()) << view;
    EXPECT_EQ(r.status().code(), Code::kIOError) << view;
    const std::string message = r.status().message();
    EXPECT_NE(message.find("store some/file"), std::string::npos) << message;
    EXPECT_NE(message.find("Input/output error"), std::string::npos) << message;
    store.fail_after = 1 << 30;  // the undo looks objects up too
    ASSERT_TRUE(ingestor.Abort().ok()) << view;
    auto again = ingestor.PutView(data, "some/file", {});
    ASSERT_TRUE(again.has_value()) << again.status().ToString();
    EXPECT_EQ(again->sha256, Sha256::Of(data));
    ASSERT_TRUE(ingestor.Finish().ok());
  }
}

TYPED_TEST(IngestorTest, StreamsOnManyThreadsShareTheReadBlocks) {
  // The read blocks belong to the Ingestor, not to one stream: streams from several threads
  // at once, with fewer blocks than they would like, each finish with their own bytes.
  IngestOptions o = this->Options();
  o.read_block_size = 64 << 10;
  o.read_blocks = 4;
  Ingestor ingestor(this->store_.get(), o);
  constexpr int kStreams = 6;
  std::vector<std::string> datas, paths;
  for (int i = 0; i < kStreams; ++i) {
    datas.push_back(RandomBytes((1 << 20) + i * 77777, 40 + i));
    paths.push_back(this->dir_.path() + "/stream-" + std::to_string(i));
    WriteFileOrDie(paths.back(), datas.back());
  }
  std::vector<Result<FileContent>> out(kStreams, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      auto file = Env::Default()->NewSequentialFile(paths[i]);
      if (!file) {
        out[i] = file.error();
        return;
      }
      out[i] = ingestor.PutStream(file->get(), paths[i]);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(ingestor.Finish().ok());
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(out[i].has_value()) << out[i].status().ToString();
    EXPECT_EQ(out[i]->sha256, Sha256::Of(datas[i]));
    auto back = ReadContent(this->store_.get(), out[i]->id);
    ASSERT_TRUE(back.has_value()) << back.status().ToString();
    EXPECT_TRUE(*back == datas[i]) << "stream " << i;
  }
}

TYPED_TEST(IngestorTest, PuttingTheSameContentAgainWritesNoNewObjects) {
  std::string data = RandomBytes(3 << 20, 13);
  FileContent first = this->PutFile(data);
  auto before = AllObjectIds(this->store_.get());
  Ingestor again(this->store_.get(), this->Options());
  FileContent second = this->PutFile(data, &again);
  ASSERT_TRUE(again.Finish().ok());
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(again.stats().objects_new.load(), 0u);
  EXPECT_GT(again.stats().objects_dup.load(), 0u);
  EXPECT_EQ(again.stats().bytes_in.load(), data.size());
  EXPECT_EQ(AllObjectIds(this->store_.get()), before);
}

TYPED_TEST(IngestorTest, RepeatedChunksWithinOneFileAreStoredOnce) {
  std::string part = RandomBytes(2 << 20, 14);
  Ingestor ingestor(this->store_.get(), this->Options());
  auto c = ingestor.PutBytes(part + part + part);
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(ingestor.Finish().ok());
  EXPECT_GT(ingestor.stats().objects_dup.load(), ingestor.stats().objects_new.load());
  EXPECT_LT(ingestor.stats().bytes_new.load(), 2 * part.size());
  EXPECT_TRUE(*ReadContent(this->store_.get(), c->id) == part + part + part);
}

TYPED_TEST(IngestorTest, FindBySha256FindsSmallAndChunkedFiles) {
  std::string small = "small file";
  std::string large = RandomBytes(2 << 20, 15);
  FileContent s = this->PutFile(small);
  FileContent l = this->PutFile(large);
  ContentReader reader(this->store_.get(), 1);
  EXPECT_EQ(*reader.FindBySha256(Sha256::Of(small)), s.id);
  auto found = reader.FindBySha256(Sha256::Of(large));
  ASSERT_TRUE(found.has_value()) << found.status().ToString();
  EXPECT_EQ(*found, l.id);
  auto none = reader.FindBySha256(Sha256::Of("never stored"));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), Code::kNotFound);
}

TYPED_TEST(IngestorTest, AbortRemovesEverythingTheSessionWrote) {
  IngestOptions o = this->Options();
  o.batch_bytes = 256 << 10;  // so that some batches are written before Abort
  Ingestor ingestor(this->store_.get(), o);
  ASSERT_TRUE(ingestor.PutBytes(RandomBytes(3 << 20, 16)).has_value());
  ASSERT_TRUE(ingestor.PutBytes("small").has_value());
  ASSERT_TRUE(ingestor.PutObject(ObjectType::kTree, "a tree").has_value());
  EXPECT_FALSE(AllObjectIds(this->store_.get()).empty());  // some batches already landed
  ASSERT_TRUE(ingestor.Abort().ok());
  EXPECT_TRUE(AllObjectIds(this->store_.get()).empty());
  EXPECT_TRUE(AllKeys(this->store_.get(), Space::kObjects).empty());
  EXPECT_TRUE(AllKeys(this->store_.get(), Space::kContent).empty());
}

// The caller's undo (Abort's `first`) runs after StartFlush's flush and while the objects are
// still there, and the failure it returns stops the objects' undo; once Finish(final) has
// written `final`, neither runs.
TYPED_TEST(IngestorTest, AbortRunsTheCallersUndoFirstAndNotOnceTheFinalBatchIsWritten) {
  Ingestor ingestor(this->store_.get(), this->Options());
  Result<FileContent> c = ingestor.PutBytes(RandomBytes(1 << 20, 22));
  ASSERT_TRUE(c.has_value());
  ingestor.StartFlush();
  int calls = 0;
  auto stored = [&](const ObjectId& id) {
    Result<bool> r = this->store_->Contains(id);
    return r.has_value() && *r;
  };
  auto present = [&] { return stored(c->id); };
  Status failed = ingestor.Abort([&] {
    ++calls;
    EXPECT_TRUE(present()) << "the objects go after the caller's undo";
    return Status::IOError("the caller's undo failed");
  });
  EXPECT_EQ(failed.message(), "the caller's undo failed");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(present()) << "not undone after the caller's failure";
  ASSERT_TRUE(ingestor
                  .Abort([&] {
                    ++calls;
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(present());

  Ingestor recorded(this->store_.get(), this->Options());
  Result<FileContent> d = recorded.PutBytes(RandomBytes(1 << 20, 23));
  ASSERT_TRUE(d.has_value());
  recorded.StartFlush();
  WriteBatch final;
  final.Put(Space::kRefs, "ref", d->id.AsBytes());
  ASSERT_TRUE(recorded.Finish(std::move(final)).ok());
  ASSERT_TRUE(recorded
                  .Abort([&] {
                    ++calls;
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(calls, 2) << "nothing undone once the version is recorded";
  EXPECT_TRUE(stored(d->id));
}

TYPED_TEST(IngestorTest, AbortKeepsWhatTheStoreHeldBefore) {
  std::string kept = RandomBytes(2 << 20, 17);
  FileContent k = this->PutFile(kept);
  auto objects = AllObjectIds(this->store_.get());
  auto content_keys = AllKeys(this->store_.get(), Space::kContent);
  IngestOptions o = this->Options();
  o.batch_bytes = 256 << 10;
  Ingestor ingestor(this->store_.get(), o);
  ASSERT_TRUE(ingestor.PutBytes(kept).has_value());  // already stored: nothing new
  ASSERT_TRUE(ingestor.PutBytes(RandomBytes(2 << 20, 18)).has_value());
  ASSERT_TRUE(ingestor.Abort().ok());
  EXPECT_EQ(AllObjectIds(this->store_.get()), objects);
  EXPECT_EQ(AllKeys(this->store_.get(), Space::kContent), content_keys);
  ContentReader reader(this->store_.get(), 1);
  auto found = reader.FindBySha256(Sha256::Of(kept));
  ASSERT_TRUE(found.has_value()) << found.status().ToString();
  EXPECT_EQ(*found, k.id);
  auto back = ReadContent(this->store_.get(), k.id);
  ASSERT_TRUE(back.has_value()) << back.status().ToString();
  EXPECT_TRUE(*back == kept);
}

TYPED_TEST(IngestorTest, DamagedChunkFailsTheReadAndTheSinkSeesOnlyGoodBytes) {
  std::string data = RandomBytes(2 << 20, 19);
  FileContent c = this->PutFile(data);
  ASSERT_EQ(c.type, ObjectType::kChunkIndex);
  auto index = DecodeChunkIndex(c.id, *this->store_->ReadTyped(c.id, ObjectType::kChunkIndex));
  ASSERT_TRUE(index.has_value());
  ASSERT_GT(index->chunks.size(), 4u);
  const ChunkRef damaged = index->chunks[3];
  uint64_t good = index->chunks[0].size + index->chunks[1].size + index->chunks[2].size;
  std::string bad(damaged.size, 'X');  // same size, wrong bytes
  OverwriteRecord(this->store_.get(), EncodeObjectWithId(damaged.id, ObjectType::kBlob, bad, 0));

  ContentReader reader(this->store_.get(), 2);
  std::string seen;
  Status s = reader.Read(c.id, [&](std::string_view piece) {
    seen.append(piece);
    return Status();
  });
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find(damaged.id.Short()), std::string::npos) << s.message();
  EXPECT_EQ(seen.size(), good);
  EXPECT_TRUE(seen == data.substr(0, good));
  EXPECT_EQ(seen.find("XXXXXXXX"), std::string::npos);
}

// ReadAt passes pieces from many threads, each at its offset: they fill the content exactly,
// and a damaged chunk is never written, whatever order the others come in.
TYPED_TEST(IngestorTest, ReadAtWritesEveryVerifiedPieceAtItsOffset) {
  std::string data = RandomBytes(3 << 20, 23) + std::string(1 << 20, 'z') + RandomBytes(777, 24);
  FileContent c = this->PutFile(data);
  ASSERT_EQ(c.type, ObjectType::kChunkIndex);
  ContentReader reader(this->store_.get(), 4);
  std::string out(data.size(), '\0');
  std::mutex mu;
  std::set<uint64_t> offsets;
  uint64_t progressed = 0;
  Status s = reader.ReadAt(
      c.id,
      [&](uint64_t offset, std::string_view piece) {
        {
          std::lock_guard lock(mu);
          EXPECT_TRUE(offsets.insert(offset).second) << "offset " << offset << " written twice";
        }
        EXPECT_LE(offset + piece.size(), out.size());
        std::copy(piece.begin(), piece.end(), out.begin() + static_cast<long>(offset));
        return Status();
      },
      [&](uint64_t n) { progressed += n; });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(out == data) << "content differs";
  EXPECT_EQ(progressed, data.size());
  EXPECT_GT(offsets.size(), 4u);

  auto index = DecodeChunkIndex(c.id, *this->store_->ReadTyped(c.id, ObjectType::kChunkIndex));
  ASSERT_TRUE(index.has_value());
  const ChunkRef damaged = index->chunks[2];
  const uint64_t damaged_at = index->chunks[0].size + index->chunks[1].size;
  OverwriteRecord(this->store_.get(),
                  EncodeObjectWithId(damaged.id, ObjectType::kBlob, std::string(damaged.size, 'X'), 0));
  std::string again(data.size(), '\0');
  s = reader.ReadAt(c.id, [&](uint64_t offset, std::string_view piece) {
    EXPECT_NE(offset, damaged_at) << "the damaged chunk was written";
    std::copy(piece.begin(), piece.end(), again.begin() + static_cast<long>(offset));
    return Status();
  });
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find(damaged.id.Short()), std::string::npos) << s.message();
  EXPECT_EQ(again.find("XXXXXXXX"), std::string::npos);

  // A write that fails (a full disk) stops the read and is what it returns.
  FileContent other = this->PutFile(RandomBytes(2 << 20, 25));
  std::atomic<int> calls{0};
  s = reader.ReadAt(other.id, [&](uint64_t, std::string_view) {
    return ++calls == 1 ? Status::NoSpace("write out: disk full") : Status();
  });
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
}

// A chunk index that hashes to its id but claims a chunk larger than any object is Corruption
// before any reader sizes a buffer by it.
TYPED_TEST(IngestorTest, AChunkIndexClaimingAHugeChunkIsCorruption) {
  ChunkIndex index;
  index.chunks = {{Sha256::Of("a"), 1}, {Sha256::Of("b"), (uint64_t{1} << 40)}};
  index.total_size = 1 + (uint64_t{1} << 40);
  index.content_sha256 = Sha256::Of("whole");
  EncodedObject bad = EncodeObject(ObjectType::kChunkIndex, EncodeChunkIndex(index), 3);
  WriteBatch b;
  b.PutObject(bad);
  ASSERT_TRUE(this->store_->Write(b, WriteOptions{}).ok());
  auto decoded = DecodeChunkIndex(bad.id, EncodeChunkIndex(index));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code(), Code::kCorruption);
  EXPECT_NE(decoded.error().message().find(bad.id.Short()), std::string::npos)
      << decoded.error().message();
  ContentReader reader(this->store_.get(), 2);
  Status s = reader.Read(bad.id, [](std::string_view) { return Status(); });
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  s = reader.ReadAt(bad.id, [](uint64_t, std::string_view) { return Status(); });
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
}

TYPED_TEST(IngestorTest, DamagedSmallBlobNeverReachesTheSink) {
  std::string data = "small and precious";
  FileContent c = this->PutFile(data);
  OverwriteRecord(this->store_.get(),
                  EncodeObjectWithId(c.id, ObjectType::kBlob, "small and spoiled!", 0));
  ContentReader reader(this->store_.get(), 1);
  int calls = 0;
  Status s = reader.Read(c.id, [&](std::string_view) { return ++calls, Status(); });
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(calls, 0);
}

// An info entry is not covered by the object's hash: a damaged size there must not become the
// size a reader promises (get allocates its output to it, and would pad the file with zeros).
TYPED_TEST(IngestorTest, AnInfoEntryThatDisagreesWithItsRecordFailsStat) {
  std::string data = "sized by its record";
  FileContent c = this->PutFile(data);
  ContentReader reader(this->store_.get(), 1);
  ASSERT_EQ(reader.Stat(c.id)->size, data.size());
  for (auto damage : {+1000, -1}) {
    ObjectInfo info = *this->store_->Info(c.id);
    ObjectInfo bad = info;
    bad.raw_size = data.size() + damage;
    std::string value = EncodeObjectInfo(bad);
    RawOp op{true, Space::kObjectInfo, c.id.AsBytes(), value};
    ASSERT_TRUE(this->store_->WriteRaw(std::span<const RawOp>(&op, 1), WriteOptions{}).ok());
    auto st = reader.Stat(c.id);
    ASSERT_FALSE(st.has_value()) << damage;
    EXPECT_EQ(st.error().code(), Code::kCorruption);
    EXPECT_NE(st.error().message().find(c.id.Short()), std::string::npos) << st.error().message();
    value = EncodeObjectInfo(info);
    op = RawOp{true, Space::kObjectInfo, c.id.AsBytes(), value};
    ASSERT_TRUE(this->store_->WriteRaw(std::span<const RawOp>(&op, 1), WriteOptions{}).ok());
  }
  EXPECT_EQ(reader.Stat(c.id)->size, data.size());
}

TYPED_TEST(IngestorTest, SinkErrorStopsTheRead) {
  FileContent c = this->PutFile(RandomBytes(2 << 20, 20));
  ContentReader reader(this->store_.get(), 2);
  int calls = 0;
  Status s = reader.Read(c.id, [&](std::string_view) {
    return ++calls == 2 ? Status::NoSpace("write out: disk full") : Status();
  });
  EXPECT_EQ(s.code(), Code::kNoSpace);
  EXPECT_EQ(calls, 2);
}

TYPED_TEST(IngestorTest, ObjectsThatAreNotContentAreRefusedByTheReader) {
  Ingestor ingestor(this->store_.get(), this->Options());
  auto tree = ingestor.PutObject(ObjectType::kTree, "tree bytes");
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ(*tree, Sha256::Of("tree bytes"));
  ASSERT_TRUE(ingestor.Finish().ok());
  EXPECT_EQ(*this->store_->ReadTyped(*tree, ObjectType::kTree), "tree bytes");
  ContentReader reader(this->store_.get(), 1);
  EXPECT_EQ(reader.Stat(*tree).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(reader.Read(*tree, [](std::string_view) { return Status(); }).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(reader.Stat(Sha256::Of("absent")).error().code(), Code::kNotFound);
}

TYPED_TEST(IngestorTest, ConcurrentPutsFromManyThreadsAllRoundTrip) {
  Ingestor ingestor(this->store_.get(), this->Options());
  std::vector<std::string> inputs;
  for (int i = 0; i < 4; ++i) inputs.push_back(RandomBytes((i + 1) * 300000, 30 + i));
  std::vector<Result<FileContent>> results(inputs.size(), Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < inputs.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = ingestor.PutBytes(inputs[i]); });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(ingestor.Finish().ok());
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].status().ToString();
    EXPECT_TRUE(*ReadContent(this->store_.get(), results[i]->id) == inputs[i]) << i;
  }
}

}  // namespace
}  // namespace cairn::cas::testing
