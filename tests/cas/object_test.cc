// Object encoding (cas/object.h) from many threads at once: compressors are shared by CPU, so
// a thread may take one another thread used at another level or size, or none be free. And the
// decoders' refusals of what cairn never writes.
#include "cas/object.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "base/coding.h"
#include "base/sha256.h"
#include "cas/chunk_index.h"
#include "cas/write_batch.h"
#include "tests/cas/test_util.h"

namespace cairn::cas::testing {
namespace {

// Compressible inputs of every size class a compressor holds a context for: small objects, chunks
// (zstd's 128 and 256 KiB classes) and above the largest chunk.
std::vector<std::string> Inputs() {
  std::vector<std::string> out;
  uint64_t seed = 1;
  for (size_t size : {1500, 5000, 16 << 10, 40 << 10, 128 << 10, 200 << 10, 256 << 10, 700 << 10}) {
    std::string s;
    while (s.size() < size) s += RandomBytes(97, seed++ % 7) + "some repeated text ";
    s.resize(size);
    out.push_back(std::move(s));
  }
  return out;
}

TEST(ObjectEncodeTest, ManyThreadsEncodeAsOneDoes) {
  const std::vector<std::string> inputs = Inputs();
  const int levels[] = {1, 4, 9};
  // What one thread makes, one object at a time.
  std::vector<std::string> want;
  for (int level : levels) {
    for (const auto& in : inputs) {
      for (bool x86 : {false, true}) want.push_back(EncodeObject(ObjectType::kBlob, in, level, x86).record);
    }
  }
  constexpr int kThreads = 8;
  std::vector<std::vector<std::string>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        got[t].clear();
        // Each thread goes through the levels in its own order, so that compressors move
        // between levels and sizes.
        for (int i = 0; i < 3; ++i) {
          int level = levels[(i + t) % 3];
          for (const auto& in : inputs) {
            for (bool x86 : {false, true}) {
              got[t].push_back(EncodeObject(ObjectType::kBlob, in, level, x86).record);
            }
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), want.size());
    for (size_t j = 0; j < want.size(); ++j) {
      // Thread t's j-th record is of level (j / per_level + t) % 3.
      const size_t per_level = want.size() / 3;
      const size_t level_index = (j / per_level + t) % 3;
      EXPECT_EQ(got[t][j], want[level_index * per_level + j % per_level]) << "thread " << t << " object " << j;
    }
  }
  // And every record decodes to its input.
  for (size_t j = 0; j < want.size(); ++j) {
    const auto& in = inputs[(j / 2) % inputs.size()];
    auto decoded = DecodeObject(Sha256::Of(in), want[j]);
    ASSERT_TRUE(decoded.has_value()) << decoded.status().ToString();
    EXPECT_EQ(decoded->data, in);
    EXPECT_LT(want[j].size(), in.size()) << "object " << j << " was not compressed";
  }
}

// Inputs above 4 MiB (the Tree of a huge directory) are compressed into their record as it
// grows, not through a buffer of their bound: compressible ones decode to their input (the
// frame holds its content size, which reading checks), with output that outgrows the first
// room given it; one that does not compress is stored raw.
TEST(ObjectEncodeTest, InputsAboveFourMebibytesAreCompressedAsTheyGrow) {
  std::string names;  // like a Tree's entries: long similar names, a few random bytes each
  for (int i = 0; names.size() < (9 << 20); ++i) {
    names += std::string(200, 'n') + std::to_string(i) + RandomBytes(40, i);
  }
  std::string noise = RandomBytes(5 << 20, 77);  // compresses by less than 1/8
  std::string half = noise.substr(0, 3 << 20) + std::string(3 << 20, 'z');
  for (const std::string* in : {&names, &noise, &half}) {
    EncodedObject e = EncodeObject(ObjectType::kTree, *in, 3, false);
    auto decoded = DecodeObject(Sha256::Of(*in), e.record);
    ASSERT_TRUE(decoded.has_value()) << decoded.status().ToString();
    EXPECT_EQ(decoded->data, *in);
    const auto codec = static_cast<Codec>(e.record[0]);
    if (in == &noise) {
      EXPECT_EQ(codec, Codec::kRaw);
    } else {
      EXPECT_EQ(codec, Codec::kZstd);
      EXPECT_LT(e.record.size(), in->size());
    }
  }
  EXPECT_GT(EncodeObject(ObjectType::kTree, half, 3, false).record.size(),
            (3u << 20) / 8 + (64 << 10))
      << "the output outgrew the room it was first given";
}

// A record whose header claims another size than its zstd frame holds is Corruption before
// any buffer is sized by the claim (found by fuzz/object_fuzzer.cc: a damaged header made each
// read allocate and zero up to 1 GiB).
TEST(ObjectDecodeTest, AHeaderClaimingAnotherSizeThanItsFrameIsCorruption) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "compressible line " + std::to_string(i % 5) + "\n";
  EncodedObject obj = EncodeObject(ObjectType::kBlob, text, 4);
  auto header = ParseRecordHeader(obj.id, obj.record);
  ASSERT_TRUE(header);
  ASSERT_NE(header->codec, Codec::kRaw) << "the text compresses";
  ASSERT_TRUE(DecodeObject(obj.id, obj.record));
  for (uint64_t claim : {uint64_t{1} << 29, uint64_t{text.size() + 1}, uint64_t{text.size() - 1}}) {
    std::string record = obj.record.substr(0, 2);
    PutVarint64(&record, claim);
    record += obj.record.substr(header->header_size);
    auto r = DecodeObject(obj.id, record);
    ASSERT_FALSE(r) << claim;
    EXPECT_TRUE(r.error().IsCorruption()) << r.error().ToString();
    EXPECT_NE(r.error().message().find("header claims " + std::to_string(claim) +
                                       " bytes, its zstd frame " + std::to_string(text.size())),
              std::string::npos)
        << r.error().ToString();
  }
}

