// ReadFileData and ZeroRunDigest: a file's data with its offsets, and a digest of its bytes
// (holes read as zeros) that costs its data, not its size. ResolvePath through a TreeCache.
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

// A MemoryStore that counts its reads.
class CountingStore final : public ObjectStore {
 public:
  Status WriteRaw(std::span<const RawOp> ops, const WriteOptions& options) override {
    return inner_.WriteRaw(ops, options);
  }
  Result<std::optional<std::string>> Get(Space space, std::string_view key) override {
    ++gets;
    return inner_.Get(space, key);
  }
  Result<std::optional<std::string>> LastKey(Space space) override { return inner_.LastKey(space); }
  Status Scan(Space space, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    ++gets;
    return inner_.Scan(space, prefix, fn);
  }
  Status Flush() override { return Status(); }
  bool read_only() const override { return false; }
  int gets = 0;

 private:
  MemoryStore inner_;
};

// Lookups through one TreeCache find what lookups without it find, and read each Tree once: a
// second file of a directory looked up already reads nothing from the store.
TEST(TreeCacheTest, LookupsThroughACacheReadEachTreeOnce) {
  CountingStore store;
  Ingestor ingestor(&store, IngestOptions());
  auto put_tree = [&](Tree t) {
    EXPECT_TRUE(CanonicalizeTree(&t).ok());
    auto id = ingestor.PutObject(ObjectType::kTree, EncodeTree(t));
    EXPECT_TRUE(id.has_value()) << id.error().ToString();
    EXPECT_TRUE(ingestor.WritePending().ok());
    return id ? *id : ObjectId();
  };
  auto entry = [](std::string name, EntryType type) {
    TreeEntry e;
    e.name = std::move(name);
    e.type = type;
    e.meta.mode = 0755;
    return e;
  };
  Tree etc;
  etc.meta.mode = 0755;
  for (const char* n : {"hostname", "os-release", "passwd"})
    etc.entries.push_back(entry(n, EntryType::kRegular));
  Tree root;
  root.meta.mode = 0755;
  TreeEntry etc_entry = entry("etc", EntryType::kDirectory);
  etc_entry.id = put_tree(etc);
  root.entries.push_back(etc_entry);
  TreeEntry link = entry("conf", EntryType::kSymlink);
  link.meta.mode = 0777;
  link.target = "/etc";
  root.entries.push_back(link);
  const ObjectId root_id = put_tree(root);

  TreeCache cache(&store);
  for (const char* path :
       {"etc/hostname", "conf/os-release", "etc/passwd", "etc/nothing", "etc/hostname/x"}) {
    auto plain = ResolvePath(&store, root_id, path, true);
    store.gets = 0;
    auto cached = ResolvePath(&store, root_id, path, true, nullptr, &cache);
    ASSERT_EQ(plain.has_value(), cached.has_value()) << path;
    if (plain) {
      EXPECT_EQ(*plain, *cached) << path;
    } else {
      EXPECT_EQ(plain.error().ToString(), cached.error().ToString()) << path;
    }
    if (std::string_view(path) != "etc/hostname") {
      EXPECT_EQ(store.gets, 0) << path << ": the root and etc/ were decoded already";
    } else {
      EXPECT_GT(store.gets, 0) << "the first lookup reads the root and etc/";
    }
  }
}

}  // namespace
}  // namespace cairn::cas::testing
