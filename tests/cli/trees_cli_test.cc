// The `cairn` command line on directory trees: checkin, versions, images, ls, cat, checkout, and
// their errors and exit codes (tools/cli.h), against the Fidelity oracle of
// tests/indexer/tree_fixture.h.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/cli/cli_runner.h"
#include "tests/cli/trees_cli_fixture.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::testing {
namespace {

using indexer::testing::BuildTree;
using indexer::testing::Diff;
using indexer::testing::Listing;


TEST_F(TreesCliTest, CheckinPrintsVersionAndId) {
  BuildTree(src_, indexer::testing::FullSpec());
  std::string out = CheckinSrc("web");
  EXPECT_TRUE(std::regex_match(out, std::regex("web:1 [0-9a-f]{64}\n"))) << out;
  EXPECT_TRUE(std::regex_match(CheckinSrc("web"), std::regex("web:2 [0-9a-f]{64}\n")));
}

TEST_F(TreesCliTest, VersionsAndImagesListTheCheckin) {
  BuildTree(src_, indexer::testing::FullSpec());
  std::string out = CheckinSrc("web", {"-m", "first"});
  std::string id = out.substr(out.find(' ') + 1, 64);
  auto versions = Json(RunRepo("versions", {"web", "--json"}));
  ASSERT_EQ(versions.size(), 1u) << versions.dump();
  EXPECT_EQ(versions[0]["version"], "web:1");
  EXPECT_EQ(versions[0]["id"], id);
  EXPECT_EQ(versions[0]["message"], "first");
  EXPECT_TRUE(versions[0]["parents"].empty());
  auto images = Json(RunRepo("images", {"--json"}));
  ASSERT_EQ(images.size(), 1u) << images.dump();
  EXPECT_EQ(images[0]["image"], "web");
  EXPECT_EQ(images[0]["versions"], 1);
  EXPECT_EQ(images[0]["latest"]["id"], id);
}

TEST_F(TreesCliTest, LsShowsEntries) {
  BuildTree(src_, indexer::testing::FullSpec());
  CheckinSrc("web");
  RunResult plain = RunRepo("ls", {"web"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("small.txt\n"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("dir/sub"), std::string::npos) << "not recursive without -R";

  RunResult lng = RunRepo("ls", {"-l", "web"});
  ASSERT_EQ(lng.exit_code, 0) << lng.err;
  EXPECT_TRUE(std::regex_search(lng.out, std::regex("-rwsr-xr-x +0 +0 +12 .* suid\n"))) << lng.out;
  EXPECT_TRUE(std::regex_search(lng.out, std::regex("drwxrwxrwt .* tmp\n"))) << lng.out;
  EXPECT_TRUE(std::regex_search(lng.out, std::regex("lrwxrwxrwx .* abs -> /etc/passwd\n")));
  RunResult dev = RunRepo("ls", {"-l", "web", "dev"});
  ASSERT_EQ(dev.exit_code, 0) << dev.err;
  EXPECT_TRUE(std::regex_search(dev.out, std::regex("crw-rw-rw- +0 +0 +1,3 .* dev/null\n")))
      << dev.out;
  EXPECT_TRUE(std::regex_search(dev.out, std::regex("brw-rw---- +0 +6 +8,0 .* dev/sda\n")));
  EXPECT_TRUE(std::regex_search(dev.out, std::regex("prw--w---- .* dev/fifo\n")));
  EXPECT_TRUE(std::regex_search(dev.out, std::regex("srwxr-xr-x .* dev/sock\n")));

  auto json = Json(RunRepo("ls", {"--json", "-R", "web"}));
  std::map<std::string, nlohmann::json> by_path;
  for (const auto& e : json) by_path[e["path"]] = e;
  auto listing = Listing(src_);
  EXPECT_EQ(by_path.size(), listing.entries.size() - 1) << "every path but the root";
  ASSERT_TRUE(by_path.contains("big.bin"));
  EXPECT_EQ(by_path["big.bin"]["size"], listing.entries["big.bin"].size);
  EXPECT_EQ(by_path["big.bin"]["mode"], "0640");
  EXPECT_EQ(by_path["big.bin"]["uid"], 1001);
  EXPECT_EQ(by_path["sparse"]["sparse"], true);
  EXPECT_EQ(by_path["dir/rel"]["target"], "../small.txt");
  EXPECT_EQ(by_path["dev/big"]["rdev"], "4095,1048575");
  EXPECT_TRUE(by_path.contains("hex:fffe")) << "a non-UTF-8 name";
  EXPECT_EQ(by_path["ping"]["xattrs"]["security.capability"].get<std::string>().substr(0, 4),
            "hex:");
  // One entry by path.
  auto one = Json(RunRepo("ls", {"--json", "web", "dir/sub/deep/file"}));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["type"], "file");
}

// A tarball may hold any 64-bit mtime (pax), beyond what gmtime can put in a calendar: ls -l
// prints its seconds instead of crashing. A time before 1970 with a fraction is printed as the
// time it is: -1.5 s, not its seconds field (-2) and nanoseconds (0.5) side by side.
TEST_F(TreesCliTest, LsPrintsAnyMtimeAsTheTimeItIs) {
  std::string tarball = dir_ + "/far.tar";
  ASSERT_EQ(
      indexer::testing::PyTar(
          tarball, "    reg(t, 'far', b'x', pax_headers={'mtime': '99999999999999999999'})\n"),
      0);
  ASSERT_EQ(RunRepo("checkin", {tarball, "--image", "far"}).exit_code, 0);
  RunResult far = RunRepo("ls", {"-l", "far"});
  ASSERT_EQ(far.exit_code, 0) << far.err;
  EXPECT_TRUE(std::regex_search(far.out, std::regex(" @[0-9]+ far\n"))) << far.out;

  ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
  MakeFile("src/old", "a");
  MakeFile("src/older", "b");
  ASSERT_EQ(indexer::testing::Shell("touch -d @-1.5 " + src_ + "/old && touch -d @-0.25 " + src_ +
                                    "/older"),
            0);
  CheckinSrc("old");
  auto json = Json(RunRepo("ls", {"--json", "old"}));
  std::map<std::string, std::string> mtime;
  for (const auto& e : json) mtime[e["path"]] = e["mtime"];
  EXPECT_EQ(mtime["old"], "-1.500000000");
  EXPECT_EQ(mtime["older"], "-0.250000000");
  RunResult lng = RunRepo("ls", {"-l", "old"});
  EXPECT_NE(lng.out.find("1969-12-31 23:59 old\n"), std::string::npos) << lng.out;
}

// A tarball of 2 KB may hold a sparse file of 2^62 bytes: its checkout to a tarball costs its
// data, not its holes (fed to libarchive byte by byte it took days), and reads back the same.
TEST_F(TreesCliTest, CheckoutToATarballCostsASparseFilesDataNotItsSize) {
  std::string tarball = dir_ + "/huge.tar";
  ASSERT_EQ(indexer::testing::PyTar(
                tarball,
                "    n = 2**62\n"
                "    reg(t, 'GNUSparseFile.0/f', b'end', mtime=1000, pax_headers={\n"
                "        'GNU.sparse.size': str(n), 'GNU.sparse.numblocks': '1',\n"
                "        'GNU.sparse.name': 'f', 'GNU.sparse.map': '%d,3' % (n - 3)})\n"),
            0);
  ASSERT_EQ(RunRepo("checkin", {tarball, "--image", "huge"}).exit_code, 0);
  for (const char* name : {"out.tar", "out.tar.zst"}) {
    std::string out = dir_ + "/" + name;
    // Bounded: the unfixed checkout would run for days.
    ASSERT_EQ(
        indexer::testing::Shell(std::string("timeout 60 ") + CAIRN_BINARY + " checkout --repo " +
                                repo_ + " huge " + out + " 2>/dev/null"),
        0)
        << name;
    ASSERT_EQ(RunRepo("checkin", {out, "--image", "back"}).exit_code, 0);
    auto a = Json(RunRepo("show", {"huge", "--json"}));
    auto b = Json(RunRepo("show", {"back", "--json"}));
    EXPECT_EQ(a["root"], b["root"]) << name;
  }
  EXPECT_LT(std::filesystem::file_size(dir_ + "/out.tar"), 20000u);
  auto ls = Json(RunRepo("ls", {"--json", "back"}));
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0]["size"], uint64_t{1} << 62);
}

