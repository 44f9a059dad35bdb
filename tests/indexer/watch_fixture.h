// The watcher tests' fixture: a tree, a directory outside it and a cache directory under a fresh
// temporary directory, a watcher and its last token.
#ifndef CAIRN_TESTS_INDEXER_WATCH_FIXTURE_H_
#define CAIRN_TESTS_INDEXER_WATCH_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "indexer/dir_scan.h"
#include "indexer/watch.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {

using Dirs = std::vector<std::string>;

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-watch-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    auto real = WalkRoot(tmpl);
    ASSERT_TRUE(real) << real.error().ToString();
    base_ = *real;
    root_ = base_ + "/tree";
    outside_ = base_ + "/outside";
    cache_ = base_ + "/cache";
    Mkdir(root_);
    Mkdir(outside_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  std::string P(const std::string& rel) const { return root_ + "/" + rel; }
  static void Mkdir(const std::string& path) { ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path; }
  static void Write(const std::string& path, const std::string& data = "data") {
    std::ofstream(path, std::ios::binary) << data;
  }
  static void Rename(const std::string& from, const std::string& to) {
    ASSERT_EQ(::rename(from.c_str(), to.c_str()), 0) << from << " -> " << to;
  }

  // Starts the watcher and takes a first token.
  void StartWatching() {
    auto w = TreeWatcher::Start(root_);
    ASSERT_TRUE(w) << w.error().ToString();
    watcher_ = std::move(*w);
    auto r = watcher_->Sync({});
    ASSERT_TRUE(r);
    token_ = r->token;
  }
  // The directories changed since the last call (or StartWatching).
  Dirs Changes() {
    auto r = watcher_->Sync(token_);
    EXPECT_TRUE(r) << r.error().ToString();
    if (!r) return {"<error>"};
    EXPECT_FALSE(r->all);
    token_ = r->token;
    return r->dirty;
  }
  // Whether the watcher cannot vouch for the time since the last call (or
  // StartWatching).
  bool CannotVouch() {
    auto r = watcher_->Sync(token_);
    EXPECT_TRUE(r) << r.error().ToString();
    if (!r) return false;
    token_ = r->token;
    return r->all;
  }

  std::string base_, root_, outside_, cache_;
  std::unique_ptr<TreeWatcher> watcher_;
  WatchToken token_;
};

// Detaches a test's mount at `path` when the test ends, unless it unmounted it itself.
using testing::MountGuard;

}  // namespace cairn::indexer

#endif  // CAIRN_TESTS_INDEXER_WATCH_FIXTURE_H_
