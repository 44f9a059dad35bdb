// Power cuts: a checkin is cut off at every kind of moment (a write, a sync, a rename, a
// directory sync), the repository is reopened as the disk would hold it after the power came
// back (tests/cas/power_cut_fs.h), and it must be valid: it opens, every object verifies, every
// version it lists checks out whole and exact, and what was synced before the cut is there.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "cas/repository.h"
#include "cas/verify.h"
#include "catalog/catalog.h"
#include "catalog/checkin.h"
#include "tests/cas/power_cut_fs.h"
#include "tests/cas/test_util.h"
#include "tests/catalog/catalog_fixture.h"

namespace cairn::catalog::testing {
namespace {

namespace fs = std::filesystem;
using cas::testing::PowerCutFs;
using cas::testing::TempDir;

class PowerCutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = tmp_.path() + "/a";
    b_ = tmp_.path() + "/b";
    TreeSpec spec = BaseSpec();
    indexer::testing::BuildTree(a_, spec);
    At(spec, "etc/hostname").data = "web02\n";
    spec.push_back(DirNode("opt"));
    spec.push_back(DirNode("opt/app"));
    spec.push_back(FileNode("opt/app/data.bin", indexer::testing::RandomBytes(900 << 10, 7)));
    spec.push_back(FileNode("opt/app/notes.txt", "patched\n"));
    indexer::testing::BuildTree(b_, spec);
    base_ = tmp_.path() + "/base";
    ASSERT_TRUE(cas::Repository::Init(base_, cas::RepositoryConfig()).ok());
    auto root_a = Checkin(base_, a_, nullptr);
    ASSERT_TRUE(root_a.has_value()) << root_a.status().ToString();
    root_a_ = *root_a;
    // The root B gets, from a repository that is never cut.
    std::string ref = tmp_.path() + "/ref";
    fs::copy(base_, ref, fs::copy_options::recursive);
    auto root_b = Checkin(ref, b_, nullptr);
    ASSERT_TRUE(root_b.has_value()) << root_b.status().ToString();
    root_b_ = *root_b;
  }

  // Checks `source` in as the next version of "img" (parent img:1); returns its root Tree.
  Result<ObjectId> Checkin(const std::string& repo_dir, const std::string& source,
                           std::shared_ptr<rocksdb::FileSystem> file_system) {
    cas::Repository::OpenOptions o;
    o.mode = cas::Repository::Mode::kWrite;
    o.file_system = std::move(file_system);
    CAIRN_ASSIGN_OR_RETURN(auto repo, cas::Repository::Open(repo_dir, o));
    CheckinRequest req;
    req.source = source;
    req.image = "img";
    req.message = "power cut test";
    req.author = "test@host";
    // Search-index keys go to the store in batches of 8 as they are made, before the version
    // is recorded: cuts fall between those writes too.
    req.index_batch_keys = 8;
    CAIRN_ASSIGN_OR_RETURN(CheckinOutcome out, CheckinVersion(*repo, req));
    return out.version.version.root;
  }

  // The repository in `dir` is valid; returns the roots of img's versions, in order.
  std::vector<ObjectId> CheckValid(const std::string& dir, const std::string& what) {
    std::vector<ObjectId> roots;
    cas::Repository::OpenOptions o;
    o.mode = cas::Repository::Mode::kWrite;  // a writer replays and repairs what it must
    auto repo = cas::Repository::Open(dir, o);
    EXPECT_TRUE(repo.has_value()) << what << ": " << repo.status().ToString();
    if (!repo) return roots;
    uint64_t problems = 0;
    cas::VerifyCallbacks callbacks;
    callbacks.on_problem = [&](const ObjectId&, const Status& s) {
      ADD_FAILURE() << what << ": " << s.ToString();
      ++problems;
    };
    auto report = cas::VerifyStore((*repo)->store(), 2, callbacks);
    EXPECT_TRUE(report.has_value()) << what << ": " << report.status().ToString();
    EXPECT_EQ(problems, 0u) << what;
    // An indexed Tree is in the store: index keys never outlive a cut that lost their Tree.
    Status scanned = (*repo)->store()->Scan(cas::Space::kCatalog, "T", [&](std::string_view k, std::string_view) {
      if (k.size() != 1 + ObjectId::kSize) return true;
      auto id = ObjectId::FromBytes(k.substr(1));
      auto present = id ? (*repo)->store()->Contains(*id) : Result<bool>(id.error());
      EXPECT_TRUE(present.has_value() && *present) << what << ": an indexed Tree is missing";
      return true;
    });
    EXPECT_TRUE(scanned.ok()) << what << ": " << scanned.ToString();
    Catalog catalog((*repo)->store());
    auto versions = catalog.Versions("img");
    EXPECT_TRUE(versions.has_value()) << what << ": " << versions.status().ToString();
    if (!versions) return roots;
    for (const auto& v : *versions) {
      roots.push_back(v.version.root);
      // Every object the version reaches is there and exact.
      std::string out = tmp_.path() + "/out-" + std::to_string(checkouts_++);
      auto r = CheckoutVersion(**repo, v.Name(), out, "dir", {});
      EXPECT_TRUE(r.has_value()) << what << ": checkout " << v.Name() << ": " << r.status().ToString();
      fs::remove_all(out);
    }
    return roots;
  }

