// Search by path glob, content SHA-256 and package, and how rm, restore and purge change it.
#include "catalog/search.h"

#include <gtest/gtest.h>

#include <map>

#include "base/coding.h"
#include "base/sha256.h"
#include "cas/gc.h"
#include "cas/ingestor.h"
#include "cas/tree_reader.h"
#include "cas/version.h"
#include "catalog/keys.h"
#include "catalog/search_index.h"
#include "indexer/dir_source.h"
#include "tests/catalog/catalog_test_base.h"

namespace cairn::catalog::testing {
namespace {

// web:1 is BaseSpec; web:2 has no home/user, a new usr/bin/tool, libssl3 3.0.22-1~deb12u2,
// curl added and tzdata removed.
class SearchTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    v1_ = Checkin(Build(BaseSpec()), "web");
    TreeSpec s = BaseSpec();
    Remove(s, "home/user");
    At(s, "usr/bin/tool").data = "#!/bin/sh\necho tool v2\n";
    auto pkgs = BasePackages();
    std::erase_if(pkgs, [](const DpkgPackage& p) { return p.name == "tzdata"; });
    for (auto& p : pkgs)
      if (p.name == "libssl3") p.version = "3.0.22-1~deb12u2";
    pkgs.push_back({"curl", "7.88.1-10+deb12u5", "amd64"});
    SetPackages(s, pkgs);
    v2_ = Checkin(Build(s), "web", "web:1");
  }

  std::vector<SearchHit> Find(SearchQuery q) { return Must(Search(store(), q), "search"); }
  std::vector<std::string> Versions(SearchQuery q) {
    std::vector<std::string> out;
    for (const auto& h : Find(q)) out.push_back(h.version);
    return out;
  }
  static SearchQuery Path(std::string glob) {
    SearchQuery q;
    q.path_glob = std::move(glob);
    return q;
  }
  static SearchQuery Sha(const ObjectId& sha) {
    SearchQuery q;
    q.sha256 = sha;
    return q;
  }
  static SearchQuery Pkg(const std::string& text) {
    SearchQuery q;
    q.package = Must(ParsePackageConstraint(text), text);
    return q;
  }

  // Stores `spec` through `ingestor` without recording a version, so that none of its Trees is
  // indexed yet; returns its root Tree. The objects are written, not flushed.
  ObjectId StoreUnrecorded(cas::Ingestor& ingestor, const TreeSpec& spec) {
    indexer::CheckinOptions o;
    o.stat_cache_dir = "";
    ObjectId root = Must(indexer::DirSource(Build(spec)).Checkin(&ingestor, o), "store").root;
    MustOk(ingestor.WritePending(), "write");
    return root;
  }
  // Every key of `space` with its value.
  std::map<std::string, std::string> SpaceContents(cas::Space space) {
    std::map<std::string, std::string> kv;
    MustOk(store()->Scan(space, "", [&](std::string_view k, std::string_view v) {
      kv.emplace(k, v);
      return true;
    }), "scan");
    return kv;
  }

  VersionRef v1_, v2_;
  using Names = std::vector<std::string>;
};

TEST_F(SearchTest, ABasenameGlobMatchesFileNamesAnywhere) {
  auto hits = Find(Path("notes.txt"));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].version, "web:1");
  EXPECT_EQ(hits[0].id, v1_.id);
  EXPECT_EQ(hits[0].paths, Names{"home/user/notes.txt"});

  hits = Find(Path("*.bin"));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].paths, Names{"srv/data/big.bin"});
  EXPECT_EQ(hits[1].paths, Names{"srv/data/big.bin"});

  hits = Find(Path("[gp]*"));  // etc/group, etc/passwd
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].paths, (Names{"etc/group", "etc/passwd"}));

  EXPECT_EQ(Versions(Path("os-release")), (Names{"web:1", "web:2"}));
  EXPECT_TRUE(Find(Path("notes")).empty()) << "a basename glob matches the whole name";
  EXPECT_TRUE(Find(Path("nothing*")).empty());
}

TEST_F(SearchTest, AGlobWithASlashMatchesWholePaths) {
  auto hits = Find(Path("usr/bin/*"));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].paths, Names{"usr/bin/tool"});
  EXPECT_EQ(Versions(Path("/usr/bin/tool")), (Names{"web:1", "web:2"})) << "a leading '/' is ignored";
  EXPECT_EQ(Versions(Path("home/*/notes.txt")), Names{"web:1"});
  EXPECT_EQ(Versions(Path("srv/*.bin")), (Names{"web:1", "web:2"})) << "'*' crosses '/'";
  EXPECT_EQ(Versions(Path("home/user")), Names{"web:1"}) << "directories are indexed too";
  EXPECT_TRUE(Find(Path("bin/tool")).empty()) << "paths are anchored at the root";
}

