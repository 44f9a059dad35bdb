// Inspection of versions checked in from fixture trees (tests/catalog/catalog_fixture.h): OS,
// distribution, architecture, hostname, packages and counts, and the summary's encoding.
#include <gtest/gtest.h>

#include "catalog/inspect.h"
#include "tests/catalog/catalog_test_base.h"

namespace cairn::catalog::testing {
namespace {

using InspectionTest = RepoTest;

TEST_F(InspectionTest, FindsDistroVersionArchHostnamePackagesAndCounts) {
  TreeSpec spec = BaseSpec();
  VersionRef v = Checkin(Build(spec), "web");
  Inspection in = DecodeInspection(v.version.summary);
  EXPECT_EQ(in.os, "linux");
  EXPECT_EQ(in.distro, "debian");
  EXPECT_EQ(in.version, "12");
  EXPECT_EQ(in.pretty_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(in.arch, "amd64");
  EXPECT_EQ(in.hostname, "web01");
  EXPECT_EQ(in.package_format, "deb");
  std::vector<Package> want = {{"bash", "5.2.15-2+b2", "amd64"},
                               {"libc6", "2.36-9+deb12u4", "amd64"},
                               {"libssl3", "3.0.20-1~deb12u2", "amd64"},
                               {"tzdata", "2024a-0+deb12u1", "all"}};  // not oldpkg: config-files only
  EXPECT_EQ(in.packages, want);

  uint64_t files = 0, dirs = 0, links = 0, bytes = 0;
  for (const auto& n : spec) {
    if (n.kind == Node::Kind::kFile) {
      files++;
      bytes += n.data.size();
    } else if (n.kind == Node::Kind::kDir && !n.path.empty()) {
      dirs++;
    } else if (n.kind == Node::Kind::kSymlink) {
      links++;
    }
  }
  EXPECT_EQ(in.files, files);
  EXPECT_EQ(in.dirs, dirs);
  EXPECT_EQ(in.symlinks, links);
  EXPECT_EQ(in.others, 0u);
  EXPECT_EQ(in.bytes, bytes);

  // The summary is what the stored Version holds.
  Catalog c(store());
  cas::Version stored = Must(c.ReadVersion(v.id));
  EXPECT_EQ(stored.summary, v.version.summary);
  EXPECT_EQ(EncodeInspection(DecodeInspection(stored.summary)), stored.summary);
}

TEST_F(InspectionTest, FollowsAbsoluteRelativeAndDirectorySymlinksInsideTheTree) {
  // No usr/lib/os-release to fall back on: only the links lead to the file.
  TreeSpec spec = BaseSpec();
  Remove(spec, "usr/lib/os-release");
  spec.push_back(DirNode("usr/lib/os.d"));
  spec.push_back(FileNode("usr/lib/os.d/release", "ID=testos\nVERSION_ID=\"7.1\"\n"));
  spec.push_back(LinkNode("lib", "usr/lib"));
  At(spec, "etc/os-release").target = "/lib/os.d/release";  // absolute: inside the tree
  At(spec, "etc/hostname").data = "  db02 \n\n";
  VersionRef v = Checkin(Build(spec), "links");
  Inspection in = DecodeInspection(v.version.summary);
  EXPECT_EQ(in.distro, "testos");
  EXPECT_EQ(in.version, "7.1");
  EXPECT_EQ(in.hostname, "  db02");

  EXPECT_EQ(Must(ReadTreeFile(store(), v.version.root, "etc/os-release")),
            "ID=testos\nVERSION_ID=\"7.1\"\n");
  EXPECT_EQ(Must(ReadTreeFile(store(), v.version.root, "lib/os.d/release")),
            "ID=testos\nVERSION_ID=\"7.1\"\n");
  auto missing = ReadTreeFile(store(), v.version.root, "etc/nothing");
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(missing.error().IsNotFound()) << missing.error().ToString();
}

TEST_F(InspectionTest, ALinkLoopOrATreeWithoutOsFilesIsNotAnError) {
  TreeSpec spec = BaseSpec();
  Remove(spec, "usr/lib/os-release");
  At(spec, "etc/os-release").target = "os-release";  // itself
  VersionRef v = Checkin(Build(spec), "loop");
  Inspection in = DecodeInspection(v.version.summary);
  EXPECT_EQ(in.distro, "");
  EXPECT_EQ(in.os, "linux");  // still: it has packages
  auto loop = ReadTreeFile(store(), v.version.root, "etc/os-release");
  EXPECT_FALSE(loop.has_value());

  VersionRef bare = Checkin(Build({DirNode(""), FileNode("a.txt", "a")}), "bare");
  Inspection b = DecodeInspection(bare.version.summary);
  EXPECT_EQ(b.os, "");
  EXPECT_EQ(b.package_format, "");
  EXPECT_TRUE(b.packages.empty());
  EXPECT_EQ(b.files, 1u);
}

// An image's files may hold tabs and line breaks where the summary separates its fields: they
// must not forge fields or packages (found by fuzz/inspect_fuzzer.cc).
TEST_F(InspectionTest, ControlCharactersInTheImagesFilesForgeNoFieldOrPackage) {
  TreeSpec spec = BaseSpec();
  At(spec, "etc/hostname").data = "web\npkg\tevil\t9.9\tamd64\n";
  At(spec, "usr/lib/os-release").data = "ID=debian\nPRETTY_NAME=\"a\tb\"\n";
  VersionRef v = Checkin(Build(spec), "forged");
  Inspection in = DecodeInspection(v.version.summary);
  EXPECT_EQ(in.hostname, "web?pkg?evil?9.9?amd64");
  EXPECT_EQ(in.pretty_name, "a?b");
  for (const auto& p : in.packages) EXPECT_NE(p.name, "evil");
  EXPECT_EQ(EncodeInspection(DecodeInspection(v.version.summary)), v.version.summary);
}

// dpkg's Status field ends in the package's state: a package half-installed, unpacked,
// half-configured or with triggers awaited or pending has its files on disk (dpkg -l lists it);
// one not-installed or with only its config-files left does not.
TEST_F(InspectionTest, APackageCountsInEveryStateThatLeavesItsFilesOnDisk) {
  TreeSpec spec = BaseSpec();
  SetPackages(spec, {{"a", "1", "amd64", "install ok installed"},
                     {"b", "1", "amd64", "install ok triggers-pending"},
                     {"c", "1", "amd64", "install ok triggers-awaited"},
                     {"d", "1", "amd64", "install ok half-configured"},
                     {"e", "1", "amd64", "install reinstreq half-installed"},
                     {"f", "1", "amd64", "install ok unpacked"},
                     {"g", "1", "amd64", "deinstall ok config-files"},
                     {"h", "1", "amd64", "purge ok not-installed"},
                     {"i", "1", "amd64", "hold ok installed"}});
  Inspection in = DecodeInspection(Checkin(Build(spec), "states").version.summary);
  std::vector<std::string> names;
  for (const auto& p : in.packages) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "i"}));
}

