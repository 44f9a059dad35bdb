// The fixture of the directory checkin tests (dir_test.cc, dir_scan_test.cc): a writable
// RocksDB repository in a temporary directory, a stat cache of the test's own, and checkin,
// checkout and lookup helpers.
#ifndef CAIRN_TESTS_INDEXER_DIR_FIXTURE_H_
#define CAIRN_TESTS_INDEXER_DIR_FIXTURE_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "cas/repository.h"
#include "cas/tree_reader.h"
#include "catalog/checkin.h"
#include "indexer/dir_sink.h"
#include "indexer/stat_cache.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer::testing {

class DirTest : public ::testing::Test {
 protected:
  void SetUp() override { InitAndOpen(tmp_ / "repo"); }

  // Makes a repository at `dir` and opens it for writing as repo_.
  void InitAndOpen(const std::string& dir) {
    ASSERT_TRUE(cas::Repository::Init(dir, cas::RepositoryConfig{}).ok());
    cas::Repository::OpenOptions o;
    o.mode = cas::Repository::Mode::kWrite;
    auto r = cas::Repository::Open(dir, o);
    ASSERT_TRUE(r) << r.error().ToString();
    repo_ = std::move(*r);
  }

  catalog::CheckinOutcome Checkin(const std::string& src, const std::string& image,
                                  const std::string& parent = "") {
    auto out = TryCheckin(src, image, parent);
    EXPECT_TRUE(out) << out.error().ToString();
    return out ? std::move(*out) : catalog::CheckinOutcome{};
  }
  // As Checkin, with `tweak` applied to the options, and the result as it is.
  Result<catalog::CheckinOutcome> TryCheckin(const std::string& src, const std::string& image,
                                             const std::string& parent,
                                             const std::function<void(CheckinOptions&)>& tweak = {}) {
    testing::SettleCtimes();  // what the test changed since its last checkin is trusted
    catalog::CheckinRequest req;
    req.source = src;
    req.image = image;
    req.parent = parent;
    req.options.stat_cache_dir = cache_dir_;
    if (tweak) tweak(req.options);
    return catalog::CheckinVersion(*repo_, req);
  }

  // A checkin with `parent` that reads every file again (--paranoid): what an incremental
  // checkin of the same tree must give.
  catalog::CheckinOutcome ParanoidCheckin(const std::string& src, const std::string& image,
                                          const std::string& parent) {
    catalog::CheckinRequest req;
    req.source = src;
    req.image = image;
    req.parent = parent;
    req.paranoid = true;
    req.options.stat_cache_dir = cache_dir_;
    auto out = catalog::CheckinVersion(*repo_, req);
    EXPECT_TRUE(out) << out.error().ToString();
    return out ? std::move(*out) : catalog::CheckinOutcome{};
  }

  // The stat cache file of source root `src` (the test's own cache directory).
  std::string CacheFile(const std::string& src) {
    return StatCache::FileFor(cache_dir_, std::filesystem::canonical(src).string());
  }

  Status Checkout(const ObjectId& root, const std::string& target, bool force = false) {
    CheckoutOptions o;
    o.force = force;
    return DirSink(target).Checkout(repo_->store(), root, o).status();
  }

  cas::TreeEntry Lookup(const ObjectId& root, const std::string& path) {
    auto e = cas::LookupPath(repo_->store(), root, path);
    EXPECT_TRUE(e) << e.error().ToString();
    return e ? *e : cas::TreeEntry{};
  }

  TempDir tmp_;
  std::string cache_dir_ = tmp_ / "cache";
  std::unique_ptr<cas::Repository> repo_;
};

}  // namespace cairn::indexer::testing

#endif  // CAIRN_TESTS_INDEXER_DIR_FIXTURE_H_
