// ReadAndStoreFiles: the files of a batch are stored exactly as ReadAndStoreFile stores each
// alone (content, holes, bytes read), with io_uring and without, and a file that changed or
// vanished since the walk is an error in its own slot only.
#include "indexer/file_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/sha256.h"
#include "cas/memory_store.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {
namespace {

using ::cairn::indexer::testing::RandomBytes;
using ::cairn::indexer::testing::TempDir;

class FileReaderTest : public ::testing::Test {
 protected:
  // Writes `data` at `offset` of a new file `name` of `size` bytes (holes elsewhere).
  FileToStore Make(const std::string& name, const std::string& data, off_t offset = 0,
                   off_t size = -1) {
    FileToStore f;
    f.path = dir_.path() + "/" + name;
    f.rel = name;
    int fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()));
    if (size >= 0) {
      EXPECT_EQ(::ftruncate(fd, size), 0);
    }
    ::close(fd);
    EXPECT_EQ(::lstat(f.path.c_str(), &f.st), 0);
    return f;
  }

  // Every kind of file a batch meets: dense ones small enough to be read together, an empty
  // one, one with a hole, one too large for the batch.
  std::vector<FileToStore> Files() {
    std::vector<FileToStore> files;
    for (int i = 0; i < 70; ++i) {  // more than one submission holds
      files.push_back(Make("small" + std::to_string(i), RandomBytes(1 + i * 997, i)));
    }
    files.push_back(Make("empty", ""));
    files.push_back(Make("holey", RandomBytes(4096, 100), 64 << 10, 96 << 10));
    files.push_back(Make("large", RandomBytes(kBatchedFileMax + 1, 101)));
    files.push_back(Make("at-limit", RandomBytes(kBatchedFileMax, 102)));
    return files;
  }

  void ExpectSame(const Result<FileOut>& got, const Result<FileOut>& want,
                  const std::string& name) {
    ASSERT_TRUE(want.has_value()) << name << ": " << want.error().ToString();
    ASSERT_TRUE(got.has_value()) << name << ": " << got.error().ToString();
    EXPECT_EQ(got->skipped, want->skipped) << name;
    EXPECT_EQ(got->content.id, want->content.id) << name;
    EXPECT_EQ(got->content.size, want->content.size) << name;
    EXPECT_EQ(got->sparse, want->sparse) << name;
    EXPECT_EQ(got->extents.size(), want->extents.size()) << name;
    EXPECT_EQ(got->bytes_read, want->bytes_read) << name;
  }

  TempDir dir_;
  cas::MemoryStore store_;
  cas::Ingestor ingestor_{&store_, cas::IngestOptions{}};
  CheckinOptions options_;
};

TEST_F(FileReaderTest, ABatchStoresEachFileAsItIsStoredAlone) {
  std::vector<FileToStore> files = Files();
  std::vector<Result<FileOut>> batch = ReadAndStoreFiles(&ingestor_, files, options_);
  EXPECT_TRUE(testing::BatchedReadsOnThisThread()) << "this machine's kernel takes io_uring reads";
  ASSERT_EQ(batch.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    Result<FileOut> alone =
        ReadAndStoreFile(&ingestor_, files[i].path, files[i].rel, files[i].st, options_);
    ExpectSame(batch[i], alone, files[i].rel);
  }
  // A small dense file is one Blob named by its SHA-256; the holey one kept its hole.
  EXPECT_EQ(batch[3]->content.id, Sha256::Of(RandomBytes(1 + 3 * 997, 3)));
  EXPECT_TRUE(batch[71]->sparse);
  EXPECT_EQ(batch[71]->bytes_read, 4096u);
}

TEST_F(FileReaderTest, WithoutIoUringTheFilesAreReadOneByOneToTheSameResults) {
  std::vector<FileToStore> files = Files();
  std::vector<Result<FileOut>> batched = ReadAndStoreFiles(&ingestor_, files, options_);
  std::vector<Result<FileOut>> plain;
  std::thread([&] {  // the ring is the thread's: this one never gets to use it
    testing::StopBatchedReadsOnThisThread();
    plain = ReadAndStoreFiles(&ingestor_, files, options_);
  })
      .join();
  ASSERT_EQ(plain.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) ExpectSame(plain[i], batched[i], files[i].rel);
}

