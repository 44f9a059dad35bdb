// Diff of versions checked in from fixture trees (tests/catalog/catalog_fixture.h): entries and
// packages, metadata, hard links, holes, paths, and a cost that follows the change.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "base/sha256.h"
#include "cas/tree_reader.h"
#include "catalog/diff.h"
#include "tests/catalog/catalog_test_base.h"

namespace cairn::catalog::testing {
namespace {

// BaseSpec changed in every way the diff reports: one file added, a directory with its file
// removed, one file's content changed, four files changed in one kind of metadata each, and
// packages upgraded (libssl3), added (curl) and removed (tzdata).
TreeSpec ChangedSpec() {
  TreeSpec s = BaseSpec();
  s.push_back(FileNode("etc/motd", "welcome\n"));
  At(s, "etc/passwd").mode = 0600;
  At(s, "etc/group").uid = 1000;
  At(s, "etc/issue").mtime_sec += 100;
  At(s, "etc/fstab").xattrs.emplace_back("user.comment", "edited");
  Remove(s, "home/user");
  At(s, "usr/bin/tool").data = "#!/bin/sh\necho tool v2\n";
  auto pkgs = BasePackages();
  std::erase_if(pkgs, [](const DpkgPackage& p) { return p.name == "tzdata"; });
  for (auto& p : pkgs)
    if (p.name == "libssl3") p.version = "3.0.22-1~deb12u2";
  pkgs.push_back({"curl", "7.88.1-10+deb12u5", "amd64"});
  SetPackages(s, pkgs);
  return s;
}

struct Change {
  std::string kind;
  std::vector<std::string> what;
  bool operator==(const Change&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Change& c) {
  os << c.kind << "(";
  for (const auto& w : c.what) os << w << " ";
  return os << ")";
}

std::map<std::string, Change> ByPath(const DiffResult& d) {
  std::map<std::string, Change> out;
  for (const auto& e : d.entries) {
    auto what = e.changed;
    std::sort(what.begin(), what.end());
    EXPECT_TRUE(out.emplace(e.path, Change{std::string(DiffKindName(e.kind)), what}).second)
        << "path reported twice: " << e.path;
  }
  return out;
}

using DiffTest = RepoTest;

TEST_F(DiffTest, ReportsExactlyTheChangedEntriesAndPackages) {
  VersionRef a = Checkin(Build(BaseSpec()), "web");
  VersionRef b = Checkin(Build(ChangedSpec()), "web", "web:1");
  DiffResult d = Must(DiffVersions(store(), a, b, ""));
  std::map<std::string, Change> want = {
      {"etc/fstab", {"metadata", {"xattrs"}}},
      {"etc/group", {"metadata", {"uid"}}},
      {"etc/issue", {"metadata", {"mtime"}}},
      {"etc/motd", {"added", {}}},
      {"etc/passwd", {"metadata", {"mode"}}},
      {"home/user", {"removed", {}}},
      {"home/user/notes.txt", {"removed", {}}},
      {"usr/bin/tool", {"modified", {"content"}}},
      {"var/lib/dpkg/status", {"modified", {"content"}}},
  };
  EXPECT_EQ(ByPath(d), want);
  for (const auto& e : d.entries) {
    if (e.path == "home/user") {
      EXPECT_EQ(e.type, cas::EntryType::kDirectory);
    }
    if (e.path == "usr/bin/tool") {
      EXPECT_EQ(e.size_a, ToolContent().size());
      EXPECT_EQ(e.size_b, std::string("#!/bin/sh\necho tool v2\n").size());
    }
  }
  ASSERT_EQ(d.packages.size(), 3u);
  EXPECT_EQ(d.packages[0].name, "curl");
  EXPECT_EQ(d.packages[0].kind, PackageChange::Kind::kAdded);
  EXPECT_EQ(d.packages[0].new_version, "7.88.1-10+deb12u5");
  EXPECT_EQ(d.packages[1].name, "libssl3");
  EXPECT_EQ(d.packages[1].kind, PackageChange::Kind::kUpgraded);
  EXPECT_EQ(d.packages[1].old_version, "3.0.20-1~deb12u2");
  EXPECT_EQ(d.packages[1].new_version, "3.0.22-1~deb12u2");
  EXPECT_EQ(d.packages[2].name, "tzdata");
  EXPECT_EQ(d.packages[2].kind, PackageChange::Kind::kRemoved);
  EXPECT_EQ(d.packages[2].old_version, "2024a-0+deb12u1");

  // The other way round: added and removed swap, libssl3 is a downgrade.
  DiffResult back = Must(DiffVersions(store(), b, a, ""));
  auto rev = ByPath(back);
  EXPECT_EQ(rev["etc/motd"].kind, "removed");
  EXPECT_EQ(rev["home/user/notes.txt"].kind, "added");
  EXPECT_EQ(rev.size(), want.size());
  ASSERT_EQ(back.packages.size(), 3u);
  EXPECT_EQ(back.packages[1].kind, PackageChange::Kind::kDowngraded);
}

// "." names nothing: "." and "/." are the whole tree, packages compared as with no path
// (`diff A B .` skipped them), and "./etc//" prints the paths "etc/..." as "etc" does (it
// printed "./etc/motd"); "etc/.." is the whole tree too.
TEST_F(DiffTest, DotAndEmptyComponentsNameTheSameAsWithoutThem) {
  VersionRef a = Checkin(Build(BaseSpec()), "web");
  VersionRef b = Checkin(Build(ChangedSpec()), "web", "web:1");
  auto names = [](const DiffResult& d) {
    std::vector<std::string> out;
    for (const auto& p : d.packages) out.push_back(p.name);
    return out;
  };
  DiffResult whole = Must(DiffVersions(store(), a, b, ""));
  ASSERT_EQ(whole.packages.size(), 3u);
  for (const char* path : {".", "/.", "./", "//"}) {
    DiffResult d = Must(DiffVersions(store(), a, b, path));
    EXPECT_EQ(ByPath(d), ByPath(whole)) << path;
    EXPECT_EQ(names(d), names(whole)) << path;
  }
  // ".." is printed as named (DiffTest.APathFollowsLinksInsideEachVersion), and still the root.
  DiffResult up = Must(DiffVersions(store(), a, b, "etc/.."));
  EXPECT_EQ(up.entries.size(), whole.entries.size());
  EXPECT_EQ(names(up), names(whole));
  DiffResult etc = Must(DiffVersions(store(), a, b, "etc"));
  ASSERT_FALSE(etc.entries.empty());
  for (const char* path : {"./etc", "etc//", "etc/.", "/./etc"}) {
    DiffResult d = Must(DiffVersions(store(), a, b, path));
    EXPECT_EQ(ByPath(d), ByPath(etc)) << path;
    EXPECT_TRUE(d.packages.empty()) << path;
  }
}

TEST_F(DiffTest, DirectoryMetadataAndTypeChangesAreNamed) {
  TreeSpec s1 = BaseSpec();
  TreeSpec s2 = BaseSpec();
  At(s2, "srv").mode = 0700;                                 // a directory's own metadata
  Remove(s2, "etc/issue");
  s2.push_back(LinkNode("etc/issue", "issue.net"));          // file -> symlink
  Remove(s2, "usr/bin/tool");
  s2.push_back(DirNode("usr/bin/tool"));                     // file -> directory
  s2.push_back(FileNode("usr/bin/tool/inner", "x"));
  VersionRef a = Checkin(Build(s1), "t");
  VersionRef b = Checkin(Build(s2), "t");
  DiffResult d = Must(DiffVersions(store(), a, b, ""));
  DiffResult others = d;
  std::erase_if(others.entries, [](const DiffEntry& e) { return e.path == "usr/bin/tool"; });
  auto got = ByPath(others);
  EXPECT_EQ(got["srv"], (Change{"metadata", {"mode"}}));
  EXPECT_EQ(got["etc/issue"].kind, "modified");
  EXPECT_EQ(got["etc/issue"].what, std::vector<std::string>{"type"});
  // A file replaced by a directory: the file removed, the directory and its content added.
  int tool = 0;
  for (const auto& e : d.entries) {
    if (e.path == "usr/bin/tool") {
      ++tool;
      EXPECT_TRUE(e.kind == DiffEntry::Kind::kRemoved || e.kind == DiffEntry::Kind::kAdded);
    }
  }
  EXPECT_EQ(tool, 2) << "a removed file and an added directory";
  EXPECT_TRUE(std::any_of(d.entries.begin(), d.entries.end(), [](const DiffEntry& e) {
    return e.path == "usr/bin/tool/inner" && e.kind == DiffEntry::Kind::kAdded;
  }));
  EXPECT_EQ(d.entries.size(), 5u);
}

TEST_F(DiffTest, IdenticalVersionsDifferInNothingAndCompareOnlyTheRoot) {
  std::string src = Build(BaseSpec());
  VersionRef a = Checkin(src, "web");
  VersionRef b = Checkin(Build(BaseSpec()), "web");  // another directory, the same image
  ASSERT_EQ(a.version.root, b.version.root);
  for (const auto& [x, y] : {std::pair{a, b}, std::pair{a, a}}) {
    DiffResult d = Must(DiffVersions(store(), x, y, ""));
    EXPECT_TRUE(d.entries.empty());
    EXPECT_TRUE(d.packages.empty());
    EXPECT_LE(d.trees_compared, 2u);
  }
}

// A tree of `fanout` x `fanout` directories of `files` files each, plus a chain of `depth`
// nested directories holding one file.
TreeSpec WideSpec(int fanout, int files, int depth, const std::string& deep_data) {
  TreeSpec s = {DirNode("")};
  for (int i = 0; i < fanout; ++i) {
    std::string d = "d" + std::to_string(i);
    s.push_back(DirNode(d));
    for (int j = 0; j < fanout; ++j) {
      std::string sd = d + "/s" + std::to_string(j);
      s.push_back(DirNode(sd));
      for (int k = 0; k < files; ++k) {
        s.push_back(FileNode(sd + "/f" + std::to_string(k), sd + " file " + std::to_string(k)));
      }
    }
  }
  std::string p = "deep";
  s.push_back(DirNode(p));
  for (int i = 1; i < depth; ++i) {
    p += "/l" + std::to_string(i);
    s.push_back(DirNode(p));
  }
  s.push_back(FileNode(p + "/leaf", deep_data));
  return s;
}

TEST_F(DiffTest, CostGrowsWithTheDepthOfTheChangeNotTheSizeOfTheImage) {
  const int kFanout = 12, kFiles = 4, kDepth = 6;
  VersionRef a = Checkin(Build(WideSpec(kFanout, kFiles, kDepth, "old")), "big");
  VersionRef b = Checkin(Build(WideSpec(kFanout, kFiles, kDepth, "new")), "big");
  DiffResult d = Must(DiffVersions(store(), a, b, ""));
  ASSERT_EQ(d.entries.size(), 1u);
  EXPECT_EQ(d.entries[0].path, "deep/l1/l2/l3/l4/l5/leaf");
  EXPECT_EQ(d.entries[0].kind, DiffEntry::Kind::kModified);
  const uint64_t trees_per_version = 1 + kFanout + kFanout * kFanout + kDepth;
  // One Tree per side for the root and each directory on the changed path.
  EXPECT_LE(d.trees_compared, 2u * (kDepth + 1)) << "of " << 2 * trees_per_version << " Trees";

  // A change two levels down costs less than one six levels down.
  TreeSpec s3 = WideSpec(kFanout, kFiles, kDepth, "old");
  At(s3, "d3/s4/f2").data = "changed";
  VersionRef c = Checkin(Build(s3), "big");
  DiffResult shallow = Must(DiffVersions(store(), a, c, ""));
  ASSERT_EQ(shallow.entries.size(), 1u);
  EXPECT_EQ(shallow.entries[0].path, "d3/s4/f2");
  EXPECT_LE(shallow.trees_compared, 2u * 3);
  EXPECT_LT(shallow.trees_compared, d.trees_compared);
}

TEST_F(DiffTest, APathLimitsTheDiffToThatSubtree) {
  VersionRef a = Checkin(Build(BaseSpec()), "web");
  VersionRef b = Checkin(Build(ChangedSpec()), "web");
  DiffResult etc = Must(DiffVersions(store(), a, b, "etc"));
  std::vector<std::string> paths;
  for (const auto& e : etc.entries) paths.push_back(e.path);
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"etc/fstab", "etc/group", "etc/issue", "etc/motd", "etc/passwd"}));
  EXPECT_TRUE(etc.packages.empty()) << "packages belong to the whole image";

