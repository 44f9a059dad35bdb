// gc after rm and purge: it deletes exactly the objects only the purged versions reached, keeps
// everything else readable, and a second gc or a dry run changes nothing. The oracle for "what
// the remaining versions reach" is an independent one: the same sources checked in to a fresh
// repository (object ids depend only on content, so it holds the same Blobs, chunks and Trees).
#include "cas/gc.h"

#include <gtest/gtest.h>

#include <map>

#include "base/sha256.h"
#include "cas/tree_reader.h"
#include "cas/verify.h"
#include "catalog/keys.h"
#include "catalog/provenance.h"
#include "tests/catalog/catalog_test_base.h"

namespace cairn::catalog::testing {
namespace {

using indexer::testing::Listing;

std::set<ObjectId> ObjectIds(cas::ObjectStore* store, bool with_versions = true) {
  std::set<ObjectId> out;
  MustOk(store->ForEachObject([&](const ObjectId& id, const cas::ObjectInfo& info) {
    if (with_versions || info.type != cas::ObjectType::kVersion) out.insert(id);
    return true;
  }));
  return out;
}

// Every key and value of every space: the whole state of a store.
std::map<std::pair<int, std::string>, std::string> Everything(cas::ObjectStore* store) {
  std::map<std::pair<int, std::string>, std::string> out;
  for (int s = 0; s < cas::kNumSpaces; ++s) {
    MustOk(store->Scan(static_cast<cas::Space>(s), "", [&](std::string_view k, std::string_view v) {
      out.emplace(std::pair{s, std::string(k)}, std::string(v));
      return true;
    }));
  }
  return out;
}

// Each Tree left that names a directory's Tree no longer stored. The search index's mark that a
// Tree is indexed stands for its whole subtree: a Tree left beside a deleted child made a later
// checkin of the same tree skip the child's files (search found 2,100 of 3,000).
std::vector<std::string> TreesNamingDeletedTrees(cas::ObjectStore* store) {
  std::vector<std::string> out;
  MustOk(store->ForEachObject([&](const ObjectId& id, const cas::ObjectInfo& info) {
    if (info.type != cas::ObjectType::kTree) return true;
    cas::Tree t = Must(cas::LoadTree(store, id));
    for (const auto& e : t.entries) {
      if (e.type == cas::EntryType::kDirectory && !Must(store->Contains(e.id))) {
        out.push_back(id.Short() + " names deleted " + e.name);
      }
    }
    return true;
  }));
  return out;
}

class GcTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    src_a_ = Build(BaseSpec());
    TreeSpec b = BaseSpec();
    Remove(b, "home/user");
    At(b, "usr/bin/tool").data = "#!/bin/sh\necho only in b\n";
    b.push_back(FileNode("srv/data/extra.bin", ExtraContent()));  // multi-chunk, only in B
    b.push_back(DirNode("opt"));
    b.push_back(FileNode("opt/only-b.txt", "b"));
    src_b_ = Build(b);
    TreeSpec c = BaseSpec();
    c.push_back(FileNode("etc/motd", "hello from c\n"));
    src_c_ = Build(c);
  }

  static std::string ExtraContent() { return indexer::testing::RandomBytes(2 << 20, 99); }

  cas::GcStats Gc(bool dry_run = false) {
    Catalog c(store());
    cas::GcOptions o;
    o.dry_run = dry_run;
    o.on_dead_tree = DropTreeIndex(store());
    return Must(cas::CollectGarbage(store(), Must(c.AllVersionIds()), o), "gc");
  }

  // The objects the sources reach, from a fresh repository.
  std::set<ObjectId> ReachedBy(const std::vector<std::string>& sources) {
    std::string dir = tmp_ / ("fresh" + std::to_string(++fresh_));
    MustOk(cas::Repository::Init(dir, cas::RepositoryConfig()));
    cas::Repository::OpenOptions o;
    o.mode = cas::Repository::Mode::kWrite;
    auto fresh = Must(cas::Repository::Open(dir, o));
    for (const auto& s : sources) {
      CheckinRequest req;
      req.source = s;
      req.image = "x";
      Must(CheckinVersion(*fresh, req));
    }
    return ObjectIds(fresh->store(), /*with_versions=*/false);
  }

  void ExpectChecksOutAs(const std::string& version, const std::string& source) {
    std::string target = tmp_ / ("out" + std::to_string(++outs_));
    Must(CheckoutVersion(*repo_, version, target, "dir", indexer::CheckoutOptions()), "checkout " + version);
    EXPECT_EQ(indexer::testing::Diff(Listing(source), Listing(target)), "") << version;
  }

