// The catalog's command line contract: log, show, provenance, diff and search print parseable
// JSON; errors exit with the documented codes (docs/cli.md) and leave the repository as it was.
#include <gtest/gtest.h>

#include <set>

#include "base/hex.h"
#include "tests/catalog/catalog_fixture.h"
#include "tests/cli/cli_runner.h"

namespace cairn::testing {
namespace {

using catalog::testing::At;
using catalog::testing::BasePackages;
using catalog::testing::BaseSpec;
using catalog::testing::DpkgPackage;
using catalog::testing::FileNode;
using catalog::testing::Node;
using catalog::testing::Remove;
using catalog::testing::SetPackages;

class CatalogCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    src1_ = dir_ + "/src1";
    src2_ = dir_ + "/src2";
    indexer::testing::BuildTree(src1_, BaseSpec());
    auto s = BaseSpec();
    s.push_back(FileNode("etc/motd", "welcome\n"));
    At(s, "etc/passwd").mode = 0600;
    Remove(s, "home/user");
    auto pkgs = BasePackages();
    for (auto& p : pkgs)
      if (p.name == "libssl3") p.version = "3.0.22-1~deb12u2";
    SetPackages(s, pkgs);
    indexer::testing::BuildTree(src2_, s);
    ASSERT_EQ(RunRepo("checkin", {src1_, "--image", "web", "-m", "first"}).exit_code, 0);
    ASSERT_EQ(RunRepo("checkin", {src2_, "--image", "web", "-p", "web:1", "-m", "second"}).exit_code, 0);
  }

  nlohmann::json Json(const std::string& command, std::vector<std::string> args) {
    RunResult r = RunRepo(command, args);
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
    return nlohmann::json::parse(r.out);  // throws (failing the test) if not JSON
  }

  // What a failed command must not change (not disk_bytes: RocksDB's own files change size
  // whenever a writer opens the store).
  std::string Snapshot() {
    auto stats = Stats();
    stats.erase("disk_bytes");
    return stats.dump() + "\n" + Json("images", {"--json"}).dump() + "\n" +
           Json("versions", {"web", "--json"}).dump() + "\n" + Json("log", {"web", "--json"}).dump();
  }

  std::string src1_, src2_;
};