  DiffResult tool = Must(DiffVersions(store(), a, b, "/usr/bin/tool"));
  ASSERT_EQ(tool.entries.size(), 1u);
  EXPECT_EQ(tool.entries[0].path, "usr/bin/tool");
  EXPECT_EQ(tool.entries[0].kind, DiffEntry::Kind::kModified);

  DiffResult gone = Must(DiffVersions(store(), a, b, "home/user/"));
  EXPECT_EQ(ByPath(gone), (std::map<std::string, Change>{{"home/user", {"removed", {}}},
                                                         {"home/user/notes.txt", {"removed", {}}}}));

  DiffResult same = Must(DiffVersions(store(), a, b, "srv"));
  EXPECT_TRUE(same.entries.empty());

  auto none = DiffVersions(store(), a, b, "no/such/path");
  ASSERT_FALSE(none.has_value());
  EXPECT_TRUE(none.error().IsNotFound()) << none.error().ToString();
}

// The directory a diff starts from is compared too: the root's own metadata (reported as the
// path "", printed `/`), or with a PATH that directory's.
TEST_F(DiffTest, TheStartingDirectorysOwnMetadataIsCompared) {
  TreeSpec s2 = BaseSpec();
  At(s2, "").mode = 0777;
  At(s2, "etc").mode = 0700;
  VersionRef a = Checkin(Build(BaseSpec()), "t");
  VersionRef b = Checkin(Build(s2), "t");
  DiffResult all = Must(DiffVersions(store(), a, b, ""));
  EXPECT_EQ(ByPath(all), (std::map<std::string, Change>{{"", {"metadata", {"mode"}}},
                                                        {"etc", {"metadata", {"mode"}}}}));
  ASSERT_FALSE(all.entries.empty());
  EXPECT_EQ(all.entries[0].path, "") << "the root comes first";
  EXPECT_EQ(all.entries[0].type, cas::EntryType::kDirectory);
  for (const char* path : {"etc", "/etc/"}) {
    EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, b, path))),
              (std::map<std::string, Change>{{"etc", {"metadata", {"mode"}}}}))
        << path;
  }
  EXPECT_TRUE(Must(DiffVersions(store(), a, b, "usr")).entries.empty());
}

