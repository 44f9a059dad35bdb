// A walked directory's Tree when it is taken as recorded, and its stat cache record
// (indexer/pending_dir.h), against an in-memory store.
#include "indexer/pending_dir.h"

#include <gtest/gtest.h>

#include "cas/memory_store.h"
#include "cas/tree_reader.h"

namespace cairn::indexer {
namespace {

cas::TreeEntry Entry(std::string name, cas::EntryType type, uint64_t size = 0) {
  cas::TreeEntry e;
  e.name = std::move(name);
  e.type = type;
  e.size = size;
  return e;
}

class PendingDirTest : public ::testing::Test {
 protected:
  // Stores a Tree with `entries` (full metadata, as a checkin stores them) and returns its id.
  ObjectId Put(cas::Tree tree) {
    auto id = ingestor_.PutObject(cas::ObjectType::kTree, cas::EncodeTree(tree));
    EXPECT_TRUE(id) << id.error().ToString();
    Status written = ingestor_.WritePending();  // readable, as a parent version's Trees are
    EXPECT_TRUE(written.ok()) << written.ToString();
    return id ? *id : ObjectId();
  }

  cas::MemoryStore store_;
  cas::Ingestor ingestor_{&store_, cas::IngestOptions{}};
};

TEST_F(PendingDirTest, AReusedDirectoryIsItsRecordedTreeOrThatTreeWithItsSubdirectoriesNewIds) {
  cas::Tree sub_was;
  sub_was.meta.mode = 0700;
  const ObjectId sub_id = Put(sub_was);
  cas::Tree was;
  was.meta.mode = 0755;
  was.meta.xattrs = {{"user.k", "v"}};
  cas::TreeEntry f = Entry("f", cas::EntryType::kRegular, 3);
  f.meta.mode = 0644;
  f.meta.uid = 7;
  cas::TreeEntry d = Entry("d", cas::EntryType::kDirectory);
  d.id = sub_id;
  was.entries = {d, f};
  const ObjectId was_id = Put(was);

  // The walk's view of a reused directory: names, types, sizes and the subdirectories' ids.
  PendingDir pd;
  pd.rel = "top";
  pd.parent_tree = was_id;
  pd.reuse = true;
  pd.tree.entries = {Entry("d", cas::EntryType::kDirectory),
                     Entry("f", cas::EntryType::kRegular, 3)};
  pd.tree.entries[0].id = sub_id;
  StatCache cache;
  cache.Put("top/d", StatCacheDir{sub_id, {}, {}, {}, {}});

  auto same = ReusedTree(pd, cache, &ingestor_, "/src");
  ASSERT_TRUE(same) << same.error().ToString();
  EXPECT_EQ(*same, was_id);

  // The subdirectory changed: the recorded Tree, metadata and all, with its new id.
  cas::Tree sub_now;
  sub_now.meta.mode = 0750;
  const ObjectId sub_now_id = Put(sub_now);
  pd.tree.entries[0].id = sub_now_id;
  auto changed = ReusedTree(pd, cache, &ingestor_, "/src");
  ASSERT_TRUE(changed) << changed.error().ToString();
  ASSERT_TRUE(ingestor_.WritePending().ok());
  auto tree = cas::LoadTree(&store_, *changed);
  ASSERT_TRUE(tree) << tree.error().ToString();
  cas::Tree want = was;
  want.entries[0].id = sub_now_id;
  EXPECT_EQ(tree->meta, want.meta);
  EXPECT_EQ(tree->entries, want.entries);

  // A subdirectory the cache holds no record of counts as changed too.
  pd.tree.entries[0].id = sub_id;
  auto unrecorded = ReusedTree(pd, StatCache(), &ingestor_, "/src");
  ASSERT_TRUE(unrecorded) << unrecorded.error().ToString();
  EXPECT_EQ(*unrecorded, was_id);  // same content, same id
}

TEST_F(PendingDirTest, AReusedDirectoryThatIsNotItsRecordedTreeIsCorruption) {
  cas::Tree was;
  cas::TreeEntry d = Entry("d", cas::EntryType::kDirectory);
  d.id = Put(cas::Tree());
  was.entries = {d, Entry("f", cas::EntryType::kRegular, 3)};
  const ObjectId was_id = Put(was);
  cas::Tree moved;  // a subdirectory id the cache did not record, so the Tree is loaded
  moved.meta.mode = 01777;
  const ObjectId moved_id = Put(moved);

  auto expect_corruption = [&](std::vector<cas::TreeEntry> now) {
    PendingDir pd;
    pd.rel = "a/b";
    pd.parent_tree = was_id;
    pd.reuse = true;
    pd.tree.entries = std::move(now);
    pd.tree.entries[0].id = moved_id;
    auto r = ReusedTree(pd, StatCache(), &ingestor_, "/src");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().IsCorruption()) << r.error().ToString();
    EXPECT_NE(r.error().message().find("/src: a/b is not as the stat cache recorded"),
              std::string::npos)
        << r.error().ToString();
  };
  expect_corruption({Entry("d", cas::EntryType::kDirectory)});  // an entry fewer
  expect_corruption(
      {Entry("d", cas::EntryType::kDirectory), Entry("g", cas::EntryType::kRegular, 3)});
  expect_corruption(
      {Entry("d", cas::EntryType::kDirectory), Entry("f", cas::EntryType::kRegular, 4)});
  expect_corruption({Entry("d", cas::EntryType::kDirectory), Entry("f", cas::EntryType::kFifo)});
}

TEST(PendingDirRecordTest, NamesAreRecordedOnlyForACompleteDirectoryAndRacyCtimesAreDoubted) {
  PendingDir pd;
  pd.rel = "x";
  pd.self = {10, 1'000'000'000};
  pd.tree.entries = {Entry("a", cas::EntryType::kRegular), Entry("b", cas::EntryType::kSymlink)};
  pd.stats = {{11, 2'000'000'000}, {12, 5'000'000'000}};
  pd.below.files = 1;
  const ObjectId id = ObjectId::FromHex(std::string(64, 'a')).value();
  StatCacheDir d = RecordOf(pd, id, /*since_ns=*/5'000'000'000);
  EXPECT_EQ(d.tree, id);
  EXPECT_EQ(d.self, (FileStat{10, 1'000'000'000}));
  ASSERT_EQ(d.files.size(), 2u);
  EXPECT_EQ(d.files[0], (FileStat{11, 2'000'000'000}));
  EXPECT_EQ(d.files[1].ctime_ns, 0) << "a ctime at the walk's start is not trusted";
  EXPECT_EQ(d.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d.below.files, 1u);

  PendingDir skipped = pd;
  skipped.complete = false;
  skipped.stats = pd.stats;
  EXPECT_TRUE(RecordOf(skipped, id, 0).names.empty())
      << "a directory with skipped entries is listed again";
}

}  // namespace
}  // namespace cairn::indexer