TEST_F(CatalogCliTest, LogShowProvenanceDiffAndSearchPrintJson) {
  ASSERT_EQ(RunRepo("tag", {"web:1", "stable"}).exit_code, 0);
  ASSERT_EQ(RunRepo("clone", {"web:2", "app"}).exit_code, 0);

  auto log = Json("log", {"web", "--json"});
  ASSERT_EQ(log.size(), 2u) << log.dump();
  EXPECT_EQ(log[0]["version"], "web:2");
  EXPECT_EQ(log[0]["message"], "second");
  EXPECT_EQ(log[0]["parents"], nlohmann::json::array({"web:1"}));
  EXPECT_EQ(log[1]["tags"], nlohmann::json::array({"stable"}));
  auto from_tag = Json("log", {"web@stable", "--json"});  // from web:1 back
  ASSERT_EQ(from_tag.size(), 1u) << from_tag.dump();
  EXPECT_EQ(from_tag[0]["version"], "web:1");

  auto show = Json("show", {"web@stable", "--json"});
  EXPECT_EQ(show["version"], "web:1");
  EXPECT_EQ(show["distribution"], "debian");
  EXPECT_EQ(show["distribution_version"], "12");
  EXPECT_EQ(show["architecture"], "amd64");
  EXPECT_EQ(show["hostname"], "web01");
  EXPECT_EQ(show["os"], "linux");
  EXPECT_EQ(show["state"], "active");
  EXPECT_EQ(show["packages"].size(), 4u) << show.dump();
  EXPECT_EQ(show["children"], nlohmann::json::array({"web:2"}));
  auto app = Json("show", {"app", "--json"});
  EXPECT_EQ(app["parents"], nlohmann::json::array({"web:2"}));
  EXPECT_EQ(app["root"], Json("show", {"web:2", "--json"})["root"]);

  auto prov = Json("provenance", {"web:2", "--json"});
  std::set<std::string> names;
  for (const auto& n : prov) names.insert(n["version"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"web:1", "web:2", "app:1"}));
  RunResult dot = RunRepo("provenance", {"web:2", "--dot"});
  ASSERT_EQ(dot.exit_code, 0) << dot.err;
  EXPECT_TRUE(dot.out.starts_with("digraph")) << dot.out;
  EXPECT_EQ(std::count(dot.out.begin(), dot.out.end(), '>'), 2) << dot.out;  // two edges

  auto diff = Json("diff", {"web:1", "web:2", "--json"});
  EXPECT_EQ(diff["counts"]["added"], 1) << diff.dump();
  EXPECT_EQ(diff["counts"]["removed"], 2);
  EXPECT_EQ(diff["counts"]["metadata"], 1);
  EXPECT_EQ(diff["counts"]["modified"], 1);  // the dpkg status
  ASSERT_EQ(diff["packages"].size(), 1u);
  EXPECT_EQ(diff["packages"][0]["change"], "upgraded");
  EXPECT_EQ(diff["packages"][0]["old"], "3.0.20-1~deb12u2");
  EXPECT_EQ(diff["packages"][0]["new"], "3.0.22-1~deb12u2");
  auto limited = Json("diff", {"web:1", "web:2", "etc", "--json"});
  EXPECT_EQ(limited["entries"].size(), 2u) << limited.dump();
  EXPECT_TRUE(limited["packages"].empty());
  RunResult text = RunRepo("diff", {"web:1", "web:2"});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("+ etc/motd\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("m etc/passwd (mode)\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("package ^ libssl3 3.0.20-1~deb12u2 -> 3.0.22-1~deb12u2"), std::string::npos);

  auto by_path = Json("search", {"--path", "notes.txt", "--json"});
  ASSERT_EQ(by_path.size(), 1u) << by_path.dump();
  EXPECT_EQ(by_path[0]["version"], "web:1");
  EXPECT_EQ(by_path[0]["paths"], nlohmann::json::array({"home/user/notes.txt"}));
  auto by_sha = Json("search", {"--sha256", Sha256Hex(catalog::testing::BigContent()), "--json"});
  EXPECT_EQ(by_sha.size(), 3u) << "web:1, web:2 and app:1: " << by_sha.dump();
  auto by_pkg = Json("search", {"--package", "libssl3<3.0.22", "--json"});
  ASSERT_EQ(by_pkg.size(), 1u) << by_pkg.dump();
  EXPECT_EQ(by_pkg[0]["packages"][0]["version"], "3.0.20-1~deb12u2");
  auto both = Json("search", {"--package", "libssl3>=3.0.22", "--path", "etc/motd", "--json"});
  EXPECT_EQ(both.size(), 2u) << "web:2 and app:1: " << both.dump();
}