// The native architecture is dpkg's own, as `dpkg --print-architecture` says, even where a
// foreign one has more packages; it was the most frequent one, which named this image i386 and
// its amd64 packages foreign. Without a dpkg package it still is the most frequent.
TEST_F(InspectionTest, TheArchitectureIsThatOfTheDpkgPackage) {
  TreeSpec spec = BaseSpec();
  SetPackages(spec, {{"dpkg", "1.21.22", "amd64"},
                     {"libc6", "2.36-9", "amd64"},
                     {"libc6", "2.36-9", "i386"},
                     {"libx", "1", "i386"},
                     {"liby", "1", "i386"},
                     {"tzdata", "2024a-0+deb12u1", "all"}});
  Inspection in = DecodeInspection(Checkin(Build(spec), "multi").version.summary);
  EXPECT_EQ(in.arch, "amd64");
  std::vector<std::string> names;
  for (const auto& p : in.packages) names.push_back(DpkgName(p, in));
  EXPECT_EQ(names, (std::vector<std::string>{"dpkg", "libc6", "libc6:i386", "libx:i386",
                                             "liby:i386", "tzdata"}));

  SetPackages(spec, {{"libc6", "2.36-9", "amd64"}, {"libx", "1", "i386"}, {"liby", "1", "i386"}});
  EXPECT_EQ(DecodeInspection(Checkin(Build(spec), "nodpkg").version.summary).arch, "i386");
}