  TempDir tmp_;
  std::string a_, b_, base_;
  ObjectId root_a_, root_b_;
  int checkouts_ = 0;
};

TEST_F(PowerCutTest, ACheckinCutAtAnyMomentLeavesAValidRepository) {
  // Count the events of the second checkin, uncut.
  std::string count_dir = tmp_.path() + "/count";
  fs::copy(base_, count_dir, fs::copy_options::recursive);
  auto counter = std::make_shared<PowerCutFs>(count_dir + "/db", 0, "");
  ASSERT_TRUE(Checkin(count_dir, b_, counter).has_value());
  const uint64_t events = counter->events();
  ASSERT_GT(events, 20u);

  // Cut at 40 points spread over the whole checkin, the close of the store included, at its
  // last event (the version's batch is synced by it when nothing is left to flush at close),
  // and once more after the store closed (event events + 1, taken by CutNow).
  std::vector<uint64_t> cuts;
  for (uint64_t k = 1; k < events; k += std::max<uint64_t>(1, events / 40)) cuts.push_back(k);
  cuts.push_back(events);
  cuts.push_back(events + 1);
  int kept = 0, lost = 0;
  for (uint64_t k : cuts) {
    std::string what = "cut at event " + std::to_string(k) + " of " + std::to_string(events);
    std::string work = tmp_.path() + "/work-" + std::to_string(k);
    std::string after = tmp_.path() + "/after-" + std::to_string(k);
    fs::copy(base_, work, fs::copy_options::recursive);
    fs::create_directories(after);
    fs::copy_file(base_ + "/CAIRN", after + "/CAIRN");
    auto cutter = std::make_shared<PowerCutFs>(work + "/db", k, after + "/db");
    auto done = Checkin(work, b_, cutter);
    ASSERT_TRUE(done.has_value()) << what << ": " << done.status().ToString();
    if (k > events) cutter->CutNow();
    ASSERT_TRUE(cutter->cut()) << what;
    std::vector<ObjectId> roots = CheckValid(after, what);
    ASSERT_GE(roots.size(), 1u) << what << ": img:1, synced before the cut, is gone";
    EXPECT_EQ(roots[0], root_a_) << what;
    ASSERT_LE(roots.size(), 2u) << what;
    if (roots.size() == 2) {
      EXPECT_EQ(roots[1], root_b_) << what;
      ++kept;
    } else {
      ++lost;
    }
    fs::remove_all(work);
    fs::remove_all(after);
  }
  std::cout << events << " events; img:2 kept after " << kept << " cuts, lost after " << lost << "\n";
  // Early cuts lose img:2, late ones keep it: both ends were exercised.
  EXPECT_GT(kept, 0);
  EXPECT_GT(lost, 0);
}

TEST_F(PowerCutTest, AVersionIsDurableOnceCheckinReturns) {
  // The cut comes after the checkin returned, before anything else (the store's close
  // included): the new version must survive it.
  std::string work = tmp_.path() + "/work";
  std::string after = tmp_.path() + "/after";
  fs::copy(base_, work, fs::copy_options::recursive);
  fs::create_directories(after);
  fs::copy_file(base_ + "/CAIRN", after + "/CAIRN");
  {
    auto counter = std::make_shared<PowerCutFs>(work + "/db", 0, after + "/db");
    cas::Repository::OpenOptions o;
    o.mode = cas::Repository::Mode::kWrite;
    o.file_system = counter;
    auto repo = cas::Repository::Open(work, o);
    ASSERT_TRUE(repo.has_value());
    CheckinRequest req;
    req.source = b_;
    req.image = "img";
    req.author = "test@host";
    auto out = CheckinVersion(**repo, req);
    ASSERT_TRUE(out.has_value()) << out.status().ToString();
    // The power fails now, before the store is closed: what the checkin promised is synced.
    counter->CutNow();
  }
  std::vector<ObjectId> roots = CheckValid(after, "cut after the checkin returned");
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[1], root_b_);
}

}  // namespace
}  // namespace cairn::catalog::testing
