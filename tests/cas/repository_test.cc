#include "cas/repository.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "tests/cas/test_util.h"

namespace cairn::cas::testing {
namespace {

using Mode = Repository::Mode;

Result<std::unique_ptr<Repository>> OpenRepo(const std::string& dir, Mode mode) {
  Repository::OpenOptions o;
  o.mode = mode;
  o.wait = std::chrono::milliseconds(200);
  return Repository::Open(dir, o);
}

class RepositoryTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) { return dir_.path() + "/" + name; }
  TempDir dir_;
};

TEST_F(RepositoryTest, InitCreatesARepositoryThatOpens) {
  std::string repo = Path("nested/repo");
  EXPECT_FALSE(Repository::Exists(repo));
  ASSERT_TRUE(Repository::Init(repo, RepositoryConfig()).ok());
  EXPECT_TRUE(Repository::Exists(repo));
  auto r = OpenRepo(repo, Mode::kWrite);
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ((*r)->dir(), repo);
  EXPECT_FALSE((*r)->store()->read_only());
  EXPECT_EQ(AllObjectIds((*r)->store()).size(), 0u);
}

TEST_F(RepositoryTest, InitIntoAnExistingEmptyDirectoryWorks) {
  std::filesystem::create_directories(Path("empty"));
  EXPECT_TRUE(Repository::Init(Path("empty"), RepositoryConfig()).ok());
}

// A repository holds every file of its images (/etc/shadow, private keys): its database is
// its owner's alone, and so is the directory when init made it. A directory made for it
// beforehand keeps its mode. Before, both were left world-readable (mode 0755).
TEST_F(RepositoryTest, InitMakesTheRepositoryReadableByItsOwnerOnly) {
  auto mode = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  };
  ASSERT_TRUE(Repository::Init(Path("made/repo"), RepositoryConfig()).ok());
  EXPECT_EQ(mode(Path("made/repo")), 0700u);
  EXPECT_EQ(mode(Path("made/repo/db")), 0700u);
  std::filesystem::create_directories(Path("given"));
  ASSERT_EQ(::chmod(Path("given").c_str(), 0750), 0);
  ASSERT_TRUE(Repository::Init(Path("given"), RepositoryConfig()).ok());
  EXPECT_EQ(mode(Path("given")), 0750u);
  EXPECT_EQ(mode(Path("given/db")), 0700u);
}

TEST_F(RepositoryTest, InitTwiceIsAlreadyExists) {
  ASSERT_TRUE(Repository::Init(Path("repo"), RepositoryConfig()).ok());
  Status s = Repository::Init(Path("repo"), RepositoryConfig());
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
}

TEST_F(RepositoryTest, InitIntoANonEmptyDirectoryIsInvalidArgument) {
  std::filesystem::create_directories(Path("full"));
  WriteFileOrDie(Path("full/precious.txt"), "do not touch");
  Status s = Repository::Init(Path("full"), RepositoryConfig());
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_FALSE(Repository::Exists(Path("full")));
  EXPECT_FALSE(std::filesystem::exists(Path("full/db")));
  EXPECT_EQ(*ReadFileToString(Env::Default(), Path("full/precious.txt")), "do not touch");
}

