// ContentCache on a MemoryStore: any range of a chunked content, holes, damage, and readers
// racing the read-ahead threads for the same chunks.
#include "vmount/content_cache.h"

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "cas/chunk_index.h"
#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "tests/cas/test_util.h"

namespace cairn::vmount {
namespace {

class ContentCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cas::Ingestor ingestor(store_.get(), cas::IngestOptions{});
    data_ = cas::testing::RandomBytes((3 << 20) + 12345, 7);
    auto c = ingestor.PutBytes(data_);
    ASSERT_TRUE(c.has_value());
    ASSERT_EQ(c->type, cas::ObjectType::kChunkIndex);  // several chunks
    big_.content = c->id;
    big_.size = data_.size();
    auto s = ingestor.PutBytes("small file\n");
    ASSERT_TRUE(s.has_value());
    small_.content = s->id;
    small_.size = 11;
    ASSERT_TRUE(ingestor.Finish().ok());
  }

  std::string Read(ContentCache& cache, const FileData& d, uint64_t offset, size_t size) {
    auto r = cache.Read(store_.get(), d, offset, size);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? std::string(r->data) : std::string();
  }

  std::shared_ptr<cas::MemoryStore> store_ = std::make_shared<cas::MemoryStore>();
  std::string data_;
  FileData big_, small_;
};

TEST_F(ContentCacheTest, AnyRangeReadsTheStoredBytes) {
  for (size_t capacity : {size_t{64} << 10, size_t{64} << 20}) {  // evicting, and not
    ContentCache cache(capacity);
    std::mt19937_64 rng(capacity);
    for (int i = 0; i < 200; ++i) {
      uint64_t off = rng() % data_.size();
      size_t n = rng() % (300 << 10);
      EXPECT_TRUE(Read(cache, big_, off, n) == data_.substr(off, n)) << off << "+" << n;
    }
    EXPECT_EQ(Read(cache, big_, data_.size(), 10), "");
    EXPECT_EQ(Read(cache, small_, 0, 4096), "small file\n");
    EXPECT_EQ(Read(cache, small_, 6, 2), "fi");
  }
}

TEST_F(ContentCacheTest, HolesReadAsZeros) {
  FileData sparse = small_;  // its 11 bytes at 4096, the rest holes
  sparse.size = 8192;
  sparse.sparse = true;
  sparse.extents = {{4096, 11}};
  ContentCache cache(1 << 20);
  EXPECT_EQ(Read(cache, sparse, 0, 8192),
            std::string(4096, '\0') + "small file\n" + std::string(8192 - 4107, '\0'));
  EXPECT_EQ(Read(cache, sparse, 4090, 10), std::string(6, '\0') + "smal");
}

TEST_F(ContentCacheTest, DamagedChunkIsCorruptionNeverWrongBytes) {
  auto index = cas::DecodeChunkIndex(big_.content,
                                     *store_->ReadTyped(big_.content, cas::ObjectType::kChunkIndex));
  ASSERT_TRUE(index.has_value());
  const cas::ChunkRef damaged = index->chunks[1];
  cas::testing::OverwriteRecord(
      store_.get(), cas::EncodeObjectWithId(damaged.id, cas::ObjectType::kBlob,
                                            std::string(damaged.size, 'X'), 0));
  ContentCache cache(64 << 20);
  cache.Prefetch(store_, {{big_.content, 0, big_.size}}, 1);  // the read-ahead meets it too
  uint64_t at = index->chunks[0].size;
  auto r = cache.Read(store_.get(), big_, at, 10);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kCorruption) << r.error().ToString();
  EXPECT_NE(r.error().message().find(damaged.id.Short()), std::string::npos);
  EXPECT_EQ(Read(cache, big_, 0, 100), data_.substr(0, 100));  // the good chunk still reads
}

TEST_F(ContentCacheTest, ReadersRacingTheReadAheadAllSeeTheStoredBytes) {
  ContentCache cache(1 << 20);  // small: chunks are evicted and loaded again meanwhile
  std::vector<std::thread> readers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      for (int i = 0; i < 100; ++i) {
        uint64_t off = rng() % data_.size();
        size_t n = 1 + rng() % (128 << 10);
        if (i % 10 == 0) cache.Prefetch(store_, {{big_.content, off, off + (1 << 20)}}, 1);
        auto r = cache.Read(store_.get(), big_, off, n);
        if (!r || r->data != std::string_view(data_).substr(off, n)) wrong++;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace cairn::vmount
