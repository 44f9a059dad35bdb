#include "base/env.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

namespace cairn {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-env-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  Env* env_ = Env::Default();
};

TEST_F(EnvTest, WrittenFileReadsBack) {
  std::string path = dir_ + "/f";
  std::string data(200000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 300);
  {
    auto f = env_->NewWritableFile(path);
    ASSERT_TRUE(f.has_value()) << f.status().ToString();
    ASSERT_TRUE((*f)->Append(data.substr(0, 1000)).ok());
    ASSERT_TRUE((*f)->Append(data.substr(1000)).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto seq = env_->NewSequentialFile(path);
  ASSERT_TRUE(seq.has_value());
  EXPECT_EQ((*seq)->Size(), data.size());
  auto back = ReadFileToString(env_, path);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, data);
}

TEST_F(EnvTest, WritesAtOffsetsInAnyOrderFillTheFile) {
  std::string path = dir_ + "/f";
  {
    auto f = env_->NewWritableFile(path);
    ASSERT_TRUE(f.has_value()) << f.status().ToString();
    ASSERT_TRUE((*f)->WriteAt(6, "world").ok());
    ASSERT_TRUE((*f)->WriteAt(0, "hello ").ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto back = ReadFileToString(env_, path);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, "hello world");
}

// Allocated first, then written at offsets: the file has the allocated size and the bytes
// written. More than any disk holds is an IOError naming the file.
TEST_F(EnvTest, AllocatedFileTakesWritesAndTooLargeAnAllocationFails) {
  std::string path = dir_ + "/f";
  {
    auto f = env_->NewWritableFile(path);
    ASSERT_TRUE(f.has_value()) << f.status().ToString();
    ASSERT_TRUE((*f)->Allocate(1 << 20).ok());
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 1 << 20);
    EXPECT_GE(st.st_blocks * 512, 1 << 20) << "blocks reserved";
    ASSERT_TRUE((*f)->WriteAt((1 << 20) - 5, "world").ok());
    ASSERT_TRUE((*f)->WriteAt(0, "hello").ok());
    Status huge = (*f)->Allocate(uint64_t{1} << 62);
    EXPECT_EQ(huge.code(), Code::kIOError) << huge.ToString();
    EXPECT_NE(huge.message().find(path), std::string::npos) << huge.ToString();
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto back = ReadFileToString(env_, path);
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), 1u << 20);
  EXPECT_EQ(back->substr(0, 5), "hello");
  EXPECT_EQ(back->substr(back->size() - 5), "world");
  EXPECT_EQ(back->substr(5, 100), std::string(100, '\0'));
}

TEST_F(EnvTest, OpeningAMissingFileIsNotFoundNamingIt) {
  auto f = env_->NewSequentialFile(dir_ + "/missing");
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code(), Code::kNotFound);
  EXPECT_NE(f.error().message().find(dir_ + "/missing"), std::string::npos);
  EXPECT_EQ(env_->RemoveFile(dir_ + "/missing").code(), Code::kNotFound);
}

TEST_F(EnvTest, OpeningADirectoryForReadingIsInvalidArgument) {
  auto f = env_->NewSequentialFile(dir_);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code(), Code::kInvalidArgument);
}

TEST_F(EnvTest, WriteFileAtomicReplacesTheWholeFileAndLeavesNoTemporary) {
  std::string path = dir_ + "/marker";
  ASSERT_TRUE(WriteFileAtomic(env_, path, "first version, long").ok());
  ASSERT_TRUE(WriteFileAtomic(env_, path, "second").ok());
  EXPECT_EQ(*ReadFileToString(env_, path), "second");
  EXPECT_FALSE(env_->FileExists(path + ".tmp"));
}

TEST_F(EnvTest, CreateDirsMakesNestedDirectoriesAndIsIdempotent) {
  std::string nested = dir_ + "/a/b/c";
  EXPECT_FALSE(env_->IsDirectory(nested));
  ASSERT_TRUE(env_->CreateDirs(nested).ok());
  ASSERT_TRUE(env_->CreateDirs(nested).ok());
  EXPECT_TRUE(env_->IsDirectory(nested));
  EXPECT_TRUE(env_->FileExists(nested));
  EXPECT_TRUE(env_->SyncDir(nested).ok());
  ASSERT_TRUE(WriteFileAtomic(env_, nested + "/f", "x").ok());
  EXPECT_FALSE(env_->IsDirectory(nested + "/f"));
  ASSERT_TRUE(env_->RenameFile(nested + "/f", nested + "/g").ok());
  EXPECT_FALSE(env_->FileExists(nested + "/f"));
  EXPECT_TRUE(env_->FileExists(nested + "/g"));
}

}  // namespace
}  // namespace cairn
