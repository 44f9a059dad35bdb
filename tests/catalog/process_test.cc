// Checkins, rm, purge and gc in separate `cairn` processes at the same time, round after round:
// writers take turns through the repository lock, and afterwards the store verifies and every
// remaining version checks out exactly as its source.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <iostream>
#include <set>
#include <sstream>

#include "tests/catalog/catalog_fixture.h"

namespace cairn::catalog::testing {
namespace {

using indexer::testing::Listing;
using indexer::testing::TempDir;

struct Proc {
  pid_t pid = -1;
  std::string out_path, err_path, what;
};

struct Done {
  int exit_code = -1;
  std::string out, err, what;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CatalogProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_ / "repo";
    Done d = Run({"init", "--repo", repo_});
    ASSERT_EQ(d.exit_code, 0) << d.err;
  }

  // Starts `cairn args...` (argv[0] "sh -c" when shell is set) with stdout and stderr to files.
  Proc Start(const std::vector<std::string>& args, bool shell = false) {
    Proc p;
    int n = ++procs_;
    p.out_path = tmp_ / ("p" + std::to_string(n) + ".out");
    p.err_path = tmp_ / ("p" + std::to_string(n) + ".err");
    for (const auto& a : args) p.what += a + " ";
    p.pid = ::fork();
    if (p.pid == 0) {
      int in = ::open("/dev/null", O_RDONLY);
      int out = ::open(p.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(p.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::unsetenv("CAIRN_REPO");
      ::setenv("HOME", tmp_.path().c_str(), 1);
      std::vector<std::string> argv_s;
      if (shell) {
        argv_s = {"/bin/sh", "-c", args[0]};
      } else {
        argv_s = {CAIRN_BINARY};
        argv_s.insert(argv_s.end(), args.begin(), args.end());
      }
      std::vector<char*> argv;
      for (auto& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return p;
  }

  Done Wait(const Proc& p) {
    int status = 0;
    ::waitpid(p.pid, &status, 0);
    Done d;
    d.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    d.out = Slurp(p.out_path);
    d.err = Slurp(p.err_path);
    d.what = p.what;
    return d;
  }

  Done Run(const std::vector<std::string>& args) { return Wait(Start(args)); }

  nlohmann::json Json(const std::vector<std::string>& args) {
    Done d = Run(args);
    EXPECT_EQ(d.exit_code, 0) << d.what << d.err;
    return nlohmann::json::parse(d.out);
  }

  // A small tree that differs by `round` and `writer`: a file of its own, and (for some) a
  // 1.5 MiB multi-chunk file that no other source has, so gc has chunks to delete.
  std::string Source(int round, int writer) {
    TreeSpec s = {DirNode(""), DirNode("etc"), DirNode("srv"), DirNode("usr"), DirNode("usr/bin")};
    s.push_back(FileNode("etc/hostname", "host" + std::to_string(writer) + "\n"));
    s.push_back(FileNode("etc/round", std::to_string(round) + "/" + std::to_string(writer)));
    s.push_back(FileNode("usr/bin/tool", ToolContent(), 0755));
    s.push_back(FileNode("srv/shared.bin", indexer::testing::RandomBytes(1200 << 10, 5)));
    if ((round + writer) % 2 == 0) {
      s.push_back(FileNode("srv/own.bin", indexer::testing::RandomBytes(1500 << 10, 1000 * round + writer)));
    }
    std::string dir = tmp_ / ("src-" + std::to_string(round) + "-" + std::to_string(writer));
    indexer::testing::BuildTree(dir, s);
    return dir;
  }

  TempDir tmp_;
  std::string repo_;
  int procs_ = 0;
};

TEST_F(CatalogProcessTest, ConcurrentCheckinsRmPurgeAndGcLeaveEveryRemainingVersionIntact) {
  const int kRounds = 10;
  const std::string bin = CAIRN_BINARY;
  std::map<std::string, std::string> source_of;  // version id -> source directory
  std::set<std::string> purged;                  // version ids
  std::string last_db_name, last_db_id;
  int waited = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::pair<std::string, std::string>> writers = {
        {"web", Source(round, 0)}, {"db", Source(round, 1)}, {"web", Source(round, 2)}};
    ASSERT_FALSE(HasFatalFailure());
    std::vector<Proc> procs;
    for (const auto& [image, src] : writers) {
      procs.push_back(Start({"checkin", "--repo", repo_, src, "--image", image, "-m",
                             "round " + std::to_string(round)}));
    }
    // The previous round's db version is deleted, purged and collected meanwhile.
    std::string victim = last_db_name, victim_id = last_db_id;
    if (round > 0) {
      std::string r = " --repo '" + repo_ + "'";
      procs.push_back(Start({"'" + bin + "' rm" + r + " " + victim + " && '" + bin + "' purge" + r +
                             " && '" + bin + "' gc" + r},
                            /*shell=*/true));
    }
    for (size_t i = 0; i < procs.size(); ++i) {
      Done d = Wait(procs[i]);
      ASSERT_EQ(d.exit_code, 0) << "round " << round << ": " << d.what << "\n" << d.out << d.err;
      if (d.err.find("busy: waiting for another cairn process") != std::string::npos) ++waited;
      if (i < writers.size()) {
        size_t sp = d.out.find(' ');
        ASSERT_NE(sp, std::string::npos) << d.out;
        std::string name = d.out.substr(0, sp), id = d.out.substr(sp + 1, 64);
        ASSERT_TRUE(source_of.emplace(id, writers[i].second).second) << "two checkins made " << id;
        if (writers[i].first == "db") {
          last_db_name = name;
          last_db_id = id;
        }
      } else {
        EXPECT_NE(d.out.find("purged " + victim), std::string::npos) << d.out;
        purged.insert(victim_id);
      }
    }
  }
  std::cout << "writers that waited for the lock: " << waited << "\n";

  Done verify = Run({"verify", "--repo", repo_});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // Exactly the versions that were not purged remain, and each checks out as its source.
  std::map<std::string, std::string> listed;  // id -> NAME:N
  for (const auto& image : Json({"images", "--repo", repo_, "--json"})) {
    for (const auto& v : Json({"versions", "--repo", repo_, image["image"].get<std::string>(), "--json"})) {
      listed.emplace(v["id"].get<std::string>(), v["version"].get<std::string>());
    }
  }
  std::set<std::string> want, got;
  for (const auto& [id, src] : source_of)
    if (!purged.contains(id)) want.insert(id);
  for (const auto& [id, name] : listed) got.insert(id);
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), static_cast<size_t>(2 * kRounds + 1));  // web x 2 per round, the last db
  for (const auto& [id, name] : listed) {
    if (!source_of.contains(id)) continue;
    std::string out = tmp_ / ("out-" + id);
    Done d = Run({"checkout", "--repo", repo_, name, out});
    ASSERT_EQ(d.exit_code, 0) << name << ": " << d.err;
    EXPECT_EQ(indexer::testing::Diff(Listing(source_of[id]), Listing(out)), "") << name;
  }
  // Each round's gc ran after its purge: nothing is left to collect.
  auto gc = Json({"gc", "--repo", repo_, "--json"});
  EXPECT_EQ(gc["deleted"], 0) << gc.dump();
}

}  // namespace
}  // namespace cairn::catalog::testing