// An init killed before its marker leaves its own init marker and database: the next init (a
// first command's automatic one, or `cairn init`) starts again, where before nothing could
// use or initialise the directory. A database without the init marker is not cairn's to
// remove.
TEST_F(RepositoryTest, AnInitCutShortIsStartedAgain) {
  std::filesystem::create_directories(Path("cut/db"));
  WriteFileOrDie(Path("cut/CAIRN.init"), "");
  WriteFileOrDie(Path("cut/db/000001.log"), "half a database");
  EXPECT_FALSE(Repository::Exists(Path("cut")));
  Status s = Repository::Init(Path("cut"), RepositoryConfig());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Repository::Exists(Path("cut")));
  EXPECT_FALSE(std::filesystem::exists(Path("cut/CAIRN.init")));
  EXPECT_FALSE(std::filesystem::exists(Path("cut/db/000001.log")));
  Repository::OpenOptions o;
  o.mode = Repository::Mode::kWrite;
  auto repo = Repository::Open(Path("cut"), o);
  EXPECT_TRUE(repo.has_value()) << repo.status().ToString();

  // Killed while a marker was written (WriteFileAtomic's NAME.tmp, before its rename): the init
  // marker's, or the repository marker's after the database.
  std::filesystem::create_directories(Path("early"));
  WriteFileOrDie(Path("early/CAIRN.init.tmp"), "");
  std::filesystem::create_directories(Path("late/db"));
  WriteFileOrDie(Path("late/CAIRN.init"), "");
  WriteFileOrDie(Path("late/CAIRN.tmp"), "cairn repo");
  for (const char* dir : {"early", "late"}) {
    Status again = Repository::Init(Path(dir), RepositoryConfig());
    ASSERT_TRUE(again.ok()) << dir << ": " << again.ToString();
    EXPECT_TRUE(Repository::Exists(Path(dir)));
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(Path(dir)), {}), 2)
        << dir << ": CAIRN and db only";
  }

  std::filesystem::create_directories(Path("other/db"));
  WriteFileOrDie(Path("other/db/data"), "someone else's");
  EXPECT_EQ(Repository::Init(Path("other"), RepositoryConfig()).code(), Code::kInvalidArgument);
  EXPECT_EQ(*ReadFileToString(Env::Default(), Path("other/db/data")), "someone else's");
}

TEST_F(RepositoryTest, InitOverAFileIsInvalidArgument) {
  WriteFileOrDie(Path("file"), "x");
  EXPECT_EQ(Repository::Init(Path("file"), RepositoryConfig()).code(), Code::kInvalidArgument);
}

TEST_F(RepositoryTest, InitWithInvalidConfigIsInvalidArgumentAndCreatesNothing) {
  RepositoryConfig bad;
  bad.chunker.avg_size = 3000;
  EXPECT_EQ(Repository::Init(Path("repo"), bad).code(), Code::kInvalidArgument);
  RepositoryConfig bad_level;
  bad_level.zstd_level = 42;
  EXPECT_EQ(Repository::Init(Path("repo"), bad_level).code(), Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(Path("repo")));
}

TEST_F(RepositoryTest, OpenOfANonRepositoryIsNotFound) {
  std::filesystem::create_directories(Path("plain"));
  for (std::string dir : {Path("plain"), Path("absent")}) {
    for (Mode mode : {Mode::kRead, Mode::kWrite}) {
      auto r = OpenRepo(dir, mode);
      ASSERT_FALSE(r.has_value());
      EXPECT_EQ(r.error().code(), Code::kNotFound);
      EXPECT_NE(r.error().message().find("not a cairn repository"), std::string::npos)
          << r.error().message();
      EXPECT_NE(r.error().message().find(dir), std::string::npos);
    }
  }
  EXPECT_FALSE(std::filesystem::exists(Path("absent")));
}

TEST_F(RepositoryTest, RepositoryOfAnotherFormatIsRefusedByNameAndLeftAlone) {
  std::string repo = Path("old");
  ASSERT_TRUE(Repository::Init(repo, RepositoryConfig()).ok());
  WriteFileOrDie(repo + "/CAIRN", "cairn repository\nformat 1\n");
  auto listing = [&] {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo)) {
      names.insert(e.path().string() + " " +
                   (e.is_regular_file() ? std::to_string(e.file_size()) : "dir"));
    }
    return names;
  };
  auto before = listing();
  for (Mode mode : {Mode::kRead, Mode::kWrite}) {
    auto r = OpenRepo(repo, mode);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Code::kNotSupported);
    EXPECT_NE(r.error().message().find("format 1"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find(repo), std::string::npos) << r.error().message();
  }
  EXPECT_EQ(listing(), before);
  WriteFileOrDie(repo + "/CAIRN", "something else\n");
  auto r = OpenRepo(repo, Mode::kRead);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kCorruption);
}

TEST_F(RepositoryTest, ConfigRoundTripsThroughItsEncoding) {
  RepositoryConfig c;
  c.zstd_level = 7;
  c.chunker = {4096, 16384, 65536};
  auto back = RepositoryConfig::Decode(c.Encode());
  ASSERT_TRUE(back.has_value()) << back.status().ToString();
  EXPECT_EQ(back->zstd_level, 7);
  EXPECT_EQ(back->chunker.min_size, 4096u);
  EXPECT_EQ(back->chunker.avg_size, 16384u);
  EXPECT_EQ(back->chunker.max_size, 65536u);
  // Keys from newer versions are ignored; invalid values are refused.
  auto newer = RepositoryConfig::Decode(c.Encode() + "future-key 12\n");
  ASSERT_TRUE(newer.has_value());
  EXPECT_EQ(newer->chunker.avg_size, 16384u);
  EXPECT_EQ(RepositoryConfig::Decode("chunk-avg 3000\n").error().code(), Code::kInvalidArgument);
}