// Names, messages and what an image's files say may be any bytes: every --json output stays
// valid JSON, a string that is not UTF-8 printed as "hex:" and its bytes (docs/cli.md).
TEST_F(CatalogCliTest, JsonOutputsCarryBytesThatAreNotUtf8AsHex) {
  const std::string src3 = dir_ + "/src3";
  auto s = BaseSpec();
  s.push_back(FileNode("n\xfe.txt", "odd name\n"));
  // Valid UTF-8 spelled as the encoding of the name above: encoded too, or the two would meet.
  s.push_back(FileNode("hex:" + HexEncode("n\xfe.txt"), "lookalike\n"));
  At(s, "etc/hostname").data = "host\xff\n";
  indexer::testing::BuildTree(src3, s);
  auto checkin =
      Json("checkin", {src3, "--image", "web", "-p", "web:2", "-m", "bad\xffmsg", "--json"});
  EXPECT_EQ(checkin["version"], "web:3") << checkin.dump();

  auto versions = Json("versions", {"web", "--json"});
  ASSERT_EQ(versions.size(), 3u) << versions.dump();
  EXPECT_EQ(versions[2]["message"], "hex:" + HexEncode("bad\xffmsg")) << versions.dump();
  auto log = Json("log", {"web", "--json"});
  EXPECT_EQ(log[0]["message"], "hex:" + HexEncode("bad\xffmsg"));
  auto show = Json("show", {"web:3", "--json"});
  EXPECT_EQ(show["message"], "hex:" + HexEncode("bad\xffmsg"));
  EXPECT_EQ(show["hostname"], "hex:" + HexEncode("host\xff"));
  EXPECT_EQ(show["directories"], checkin["dirs"]) << "the root counted by both";
  EXPECT_EQ(show["files"], checkin["files"]);
  auto diff = Json("diff", {"web:2", "web:3", "--json"});
  bool named = false;
  for (const auto& e : diff["entries"]) named |= e["path"] == "hex:" + HexEncode("n\xfe.txt");
  EXPECT_TRUE(named) << diff.dump();
  auto search = Json("search", {"--path", "n*.txt", "--json"});
  ASSERT_EQ(search.size(), 2u) << search.dump();
  EXPECT_EQ(search[1]["version"], "web:3");
  EXPECT_EQ(search[1]["paths"],
            nlohmann::json::array({"home/user/notes.txt", "hex:" + HexEncode("n\xfe.txt")}));
  EXPECT_EQ(Json("images", {"--json"})[0]["latest"]["message"], "hex:" + HexEncode("bad\xffmsg"));
  const std::string lookalike = "hex:" + HexEncode("hex:" + HexEncode("n\xfe.txt"));
  auto by_name = Json("search", {"--path", "hex:*", "--json"});
  ASSERT_EQ(by_name.size(), 1u) << by_name.dump();
  EXPECT_EQ(by_name[0]["paths"], nlohmann::json::array({lookalike}));
  std::set<std::string> listed;
  for (const auto& e : Json("ls", {"web:3", "--json"})) listed.insert(e["path"].get<std::string>());
  EXPECT_TRUE(listed.contains(lookalike)) << "ls --json";
  EXPECT_TRUE(listed.contains("hex:" + HexEncode("n\xfe.txt"))) << "ls --json";
}

