// A real repository in a temporary directory, open for writing, with helpers to build fixture
// trees and check them in as versions (catalog::CheckinVersion).
#ifndef CAIRN_TESTS_CATALOG_CATALOG_TEST_BASE_H_
#define CAIRN_TESTS_CATALOG_CATALOG_TEST_BASE_H_

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "cas/repository.h"
#include "catalog/catalog.h"
#include "catalog/checkin.h"
#include "tests/catalog/catalog_fixture.h"

namespace cairn::catalog::testing {

// The value of `r`, or a test failure (thrown, so gtest ends the test) naming `what`.
template <typename T>
T Must(Result<T> r, const std::string& what = "") {
  if (!r.has_value()) {
    ADD_FAILURE() << what << ": " << r.error().ToString();
    throw std::runtime_error(what + ": " + r.error().ToString());
  }
  return std::move(*r);
}
inline void MustOk(const Status& s, const std::string& what = "") {
  if (!s.ok()) {
    ADD_FAILURE() << what << ": " << s.ToString();
    throw std::runtime_error(what + ": " + s.ToString());
  }
}

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_dir_ = tmp_ / "repo";
    MustOk(cas::Repository::Init(repo_dir_, cas::RepositoryConfig()), "init");
    cas::Repository::OpenOptions o;
    o.mode = cas::Repository::Mode::kWrite;
    repo_ = Must(cas::Repository::Open(repo_dir_, o), "open");
  }

  cas::ObjectStore* store() { return repo_->store(); }

  // Builds `spec` in a fresh directory and returns its path.
  std::string Build(const TreeSpec& spec) {
    std::string dir = tmp_ / ("src" + std::to_string(++sources_));
    indexer::testing::BuildTree(dir, spec);
    if (::testing::Test::HasFatalFailure()) throw std::runtime_error("BuildTree failed");
    return dir;
  }

  VersionRef Checkin(const std::string& dir, const std::string& image, const std::string& parent = "",
                     const std::string& message = "") {
    CheckinRequest req;
    req.source = dir;
    req.image = image;
    req.parent = parent;
    req.message = message;
    req.author = "test@host";
    req.options.stat_cache_dir = tmp_ / "stat-cache";
    return Must(CheckinVersion(*repo_, req), "checkin " + dir + " as " + image).version;
  }

  VersionRef Resolve(const std::string& text) {
    Catalog c(store());
    return Must(c.Resolve(text), "resolve " + text);
  }

  // Every key (and value) of `space` that holds the bytes of `id` anywhere.
  std::set<std::string> KeysMentioning(cas::Space space, const ObjectId& id) {
    std::set<std::string> out;
    std::string bytes(id.AsBytes());
    MustOk(store()->Scan(space, "", [&](std::string_view k, std::string_view v) {
      if (k.find(bytes) != std::string_view::npos || v.find(bytes) != std::string_view::npos) {
        out.emplace(k);
      }
      return true;
    }), "scan");
    return out;
  }

  indexer::testing::TempDir tmp_;
  std::string repo_dir_;
  std::unique_ptr<cas::Repository> repo_;
  int sources_ = 0;
};

}  // namespace cairn::catalog::testing

#endif  // CAIRN_TESTS_CATALOG_CATALOG_TEST_BASE_H_
