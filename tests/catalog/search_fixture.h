// The search tests' fixture: web:1 (BaseSpec) and web:2 checked in, and query helpers.
#ifndef CAIRN_TESTS_CATALOG_SEARCH_FIXTURE_H_
#define CAIRN_TESTS_CATALOG_SEARCH_FIXTURE_H_

#include <map>
#include <string>
#include <vector>

#include "cas/ingestor.h"
#include "catalog/search.h"
#include "indexer/dir_source.h"
#include "tests/catalog/catalog_test_base.h"

namespace cairn::catalog::testing {

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
    MustOk(store()->Scan(space, "",
                         [&](std::string_view k, std::string_view v) {
                           kv.emplace(k, v);
                           return true;
                         }),
           "scan");
    return kv;
  }

  VersionRef v1_, v2_;
  using Names = std::vector<std::string>;
};

}  // namespace cairn::catalog::testing

#endif  // CAIRN_TESTS_CATALOG_SEARCH_FIXTURE_H_