// One content, one id: a ChunkIndex of fewer than two chunks (the content is a Blob then) or with
// an empty chunk is not one cairn writes, and decodes as Corruption (found by
// fuzz/chunk_index_fuzzer.cc).
TEST(ObjectDecodeTest, ChunkIndexesOfOneChunkOrAnEmptyChunkAreCorruption) {
  ChunkIndex two;
  two.chunks = {{Sha256::Of("a"), 5}, {Sha256::Of("b"), 7}};
  two.total_size = 12;
  two.content_sha256 = Sha256::Of("whole");
  ASSERT_TRUE(DecodeChunkIndex(ObjectId(), EncodeChunkIndex(two)));
  ChunkIndex one = two;
  one.chunks.resize(1);
  one.total_size = 5;
  ChunkIndex none = two;
  none.chunks.clear();
  none.total_size = 0;
  ChunkIndex empty_chunk = two;
  empty_chunk.chunks.push_back({Sha256::Of(""), 0});
  for (const ChunkIndex* bad : {&one, &none, &empty_chunk}) {
    auto r = DecodeChunkIndex(ObjectId(), EncodeChunkIndex(*bad));
    ASSERT_FALSE(r) << bad->chunks.size() << " chunks";
    EXPECT_TRUE(r.error().IsCorruption()) << r.error().ToString();
  }
}

TEST(ObjectDecodeTest, ObjectInfoWithTrailingBytesIsCorruption) {
  std::string info = EncodeObjectInfo({ObjectType::kBlob, 4096, 1234, 77});
  auto back = DecodeObjectInfo(ObjectId(), info);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->position, 77u);
  auto r = DecodeObjectInfo(ObjectId(), info + "x");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().IsCorruption()) << r.error().ToString();
}

}  // namespace
}  // namespace cairn::cas::testing
