// The search index as versions come and go: rm, restore and purge, index keys written in batches
// and undone, Trees indexed once and shared, digest keys and their formats, gc.
#include <gtest/gtest.h>

#include "base/coding.h"
#include "base/sha256.h"
#include "cas/gc.h"
#include "cas/tree_reader.h"
#include "cas/version.h"
#include "catalog/keys.h"
#include "catalog/search_index.h"
#include "tests/catalog/search_fixture.h"

namespace cairn::catalog::testing {
namespace {

TEST_F(SearchTest, RmHidesAVersionAndRestoreBringsItBack) {
  Catalog c(store());
  MustOk(c.SetState(v1_, VersionState::kDeleted));
  EXPECT_TRUE(Find(Path("notes.txt")).empty());
  EXPECT_EQ(Versions(Path("*.bin")), Names{"web:2"});
  EXPECT_TRUE(Find(Pkg("tzdata")).empty());
  EXPECT_EQ(Resolve("web").id, v2_.id);

  MustOk(c.SetState(v2_, VersionState::kDeleted));
  EXPECT_TRUE(Find(Path("*.bin")).empty());
  EXPECT_FALSE(c.Resolve("web").has_value());

  MustOk(c.SetState(v1_, VersionState::kActive));
  EXPECT_EQ(Versions(Path("notes.txt")), Names{"web:1"});
  EXPECT_EQ(Versions(Path("*.bin")), Names{"web:1"});
  EXPECT_EQ(Resolve("web").id, v1_.id);
}

TEST_F(SearchTest, PurgeForgetsDeletedVersionsAndEveryKeyOfThem) {
  Catalog c(store());
  MustOk(c.SetTag(v1_, "old"));
  // A clone of web:1 shares its root: its keys must stay.
  VersionRef clone = Must(CloneVersion(*repo_, "web:1", "copy", ""));
  ASSERT_FALSE(KeysMentioning(cas::Space::kCatalog, v1_.id).empty());
  MustOk(c.SetState(v1_, VersionState::kDeleted));
  auto purged = Must(c.Purge());
  EXPECT_EQ(purged, std::vector<std::string>{"web:1"});

  EXPECT_EQ(KeysMentioning(cas::Space::kCatalog, v1_.id), std::set<std::string>{});
  EXPECT_EQ(KeysMentioning(cas::Space::kRefs, v1_.id), std::set<std::string>{});
  auto gone = c.ResolveId(v1_.id);
  ASSERT_FALSE(gone.has_value());
  EXPECT_TRUE(gone.error().IsNotFound());
  auto by_name = c.Resolve("web:1");
  ASSERT_FALSE(by_name.has_value());
  EXPECT_TRUE(by_name.error().IsNotFound());
  EXPECT_FALSE(c.Resolve("web@old").has_value());
  EXPECT_EQ(Must(c.Versions("web", true)).size(), 1u);

  EXPECT_EQ(Versions(Path("notes.txt")), Names{"copy:1"});
  EXPECT_EQ(Versions(Pkg("tzdata")), Names{"copy:1"});
  EXPECT_EQ(Versions(Sha(Sha256::Of(ToolContent()))), Names{"copy:1"});
  EXPECT_EQ(Versions(Path("*.bin")), (Names{"copy:1", "web:2"}));
  EXPECT_FALSE(KeysMentioning(cas::Space::kCatalog, v2_.id).empty());
  EXPECT_FALSE(KeysMentioning(cas::Space::kCatalog, clone.id).empty());

  // web:2 still names web:1 as its parent; provenance shows it as purged.
  EXPECT_EQ(Resolve("web:2").version.parents, std::vector<ObjectId>{v1_.id});
  EXPECT_TRUE(Must(c.Purge()).empty()) << "nothing left to purge";
}

TEST_F(SearchTest, PurgeOfEveryVersionLeavesOnlyTreeKeysAndGcRemovesThem) {
  Catalog c(store());
  MustOk(c.SetState(v1_, VersionState::kDeleted));
  MustOk(c.SetState(v2_, VersionState::kDeleted));
  EXPECT_EQ(Must(c.Purge()).size(), 2u);
  auto catalog_keys = [&] {
    std::set<std::string> left;
    MustOk(store()->Scan(cas::Space::kCatalog, "", [&](std::string_view k, std::string_view) {
      left.emplace(k);
      return true;
    }));
    return left;
  };
  // The Trees' own keys (entries, links, digests) wait for gc; nothing names a version.
  std::set<std::string> left = catalog_keys();
  EXPECT_FALSE(left.empty());
  for (const auto& k : left) {
    EXPECT_TRUE(k.starts_with("T") || k.starts_with(std::string("E\0", 2)) || k.starts_with("U") ||
                k.starts_with("d"))
        << "a version's key survived purge: " << k.substr(0, 1);
  }
  std::set<std::string> refs;
  MustOk(store()->Scan(cas::Space::kRefs, "", [&](std::string_view k, std::string_view) {
    refs.emplace(k);
    return true;
  }));
  // Only the image's counter of used numbers stays (numbers are never reused).
  EXPECT_EQ(refs, std::set<std::string>{std::string("N\0web", 5)});
  EXPECT_TRUE(Find(Path("*")).empty());
  EXPECT_TRUE(Find(Sha(Sha256::Of(ToolContent()))).empty());
  EXPECT_TRUE(Must(c.Images(true)).empty());

  cas::GcOptions o;
  o.on_dead_tree = DropTreeIndex(store());
  cas::GcStats stats = Must(cas::CollectGarbage(store(), Must(c.AllVersionIds()), o));
  EXPECT_GT(stats.deleted, 0u);
  EXPECT_EQ(catalog_keys(), std::set<std::string>{}) << "gc removes the keys of the Trees it removes";
}

// A file smaller than the chunker's minimum is one Blob, whose id is its SHA-256: the index
// takes it without a lookup and must come out exactly as with one, around the boundary too.
TEST_F(SearchTest, IndexingWithoutLookingUpSmallFilesGivesTheSameKeys) {
  const uint64_t min = repo_->ingest_options().chunker.min_size;
  TreeSpec s = BaseSpec();
  s.push_back(DirNode("srv/edge"));
  for (uint64_t size : {uint64_t{0}, min - 1, min, min + 1, 2 * min + 7}) {
    std::string data(size, '\0');
    for (uint64_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 7919 + size) % 251);
    s.push_back(FileNode("srv/edge/f" + std::to_string(size), std::move(data)));
  }
  const std::string chunked = BigContent() + "edge";
  s.push_back(FileNode("srv/edge/chunked", chunked));
  cas::Ingestor ingestor(store(), repo_->ingest_options());
  const ObjectId root = StoreUnrecorded(ingestor, s);
  MustOk(ingestor.Finish(), "finish");
  TreeIndex looked_up = Must(IndexTrees(store(), root, 0), "index");
  TreeIndex shortcut = Must(IndexTrees(store(), root, min), "index");
  EXPECT_FALSE(looked_up.puts.empty());
  EXPECT_EQ(shortcut.puts, looked_up.puts);
  EXPECT_EQ(shortcut.counts.files, looked_up.counts.files);
  EXPECT_EQ(shortcut.counts.bytes, looked_up.counts.bytes);
  // A chunked file is still looked up: its SHA-256, not its id, is what is indexed.
  const ObjectId big = Sha256::Of(chunked);
  bool found = false;
  for (const auto& [k, v] : shortcut.puts) found |= k.starts_with(keys::ShortDigestPrefix(big));
  EXPECT_TRUE(found) << "the chunked file is indexed under its SHA-256";
}

// A large tree's keys go to a KeySink in batches as they are made: together with what is left
// in puts they are the keys made without a sink, in the same order. UndoTreeIndex takes what
// went to the store away again, and only that.
TEST_F(SearchTest, IndexKeysGoToASinkInBatchesAndUndoLeavesTheCatalogAsItWas) {
  TreeSpec s = BaseSpec();
  s.push_back(DirNode("srv/many"));
  for (int i = 0; i < 30; ++i) s.push_back(FileNode("srv/many/f" + std::to_string(i), "file " + std::to_string(i % 7)));
  cas::Ingestor ingestor(store(), repo_->ingest_options());
  const ObjectId root = StoreUnrecorded(ingestor, s);
  MustOk(ingestor.Finish(), "finish");
  const auto before = SpaceContents(cas::Space::kCatalog);
  TreeIndex whole = Must(IndexTrees(store(), root), "index");

  IndexKeys sent;
  int batches = 0;
  KeySink sink;
  sink.batch_keys = 5;
  sink.take = [&](IndexKeys& keys) {
    EXPECT_GE(keys.size(), 5u);  // an entry's two keys go together
    EXPECT_LE(keys.size(), 6u);
    ++batches;
    cas::WriteBatch b;
    for (const auto& [k, v] : keys) b.Put(cas::Space::kCatalog, k, v);
    sent.insert(sent.end(), keys.begin(), keys.end());
    return store()->Write(b, cas::WriteOptions{.bulk = true});
  };
  TreeIndex batched = Must(IndexTrees(store(), root, 0, &sink), "index with a sink");
  EXPECT_GE(batches, 10) << "the keys of srv/many alone fill 10 batches";
  EXPECT_LT(batched.puts.size(), 5u);
  IndexKeys all = sent;
  all.insert(all.end(), batched.puts.begin(), batched.puts.end());
  EXPECT_EQ(all, whole.puts);
  EXPECT_EQ(batched.counts.files, whole.counts.files);
  EXPECT_TRUE(sink.sent);
  size_t trees = 0;
  for (const auto& [k, v] : whole.puts) trees += k.size() == 1 + ObjectId::kSize && k[0] == 'T';
  EXPECT_EQ(sink.trees.size(), trees) << "every Tree indexed here is listed for the undo";
  EXPECT_NE(SpaceContents(cas::Space::kCatalog), before);

  MustOk(UndoTreeIndex(store(), sink), "undo");
  EXPECT_EQ(SpaceContents(cas::Space::kCatalog), before);
  KeySink unused;
  MustOk(UndoTreeIndex(store(), unused), "undo of nothing sent");
}

// A version that cannot be recorded after its index keys went to the store (here: an invalid
// image name, refused when the record is prepared) leaves the repository as it was: its index
// keys and its objects are taken away again.
TEST_F(SearchTest, AVersionNotRecordedAfterItsIndexKeysWereWrittenLeavesNoTrace) {
  TreeSpec s = BaseSpec();
  s.push_back(DirNode("srv/more"));
  for (int i = 0; i < 20; ++i) s.push_back(FileNode("srv/more/g" + std::to_string(i), "new " + std::to_string(i)));
  const auto catalog_before = SpaceContents(cas::Space::kCatalog);
  const auto objects_before = SpaceContents(cas::Space::kObjectInfo);
  cas::Ingestor ingestor(store(), repo_->ingest_options());
  const ObjectId root = StoreUnrecorded(ingestor, s);
  EXPECT_NE(SpaceContents(cas::Space::kObjectInfo), objects_before) << "the tree has new objects";
  cas::Version v;
  v.root_type = cas::Version::RootType::kTree;
  v.root = root;
  v.image = "no spaces allowed";
  PhaseTimer timer;
  auto r =
      RecordIngestedVersion(*repo_, ingestor, v, root, ObjectId(), /*index_batch_keys=*/4, timer);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().ToString();
  EXPECT_EQ(SpaceContents(cas::Space::kCatalog), catalog_before);
  EXPECT_EQ(SpaceContents(cas::Space::kObjectInfo), objects_before);
  EXPECT_EQ(Versions(Path("srv/more/g1")), Names{}) << "nothing indexes the tree";
}

TEST_F(SearchTest, AVersionSharingTreesWithAnotherIndexesOnlyItsNewTrees) {
  // web:2 changed home/ and usr/bin/ (and the dpkg status): its other Trees were indexed by web:1.
  VersionIndexData again = Must(BuildVersionIndex(store(), v2_.version.root));
  EXPECT_TRUE(again.trees.puts.empty()) << "every Tree of web:2 is indexed already";
  EXPECT_EQ(again.inspection.files, DecodeInspection(v2_.version.summary).files);
  auto indexed_trees = [&] {
    size_t n = 0;
    MustOk(store()->Scan(cas::Space::kCatalog, "T", [&](std::string_view, std::string_view) {
      ++n;
      return true;
    }));
    return n;
  };
  size_t before = indexed_trees();
  TreeSpec s = BaseSpec();
  At(s, "etc/hostname").data = "changed\n";
  VersionRef v3 = Checkin(Build(s), "web", "web:2");
  EXPECT_EQ(indexed_trees() - before, 2u) << "only the new root and etc/ are indexed";
  EXPECT_EQ(Versions(Path("etc/hostname")), (Names{"web:1", "web:2", "web:3"}));
  EXPECT_EQ(Must(Search(store(), Sha(Sha256::Of(std::string("changed\n"))))).size(), 1u);
  (void)v3;
}

// A new Tree's chunked files whose content its base Tree (the same directory in the parent
// version) held too take their SHA-256 from the base's index: their chunk indexes are not read.
// Shown by deleting one. A base indexed by format 3 (counts only) costs the lookups again; a
// damaged digest list is an error naming its Tree.
TEST_F(SearchTest, ANewTreeTakesTheDigestsOfUnchangedChunkedFilesFromItsBase) {
  const uint64_t min = repo_->ingest_options().chunker.min_size;
  TreeSpec s = BaseSpec();
  s.push_back(DirNode("srv/big"));
  s.push_back(FileNode("srv/big/kept", BigContent() + "kept"));
  VersionRef first = Checkin(Build(s), "big");
  const ObjectId base = Must(cas::RootTreeOf(store(), first.version));
  s.push_back(FileNode("srv/big/note", "a small new file\n"));
  const std::string added = BigContent() + "added";
  s.push_back(FileNode("srv/big/added", added));
  cas::Ingestor ingestor(store(), repo_->ingest_options());
  const ObjectId root = StoreUnrecorded(ingestor, s);
  MustOk(ingestor.Finish(), "finish");

  const TreeIndex looked_up = Must(IndexTrees(store(), root, min), "index");
  EXPECT_EQ(Must(IndexTrees(store(), root, min, nullptr, base), "index").puts, looked_up.puts);
  bool found = false;
  for (const auto& [k, v] : looked_up.puts)
    found |= k.starts_with(keys::ShortDigestPrefix(Sha256::Of(added)));
  EXPECT_TRUE(found) << "the new chunked file is looked up and indexed";

  const ObjectId kept = Must(cas::ResolvePath(store(), root, "srv/big/kept", false), "kept").id;
  const ObjectId base_dir = Must(cas::ResolvePath(store(), base, "srv/big", false), "srv/big").id;
  ASSERT_EQ(Must(store()->Info(kept)).type, cas::ObjectType::kChunkIndex);
  cas::WriteBatch gone;
  gone.DeleteObject(kept);
  MustOk(store()->Write(gone, cas::WriteOptions{}), "delete the chunk index");
  EXPECT_FALSE(IndexTrees(store(), root, min).has_value()) << "without a base, kept is looked up";
  EXPECT_EQ(Must(IndexTrees(store(), root, min, nullptr, base), "index from the base").puts,
            looked_up.puts);

  // The base's "T" value as format 3 wrote it: the counts alone.
  const std::string t_key = keys::TreeIndexed(base_dir);
  const std::string value = *Must(store()->Get(cas::Space::kCatalog, t_key));
  std::string_view counts = value;
  for (int i = 0; i < 5; ++i) {
    uint64_t unused;
    ASSERT_TRUE(GetVarint64(&counts, &unused));
  }
  cas::WriteBatch old;
  old.Put(cas::Space::kCatalog, t_key, value.substr(0, value.size() - counts.size()));
  MustOk(store()->Write(old, cas::WriteOptions{}));
  EXPECT_FALSE(IndexTrees(store(), root, min, nullptr, base).has_value())
      << "a format 3 base holds no digests: kept is looked up";
  cas::WriteBatch bad;
  bad.Put(cas::Space::kCatalog, t_key, value.substr(0, value.size() - counts.size()) + "\x05");
  MustOk(store()->Write(bad, cas::WriteOptions{}));
  auto damaged = IndexTrees(store(), root, min, nullptr, base);
  ASSERT_FALSE(damaged.has_value());
  EXPECT_EQ(damaged.error().code(), Code::kCorruption);
  EXPECT_NE(damaged.error().message().find(base_dir.Short()), std::string::npos)
      << damaged.error().ToString();
}

// Format 3 entry values hold no content id (the Tree does); format 2 values are still read.
TEST(EntryValueTest, HoldsTheSha256OnlyForChunkedFilesAndReadsFormat2) {
  const std::string reg(1, static_cast<char>(cas::EntryType::kRegular));
  const ObjectId content = Sha256::Of("index"), sha = Sha256::Of("whole");
  auto plain = Must(DecodeEntryValue(reg));
  EXPECT_EQ(plain.type, cas::EntryType::kRegular);
  EXPECT_TRUE(plain.sha256.IsZero()) << "a Blob: the Tree's content id is the SHA-256";
  EXPECT_EQ(Must(DecodeEntryValue(reg + std::string(sha.AsBytes()))).sha256, sha);
  EXPECT_EQ(Must(DecodeEntryValue(reg + std::string(content.AsBytes()))).sha256, content)
      << "format 2, a Blob: its content id is its SHA-256";
  EXPECT_EQ(Must(DecodeEntryValue(reg + std::string(content.AsBytes()) + std::string(sha.AsBytes()))).sha256,
            sha) << "format 2, a chunked file";
  EXPECT_FALSE(DecodeEntryValue(reg + "short"));
  EXPECT_FALSE(DecodeEntryValue(""));
  EXPECT_EQ(Must(DecodeEntryValue(std::string(1, static_cast<char>(cas::EntryType::kSymlink)))).type,
            cas::EntryType::kSymlink);
}

// gc finds a file's digest key from the entry value and the Tree: after purge and gc no key of
// a Blob's or a chunked file's digest is left (the chunked file's SHA-256 is not its id).
TEST_F(SearchTest, GcDropsTheDigestKeysOfSmallAndChunkedFiles) {
  Catalog c(store());
  ASSERT_FALSE(Find(Sha(Sha256::Of(ToolContent()))).empty());
  ASSERT_FALSE(Find(Sha(Sha256::Of(BigContent()))).empty());
  MustOk(c.SetState(v1_, VersionState::kDeleted));
  MustOk(c.SetState(v2_, VersionState::kDeleted));
  Must(c.Purge());
  cas::GcOptions o;
  o.on_dead_tree = DropTreeIndex(store());
  Must(cas::CollectGarbage(store(), Must(c.AllVersionIds()), o));
  size_t digests = 0;
  for (const char* prefix : {"d", "D"}) {
    MustOk(store()->Scan(cas::Space::kCatalog, prefix, [&](std::string_view, std::string_view) {
      ++digests;
      return true;
    }));
  }
  EXPECT_EQ(digests, 0u);
}

// A digest key holds only the digest's first 8 bytes: a key whose prefix matches but whose
// file holds other content is no hit (the search reads the Tree to confirm).
TEST_F(SearchTest, AShortDigestKeyIsConfirmedAgainstItsTree) {
  const ObjectId tool = Sha256::Of(ToolContent());
  const ObjectId bin = Must(cas::LookupPath(store(), v1_.version.root, "usr/bin")).id;
  // The same first 8 bytes as `tool`, the rest different.
  std::string bytes(tool.AsBytes());
  bytes[31] ^= 1;
  const ObjectId fake = *ObjectId::FromBytes(bytes);
  cas::WriteBatch b;
  b.Put(cas::Space::kCatalog, keys::ShortDigest(fake, bin, "tool"), "");
  b.Put(cas::Space::kCatalog, keys::ShortDigest(fake, bin, "no-such-entry"), "");
  MustOk(store()->Write(b, cas::WriteOptions{}));
  EXPECT_TRUE(Find(Sha(fake)).empty()) << "usr/bin/tool's content has another digest";
  EXPECT_EQ(Versions(Sha(tool)), (Names{"web:1"})) << "the real digest still finds it";
}

// Format 2 digest keys (the whole SHA-256) are still read.
TEST_F(SearchTest, Format2DigestKeysAreStillFound) {
  const ObjectId tool = Sha256::Of(ToolContent());
  const ObjectId bin = Must(cas::LookupPath(store(), v1_.version.root, "usr/bin")).id;
  cas::WriteBatch b;
  b.Delete(cas::Space::kCatalog, keys::ShortDigest(tool, bin, "tool"));
  b.Put(cas::Space::kCatalog, keys::Digest(tool, bin, "tool"), "");
  MustOk(store()->Write(b, cas::WriteOptions{}));
  auto hits = Find(Sha(tool));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].paths, Names{"usr/bin/tool"});
}

TEST_F(SearchTest, NumbersAreNeverReusedAfterPurge) {
  Catalog c(store());
  MustOk(c.SetState(v2_, VersionState::kDeleted));
  ASSERT_EQ(Must(c.Purge()), std::vector<std::string>{"web:2"});
  cas::Version v = v1_.version;
  v.parents = {v1_.id};
  VersionRef next = Must(c.AddVersion(v, Must(BuildVersionIndex(store(), v.root))));
  EXPECT_EQ(next.Name(), "web:3");
  EXPECT_FALSE(c.Resolve("web:2").has_value());
}

}  // namespace
}  // namespace cairn::catalog::testing