  void ExpectVerifies() {
    std::vector<std::string> problems;
    cas::VerifyCallbacks cb;
    cb.on_problem = [&](const ObjectId&, const Status& s) { problems.push_back(s.ToString()); };
    auto report = Must(cas::VerifyStore(store(), 2, cb));
    EXPECT_EQ(report.bad, 0u);
    EXPECT_EQ(problems, std::vector<std::string>{});
  }

  std::string src_a_, src_b_, src_c_;
  int fresh_ = 0, outs_ = 0;
};

TEST_F(GcTest, DeletesExactlyWhatOnlyThePurgedVersionReached) {
  VersionRef a = Checkin(src_a_, "web");
  VersionRef b = Checkin(src_b_, "web", "web:1");
  VersionRef c = Checkin(src_c_, "web", "web:2");
  EXPECT_EQ(Gc().deleted, 0u) << "every object is reached";

  Catalog cat(store());
  MustOk(cat.SetState(b, VersionState::kDeleted));
  EXPECT_EQ(Gc().deleted, 0u) << "a deleted version keeps its objects until purged";
  ASSERT_EQ(Must(cat.Purge()), std::vector<std::string>{"web:2"});

  std::set<ObjectId> before = ObjectIds(store());
  std::set<ObjectId> want = ReachedBy({src_a_, src_c_});
  want.insert(a.id);
  want.insert(c.id);
  for (const auto& id : want) ASSERT_TRUE(before.contains(id)) << id.ToHex();
  const uint64_t dead = before.size() - want.size();
  ASSERT_GT(dead, 4u) << "b's Version, root, tool, extra.bin's index and chunks, opt/...";

  // A dry run counts the same and changes nothing at all.
  auto everything = Everything(store());
  cas::GcStats dry = Gc(/*dry_run=*/true);
  EXPECT_EQ(dry.deleted, dead);
  EXPECT_EQ(dry.objects, before.size());
  EXPECT_EQ(dry.reachable, want.size());
  EXPECT_EQ(Everything(store()), everything) << "dry run wrote something";

  cas::GcStats st = Gc();
  EXPECT_EQ(st.deleted, dead);
  EXPECT_EQ(st.objects, before.size());
  EXPECT_GT(st.deleted_raw_bytes, ExtraContent().size());
  EXPECT_EQ(ObjectIds(store()), want);
  // The content index no longer names extra.bin's chunk index.
  EXPECT_FALSE(Must(store()->Get(cas::Space::kContent, Sha256::Of(ExtraContent()).AsBytes())).has_value());
  EXPECT_TRUE(Must(store()->Get(cas::Space::kContent, Sha256::Of(BigContent()).AsBytes())).has_value());

  ExpectVerifies();
  ExpectChecksOutAs("web:1", src_a_);
  ExpectChecksOutAs("web:3", src_c_);

  auto again = Everything(store());
  EXPECT_EQ(Gc().deleted, 0u);
  EXPECT_EQ(Everything(store()), again) << "a second gc changed something";
}

// A gc killed between two of its sweep's batches leaves a store that verifies, whose Trees name
// no deleted Tree (a Tree goes before the Trees it names): each run below
// is stopped after its first batch of one deletion, so the runs together pass through every
// state a kill could leave (the dead objects are deleted in the same order each time).
TEST_F(GcTest, AGcStoppedAfterAnyDeletionLeavesAStoreThatVerifies) {
  VersionRef a = Checkin(src_a_, "web");
  VersionRef b = Checkin(src_b_, "web", "web:1");
  Catalog cat(store());
  MustOk(cat.SetState(b, VersionState::kDeleted));
  ASSERT_EQ(Must(cat.Purge()), std::vector<std::string>{"web:2"});
  const size_t before = ObjectIds(store()).size();
  int runs = 0;
  for (;; ++runs) {
    ASSERT_LT(runs, 1000) << "gc never finished";
    cas::GcOptions o;
    o.on_dead_tree = DropTreeIndex(store());
    o.sweep_batch_bytes = 0;  // one deletion a batch
    o.after_sweep_batch = [] { return false; };
    auto r = cas::CollectGarbage(store(), Must(cat.AllVersionIds()), o);
    ExpectVerifies();
    EXPECT_EQ(TreesNamingDeletedTrees(store()), std::vector<std::string>{});
    if (::testing::Test::HasFailure()) FAIL() << "after " << runs + 1 << " deletions";
    if (r.has_value()) break;  // nothing was left to delete: no batch was written
  }
  EXPECT_GT(runs, 30) << "b's Version, Trees, files, extra.bin's index and its chunks";
  EXPECT_EQ(ObjectIds(store()).size(), before - runs);
  std::set<ObjectId> want = ReachedBy({src_a_});
  want.insert(a.id);
  EXPECT_EQ(ObjectIds(store()), want);
}