Node HardLinkNode(std::string path, std::string to) {
  Node n;
  n.path = std::move(path);
  n.kind = Node::Kind::kHardlink;
  n.target = std::move(to);
  return n;
}

// Hard links live only in the root Tree's table, so two equal files that become one file with
// two names change no directory Tree: each name whose group changed is a metadata change.
TEST_F(DiffTest, EachNameWhoseHardLinkGroupChangedIsAMetadataChange) {
  TreeSpec two = BaseSpec(), one = BaseSpec();
  for (TreeSpec* s : {&two, &one}) {
    s->push_back(DirNode("sub"));
    s->push_back(FileNode("sub/f", "x\n"));
    s->push_back(LinkNode("lnk", "sub"));
  }
  two.push_back(FileNode("sub/g", "x\n"));
  one.push_back(HardLinkNode("sub/g", "sub/f"));
  TreeSpec edited = one;
  At(edited, "sub/f").data = "y\n";
  VersionRef a = Checkin(Build(two), "h");
  VersionRef b = Checkin(Build(one), "h");
  VersionRef c = Checkin(Build(edited), "h");
  const std::map<std::string, Change> both = {{"sub/f", {"metadata", {"hardlinks"}}},
                                              {"sub/g", {"metadata", {"hardlinks"}}}};
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, b, ""))), both);
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), b, a, ""))), both);
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, b, "sub"))), both);
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, b, "sub/g"))),
            (std::map<std::string, Change>{{"sub/g", {"metadata", {"hardlinks"}}}}));
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, b, "lnk/"))),
            (std::map<std::string, Change>{{"lnk/f", {"metadata", {"hardlinks"}}},
                                           {"lnk/g", {"metadata", {"hardlinks"}}}}))
      << "reported beneath PATH as the user named it";
  EXPECT_TRUE(Must(DiffVersions(store(), a, b, "etc")).entries.empty());
  EXPECT_TRUE(Must(DiffVersions(store(), b, b, "")).entries.empty());
  // A content change too: one entry per name, naming both.
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, c, ""))),
            (std::map<std::string, Change>{{"sub/f", {"modified", {"content", "hardlinks"}}},
                                           {"sub/g", {"modified", {"content", "hardlinks"}}}}));
  // A group that stays the same is no change.
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), b, c, ""))),
            (std::map<std::string, Change>{{"sub/f", {"modified", {"content"}}},
                                           {"sub/g", {"modified", {"content"}}}}));
}

