#include "tests/cli/cli_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "base/env.h"
#include "base/sha256.h"

namespace cairn::testing {

bool BecomeUser(const User& user) {
  return ::setgroups(user.groups.size(), user.groups.data()) == 0 && ::setgid(user.gid) == 0 &&
         ::setuid(user.uid) == 0;
}

void CliTest::SetUp() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-cli-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
  repo_ = dir_ + "/repo";
  RunResult r = Run({"init", "--repo", repo_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void CliTest::TearDown() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

RunResult CliTest::Launch(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env, const User* who) {
  std::string out_path = dir_ + "/.stdout", err_path = dir_ + "/.stderr";
  pid_t pid = ::fork();
  if (pid == 0) {
    int in = ::open(stdin_.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::setenv("HOME", dir_.c_str(), 1);
    ::unsetenv("CAIRN_REPO");
    ::unsetenv("CAIRN_CACHE_DIR");  // the stat cache goes under HOME
    ::unsetenv("XDG_CACHE_HOME");
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    if (who != nullptr && !BecomeUser(*who)) ::_exit(126);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(CAIRN_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(CAIRN_BINARY, argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

nlohmann::json CliTest::CheckinAs(const User& who, const std::string& source,
                                  const std::string& cache_dir,
                                  const std::vector<std::string>& more) {
  std::vector<std::string> args = {"checkin", source, "--repo", repo_, "--json"};
  args.insert(args.end(), more.begin(), more.end());
  RunResult r = RunAs(who, args, {{"CAIRN_CACHE_DIR", cache_dir}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

RunResult CliTest::RunRepo(const std::string& command, std::vector<std::string> args) {
  args.insert(args.begin(), {command, "--repo", repo_});
  return Run(args);
}

std::string CliTest::MakeFile(const std::string& name, const std::string& data) {
  std::string path = dir_ + "/" + name;
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

std::string CliTest::ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool CliTest::Exists(const std::string& path) { return std::filesystem::exists(path); }

std::map<std::string, std::string> CliTest::FilesOf(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    out[e.path().string()] = std::string(std::istreambuf_iterator<char>(f), {});
  }
  return out;
}

nlohmann::json CliTest::Stats() {
  RunResult r = RunRepo("stats", {"--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);  // throws (failing the test) if not JSON
}

std::string RandomData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Sha256Hex(const std::string& data) { return Sha256::Of(data).ToHex(); }

int FlipOnDisk(const std::string& db, const std::string& needle, const std::string& ext) {
  int flipped = 0;
  for (const auto& e : std::filesystem::directory_iterator(db)) {
    if (!e.is_regular_file() || (!ext.empty() && e.path().extension() != ext)) continue;
    std::string bytes = *ReadFileToString(Env::Default(), e.path().string());
    bool changed = false;
    for (size_t at = bytes.find(needle); at != std::string::npos; at = bytes.find(needle, at + 1)) {
      bytes[at + needle.size() / 2] ^= 0x20;
      changed = true;
      ++flipped;
    }
    if (changed) {
      auto f = Env::Default()->NewWritableFile(e.path().string());
      EXPECT_TRUE(f.has_value() && (*f)->Append(bytes).ok() && (*f)->Close().ok());
    }
  }
  return flipped;
}

}  // namespace cairn::testing