TEST_F(CatalogCliTest, RmRestorePurgeAndGcThroughTheCli) {
  ASSERT_EQ(RunRepo("rm", {"web:1"}).exit_code, 0);
  EXPECT_TRUE(Json("search", {"--path", "notes.txt", "--json"}).empty());
  EXPECT_EQ(Json("show", {"web:1", "--json"})["state"], "deleted");
  ASSERT_EQ(RunRepo("restore", {"web:1"}).exit_code, 0);
  EXPECT_EQ(Json("search", {"--path", "notes.txt", "--json"}).size(), 1u);
  ASSERT_EQ(RunRepo("rm", {"web:1"}).exit_code, 0);
  EXPECT_EQ(Json("log", {"web:2", "--json"}).size(), 1u) << "web:1 is deleted";
  RunResult purge = RunRepo("purge", {"--json"});
  ASSERT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_EQ(nlohmann::json::parse(purge.out),
            nlohmann::json({{"purged", {"web:1"}}, {"kept", nlohmann::json::array()}}));
  // A dry run changes nothing, not even the database's own files (it opens the repository to
  // read only).
  const auto before = FilesOf(repo_);
  auto dry = Json("gc", {"--dry-run", "--json"});
  EXPECT_GT(dry["deleted"].get<int>(), 0) << dry.dump();
  EXPECT_TRUE(FilesOf(repo_) == before) << "gc --dry-run changed the repository's files";
  auto stats = Stats();
  auto gc = Json("gc", {"--json"});
  EXPECT_EQ(gc["deleted"], dry["deleted"]);
  EXPECT_LT(Stats()["objects"].get<int>(), stats["objects"].get<int>());
  EXPECT_EQ(Json("gc", {"--json"})["deleted"], 0);
  EXPECT_EQ(RunRepo("verify").exit_code, 0);
  EXPECT_EQ(RunRepo("show", {"web:1"}).exit_code, 3);
  RunResult out = RunRepo("checkout", {"web:2", dir_ + "/out"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(indexer::testing::Diff(indexer::testing::Listing(src2_), indexer::testing::Listing(dir_ + "/out")), "");
}

// Logical bytes are the files of the versions held (as show counts them) and what put stored
// since the last gc, so the dedup ratio follows rm, purge and gc.
TEST_F(CatalogCliTest, StatsCountTheVersionsTheRepositoryHolds) {
  const uint64_t b1 = Json("show", {"web:1", "--json"})["bytes"].get<uint64_t>();
  const uint64_t b2 = Json("show", {"web:2", "--json"})["bytes"].get<uint64_t>();
  ASSERT_GT(b1, 0u);
  EXPECT_EQ(Stats()["logical_bytes"].get<uint64_t>(), b1 + b2);
  ASSERT_EQ(RunRepo("clone", {"web:2", "copy"}).exit_code, 0);
  EXPECT_EQ(Stats()["logical_bytes"].get<uint64_t>(), b1 + 2 * b2) << "a clone holds its files too";
  ASSERT_EQ(RunRepo("put", {MakeFile("loose", RandomData(300000, 9))}).exit_code, 0);
  EXPECT_EQ(Stats()["logical_bytes"].get<uint64_t>(), b1 + 2 * b2 + 300000);
  ASSERT_EQ(RunRepo("rm", {"web:1"}).exit_code, 0);
  EXPECT_EQ(Stats()["logical_bytes"].get<uint64_t>(), b1 + 2 * b2 + 300000)
      << "deleted, still held";
  ASSERT_EQ(RunRepo("purge").exit_code, 0);
  ASSERT_EQ(RunRepo("gc").exit_code, 0);
  auto stats = Stats();
  EXPECT_EQ(stats["logical_bytes"].get<uint64_t>(), 2 * b2) << stats.dump();
  EXPECT_NEAR(stats["dedup_ratio"].get<double>(),
              2.0 * b2 / stats["unique_content_bytes"].get<double>(), 1e-9);
  EXPECT_LT(stats["dedup_ratio"].get<double>(), 2.01) << stats.dump();
}

// A deleted version is hidden from listings, but a version's parents and children still name
// it: marked `[deleted]` as provenance marks it, in text and in --json.
TEST_F(CatalogCliTest, ShowAndLogMarkDeletedParentsAndChildren) {
  ASSERT_EQ(RunRepo("rm", {"web:2"}).exit_code, 0);
  EXPECT_EQ(Json("show", {"web:1", "--json"})["children"],
            nlohmann::json::array({"web:2 [deleted]"}));
  RunResult text = RunRepo("show", {"web:1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("children      web:2 [deleted]\n"), std::string::npos) << text.out;
  ASSERT_EQ(RunRepo("restore", {"web:2"}).exit_code, 0);
  EXPECT_EQ(Json("show", {"web:1", "--json"})["children"], nlohmann::json::array({"web:2"}));
  ASSERT_EQ(RunRepo("rm", {"web:1"}).exit_code, 0);
  EXPECT_EQ(Json("show", {"web:2", "--json"})["parents"],
            nlohmann::json::array({"web:1 [deleted]"}));
  auto log = Json("log", {"web", "--json"});
  ASSERT_EQ(log.size(), 1u) << log.dump();
  EXPECT_EQ(log[0]["parents"], nlohmann::json::array({"web:1 [deleted]"}));
  EXPECT_NE(RunRepo("log", {"web"}).out.find("Parent: web:1 [deleted]\n"), std::string::npos);
}

// `log` follows parents, not numbers: web:3 checked in from web:1 descends from web:1 alone,
// and a clone's log goes on in the image it came from. It listed web:3, web:2, web:1, and
// app:1 alone.
TEST_F(CatalogCliTest, LogFollowsAncestryNotNumbers) {
  ASSERT_EQ(RunRepo("checkin", {src1_, "--image", "web", "-p", "web:1", "-m", "again"}).exit_code,
            0);
  ASSERT_EQ(RunRepo("clone", {"web:2", "app"}).exit_code, 0);
  auto names = [&](const std::string& spec) {
    std::vector<std::string> out;
    for (const auto& e : Json("log", {spec, "--json"})) out.push_back(e["version"]);
    return out;
  };
  EXPECT_EQ(names("web"), (std::vector<std::string>{"web:3", "web:1"}));
  EXPECT_EQ(names("web:2"), (std::vector<std::string>{"web:2", "web:1"}));
  EXPECT_EQ(names("app"), (std::vector<std::string>{"app:1", "web:2", "web:1"}));
  // Through a deleted version to what it descends from; the deleted one is not listed.
  ASSERT_EQ(RunRepo("rm", {"web:2"}).exit_code, 0);
  EXPECT_EQ(names("app"), (std::vector<std::string>{"app:1", "web:1"}));
}

// `log NAME:VER` of a deleted version starts at it, marked deleted as show marks it; older
// deleted versions stay hidden. The version asked for was left out, the log starting before it.
TEST_F(CatalogCliTest, LogOfADeletedVersionStartsAtIt) {
  ASSERT_EQ(RunRepo("checkin", {src1_, "--image", "web", "-p", "web:2", "-m", "third"}).exit_code,
            0);
  ASSERT_EQ(RunRepo("tag", {"web:2", "rel"}).exit_code, 0);
  const std::string id = Json("show", {"web:2", "--json"})["id"].get<std::string>();
  ASSERT_EQ(RunRepo("rm", {"web:2"}).exit_code, 0);
  for (const char* spec : {"web:2", "web@rel"}) {
    auto log = Json("log", {spec, "--json"});
    ASSERT_EQ(log.size(), 2u) << spec << ": " << log.dump();
    EXPECT_EQ(log[0]["version"], "web:2") << spec;
    EXPECT_EQ(log[0]["state"], "deleted") << spec;
    EXPECT_EQ(log[1]["version"], "web:1") << spec;
    EXPECT_EQ(log[1]["state"], "active") << spec;
  }
  RunResult text = RunRepo("log", {"web:2"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(text.out.starts_with("version web:2 " + id + " (web@rel) [deleted]\n")) << text.out;
  auto all = Json("log", {"web", "--json"});
  ASSERT_EQ(all.size(), 2u) << all.dump();
  EXPECT_EQ(all[0]["version"], "web:3");
  EXPECT_EQ(all[0]["parents"], nlohmann::json::array({"web:2 [deleted]"}));
  EXPECT_EQ(all[1]["version"], "web:1");
}

// show names packages as dpkg does: a foreign architecture's as NAME:ARCH, the native one's and
// "all"'s bare. Two architectures of libc6 were printed as two identical lines.
TEST_F(CatalogCliTest, ShowNamesAForeignArchitecturesPackageAsDpkgDoes) {
  const std::string src3 = dir_ + "/src3";
  auto s = BaseSpec();
  auto pkgs = BasePackages();
  pkgs.push_back({"libc6", "2.36-9+deb12u4", "i386"});
  SetPackages(s, pkgs);
  indexer::testing::BuildTree(src3, s);
  ASSERT_EQ(RunRepo("checkin", {src3, "--image", "multi"}).exit_code, 0);
  RunResult text = RunRepo("show", {"multi"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::string packages = text.out.substr(text.out.find("\npackages "));
  auto line = [](const std::string& name, const std::string& version) {
    return "\n  " + name + std::string(36 - name.size(), ' ') + " " + version + "\n";
  };
  EXPECT_NE(packages.find(line("libc6", "2.36-9+deb12u4")), std::string::npos) << packages;
  EXPECT_NE(packages.find(line("libc6:i386", "2.36-9+deb12u4")), std::string::npos) << packages;
  EXPECT_NE(packages.find(line("tzdata", "2024a-0+deb12u1")), std::string::npos) << packages;
}

// The root's own metadata is printed as `/`; a hard-link group that changed names each path.
TEST_F(CatalogCliTest, DiffPrintsTheRootAsSlashAndHardLinkChangesAsMetadata) {
  const std::string src3 = dir_ + "/src3";
  auto s = BaseSpec();
  At(s, "").mode = 0777;
  Node g;
  g.path = "etc/group2";
  g.kind = Node::Kind::kHardlink;
  g.target = "etc/group";
  s.push_back(g);
  indexer::testing::BuildTree(src3, s);
  ASSERT_EQ(RunRepo("checkin", {src3, "--image", "web"}).exit_code, 0);
  RunResult text = RunRepo("diff", {"web:1", "web:3"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out,
            "m / (mode)\n"
            "m etc/group (hardlinks)\n"
            "+ etc/group2\n"
            "1 added, 0 removed, 0 modified, 2 metadata only; packages: 0 added, 0 removed, 0 "
            "upgraded, 0 downgraded\n");
  auto json = Json("diff", {"web:1", "web:3", "--json"});
  ASSERT_GE(json["entries"].size(), 2u) << json.dump();
  EXPECT_EQ(json["entries"][0]["path"], "");
  EXPECT_EQ(json["entries"][0]["what"], nlohmann::json::array({"mode"}));
  EXPECT_EQ(json["entries"][1]["path"], "etc/group");
  EXPECT_EQ(json["entries"][1]["what"], nlohmann::json::array({"hardlinks"}));
  EXPECT_EQ(json["counts"]["metadata"], 2);
}

struct BadCommand {
  std::vector<std::string> args;  // command first
  int exit_code;
  std::string message;            // in stderr
};

TEST_F(CatalogCliTest, ErrorsExitWithTheirCodeAndChangeNothing) {
  ASSERT_EQ(RunRepo("tag", {"web:1", "stable"}).exit_code, 0);
  const std::vector<BadCommand> bad = {
      {{"show", "wbe"}, 3, "did you mean web"},
      {{"show", "web:7"}, 3, "latest is web:2"},
      {{"show", "web@nope"}, 3, "no such tag"},
      {{"log", "nosuchimage"}, 3, "no such image"},
      {{"provenance", "wbe:1"}, 3, "did you mean web"},
      {{"diff", "web:1", "wbe:2"}, 3, "did you mean web"},
      {{"diff", "web:1", "web:2", "no/such/path"}, 3, "no/such"},
      {{"search", "--package", "libssl3<<<1"}, 2, "libssl3<<<1"},
      {{"search", "--package", "<3"}, 2, "<3"},
      {{"search", "--sha256", "not-hex"}, 2, "not-hex"},
      {{"search", "--sha256", "abcd"}, 2, "abcd"},
      {{"search"}, 2, "--path"},
      {{"search", "--path", "usr/"}, 2, "usr/"},
      {{"rm", "web"}, 2, "explicitly"},
      {{"restore", "web"}, 2, "explicitly"},
      {{"rm", "wbe:1"}, 3, "did you mean web"},
      {{"rm", "web:9"}, 3, "web:9"},
      {{"tag", "wbe:1", "x"}, 3, "did you mean web"},
      {{"tag", "web:1", "bad tag"}, 2, "bad tag"},
      {{"clone", "nosuch", "app"}, 3, "nosuch"},
      {{"clone", "web:1", "b@d"}, 2, "b@d"},
      {{"show", "web:0"}, 2, "web:0"},
  };
  for (const auto& b : bad) {
    std::string before = Snapshot();
    std::vector<std::string> rest(b.args.begin() + 1, b.args.end());
    RunResult r = RunRepo(b.args[0], rest);
    std::string what;
    for (const auto& a : b.args) what += a + " ";
    EXPECT_EQ(r.exit_code, b.exit_code) << what << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << what << ": " << r.err;
    EXPECT_TRUE(r.err.starts_with("cairn: ")) << what << ": " << r.err;
    EXPECT_EQ(Snapshot(), before) << what << " changed the repository";
  }
  EXPECT_EQ(Json("show", {"web@stable", "--json"})["version"], "web:1") << "the tag did not move";
  EXPECT_EQ(Json("versions", {"web", "--json"}).size(), 2u);
  EXPECT_EQ(Json("images", {"--json"}).size(), 1u) << "no image was made";
  // A bad name is refused before the default repository (~/.local/share/cairn, made on first
  // use) is opened: a refused command makes nothing.
  for (const std::vector<std::string>& args : {std::vector<std::string>{"versions", "bad/name"},
                                               {"clone", "web:1", "b@d"},
                                               {"clone", "w//eb", "app"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_FALSE(Exists(dir_ + "/.local/share/cairn")) << args[0] << " " << args[1];
  }
}

}  // namespace
}  // namespace cairn::testing