// dpkg --compare-versions 1.0-1 eq 0:1.0-1: another spelling of the same version is neither an
// upgrade nor a downgrade.
TEST_F(DiffTest, AVersionSpelledOtherwiseButEqualInDebianOrderIsNoPackageChange) {
  TreeSpec s2 = BaseSpec();
  auto pkgs = BasePackages();
  for (auto& p : pkgs) {
    if (p.name == "libssl3") p.version = "0:" + p.version;  // 3.0.20-1~deb12u2
    if (p.name == "bash") p.version = "05.2.15-2+b2";       // 5.2.15-2+b2
  }
  SetPackages(s2, pkgs);
  VersionRef a = Checkin(Build(BaseSpec()), "p");
  VersionRef b = Checkin(Build(s2), "p");
  DiffResult d = Must(DiffVersions(store(), a, b, ""));
  EXPECT_EQ(ByPath(d),
            (std::map<std::string, Change>{{"var/lib/dpkg/status", {"modified", {"content"}}}}));
  EXPECT_TRUE(d.packages.empty()) << d.packages[0].name << " "
                                  << PackageChangeName(d.packages[0].kind);
}

// Zero blocks that became holes (fallocate --dig-holes) hold the same bytes: the file changed in
// its holes only, not in content.
TEST_F(DiffTest, ZerosThatBecameHolesAreASparseChangeNotAContentChange) {
  std::string bytes(1 << 20, '\0');
  bytes.replace(8192, 4, "data");
  Node sparse;
  sparse.path = "f";
  sparse.kind = Node::Kind::kSparse;
  sparse.size = bytes.size();
  sparse.pieces = {{8192, "data"}};
  TreeSpec dense = BaseSpec(), holes = BaseSpec(), other = BaseSpec();
  dense.push_back(FileNode("f", bytes));
  holes.push_back(sparse);
  sparse.pieces = {{8192, "date"}};
  other.push_back(sparse);
  VersionRef a = Checkin(Build(dense), "s");
  VersionRef b = Checkin(Build(holes), "s");
  VersionRef c = Checkin(Build(other), "s");
  ASSERT_TRUE(Must(cas::LookupPath(store(), b.version.root, "f")).sparse)
      << "holes where the test runs";
  const std::map<std::string, Change> holes_only = {{"f", {"metadata", {"sparse"}}}};
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, b, ""))), holes_only);
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), b, a, ""))), holes_only);
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), a, c, ""))),
            (std::map<std::string, Change>{{"f", {"modified", {"content", "sparse"}}}}));
  EXPECT_EQ(ByPath(Must(DiffVersions(store(), b, c, ""))),
            (std::map<std::string, Change>{{"f", {"modified", {"content"}}}}));
}