TEST_F(SearchTest, GlobsThatCannotMatchAreInvalid) {
  for (const char* glob : {"usr/", "", "/", "[abc", "etc/[x"}) {
    SearchQuery q;
    q.path_glob = glob;
    auto r = Search(store(), q);
    ASSERT_FALSE(r.has_value()) << "'" << glob << "'";
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << glob;
  }
  auto none = Search(store(), SearchQuery{});
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code(), Code::kInvalidArgument);
}

TEST_F(SearchTest, BySha256OfASmallAndOfAMultiChunkFile) {
  auto hits = Find(Sha(Sha256::Of(ToolContent())));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].version, "web:1");
  EXPECT_EQ(hits[0].paths, Names{"usr/bin/tool"});

  // big.bin is stored as a chunk index: its id is not its SHA-256, the index still finds it.
  std::string big = BigContent();
  ASSERT_GT(big.size(), 1u << 20);
  cas::TreeEntry e = Must(cas::LookupPath(store(), v1_.version.root, "srv/data/big.bin"));
  ASSERT_EQ(Must(store()->Info(e.id)).type, cas::ObjectType::kChunkIndex);
  ObjectId sha = Sha256::Of(big);
  ASSERT_NE(e.id, sha);
  hits = Find(Sha(sha));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].version, "web:1");
  EXPECT_EQ(hits[1].version, "web:2");
  EXPECT_EQ(hits[1].paths, Names{"srv/data/big.bin"});
  EXPECT_TRUE(Find(Sha(e.id)).empty()) << "the chunk index id is not a content digest";
  EXPECT_TRUE(Find(Sha(Sha256::Of("no such content"))).empty());
}

// A sparse file's content is its data alone; search finds it by the SHA-256 of its bytes,
// holes read as zeros, as sha256sum prints it, and not by its data's. One larger than
// kMaxSparseDigestSize is not indexed by digest: hashing its holes would cost its size.
TEST_F(SearchTest, BySha256OfASparseFile) {
  TreeSpec s = BaseSpec();
  Node small;
  small.path = "var/lib/small.sparse";
  small.kind = Node::Kind::kSparse;
  small.size = 1 << 20;
  small.pieces = {{4096, "data"}};
  s.push_back(small);
  Node huge = small;
  huge.path = "var/lib/huge.sparse";
  huge.size = kMaxSparseDigestSize + 4096;
  huge.pieces = {{kMaxSparseDigestSize, "end"}};
  s.push_back(huge);
  VersionRef v = Checkin(Build(s), "holes");
  cas::TreeEntry e = Must(cas::LookupPath(store(), v.version.root, "var/lib/small.sparse"));
  ASSERT_TRUE(e.sparse) << "the fixture's filesystem keeps holes";
  std::string bytes = std::string(4096, '\0') + "data" + std::string((1 << 20) - 4100, '\0');
  auto hits = Find(Sha(Sha256::Of(bytes)));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].version, "holes:1");
  EXPECT_EQ(hits[0].paths, Names{"var/lib/small.sparse"});
  EXPECT_TRUE(Find(Sha(Sha256::Of("data"))).empty()) << "the data alone is not the file";
  EXPECT_TRUE(Find(Sha(Sha256::Of("end"))).empty());
  EXPECT_TRUE(Must(cas::LookupPath(store(), v.version.root, "var/lib/huge.sparse")).sparse);
}

TEST_F(SearchTest, ByPackageWithDebianVersionConstraints) {
  EXPECT_EQ(Versions(Pkg("libssl3")), (Names{"web:1", "web:2"}));
  EXPECT_EQ(Versions(Pkg("libssl3<3.0.22")), Names{"web:1"});
  EXPECT_EQ(Versions(Pkg("libssl3 >= 3.0.22")), Names{"web:2"});
  EXPECT_EQ(Versions(Pkg("libssl3<3.0.22-1~deb12u2")), Names{"web:1"});
  EXPECT_EQ(Versions(Pkg("libssl3=3.0.22-1~deb12u2")), Names{"web:2"});
  EXPECT_EQ(Versions(Pkg("libssl3!=3.0.22-1~deb12u2")), Names{"web:1"});
  EXPECT_EQ(Versions(Pkg("libc6 >= 2.36")), (Names{"web:1", "web:2"}));
  EXPECT_TRUE(Versions(Pkg("libc6>2.36-9+deb12u4")).empty());
  EXPECT_EQ(Versions(Pkg("curl")), Names{"web:2"});
  EXPECT_EQ(Versions(Pkg("tzdata")), Names{"web:1"});
  EXPECT_TRUE(Versions(Pkg("oldpkg")).empty()) << "config-files only is not installed";
  EXPECT_TRUE(Versions(Pkg("libc")).empty()) << "names match exactly, not by prefix";

  auto hits = Find(Pkg("libssl3>3.0"));
  ASSERT_EQ(hits.size(), 2u);
  ASSERT_EQ(hits[1].packages.size(), 1u);
  EXPECT_EQ(hits[1].packages[0].name, "libssl3");
  EXPECT_EQ(hits[1].packages[0].version, "3.0.22-1~deb12u2");
  EXPECT_TRUE(hits[1].paths.empty());
}

