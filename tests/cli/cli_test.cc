// The `cairn` command line on its happy paths: init, put, get, stats, verify.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/cli/cli_runner.h"

namespace cairn::testing {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(CliTest, InitCreatesARepository) {
  EXPECT_TRUE(Exists(repo_ + "/CAIRN"));
  RunResult r = Run({"init", "--repo", dir_ + "/other"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(dir_ + "/other"), std::string::npos);
  EXPECT_TRUE(Exists(dir_ + "/other/CAIRN"));
}

TEST_F(CliTest, PutThenGetRoundTripsFilesByteExact) {
  std::vector<std::string> contents = {"hello, cairn\n", "", RandomData(3 << 20, 1),
                                       RandomData((1 << 20) + 4567, 2)};
  std::vector<std::string> args = {"put", "--repo", repo_};
  for (size_t i = 0; i < contents.size(); ++i) {
    args.push_back(MakeFile("in" + std::to_string(i), contents[i]));
  }
  RunResult put = Run(args);
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto ids = Lines(put.out);
  ASSERT_EQ(ids.size(), contents.size()) << put.out;
  EXPECT_EQ(ids[0], Sha256Hex(contents[0]));  // a one-chunk file's id is its SHA-256
  EXPECT_EQ(ids[1], Sha256Hex(""));
  for (size_t i = 0; i < contents.size(); ++i) {
    std::string out = dir_ + "/out" + std::to_string(i);
    RunResult get = RunRepo("get", {ids[i], "-o", out});
    ASSERT_EQ(get.exit_code, 0) << get.err;
    EXPECT_TRUE(ReadFile(out) == contents[i]) << "file " << i << " differs";
  }
  // Standard output works too.
  RunResult to_stdout = RunRepo("get", {ids[0]});
  EXPECT_EQ(to_stdout.exit_code, 0);
  EXPECT_EQ(to_stdout.out, contents[0]);
}

TEST_F(CliTest, GetAcceptsAUniqueEightDigitPrefix) {
  std::string data = RandomData(2 << 20, 3);
  RunResult put = RunRepo("put", {MakeFile("f", data), MakeFile("g", "other")});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  std::string id = Lines(put.out)[0];
  RunResult get = RunRepo("get", {id.substr(0, 8), "-o", dir_ + "/out"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(ReadFile(dir_ + "/out") == data);
}

// `get -o FILE` writes a new file and puts it at FILE: a symlink planted at the name it once
// wrote to first (FILE.cairn-tmp) is never followed, and FILE, a symlink, is replaced itself.
TEST_F(CliTest, GetNeverWritesThroughANamePlantedBesideItsOutput) {
  RunResult put = RunRepo("put", {MakeFile("f", "secret content\n")});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::string id = Lines(put.out)[0];
  const std::string victim = MakeFile("victim", "keep me\n");
  std::filesystem::create_symlink(victim, dir_ + "/out.cairn-tmp");
  std::filesystem::create_symlink(victim, dir_ + "/out2");
  RunResult get = RunRepo("get", {id, "-o", dir_ + "/out"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(ReadFile(dir_ + "/out"), "secret content\n");
  RunResult over = RunRepo("get", {id, "-o", dir_ + "/out2"});
  ASSERT_EQ(over.exit_code, 0) << over.err;
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ + "/out2"));
  EXPECT_EQ(ReadFile(dir_ + "/out2"), "secret content\n");
  EXPECT_EQ(ReadFile(victim), "keep me\n");
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".cairn-tmp."), std::string::npos) << e.path();
  }
}

TEST_F(CliTest, GetAcceptsTheSha256OfALargeFile) {
  std::string data = RandomData(3 << 20, 4);
  RunResult put = RunRepo("put", {"--json", MakeFile("big", data)});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto json = nlohmann::json::parse(put.out);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["type"], "chunk-index");
  EXPECT_EQ(json[0]["sha256"], Sha256Hex(data));
  EXPECT_EQ(json[0]["size"], data.size());
  EXPECT_NE(json[0]["id"], Sha256Hex(data));
  RunResult get = RunRepo("get", {Sha256Hex(data), "-o", dir_ + "/out"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(ReadFile(dir_ + "/out") == data);
}

TEST_F(CliTest, StatsJsonCountsTheStoredObjects) {
  EXPECT_EQ(Stats()["objects"], 0);
  std::string data = RandomData(2 << 20, 5);
  ASSERT_EQ(RunRepo("put", {MakeFile("f", data), MakeFile("g", "tiny")}).exit_code, 0);
  nlohmann::json stats = Stats();
  EXPECT_GT(stats["objects"].get<uint64_t>(), 2u);
  EXPECT_GT(stats["objects_by_type"]["blob"].get<uint64_t>(), 1u);
  EXPECT_EQ(stats["objects_by_type"]["chunk-index"], 1);
  EXPECT_EQ(stats["logical_bytes"], data.size() + 4);
  EXPECT_EQ(stats["unique_content_bytes"], data.size() + 4);
  RunResult text = RunRepo("stats");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find(repo_), std::string::npos);
}

TEST_F(CliTest, PuttingTheSameFileTwiceDoesNotGrowTheObjectCount) {
  std::string path = MakeFile("f", RandomData((1 << 20) + 99, 6));
  RunResult first = RunRepo("put", {path});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  nlohmann::json before = Stats();
  RunResult second = RunRepo("put", {path});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  nlohmann::json after = Stats();
  EXPECT_EQ(after["objects"], before["objects"]);
  EXPECT_EQ(after["stored_bytes"], before["stored_bytes"]);
  EXPECT_EQ(after["logical_bytes"].get<uint64_t>(), 2 * before["logical_bytes"].get<uint64_t>());
}

TEST_F(CliTest, VerifyOfAHealthyRepositoryExitsZero) {
  ASSERT_EQ(RunRepo("put", {MakeFile("f", RandomData(2 << 20, 7))}).exit_code, 0);
  RunResult r = RunRepo("verify");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  RunResult json = RunRepo("verify", {"--json"});
  ASSERT_EQ(json.exit_code, 0);
  auto report = nlohmann::json::parse(json.out);
  EXPECT_EQ(report["bad"], 0);
  EXPECT_EQ(report["objects"], Stats()["objects"]);
}

TEST_F(CliTest, RepositoryMayComeFromTheEnvironment) {
  std::string data = "via CAIRN_REPO";
  RunResult put = Run({"put", MakeFile("f", data)}, {{"CAIRN_REPO", repo_}});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  RunResult get = RunRepo("get", {Lines(put.out)[0]});
  EXPECT_EQ(get.out, data);
}

TEST_F(CliTest, EveryCommandAnswersHelp) {
  for (std::string cmd : {"init", "put", "get", "verify", "stats"}) {
    RunResult r = Run({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find("usage: cairn " + cmd), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << cmd;
  }
  RunResult top = Run({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("Commands"), std::string::npos);
}

}  // namespace
}  // namespace cairn::testing
