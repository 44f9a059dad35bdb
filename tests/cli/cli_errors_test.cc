// The `cairn` command line on bad input and damaged repositories: exit codes and messages.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/env.h"
#include "base/sha256.h"
#include "cas/chunker.h"
#include "tests/cli/cli_runner.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::testing {
namespace {

bool IsOneLine(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

TEST_F(CliTest, UnknownIdExitsThreeWithOneLineNamingIt) {
  ASSERT_EQ(RunRepo("put", {MakeFile("f", "something")}).exit_code, 0);
  std::string id = Sha256Hex("never stored");
  RunResult r = RunRepo("get", {id, "-o", dir_ + "/out"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(IsOneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find(id), std::string::npos) << r.err;
  EXPECT_FALSE(Exists(dir_ + "/out"));
  RunResult prefix = RunRepo("get", {id.substr(0, 8)});
  EXPECT_EQ(prefix.exit_code, 3);
  EXPECT_NE(prefix.err.find(id.substr(0, 8)), std::string::npos) << prefix.err;
}

TEST_F(CliTest, MalformedIdExitsTwo) {
  for (std::string bad : {std::string("xyz"), std::string("1234567"), std::string("zzzzzzzzzz"),
                          std::string(65, 'a')}) {
    RunResult r = RunRepo("get", {bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  }
}

TEST_F(CliTest, PutOfAMissingFileExitsThreeAndChangesNothing) {
  ASSERT_EQ(RunRepo("put", {MakeFile("first", RandomData(1 << 20, 1))}).exit_code, 0);
  nlohmann::json before = Stats();
  std::string present = MakeFile("present", RandomData(2 << 20, 2));
  RunResult r = RunRepo("put", {present, dir_ + "/does-not-exist"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("does-not-exist"), std::string::npos) << r.err;
  nlohmann::json after = Stats();
  // RocksDB writes logs and options files at every open: only the contents must not change.
  before.erase("disk_bytes");
  after.erase("disk_bytes");
  EXPECT_EQ(after, before);
}

// A checkin refused for what it was given (the image's name, the source, the parent's name) is
// refused before the repository is opened: not one of its files changes (opening it to write
// makes RocksDB write a new MANIFEST and OPTIONS).
TEST_F(CliTest, ACheckinRefusedForItsArgumentsLeavesEveryFileOfTheRepository) {
  ASSERT_EQ(::mkdir((dir_ + "/src").c_str(), 0755), 0);
  MakeFile("src/f", "x");
  ASSERT_EQ(RunRepo("checkin", {dir_ + "/src", "--image", "web"}).exit_code, 0);
  const auto before = FilesOf(repo_);
  RunResult name = RunRepo("checkin", {dir_ + "/src", "--image", "bad name"});
  EXPECT_EQ(name.exit_code, 2) << name.err;
  EXPECT_EQ(name.err,
            "cairn: checkin --image: image name 'bad name': use 1-128 of A-Z a-z 0-9 . _ + -, not "
            "starting with . or -\n");
  RunResult missing = RunRepo("checkin", {dir_ + "/nonexistent", "--image", "web"});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find(dir_ + "/nonexistent"), std::string::npos) << missing.err;
  RunResult parent = RunRepo("checkin", {dir_ + "/src", "--image", "web", "-p", "web:0"});
  EXPECT_EQ(parent.exit_code, 2) << parent.err;
  EXPECT_TRUE(FilesOf(repo_) == before) << "a refused checkin changed the repository's files";
}

TEST_F(CliTest, RepoThatIsNotARepositoryExitsThree) {
  std::filesystem::create_directories(dir_ + "/plain");
  for (std::string cmd : {"stats", "verify", "put", "get"}) {
    std::vector<std::string> args = {cmd, "--repo", dir_ + "/plain"};
    if (cmd == "put") args.push_back(MakeFile("f", "x"));
    if (cmd == "get") args.push_back(Sha256Hex("x"));
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 3) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("not a cairn repository"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(Exists(dir_ + "/plain/CAIRN"));
}

// An empty --repo (an unset shell variable) is refused, not read as the default repository.
TEST_F(CliTest, EmptyRepoFlagExitsTwoAndCreatesNothing) {
  const std::string home = dir_ + "/home";
  std::filesystem::create_directories(home);
  for (std::string cmd : {"images", "stats", "checkin"}) {
    std::vector<std::string> args = {cmd, "--repo", ""};
    if (cmd == "checkin") args.insert(args.end(), {dir_, "--image", "x"});
    RunResult r = Run(args, {{"HOME", home}, {"CAIRN_REPO", ""}});
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("--repo"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(Exists(home + "/.local")) << "the default repository was created";
}

// Output that cannot be written fails the command (a put's ids lost, a listing cut short):
// exit 7 on a full disk, 6 on a closed descriptor, with a message on stderr.
TEST_F(CliTest, StandardOutputThatCannotBeWrittenFailsTheCommand) {
  ASSERT_EQ(RunRepo("put", {MakeFile("f", "x")}).exit_code, 0);
  auto rc = [&](const std::string& args, const std::string& out) {
    return indexer::testing::Shell(std::string(CAIRN_BINARY) + " " + args + " --repo " + repo_ +
                                   " " + out + " 2>" + dir_ + "/err");
  };
  EXPECT_EQ(rc("stats --json", ">/dev/full"), 7);
  EXPECT_NE(ReadFile(dir_ + "/err").find("write standard output"), std::string::npos);
  EXPECT_EQ(rc("put " + MakeFile("g", "y"), ">/dev/full"), 7);
  EXPECT_EQ(rc("stats", ">&-"), 6);
  EXPECT_EQ(rc("stats", ">/dev/null"), 0);
  EXPECT_EQ(indexer::testing::Shell(std::string(CAIRN_BINARY) + " --help >/dev/full 2>/dev/null"),
            7);
  // A listing longer than stdio's buffer fails while it is printed, not at exit.
  const std::string many = dir_ + "/many";
  std::filesystem::create_directories(many);
  for (int i = 0; i < 400; ++i) std::ofstream(many + "/file-with-a-long-name-" + std::to_string(i));
  ASSERT_EQ(RunRepo("checkin", {many, "--image", "many"}).exit_code, 0);
  EXPECT_EQ(rc("ls many -l", ">/dev/full"), 7) << ReadFile(dir_ + "/err");
  EXPECT_NE(ReadFile(dir_ + "/err").find("write standard output"), std::string::npos);
}

// A writer refused by the operating system exits 6 at once, naming why, wherever the
// repository lies: a path that says "lock" (/srv/blockstore) is no sign of another writer.
TEST_F(CliTest, PermissionDeniedIsNotBusyWhereverTheRepositoryIs) {
  if (::geteuid() != 0) GTEST_SKIP() << "runs cairn as another user (CI runs as root)";
  const std::string repo = dir_ + "/blocks/repo";
  ASSERT_EQ(Run({"init", "--repo", repo}).exit_code, 0);
  ASSERT_EQ(Run({"put", "--repo", repo, MakeFile("f", "x")}).exit_code, 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ + "/blocks").c_str(), 0755), 0);
  const auto start = std::chrono::steady_clock::now();
  RunResult r = RunAs(User{65534, 65534, {}}, {"put", "--repo", repo, MakeFile("g", "y")});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << "no wait";
}

// Archives other than tar and cpio are refused naming their format, exit 2, from a file as
// from standard input: an iso9660 image (also a disk image, whose probe saw a CD's filesystem
// and said exit 9 "not supported") and a WARC archive (libarchive names no WARC).
TEST_F(CliTest, ArchivesOtherThanTarAreRefusedNamingTheirFormatFromAFileAsFromStandardInput) {
  const std::string iso = dir_ + "/c.iso", warc = dir_ + "/archive.bin";
  ASSERT_EQ(
      indexer::testing::Shell("mkdir " + dir_ + "/z && echo q > " + dir_ + "/z/q && " +
                              "bsdtar --format iso9660 -cf " + iso + " -C " + dir_ + "/z . && " +
                              "bsdtar --format warc -cf " + warc + " -C " + dir_ + "/z q"),
      0)
      << "bsdtar (libarchive-tools)";
  for (const auto& [path, format] : {std::pair{iso, std::string("iso9660")}, {warc, "WARC"}}) {
    RunResult r = RunRepo("checkin", {path, "--image", "x"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(format), std::string::npos) << r.err;
    stdin_ = path;
    RunResult in = RunRepo("checkin", {"-", "--image", "x"});
    stdin_ = "/dev/null";
    EXPECT_EQ(in.exit_code, 2) << in.err;
  }
  EXPECT_EQ(RunRepo("versions", {"x"}).exit_code, 3) << "nothing was checked in";
}

TEST_F(CliTest, InitTwiceExitsTen) {
  RunResult r = Run({"init", "--repo", repo_});
  EXPECT_EQ(r.exit_code, 10) << r.err;
}

TEST_F(CliTest, UnknownCommandsAndOptionsExitTwo) {
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({}).exit_code, 2);
  EXPECT_EQ(RunRepo("stats", {"--no-such-option"}).exit_code, 2);
  EXPECT_EQ(RunRepo("get").exit_code, 2);  // the id is required
  // A missing argument is named as the usage line names it, not as the option parsing it.
  RunResult ls = RunRepo("ls");
  EXPECT_EQ(ls.exit_code, 2);
  EXPECT_EQ(ls.err.substr(0, ls.err.find('\n')), "cairn ls: missing argument VERSION (NAME[:VER])");
  // An argument too many is named (boost's "too many positional options" named none).
  RunResult extra = RunRepo("ls", {"web", "etc", "X"});
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_EQ(extra.err.substr(0, extra.err.find('\n')), "cairn ls: unexpected argument 'X'");
  extra = RunRepo("ls", {"--", "web", "etc", "-X"});  // after --, an argument may start with -
  EXPECT_EQ(extra.err.substr(0, extra.err.find('\n')), "cairn ls: unexpected argument '-X'");
  RunResult help = RunRepo("ls", {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out.find("--version"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--recursive"), std::string::npos) << help.out;
}

TEST_F(CliTest, DamagedBytesOnDiskMakeVerifyFailAndGetRefuse) {
  std::string data = RandomData(1 << 20, 9);
  RunResult put = RunRepo("put", {MakeFile("f", data)});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  std::string id = put.out.substr(0, 64);
  constexpr size_t kAt = 600000;
  ASSERT_GT(FlipOnDisk(repo_ + "/db", data.substr(kAt, 64)), 0)
      << "the file's bytes were not found verbatim in " << repo_ << "/db";
  // The chunk that holds the damaged byte.
  std::string damaged;
  size_t pos = 0;
  for (size_t len : cas::ChunkLengths(
           cas::ChunkerOptions(), {reinterpret_cast<const uint8_t*>(data.data()), data.size()})) {
    if (pos <= kAt + 32 && kAt + 32 < pos + len) damaged = Sha256Hex(data.substr(pos, len));
    pos += len;
  }
  RunResult verify = RunRepo("verify");
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.out.find(damaged), std::string::npos) << verify.out << verify.err;

  RunResult get = RunRepo("get", {id, "-o", dir_ + "/out"});
  EXPECT_EQ(get.exit_code, 5) << get.err;
  EXPECT_FALSE(Exists(dir_ + "/out"));
  EXPECT_FALSE(Exists(dir_ + "/out.cairn-tmp"));
}

// ls and cat over damaged Trees and content: exit 5 naming the version and the path, and
// --json stays valid JSON; ls names entries by their path in the version, however typed.
TEST_F(CliTest, LsAndCatOfDamagedDataFailNamingThePath) {
  const std::string r = dir_ + "/plain-repo";  // uncompressed, so names are found on disk
  ASSERT_EQ(Run({"init", "--repo", r, "--zstd-level", "0", "--zstd-level-small", "0"}).exit_code,
            0);
  const std::string src = dir_ + "/src";
  std::filesystem::create_directories(src + "/aaa");
  std::filesystem::create_directories(src + "/zzz/sub");
  for (int i = 0; i < 20; ++i) {
    std::ofstream(src + "/aaa/f" + std::to_string(i)) << i;
    std::ofstream(src + "/zzz/sub/MARKEDNAME" + std::to_string(i)) << i;
  }
  const std::string data = RandomData(300000, 21);
  std::ofstream(src + "/big.bin", std::ios::binary) << data;
  ASSERT_EQ(Run({"checkin", src, "--image", "d", "--repo", r}).exit_code, 0);
  RunResult ls = Run({"ls", "d", "/aaa/./f3", "--json", "--repo", r});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(nlohmann::json::parse(ls.out)[0]["path"], "aaa/f3");
  // In the Tree's table only: the log holds the search index's keys naming it too.
  ASSERT_GT(FlipOnDisk(r + "/db", "MARKEDNAME5", ".sst"), 0);
  ls = Run({"ls", "d", "zzz", "-l", "--repo", r});
  EXPECT_EQ(ls.exit_code, 5) << ls.out << ls.err;
  EXPECT_NE(ls.err.find("d:1 zzz/sub"), std::string::npos) << ls.err;
  ls = Run({"ls", "d", "-R", "--json", "--repo", r});
  EXPECT_EQ(ls.exit_code, 5) << ls.err;
  EXPECT_TRUE(nlohmann::json::accept(ls.out)) << ls.out;
  // A checkout names the directory whose Tree it could not read, as it names a file.
  RunResult co = Run({"checkout", "d", dir_ + "/co", "--repo", r});
  EXPECT_EQ(co.exit_code, 5) << co.err;
  EXPECT_TRUE(co.err.starts_with("cairn: checkout " + dir_ + "/co/zzz/sub: ")) << co.err;
  ASSERT_GT(FlipOnDisk(r + "/db", data.substr(150000, 64)), 0);
  RunResult cat = Run({"cat", "d", "big.bin", "--repo", r});
  EXPECT_EQ(cat.exit_code, 5) << cat.err;
  EXPECT_NE(cat.err.find("d:1 big.bin"), std::string::npos) << cat.err;
}

// A damaged byte in RocksDB's framing of a blob file (its header, outside every object's
// bytes): every object still reads right, and verify reports the damage (exit 1, with a JSON
// report), where it ended with exit 5 and RocksDB's bare message.
TEST_F(CliTest, VerifyReportsDamageOutsideEveryObject) {
  const std::string data = RandomData(400000, 11);
  RunResult put = RunRepo("put", {MakeFile("f", data)});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  std::string blob;
  for (const auto& e : std::filesystem::directory_iterator(repo_ + "/db")) {
    if (e.path().extension() == ".blob") blob = e.path();
  }
  ASSERT_FALSE(blob.empty()) << "no blob file in " << repo_ << "/db";
  std::string bytes = ReadFile(blob);
  ASSERT_GT(bytes.size(), 64u);
  bytes[40] = static_cast<char>(bytes[40] ^ 0x55);
  { std::ofstream(blob, std::ios::binary | std::ios::trunc) << bytes; }
  RunResult get = RunRepo("get", {put.out.substr(0, 64), "-o", dir_ + "/out"});
  ASSERT_EQ(get.exit_code, 0) << "the damage is outside the object: " << get.err;
  EXPECT_TRUE(ReadFile(dir_ + "/out") == data);
  RunResult verify = RunRepo("verify", {"--json"});
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  auto report = nlohmann::json::parse(verify.out);
  EXPECT_EQ(report["bad"], 1) << verify.out;
  ASSERT_EQ(report["problems"].size(), 1u) << verify.out;
  EXPECT_NE(report["problems"][0]["problem"].get<std::string>().find("the repository's files"),
            std::string::npos)
      << verify.out;
}

}  // namespace
}  // namespace cairn::testing