// Two architectures of one package are two packages, keyed as dpkg names them: a bare name
// finds each ("libc6", "libc6:i386"), NAME:ARCH the one. Keyed by the bare name, the last
// architecture's version hid the other's.
TEST_F(SearchTest, ByPackageOfEachArchitecture) {
  TreeSpec s = BaseSpec();
  auto pkgs = BasePackages();
  for (auto& p : pkgs)
    if (p.name == "libc6") p.version = "2.36-8";
  pkgs.push_back({"libc6", "2.36-9", "i386"});
  SetPackages(s, pkgs);
  Checkin(Build(s), "multi");
  EXPECT_EQ(Versions(Pkg("libc6<2.36-9")), Names{"multi:1"});
  EXPECT_EQ(Versions(Pkg("libc6:i386")), Names{"multi:1"});
  EXPECT_EQ(Versions(Pkg("libc6:i386<2.36-9")), Names{});
  EXPECT_EQ(Versions(Pkg("libc6:arm64")), Names{});
  auto hits = Find(Pkg("libc6"));
  ASSERT_EQ(hits.size(), 3u);
  ASSERT_EQ(hits[0].version, "multi:1");
  ASSERT_EQ(hits[0].packages.size(), 2u);
  EXPECT_EQ(hits[0].packages[0].name, "libc6");
  EXPECT_EQ(hits[0].packages[0].version, "2.36-8");
  EXPECT_EQ(hits[0].packages[1].name, "libc6:i386");
  EXPECT_EQ(hits[0].packages[1].version, "2.36-9");
  EXPECT_EQ(hits[1].packages.size(), 1u) << "web:1 holds libc6 of amd64 only";

  // Purge leaves no key of either.
  Catalog c(store());
  MustOk(c.SetState(Must(c.Resolve("multi:1")), VersionState::kDeleted));
  Must(c.Purge());
  for (const auto& [k, v] : SpaceContents(cas::Space::kCatalog)) {
    EXPECT_EQ(k.find("libc6:i386"), std::string::npos) << k;
  }
}

// Hits come by image, then by version number: web:2 before web:10.
TEST_F(SearchTest, HitsAreOrderedByImageThenNumber) {
  for (int i = 3; i <= 10; ++i) Checkin(Build(BaseSpec()), "web");
  Checkin(Build(BaseSpec()), "a");
  EXPECT_EQ(Versions(Path("notes.txt")), (Names{"a:1", "web:1", "web:3", "web:4", "web:5", "web:6",
                                                "web:7", "web:8", "web:9", "web:10"}));
}

TEST_F(SearchTest, CriteriaCombineWithAnd) {
  SearchQuery q = Path("notes.txt");
  q.package = Must(ParsePackageConstraint("libssl3>=3.0.22"));
  EXPECT_TRUE(Find(q).empty()) << "web:1 has the notes, web:2 the new libssl3";

  q = Path("tool");
  q.package = Must(ParsePackageConstraint("libssl3<3.0.22"));
  auto hits = Find(q);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].version, "web:1");
  EXPECT_EQ(hits[0].paths, Names{"usr/bin/tool"});
  EXPECT_EQ(hits[0].packages.size(), 1u);

  q = Sha(Sha256::Of(BigContent()));
  q.package = Must(ParsePackageConstraint("curl"));
  EXPECT_EQ(Versions(q), Names{"web:2"});

  q = Sha(Sha256::Of(ToolContent()));
  q.path_glob = "*.bin";
  EXPECT_TRUE(Find(q).empty()) << "tool's content is not in a .bin file";
  q.path_glob = "usr/*";
  hits = Find(q);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].paths, Names{"usr/bin/tool"}) << "only the file matching both";
}

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