TEST_F(TreesCliTest, CatPrintsAFileByteExact) {
  BuildTree(src_, indexer::testing::FullSpec());
  CheckinSrc("web");
  for (std::string path : {"big.bin", "small.txt", "empty", "sparse", "hole", "c"}) {
    RunResult r = RunRepo("cat", {"web", path});
    ASSERT_EQ(r.exit_code, 0) << path << ": " << r.err;
    EXPECT_TRUE(r.out == ReadFile(src_ + "/" + path)) << path << " differs";
  }
  RunResult dir = RunRepo("cat", {"web", "dir"});
  EXPECT_EQ(dir.exit_code, 2) << "cat of a directory: " << dir.err;
  RunResult missing = RunRepo("cat", {"web", "no/such"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
}

// Symbolic links are followed inside the version, as in a chroot: through directories (Debian's
// /lib -> usr/lib), to absolute targets (from the version's root) and past ".." (which stops at
// the root). Nothing of the host is ever read. ls lists a link named last as a link in the long
// format, unless the path ends in '/'.
TEST_F(TreesCliTest, CatAndLsFollowLinksInsideTheVersionOnly) {
  namespace fs = std::filesystem;
  auto write = [](const std::string& path, const std::string& data) {
    std::ofstream(path) << data;
  };
  fs::create_directories(src_ + "/usr/lib");
  fs::create_directories(src_ + "/etc");
  write(src_ + "/usr/lib/os-release", "ID=cairntest\n");
  write(src_ + "/etc/hostname", "inside\n");
  fs::create_symlink("../usr/lib/os-release", src_ + "/etc/os-release");
  fs::create_symlink("usr/lib", src_ + "/lib");
  fs::create_symlink("/etc/hostname", src_ + "/abs");
  fs::create_symlink("../../../../../etc/hostname", src_ + "/etc/up");
  fs::create_symlink("loop2", src_ + "/loop1");
  fs::create_symlink("loop1", src_ + "/loop2");
  fs::create_symlink("gone", src_ + "/dangling");
  CheckinSrc("web");
  auto cat = [&](const std::string& path) { return RunRepo("cat", {"web", path}); };
  EXPECT_EQ(cat("etc/os-release").out, "ID=cairntest\n") << cat("etc/os-release").err;
  EXPECT_EQ(cat("lib/os-release").out, "ID=cairntest\n");
  EXPECT_EQ(cat("/usr/lib/../../etc/os-release").out, "ID=cairntest\n");
  EXPECT_EQ(cat("lib/../lib/os-release").out, "ID=cairntest\n") << "'..' of the link's target: usr";
  EXPECT_EQ(cat("lib/../etc/os-release").exit_code, 3) << "usr/etc does not exist";
  EXPECT_EQ(cat("abs").out, "inside\n") << "the version's /etc/hostname, not the host's";
  EXPECT_EQ(cat("etc/up").out, "inside\n") << "'..' stops at the version's root";
  RunResult loop = cat("loop1");
  EXPECT_EQ(loop.exit_code, 3);
  EXPECT_NE(loop.err.find("too many levels of symbolic links"), std::string::npos) << loop.err;
  EXPECT_EQ(cat("lib").exit_code, 2) << "a directory, through its link";

  EXPECT_EQ(RunRepo("ls", {"web", "lib"}).out, "lib/os-release\n");
  // lib/.. is usr (where the link led), named as found; without a link, ".." is taken as typed.
  EXPECT_EQ(RunRepo("ls", {"web", "lib/.."}).out, "usr/lib\n");
  EXPECT_EQ(RunRepo("ls", {"web", "etc/../usr/./lib"}).out, "usr/lib/os-release\n");
  EXPECT_TRUE(std::regex_search(RunRepo("ls", {"-l", "web", "lib"}).out,
                                std::regex("^lrwxrwxrwx .* lib -> usr/lib\n$")));
  EXPECT_TRUE(std::regex_search(RunRepo("ls", {"-l", "web", "lib/"}).out,
                                std::regex("^-rw.* lib/os-release\n$")));
  auto one = Json(RunRepo("ls", {"--json", "web", "etc/os-release"}));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["type"], "symlink");
  auto via = Json(RunRepo("ls", {"--json", "web", "lib/os-release"}));
  ASSERT_EQ(via.size(), 1u);
  EXPECT_EQ(via[0]["type"], "file");
  // A link to nothing is listed itself, as ls(1) lists it (it was "no such file", exit 3);
  // cat and a trailing '/' still follow it.
  RunResult dangling = RunRepo("ls", {"web", "dangling"});
  EXPECT_EQ(dangling.exit_code, 0) << dangling.err;
  EXPECT_EQ(dangling.out, "dangling\n");
  EXPECT_EQ(RunRepo("ls", {"web", "dangling/"}).exit_code, 3);
  EXPECT_EQ(cat("dangling").exit_code, 3);
}

// A path going on after a file, even by a trailing '/' or a "." or "..", names nothing, as
// the kernel resolves it (cat(1): "Not a directory"): `cat web f/` printed the file. Through a
// link to a file too; a directory, or a link to one, still takes them.
TEST_F(TreesCliTest, APathGoingOnAfterAFileIsNotADirectory) {
  namespace fs = std::filesystem;
  fs::create_directories(src_ + "/dir");
  std::ofstream(src_ + "/dir/f") << "data\n";
  fs::create_symlink("dir/f", src_ + "/to-f");
  fs::create_symlink("dir", src_ + "/to-dir");
  CheckinSrc("web");
  for (const std::string path : {"dir/f/", "dir/f/.", "dir/f/..", "dir/f//", "to-f/", "to-f/."}) {
    for (const char* cmd : {"cat", "ls"}) {
      RunResult r = RunRepo(cmd, {"web", path});
      EXPECT_EQ(r.exit_code, 3) << cmd << " " << path << ": " << r.out << r.err;
      EXPECT_NE(r.err.find("path " + path + ": "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(" is not a directory"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(RunRepo("cat", {"web", "dir/f"}).out, "data\n");
  EXPECT_EQ(RunRepo("cat", {"web", "to-dir/./f"}).out, "data\n");
  EXPECT_EQ(RunRepo("ls", {"web", "dir/"}).out, "dir/f\n");
  EXPECT_EQ(RunRepo("ls", {"web", "to-dir/"}).out, "to-dir/f\n");
  EXPECT_EQ(RunRepo("ls", {"web", "dir/f/../"}).exit_code, 3);
}

// `tar c | cairn checkin - --image NAME` checks in the tarball on standard input, a pipe or a
// file, to the same root as the tarball by its path; `checkout NAME -` writes a tarball to
// standard output.
TEST_F(TreesCliTest, CheckinFromStandardInputAndCheckoutToStandardOutput) {
  BuildTree(src_, indexer::testing::FullSpec());
  auto root_of = [&](const RunResult& r) { return Json(r)["root"].get<std::string>(); };
  CheckinSrc("web");
  RunResult tar = RunRepo("checkout", {"web", "-"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  ASSERT_GT(tar.out.size(), 10240u);
  stdin_ = MakeFile("web.tar", tar.out);
  // The fixture's socket is left out of a tarball: the tarball by path is the reference.
  const std::string root = root_of(RunRepo("checkin", {stdin_, "--image", "path", "--json"}));
  EXPECT_EQ(root_of(RunRepo("checkin", {"-", "--image", "file", "--json"})), root);
  // Compressed to standard output (a pipe here): nothing after the compressed stream. zstd and
  // bzip2 refuse what follows their last frame; libarchive padded it to a 10240-byte block.
  for (const char* format : {"tar.zst", "tar.bz2", "tar.gz", "tar.xz"}) {
    RunResult packed = RunRepo("checkout", {"web", "-", "--format", format});
    ASSERT_EQ(packed.exit_code, 0) << format << ": " << packed.err;
    EXPECT_NE(packed.out.size() % 10240, 0u) << format << ": padded to a block";
    stdin_ = MakeFile(std::string("web.") + format, packed.out);
    RunResult back = RunRepo("checkin", {"-", "--image", "packed", "--json"});
    ASSERT_EQ(back.exit_code, 0) << format << ": " << back.err;
    EXPECT_EQ(root_of(back), root) << format;
  }
  stdin_ = MakeFile("web.tar", tar.out);

  stdin_ = dir_ + "/pipe";
  ASSERT_EQ(::mkfifo(stdin_.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(stdin_, std::ios::binary) << tar.out; });
  RunResult piped = RunRepo("checkin", {"-", "--image", "pipe", "--json"});
  writer.join();
  EXPECT_EQ(root_of(piped), root);

  stdin_ = "/dev/null";  // for stats: the pipe has no writer left
  nlohmann::json before = Contents();
  stdin_ = MakeFile("garbage", "not a tarball at all\n");
  RunResult bad = RunRepo("checkin", {"-", "--image", "pipe"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("checkin -: standard input is not a tarball"), std::string::npos)
      << bad.err;
  stdin_ = MakeFile("cut.tar", tar.out.substr(0, tar.out.size() / 2));
  RunResult cut = RunRepo("checkin", {"-", "--image", "pipe"});
  EXPECT_NE(cut.exit_code, 0);
  stdin_ = "/dev/null";
  EXPECT_EQ(Contents(), before) << "refused input changes nothing";
}

TEST_F(TreesCliTest, CheckoutToNewDirectoryIsExact) {
  BuildTree(src_, indexer::testing::FullSpec());
  CheckinSrc("web");
  RunResult r = RunRepo("checkout", {"web", dir_ + "/dst"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Diff(Listing(src_), Listing(dir_ + "/dst")), "");
  EXPECT_EQ(Listing(src_), Listing(dir_ + "/dst"));
}

TEST_F(TreesCliTest, CheckoutToATarballWarnsOfTheSocketItLeavesOut) {
  BuildTree(src_, indexer::testing::FullSpec());  // has a socket, dev/sock
  CheckinSrc("web");
  RunResult r = RunRepo("checkout", {"web", dir_ + "/web.tar"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cairn: warning: left out dev/sock: a socket, which a tarball cannot hold\n"),
            std::string::npos)
      << r.err;
  RunResult d = RunRepo("checkout", {"web", dir_ + "/dst"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.err.find("warning"), std::string::npos) << d.err;
}

// Every compression checkin reads, checkout writes (by name or --format), and the tarball
// checks in to the same root; a name or format it cannot honour is refused, nothing written.
TEST_F(TreesCliTest, CheckoutWritesEachTarballCompressionAndRefusesWhatItCannot) {
  BuildTree(src_, indexer::testing::DenseSpec());
  CheckinSrc("web");
  auto root_of = [&](const RunResult& r) { return Json(r)["root"].get<std::string>(); };
  // The plain tarball is the reference (a tarball cannot hold the fixture's socket).
  ASSERT_EQ(RunRepo("checkout", {"web", dir_ + "/w.tar"}).exit_code, 0);
  const std::string root = root_of(RunRepo("checkin", {dir_ + "/w.tar", "--image", "t", "--json"}));
  ASSERT_TRUE(std::filesystem::remove(dir_ + "/w.tar"));
  for (std::string name : {"w.tar.xz", "w.txz", "w.tar.bz2", "w.tbz2", "w.tgz"}) {
    RunResult r = RunRepo("checkout", {"web", dir_ + "/" + name});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    ASSERT_TRUE(std::filesystem::is_regular_file(dir_ + "/" + name)) << name;
    EXPECT_EQ(root_of(RunRepo("checkin", {dir_ + "/" + name, "--image", "t", "--json"})), root)
        << name;
  }
  RunResult xz = RunRepo("checkout", {"web", dir_ + "/plain-name", "--format", "tar.xz"});
  ASSERT_EQ(xz.exit_code, 0) << xz.err;
  EXPECT_EQ(ReadFile(dir_ + "/plain-name").substr(0, 6), std::string("\xfd"
                                                                     "7zXZ\0",
                                                                     6));
  for (std::vector<std::string> bad : {std::vector<std::string>{dir_ + "/w.tar.lz4"},
                                       {"-", "--format", "dir"},
                                       {dir_ + "/w.tar", "--size", "1G"},
                                       {dir_ + "/d", "--size", "1G"},
                                       {dir_ + "/d", "--size", "0"}}) {
    std::vector<std::string> args = {"web"};
    args.insert(args.end(), bad.begin(), bad.end());
    RunResult r = RunRepo("checkout", args);
    EXPECT_EQ(r.exit_code, 2) << bad[0] << ": " << r.err;
    EXPECT_FALSE(Exists(bad[0])) << bad[0];
  }
  EXPECT_FALSE(Exists("-")) << "a directory named - in the working directory";
  // A tarball is not written to a terminal (script(1) gives the command one).
  EXPECT_EQ(indexer::testing::Shell("script -qec '" + std::string(CAIRN_BINARY) +
                                    " checkout web - --repo " + repo_ + "' /dev/null > " + dir_ +
                                    "/tty.out 2>&1"),
            2)
      << ReadFile(dir_ + "/tty.out");
  EXPECT_NE(ReadFile(dir_ + "/tty.out").find("terminal"), std::string::npos);
}

TEST_F(TreesCliTest, CheckoutIntoNonEmptyDirectoryExits2AndWritesNothing) {
  BuildTree(src_, indexer::testing::FullSpec());
  CheckinSrc("web");
  std::string dst = dir_ + "/dst";
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  MakeFile("dst/small.txt", "mine");
  auto before = Listing(dst);
  RunResult r = RunRepo("checkout", {"web", dst});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(Diff(Listing(dst), before), "");
}

TEST_F(TreesCliTest, CheckinOfMissingPathExits3) {
  auto before = Contents();
  RunResult r = RunRepo("checkin", {dir_ + "/nope", "--image", "web"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(dir_ + "/nope"), std::string::npos) << r.err;
  EXPECT_EQ(Contents(), before);
}

TEST_F(TreesCliTest, BadImageNameExits2) {
  BuildTree(src_, indexer::testing::DenseSpec());
  auto before = Contents();
  for (std::string name : std::vector<std::string>{".hidden", "-dash", "a b", "a/b", std::string(129, 'x'), ""}) {
    RunResult r = RunRepo("checkin", {src_, "--image", name});
    EXPECT_EQ(r.exit_code, 2) << "'" << name << "': " << r.err;
  }
  RunResult via = RunRepo("checkin", {src_, "--image", "web", "--via", "bogus"});
  EXPECT_EQ(via.exit_code, 2) << via.err;
  EXPECT_NE(via.err.find("--via 'bogus'"), std::string::npos) << via.err;
  EXPECT_EQ(Contents(), before);
  EXPECT_EQ(RunRepo("ls", {"a b"}).exit_code, 2);
}

TEST_F(TreesCliTest, UnknownImageExits3AndSuggestsACloseName) {
  BuildTree(src_, indexer::testing::DenseSpec());
  CheckinSrc("webserver");
  RunResult ls = RunRepo("ls", {"websrver"});
  EXPECT_EQ(ls.exit_code, 3) << ls.err;
  EXPECT_NE(ls.err.find("did you mean"), std::string::npos) << ls.err;
  EXPECT_NE(ls.err.find("webserver"), std::string::npos) << ls.err;
  RunResult co = RunRepo("checkout", {"websrver", dir_ + "/dst"});
  EXPECT_EQ(co.exit_code, 3) << co.err;
  EXPECT_FALSE(Exists(dir_ + "/dst")) << "nothing created for an unknown image";
  EXPECT_EQ(RunRepo("ls", {"webserver:2"}).exit_code, 3);
}

TEST_F(TreesCliTest, CheckinWithUnknownParentExits3AndChangesNothing) {
  BuildTree(src_, indexer::testing::DenseSpec());
  CheckinSrc("web");
  auto before = Contents();
  for (std::string parent : {"nope", "web:7"}) {
    RunResult r = RunRepo("checkin", {src_, "--image", "web", "--parent", parent});
    EXPECT_EQ(r.exit_code, 3) << parent << ": " << r.err;
  }
  EXPECT_EQ(Contents(), before);
  EXPECT_EQ(Json(RunRepo("versions", {"web", "--json"})).size(), 1u);
}

TEST_F(TreesCliTest, SecondCheckinWithParentReadsNothingWhenUnchanged) {
  BuildTree(src_, indexer::testing::DenseSpec());
  auto one = Json(RunRepo("checkin", {src_, "--image", "web", "--json"}));
  EXPECT_GT(one["bytes_read"].get<uint64_t>(), 3u << 20);
  auto two = Json(RunRepo("checkin", {src_, "--image", "web", "--parent", "web", "--json"}));
  EXPECT_EQ(two["bytes_read"], 0) << two.dump();
  EXPECT_GT(two["files_cached"].get<uint64_t>(), 0u);
  EXPECT_EQ(two["root"], one["root"]);
  EXPECT_EQ(two["version"], "web:2");
  auto versions = Json(RunRepo("versions", {"web", "--json"}));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[1]["parents"][0], one["id"]);
  // --paranoid reads everything again.
  auto three = Json(
      RunRepo("checkin", {src_, "--image", "web", "--parent", "web", "--paranoid", "--json"}));
  EXPECT_EQ(three["bytes_read"], one["bytes_read"]);
}

// The stat cache is host state under $HOME/.cache/cairn (or $CAIRN_CACHE_DIR), not in the
// repository: without it a checkin with --parent reads everything and stores the same tree.
TEST_F(TreesCliTest, StatCacheLivesInTheCacheDirectoryAndLosingItOnlyCostsTime) {
  BuildTree(src_, indexer::testing::DenseSpec());
  auto one = Json(RunRepo("checkin", {src_, "--image", "web", "--json"}));
  const std::string cache = dir_ + "/.cache/cairn";
  ASSERT_TRUE(std::filesystem::is_directory(cache));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(cache), {}), 1);
  std::filesystem::remove_all(cache);
  auto two = Json(RunRepo("checkin", {src_, "--image", "web", "--parent", "web", "--json"}));
  EXPECT_EQ(two["bytes_read"], one["bytes_read"]);
  EXPECT_EQ(two["files_cached"], 0);
  EXPECT_EQ(two["root"], one["root"]);
  auto three = Json(RunRepo("checkin", {src_, "--image", "web", "--parent", "web", "--json"}));
  EXPECT_EQ(three["bytes_read"], 0) << "the second checkin saved the cache again";
  // Elsewhere with CAIRN_CACHE_DIR: the default one is not consulted.
  const std::string other = dir_ + "/other-cache";
  RunResult r = Run({"checkin", src_, "--repo", repo_, "--image", "web", "--parent", "web", "--json"},
                    {{"CAIRN_CACHE_DIR", other}});
  auto four = Json(r);
  EXPECT_EQ(four["bytes_read"], one["bytes_read"]);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(other), {}), 1);
  EXPECT_TRUE(four["warnings"].empty()) << four.dump();
  // A cache that cannot be saved costs the next checkin time, and says so in the JSON too.
  const std::string file = dir_ + "/a-file";
  std::ofstream(file) << "not a directory";
  RunResult unsaved = Run({"checkin", src_, "--repo", repo_, "--image", "web", "--json"},
                          {{"CAIRN_CACHE_DIR", file + "/cache"}});
  auto five = Json(unsaved);
  EXPECT_EQ(five["version"], "web:5");
  ASSERT_EQ(five["warnings"].size(), 1u) << five.dump();
  EXPECT_NE(five["warnings"][0].get<std::string>().find("stat cache not saved"), std::string::npos)
      << five.dump();
  EXPECT_NE(unsaved.err.find("cairn: warning: stat cache not saved"), std::string::npos)
      << unsaved.err;
}

}  // namespace
}  // namespace cairn::testing