// dpkg reads its journal, var/lib/dpkg/updates/NNNN (left by an interrupted run), over the status
// file, in numeric order, each entry replacing its package's (a crossgrade to "all" replaces the
// amd64 one; Multi-Arch: same adds an architecture beside the other), as dpkg-query reports
// them. The journal was ignored: a package upgraded by the run showed its old version.
TEST_F(InspectionTest, PackagesAreTheStatusFileWithDpkgsJournalOverIt) {
  TreeSpec spec = BaseSpec();
  SetPackages(spec, {{"libssl3", "3.0.11-1", "amd64"},
                     {"foo", "1.0", "amd64"},
                     {"gone", "1.0", "amd64"},
                     {"dpkg", "1.21.22", "amd64"}});
  std::string same = "Package: baz\nStatus: install ok installed\nMulti-Arch: same\n";
  At(spec, "var/lib/dpkg/status").data += same + "Architecture: amd64\nVersion: 1.0\n\n";
  spec.push_back(DirNode("var/lib/dpkg/updates"));
  auto entry = [&](const std::string& name, const std::string& text) {
    spec.push_back(FileNode("var/lib/dpkg/updates/" + name, text));
  };
  entry("0000", DpkgStatus({{"libssl3", "3.0.13-1", "amd64"}}));
  entry("0001", DpkgStatus({{"foo", "2.0", "all"}}));
  entry("0002", DpkgStatus({{"gone", "1.0", "amd64", "purge ok not-installed"}}));
  entry("0003", same + "Architecture: i386\nVersion: 4.0\n\n");
  entry("0010", DpkgStatus({{"qux", "5.0", "amd64"}}));  // after 0009
  entry("0009", DpkgStatus({{"qux", "6.0", "amd64"}}));
  entry("tmp.i", DpkgStatus({{"libssl3", "9.9", "amd64"}}));  // being written: not an entry
  entry("0011", "");                                          // made, not yet written
  Inspection in = DecodeInspection(Checkin(Build(spec), "journal").version.summary);
  std::vector<Package> want = {{"baz", "1.0", "amd64"},          {"baz", "4.0", "i386"},
                               {"dpkg", "1.21.22", "amd64"},     {"foo", "2.0", "all"},
                               {"libssl3", "3.0.13-1", "amd64"}, {"qux", "5.0", "amd64"}};
  EXPECT_EQ(in.packages, want);
  EXPECT_EQ(in.arch, "amd64");

  // A journal alone is a dpkg database too.
  Remove(spec, "var/lib/dpkg/status");
  in = DecodeInspection(Checkin(Build(spec), "journal-only").version.summary);
  EXPECT_EQ(in.package_format, "deb");
  EXPECT_EQ(in.packages.size(), 4u);
}

TEST(InspectionSummaryTest, CountsThatDoNotParseReadAsZero) {
  Inspection in =
      DecodeInspection("distro\tdebian\ncounts\t12\tx\t99999999999999999999999\t-1\t7\n");
  EXPECT_EQ(in.distro, "debian");
  EXPECT_EQ(in.files, 12u);
  EXPECT_EQ(in.dirs, 0u);
  EXPECT_EQ(in.symlinks, 0u);
  EXPECT_EQ(in.others, 0u);
  EXPECT_EQ(in.bytes, 7u);
}

}  // namespace
}  // namespace cairn::catalog::testing
