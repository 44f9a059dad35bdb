// ReadFileData and ZeroRunDigest: a file's data with its offsets, and a digest of its bytes
// (holes read as zeros) that costs its data, not its size.
#include "cas/tree_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cas/ingestor.h"
#include "cas/memory_store.h"

namespace cairn::cas::testing {
namespace {

class TreeReaderTest : public ::testing::Test {
 protected:
  // A regular file of `size` bytes holding `data` at `extents` (dense when there are none).
  TreeEntry File(uint64_t size, const std::string& data, std::vector<Extent> extents = {}) {
    auto c = ingestor_.PutBytes(data);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    EXPECT_TRUE(ingestor_.WritePending().ok());
    TreeEntry e;
    e.name = "f";
    e.type = EntryType::kRegular;
    e.id = c->id;
    e.size = size;
    e.sparse = !extents.empty();
    e.extents = std::move(extents);
    return e;
  }
  // The bytes of `e`, holes read as zeros.
  std::string Bytes(const TreeEntry& e) {
    std::string out;
    EXPECT_TRUE(ReadFileEntry(&store_, e, [&](std::string_view p) {
      out.append(p);
      return Status();
    }).ok());
    return out;
  }
  ObjectId Digest(const TreeEntry& e) {
    auto d = ZeroRunDigest(&store_, e);
    EXPECT_TRUE(d.has_value()) << d.error().ToString();
    return d ? *d : ObjectId();
  }

  MemoryStore store_;
  Ingestor ingestor_{&store_, IngestOptions()};
};

TEST_F(TreeReaderTest, ReadFileDataGivesEachExtentAtItsOffset) {
  TreeEntry e = File(100, "abcdef", {{10, 2}, {50, 4}});
  std::vector<std::pair<uint64_t, std::string>> got;
  ASSERT_TRUE(ReadFileData(&store_, e, [&](uint64_t at, std::string_view p) {
    if (!got.empty() && got.back().first + got.back().second.size() == at) {
      got.back().second.append(p);
    } else {
      got.emplace_back(at, std::string(p));
    }
    return Status();
  }).ok());
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, std::string>>{{10, "ab"}, {50, "cdef"}}));
  EXPECT_EQ(Bytes(e), std::string(10, '\0') + "ab" + std::string(38, '\0') + "cdef" +
                          std::string(46, '\0'));
}

// The same bytes give the same digest however they are stored: dense, sparse, zeros written
// as data or left as holes; any other bytes or size another.
TEST_F(TreeReaderTest, ZeroRunDigestsAreEqualExactlyWhenTheBytesAre) {
  std::string bytes = std::string(4096, '\0') + "xy" + std::string(10, '\0') + "z" +
                      std::string(4000, '\0');
  const uint64_t n = bytes.size();
  TreeEntry dense = File(n, bytes);
  TreeEntry sparse = File(n, "xy" + std::string(10, '\0') + "z", {{4096, 13}});
  TreeEntry tight = File(n, "xyz", {{4096, 2}, {4108, 1}});
  TreeEntry split = File(n, std::string(96, '\0') + "xy" + "z" + std::string(7, '\0'),
                         {{4000, 98}, {4108, 8}});
  for (const TreeEntry* e : {&sparse, &tight, &split}) {
    ASSERT_EQ(Bytes(*e), bytes);
    EXPECT_EQ(Digest(*e), Digest(dense));
  }
  std::string other = bytes;
  other[4098] = 'q';  // a zero between the runs made non-zero: the runs join
  EXPECT_NE(Digest(File(n, other)), Digest(dense));
  EXPECT_NE(Digest(File(n + 1, bytes + std::string(1, '\0'))), Digest(dense)) << "size";
  EXPECT_NE(Digest(File(n, "xz", {{4096, 1}, {4108, 1}})), Digest(dense));
  EXPECT_NE(Digest(File(n, "xyz", {{4097, 2}, {4108, 1}})), Digest(dense)) << "moved";
  // A run ending where another begins is one run: "ab" + "cd" equals "abcd".
  EXPECT_EQ(Digest(File(8, "abcd", {{2, 2}, {4, 2}})), Digest(File(8, "abcd", {{2, 4}})));
}

// A file of the largest size Linux holds costs its data only.
TEST_F(TreeReaderTest, ZeroRunDigestOfAHugeSparseFileReadsOnlyItsData) {
  const uint64_t max = 9223372036854775807u;
  TreeEntry a = File(max, "end", {{max - 3, 3}});
  TreeEntry b = File(max, "en", {{max - 3, 2}});
  EXPECT_NE(Digest(a), Digest(b));
  EXPECT_EQ(Digest(a), Digest(File(max, "end", {{max - 3, 3}})));
}

}  // namespace
}  // namespace cairn::cas::testing