// Links in the path are followed in each version (a merged-/usr root's lib, bin, sbin), the last
// one only with a trailing '/', as `ls` does.
TEST_F(DiffTest, APathFollowsLinksInsideEachVersion) {
  TreeSpec base = BaseSpec(), changed = ChangedSpec();
  for (TreeSpec* s : {&base, &changed}) {
    s->push_back(LinkNode("bin", "usr/bin"));
    s->push_back(LinkNode("abs", "/usr/bin/"));
  }
  VersionRef a = Checkin(Build(base), "web");
  VersionRef b = Checkin(Build(changed), "web");
  for (const char* path : {"bin/tool", "abs/tool", "bin/../bin/tool"}) {
    DiffResult tool = Must(DiffVersions(store(), a, b, path));
    ASSERT_EQ(tool.entries.size(), 1u) << path;
    EXPECT_EQ(tool.entries[0].path, std::string(path)) << "reported as the user named it";
    EXPECT_EQ(tool.entries[0].kind, DiffEntry::Kind::kModified) << path;
    EXPECT_EQ(tool.entries[0].type, cas::EntryType::kRegular) << path;
  }
  // The link itself is the same in both versions; what it names is not.
  EXPECT_TRUE(Must(DiffVersions(store(), a, b, "bin")).entries.empty());
  DiffResult through = Must(DiffVersions(store(), a, b, "bin/"));
  ASSERT_EQ(through.entries.size(), 1u);
  EXPECT_EQ(through.entries[0].path, "bin/tool");
}