// A reader open before gc reads every object after it: gc does not compact while a reader
// holds the repository (the compaction rewrote a blob file from under a reader, which then
// failed with "No such file"), and the next gc, with the reader gone, does it.
TEST_F(GcTest, AReaderOpenDuringGcReadsOnAndTheNextGcCompacts) {
  // b first: its blob file holds content a reaches too and content only b reaches
  // (extra.bin), so the compaction rewrites it once b is gone.
  VersionRef b = Checkin(src_b_, "web");
  VersionRef a = Checkin(src_a_, "web", "web:1");
  Catalog cat(store());
  MustOk(cat.SetState(b, VersionState::kDeleted));
  ASSERT_EQ(Must(cat.Purge()), std::vector<std::string>{"web:1"});
  const std::set<ObjectId> live = ReachedBy({src_a_});

  cas::Repository::OpenOptions ro;
  ro.mode = cas::Repository::Mode::kRead;
  auto reader = Must(cas::Repository::Open(repo_dir_, ro));
  cas::GcOptions o;
  o.on_dead_tree = DropTreeIndex(store());
  o.may_compact = [&] { return repo_->ExcludeReaders(std::chrono::milliseconds(50)); };
  cas::GcStats first = Must(cas::CollectGarbage(store(), Must(cat.AllVersionIds()), o));
  EXPECT_GT(first.deleted, 0u);
  EXPECT_FALSE(first.compacted);
  for (const auto& id : live) {
    auto info = reader->store()->Info(id);
    ASSERT_TRUE(info.has_value()) << id.ToHex() << ": " << info.status().ToString();
    auto data = reader->store()->ReadTyped(id, info->type);
    EXPECT_TRUE(data.has_value()) << id.ToHex() << ": " << data.status().ToString();
  }
  reader.reset();

  cas::GcStats second = Must(cas::CollectGarbage(store(), Must(cat.AllVersionIds()), o));
  EXPECT_EQ(second.deleted, 0u);
  EXPECT_TRUE(second.compacted) << "the compaction the reader kept the first gc from";
  cas::GcStats third = Must(cas::CollectGarbage(store(), Must(cat.AllVersionIds()), o));
  EXPECT_FALSE(third.compacted) << "nothing left to do";
  ExpectVerifies();
  ExpectChecksOutAs(a.Name(), src_a_);
}

TEST_F(GcTest, CheckinAfterGcStoresAgainWhatGcDeleted) {
  Checkin(src_a_, "web");
  VersionRef b = Checkin(src_b_, "web", "web:1");
  Catalog cat(store());
  MustOk(cat.SetState(b, VersionState::kDeleted));
  Must(cat.Purge());
  ASSERT_GT(Gc().deleted, 0u);
  // The stat cache and the content index still remember B's files: neither may be trusted
  // for objects gc deleted.
  VersionRef again = Checkin(src_b_, "web", "web:1");
  EXPECT_EQ(again.version.root, b.version.root);
  ExpectVerifies();
  ExpectChecksOutAs(again.Name(), src_b_);
  ExpectChecksOutAs("web:1", src_a_);
}

TEST_F(GcTest, ACloneKeepsThePurgedSourcesObjects) {
  Checkin(src_a_, "web");
  VersionRef b = Checkin(src_b_, "web");
  VersionRef clone = Must(CloneVersion(*repo_, "web:2", "app", ""));
  Catalog cat(store());
  MustOk(cat.SetState(b, VersionState::kDeleted));
  Must(cat.Purge());
  std::set<ObjectId> before = ObjectIds(store());
  cas::GcStats st = Gc();
  EXPECT_EQ(st.deleted, 1u) << "only web:2's Version object";
  std::set<ObjectId> after = ObjectIds(store());
  before.erase(b.id);
  EXPECT_EQ(after, before);
  ExpectVerifies();
  ExpectChecksOutAs("app:1", src_b_);
  EXPECT_EQ(Resolve("app").version.parents, std::vector<ObjectId>{b.id});
}

