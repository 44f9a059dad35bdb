// Offline patching with the image's own package manager: a Debian root (the corpus tree v2,
// ../shared/corpus) is mounted writable, a .deb made here is installed with `chroot DIR dpkg -i`,
// and the commit must differ from v2 in exactly the package's files and dpkg's database.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "tests/vmount/vmount_fixture.h"

namespace cairn::testing {
namespace {

using indexer::testing::Shell;

std::string CorpusTree() {
  const char* c = std::getenv("C");
  return std::string(c && *c ? c : "/tmp/corpus") + "/trees/v2";
}

TEST_F(VmountTest, DpkgInAChrootOfTheMountChangesOnlyThePackageAndItsDatabase) {
  const std::string tree = CorpusTree();
  if (!std::filesystem::exists(tree + "/var/lib/dpkg/status")) {
    GTEST_SKIP() << tree << " is missing: scripts/test.sh builds it with "
                 << "../shared/corpus/make-corpus.sh trees";
  }
  CheckinSrc("deb", tree);
  // A tiny package, built here: no network.
  const std::string pkg = dir_ + "/pkg";
  std::filesystem::create_directories(pkg + "/DEBIAN");
  std::filesystem::create_directories(pkg + "/usr/bin");
  std::filesystem::create_directories(pkg + "/usr/share/cairn-hello");
  MakeFile("pkg/DEBIAN/control",
           "Package: cairn-hello\nVersion: 1.0-1\nArchitecture: all\n"
           "Maintainer: cairn tests <tests@example.org>\nDescription: a test package for vmount\n");
  MakeFile("pkg/usr/bin/cairn-hello", "#!/bin/sh\necho hello from cairn\n");
  MakeFile("pkg/usr/share/cairn-hello/greeting.txt", "hello\n");
  ASSERT_EQ(Shell("chmod 0755 " + pkg + "/usr/bin/cairn-hello"), 0);
  ASSERT_EQ(Shell("dpkg-deb --root-owner-group --build " + pkg + " " + dir_ +
                  "/cairn-hello.deb >/dev/null"),
            0);
  Mount("deb", mnt_, {"--rw"});
  // The .deb enters the chroot through a bind mount in a private mount namespace, so that the
  // image receives only what dpkg writes.
  ASSERT_EQ(Shell("unshare -m sh -c 'mount --bind " + dir_ + " " + mnt_ + "/mnt && chroot " +
                  mnt_ + " dpkg -i /mnt/cairn-hello.deb' >" + dir_ + "/dpkg.log 2>&1"),
            0)
      << ReadFile(dir_ + "/dpkg.log");
  ASSERT_EQ(Shell("chroot " + mnt_ + " /usr/bin/cairn-hello > " + dir_ + "/out"), 0);
  EXPECT_EQ(ReadFile(dir_ + "/out"), "hello from cairn\n");
  RunResult c = RunRepo("commit", {mnt_, "-m", "install cairn-hello"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto diff = Json(RunRepo("diff", {"deb:1", "deb:2", "--json"}));
  std::set<std::string> changed;
  for (const auto& e : diff["entries"]) {
    std::string path = e["path"];
    changed.insert(path);
    bool dpkg_db = path == "var/lib/dpkg" || path.starts_with("var/lib/dpkg/") ||
                   path == "var/log/dpkg.log";
    bool package = path == "usr/bin/cairn-hello" || path.starts_with("usr/share/cairn-hello");
    // the directories that gained the package's files change their mtime
    bool parent = (path == "usr/bin" || path == "usr/share" || path == "var/log") &&
                  e["change"] == "metadata";
    EXPECT_TRUE(dpkg_db || package || parent) << "unexpected change: " << e.dump();
  }
  for (const char* want : {"usr/bin/cairn-hello", "usr/share/cairn-hello/greeting.txt",
                           "var/lib/dpkg/status", "var/lib/dpkg/info/cairn-hello.list"}) {
    EXPECT_TRUE(changed.contains(want)) << want << " did not change";
  }
  ASSERT_EQ(diff["packages"].size(), 1u) << diff.dump();
  EXPECT_EQ(diff["packages"][0]["name"], "cairn-hello");
  EXPECT_EQ(diff["packages"][0]["change"], "added");
  auto found = Json(RunRepo("search", {"--package", "cairn-hello", "--json"}));
  EXPECT_NE(found.dump().find("deb:2"), std::string::npos) << found.dump();
  RunResult v = RunRepo("verify");
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace cairn::testing