TEST_F(FileReaderTest, AFileChangedOrGoneSinceTheWalkFailsAloneInItsSlot) {
  std::vector<FileToStore> files = Files();
  // Grown after the walk saw it, shrunk, and removed.
  std::string grown = files[5].path, shrunk = files[6].path, gone = files[7].path;
  ASSERT_EQ(::truncate(grown.c_str(), files[5].st.st_size + 10), 0);
  ASSERT_EQ(::truncate(shrunk.c_str(), files[6].st.st_size - 1), 0);
  ASSERT_EQ(::unlink(gone.c_str()), 0);
  std::vector<Result<FileOut>> batch = ReadAndStoreFiles(&ingestor_, files, options_);
  for (size_t i = 0; i < files.size(); ++i) {
    if (i >= 5 && i <= 7) {
      ASSERT_FALSE(batch[i].has_value()) << files[i].rel;
      EXPECT_NE(batch[i].error().message().find("file changed during checkin"), std::string::npos)
          << batch[i].error().ToString();
      EXPECT_NE(batch[i].error().message().find(files[i].path), std::string::npos);
    } else {
      EXPECT_TRUE(batch[i].has_value()) << files[i].rel << ": " << batch[i].error().ToString();
    }
  }
}

// A batch holds its files open together: with few descriptors left, the files that find none
// are read alone after the others, not failed.
TEST_F(FileReaderTest, ABatchNeedsNoMoreDescriptorsThanAreFree) {
  std::vector<FileToStore> files = Files();
  std::vector<Result<FileOut>> want = ReadAndStoreFiles(&ingestor_, files, options_);
  size_t open_now = std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {});
  struct rlimit was;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &was), 0);
  struct rlimit few = was;
  few.rlim_cur = open_now + 5;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &few), 0);
  std::vector<Result<FileOut>> got = ReadAndStoreFiles(&ingestor_, files, options_);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &was), 0);
  for (size_t i = 0; i < files.size(); ++i) ExpectSame(got[i], want[i], files[i].rel);
}

// Given a descriptor of the source root, the files are opened by their paths beneath it (the
// kernel looks up fewer components): the same results as by absolute path, shown here with the
// root moved away so that the absolute paths lead nowhere. Errors still name the absolute path.
TEST_F(FileReaderTest, FilesAreOpenedBeneathTheRootDescriptorWhenOneIsGiven) {
  std::vector<FileToStore> files = Files();
  std::vector<Result<FileOut>> by_path = ReadAndStoreFiles(&ingestor_, files, options_);
  const int root = ::open(dir_.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root, 0);
  ASSERT_EQ(::truncate(files[9].path.c_str(), files[9].st.st_size + 1), 0);  // changed
  TempDir elsewhere;
  const std::string moved = elsewhere.path() + "/moved";
  ASSERT_EQ(::rename(dir_.path().c_str(), moved.c_str()), 0);
  std::vector<Result<FileOut>> beneath = ReadAndStoreFiles(&ingestor_, files, options_, root);
  Result<FileOut> one =
      ReadAndStoreFile(&ingestor_, files[2].path, files[2].rel, files[2].st, options_, root);
  std::vector<Result<FileOut>> gone = ReadAndStoreFiles(&ingestor_, {files[3]}, options_);
  ASSERT_EQ(::rename(moved.c_str(), dir_.path().c_str()), 0);
  ::close(root);
  ASSERT_EQ(beneath.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (i == 9) continue;
    ExpectSame(beneath[i], by_path[i], files[i].rel);
  }
  ExpectSame(one, by_path[2], files[2].rel);
  ASSERT_FALSE(beneath[9].has_value());
  EXPECT_NE(beneath[9].error().message().find(files[9].path), std::string::npos)
      << beneath[9].error().ToString();
  ASSERT_FALSE(gone[0].has_value()) << "without the descriptor, the absolute path is opened";
}

TEST_F(FileReaderTest, AnEmptyBatchStoresNothing) {
  EXPECT_TRUE(ReadAndStoreFiles(&ingestor_, {}, options_).empty());
}

}  // namespace
}  // namespace cairn::indexer