// A link followed at the start that names a directory in one version and a file in the other:
// the entries are shown under the path asked for, as any other. They were shown under the
// targets' names ("- d/", "- d/x", "+ f"), which are present and equal in both.
TEST_F(DiffTest, APathThroughALinkToADirectoryAndThenAFileIsShownAsAsked) {
  TreeSpec base = BaseSpec(), changed = BaseSpec();
  for (TreeSpec* s : {&base, &changed}) {
    s->push_back(DirNode("d"));
    s->push_back(FileNode("d/x", "x\n"));
    s->push_back(FileNode("f", "f\n"));
  }
  base.push_back(LinkNode("lnk", "d"));
  changed.push_back(LinkNode("lnk", "f"));
  VersionRef a = Checkin(Build(base), "web");
  VersionRef b = Checkin(Build(changed), "web");
  auto shown = [](const DiffResult& d) {
    std::vector<std::string> out;
    for (const auto& e : d.entries) out.push_back(std::string(DiffKindName(e.kind)) + " " + e.path);
    return out;
  };
  using Lines = std::vector<std::string>;
  EXPECT_EQ(shown(Must(DiffVersions(store(), a, b, "lnk/"))),
            (Lines{"removed lnk", "removed lnk/x", "added lnk"}));
  EXPECT_EQ(shown(Must(DiffVersions(store(), b, a, "lnk/"))),
            (Lines{"removed lnk", "added lnk", "added lnk/x"}));
  EXPECT_EQ(shown(Must(DiffVersions(store(), a, b, "lnk"))), Lines{"modified lnk"})
      << "the link itself: its target changed";
}

}  // namespace
}  // namespace cairn::catalog::testing