// Purging versions between others keeps the lineage through them: their parents are linked to
// their children, so provenance reads web:1 -> app:1 and web:1 -> web:4 from either end, before
// and after gc takes the purged Version objects. Purge deleted their links alone: web:1 lost its
// descendants, and they lost web:1 once gc took the Version that named it.
using ProvenanceAfterPurgeTest = GcTest;
TEST_F(ProvenanceAfterPurgeTest, PurgeLinksThePurgedVersionsParentsToTheirChildren) {
  VersionRef a = Checkin(src_a_, "web");
  VersionRef b = Checkin(src_b_, "web", "web:1");
  VersionRef c = Must(CloneVersion(*repo_, "web:2", "app", ""));
  VersionRef b2 = Checkin(src_c_, "web", "web:2");
  VersionRef d = Checkin(src_a_, "web", "web:3");  // beneath two purged versions
  Catalog cat(store());
  MustOk(cat.SetState(b, VersionState::kDeleted));
  MustOk(cat.SetState(b2, VersionState::kDeleted));
  EXPECT_EQ(Must(cat.Purge()), (std::vector<std::string>{"web:2", "web:3"}));
  using Names = std::set<std::string>;
  auto names = [&](const VersionRef& v) {
    Names out;
    for (const auto& n : Must(BuildProvenance(cat, v)).nodes) out.insert(n.name);
    return out;
  };
  auto parents = [&](const VersionRef& focus, const ObjectId& id) {
    for (const auto& n : Must(BuildProvenance(cat, focus)).nodes)
      if (n.id == id) return n.parents;
    return std::vector<ObjectId>{ObjectId()};
  };
  for (bool collected : {false, true}) {
    EXPECT_EQ(names(a), (Names{"web:1", "app:1", "web:4"})) << collected;
    EXPECT_EQ(names(c), (Names{"web:1", "app:1"})) << collected;
    EXPECT_EQ(names(d), (Names{"web:1", "web:4"})) << collected;
    EXPECT_EQ(parents(a, c.id), std::vector<ObjectId>{a.id}) << collected;
    EXPECT_EQ(parents(d, d.id), std::vector<ObjectId>{a.id}) << collected;
    auto children = Must(cat.Children(a.id));
    EXPECT_EQ(std::set<ObjectId>(children.begin(), children.end()),
              (std::set<ObjectId>{c.id, d.id}));
    std::string dot = ProvenanceDot(Must(BuildProvenance(cat, a)));
    EXPECT_NE(dot.find("\"" + a.id.Short() + "\" -> \"" + d.id.Short() + "\""), std::string::npos)
        << dot;
    EXPECT_EQ(KeysMentioning(cas::Space::kCatalog, b.id), std::set<std::string>{}) << collected;
    EXPECT_EQ(KeysMentioning(cas::Space::kCatalog, b2.id), std::set<std::string>{}) << collected;
    if (!collected) {
      Gc();
      ASSERT_FALSE(Must(store()->Contains(b.id))) << "gc took web:2's Version object";
    }
  }
  EXPECT_EQ(Resolve("app:1").version.parents, std::vector<ObjectId>{b.id}) << "as recorded";
}

// A version purged by an older cairn, which deleted its links without bridging them, stays a
// node of its own, "(purged ID)", while its Version object is there: it is marked deleted and
// purged (`provenance --json` said "deleted": false), and its label does not add [deleted].
TEST_F(ProvenanceAfterPurgeTest, AVersionPurgedWithoutBridgingIsADeletedPurgedNode) {
  VersionRef a = Checkin(src_a_, "web");
  VersionRef b = Checkin(src_b_, "web", "web:1");
  VersionRef d = Checkin(src_c_, "web", "web:2");
  Catalog cat(store());
  MustOk(cat.SetState(b, VersionState::kDeleted));
  EXPECT_EQ(Must(cat.Purge()), (std::vector<std::string>{"web:2"}));
  cas::WriteBatch older;  // what the bridging purge added, taken away
  older.Delete(cas::Space::kCatalog, keys::Child(a.id, d.id));
  MustOk(store()->Write(older, cas::WriteOptions{.sync = true}));
  Provenance p = Must(BuildProvenance(cat, d));
  ASSERT_EQ(p.nodes.size(), 3u);
  for (const auto& n : p.nodes) {
    EXPECT_EQ(n.purged, n.id == b.id) << n.name;
    EXPECT_EQ(n.state == VersionState::kDeleted, n.id == b.id) << n.name;
  }
  std::string text = ProvenanceText(p);
  EXPECT_NE(text.find("(purged " + b.id.Short() + ")  " + b.id.Short() + "\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("[deleted]"), std::string::npos) << text;
}

TEST_F(GcTest, PurgingEveryVersionLetsGcEmptyTheStore) {
  VersionRef a = Checkin(src_a_, "web");
  VersionRef b = Checkin(src_b_, "other");
  Catalog cat(store());
  MustOk(cat.SetState(a, VersionState::kDeleted));
  MustOk(cat.SetState(b, VersionState::kDeleted));
  EXPECT_EQ(Must(cat.Purge()).size(), 2u);
  uint64_t n = ObjectIds(store()).size();
  cas::GcStats st = Gc();
  EXPECT_EQ(st.deleted, n);
  EXPECT_TRUE(ObjectIds(store()).empty());
  std::set<std::string> content;
  MustOk(store()->Scan(cas::Space::kContent, "", [&](std::string_view k, std::string_view) {
    content.emplace(k);
    return true;
  }));
  EXPECT_TRUE(content.empty()) << content.size() << " content entries name deleted objects";
  ExpectVerifies();
}

}  // namespace
}  // namespace cairn::catalog::testing
