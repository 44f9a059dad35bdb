// Search by path glob, content SHA-256 and package, and criteria combined.
#include "catalog/search.h"

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
  EXPECT_EQ(Versions(Path("/usr/bin/tool")), (Names{"web:1", "web:2"})) << "from the root too";
  EXPECT_EQ(Versions(Path("home/*/notes.txt")), Names{"web:1"});
  EXPECT_EQ(Versions(Path("srv/*.bin")), (Names{"web:1", "web:2"})) << "'*' crosses '/'";
  EXPECT_EQ(Versions(Path("home/user")), Names{"web:1"}) << "directories are indexed too";
  EXPECT_TRUE(Find(Path("bin/tool")).empty()) << "paths are anchored at the root";
}

// A leading '/' makes a glob a path from the root, as any '/' does: "/hostname" is not
// etc/hostname, "/usr" not srv/usr. Stripped before the test for a '/', it matched names anywhere.
TEST_F(SearchTest, ALeadingSlashAnchorsTheGlobAtTheRoot) {
  TreeSpec s = BaseSpec();
  s.push_back(DirNode("srv/usr"));
  s.push_back(DirNode("srv/usr/bin"));
  Checkin(Build(s), "nested");
  EXPECT_TRUE(Find(Path("/hostname")).empty());
  EXPECT_TRUE(Find(Path("/tool")).empty());
  EXPECT_EQ(Versions(Path("hostname")), (Names{"nested:1", "web:1", "web:2"}))
      << "a name, anywhere";
  auto hits = Find(Path("/usr"));
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].version, "nested:1");
  EXPECT_EQ(hits[0].paths, Names{"usr"});
  hits = Find(Path("/usr/bin"));
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].paths, Names{"usr/bin"});
  hits = Find(Path("/*bin"));
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].paths, (Names{"srv/data/big.bin", "srv/usr/bin", "usr/bin"}))
      << "'*' crosses '/'";
  EXPECT_EQ(Find(Path("//etc/hostname")).size(), 3u);
}

TEST_F(SearchTest, GlobsThatCannotMatchAreInvalid) {
  for (const char* glob : {"usr/", "", "/", "[abc", "etc/[x"}) {
    SearchQuery q;
    q.path_glob = glob;
    auto r = Search(store(), q);
    ASSERT_FALSE(r.has_value()) << "'" << glob << "'";
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << glob;
    // The message names the glob as typed ("/" was named '', stripped of its '/').
    EXPECT_NE(r.error().message().find("path glob '" + std::string(glob) + "':"), std::string::npos)
        << r.error().message();
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

// NAME:ARCH finds the image's own architecture's package too, and ARCH "all" an "all" one, as
// dpkg-query finds them ("libc6:amd64"), though both are keyed by the bare name; each image by
// its own architecture. Only foreign packages were found so.
TEST_F(SearchTest, ByPackageQualifiedWithTheImagesOwnArchitectureOrAll) {
  TreeSpec s = BaseSpec();
  SetPackages(s, {{"bash", "5.2.15-2+b2", "i386"},
                  {"libc6", "2.36-9+deb12u4", "i386"},
                  {"libc6", "2.36-9+deb12u4", "amd64"},
                  {"libssl3", "3.0.20-1~deb12u2", "i386"}});
  VersionRef x86 = Checkin(Build(s), "x86");
  ASSERT_EQ(DecodeInspection(x86.version.summary).arch, "i386");
  EXPECT_EQ(Versions(Pkg("libc6:amd64")), (Names{"web:1", "web:2", "x86:1"}));
  EXPECT_EQ(Versions(Pkg("libc6:amd64 <= 2.36-9+deb12u4")), (Names{"web:1", "web:2", "x86:1"}));
  EXPECT_TRUE(Versions(Pkg("libc6:amd64 < 2.36-9+deb12u4")).empty());
  EXPECT_EQ(Versions(Pkg("libc6:i386")), Names{"x86:1"});
  EXPECT_EQ(Versions(Pkg("bash:i386")), Names{"x86:1"});
  EXPECT_EQ(Versions(Pkg("bash:amd64")), (Names{"web:1", "web:2"}));
  EXPECT_EQ(Versions(Pkg("libssl3:amd64<3.0.22")), Names{"web:1"});
  EXPECT_EQ(Versions(Pkg("tzdata:all")), Names{"web:1"});
  EXPECT_TRUE(Versions(Pkg("tzdata:amd64")).empty()) << "tzdata is all, not amd64";
  EXPECT_TRUE(Versions(Pkg("bash:arm64")).empty());
  auto hits = Find(Pkg("libc6:amd64"));
  ASSERT_EQ(hits.size(), 3u);
  ASSERT_EQ(hits[2].packages.size(), 1u);
  EXPECT_EQ(hits[2].packages[0].name, "libc6:amd64") << "foreign in x86:1";
  ASSERT_EQ(hits[0].packages.size(), 1u);
  EXPECT_EQ(hits[0].packages[0].name, "libc6") << "native in web:1, named as dpkg's status does";
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

}  // namespace
}  // namespace cairn::catalog::testing