TEST_F(RepositoryTest, ConfigChosenAtInitIsWhatEveryOpenSees) {
  RepositoryConfig c;
  c.zstd_level = 0;
  c.chunker = {1024, 4096, 16384};
  ASSERT_TRUE(Repository::Init(Path("repo"), c).ok());
  for (Mode mode : {Mode::kWrite, Mode::kRead}) {
    auto r = OpenRepo(Path("repo"), mode);
    ASSERT_TRUE(r.has_value()) << r.status().ToString();
    EXPECT_EQ((*r)->config().zstd_level, 0);
    EXPECT_EQ((*r)->config().chunker.avg_size, 4096u);
    IngestOptions io = (*r)->ingest_options();
    EXPECT_EQ(io.zstd_level, 0);
    EXPECT_EQ(io.chunker.min_size, 1024u);
    EXPECT_EQ(io.chunker.max_size, 16384u);
  }
}

TEST_F(RepositoryTest, FinishedContentAndCountersSurviveReopen) {
  ASSERT_TRUE(Repository::Init(Path("repo"), RepositoryConfig()).ok());
  std::string data = RandomBytes(1 << 20, 50);
  ObjectId id;
  {
    auto r = OpenRepo(Path("repo"), Mode::kWrite);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*(*r)->PutBytes(), 0u);
    Ingestor ingestor((*r)->store(), (*r)->ingest_options());
    auto c = ingestor.PutBytes(data);
    ASSERT_TRUE(c.has_value());
    id = c->id;
    ASSERT_TRUE(ingestor.Finish().ok());
    ASSERT_TRUE((*r)->AddPutBytes(data.size()).ok());
    ASSERT_TRUE((*r)->AddPutBytes(10).ok());
  }
  auto r = OpenRepo(Path("repo"), Mode::kRead);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE((*r)->store()->read_only());
  EXPECT_EQ(*(*r)->PutBytes(), data.size() + 10);
  auto back = ReadContent((*r)->store(), id);
  ASSERT_TRUE(back.has_value()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  r->reset();
  auto w = OpenRepo(Path("repo"), Mode::kWrite);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->ResetPutBytes().ok());
  EXPECT_EQ(*(*w)->PutBytes(), 0u);
}

TEST_F(RepositoryTest, SecondWriterInTheSameProcessIsBusyAfterItsWait) {
  ASSERT_TRUE(Repository::Init(Path("repo"), RepositoryConfig()).ok());
  auto first = OpenRepo(Path("repo"), Mode::kWrite);
  ASSERT_TRUE(first.has_value());
  bool told = false;
  Repository::OpenOptions o;
  o.mode = Mode::kWrite;
  o.wait = std::chrono::milliseconds(250);
  o.on_wait = [&](const std::string& msg) { told = !msg.empty(); };
  auto second = Repository::Open(Path("repo"), o);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), Code::kBusy) << second.error().message();
  EXPECT_TRUE(told);
  EXPECT_TRUE(OpenRepo(Path("repo"), Mode::kRead).has_value());
  first->reset();
  EXPECT_TRUE(OpenRepo(Path("repo"), Mode::kWrite).has_value());
}

TEST(DefaultRepositoryDirTest, FlagThenEnvironmentThenHome) {
  bool explicit_choice = false;
  EXPECT_EQ(DefaultRepositoryDir("/flag/repo", &explicit_choice), "/flag/repo");
  EXPECT_TRUE(explicit_choice);
  ::setenv("CAIRN_REPO", "/env/repo", 1);
  EXPECT_EQ(DefaultRepositoryDir("", &explicit_choice), "/env/repo");
  EXPECT_FALSE(explicit_choice);
  ::unsetenv("CAIRN_REPO");
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(DefaultRepositoryDir("", &explicit_choice), "/home/someone/.local/share/cairn");
  EXPECT_FALSE(explicit_choice);
}

}  // namespace
}  // namespace cairn::cas::testing
