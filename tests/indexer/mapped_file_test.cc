// MappedFile: a file is mapped only under a read lease, which holds off truncation while the
// mapping lives; a file open for writing is left to read(); a page that cannot be read is an
// error naming the file (Populate) or, as a last resort, a clean exit 6 naming it (SIGBUS).
#include "indexer/mapped_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer {
namespace {

using testing::RandomBytes;
using testing::TempDir;

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/big";
    data_ = RandomBytes((3 << 20) + 12345, 3);
    int w = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(w, 0);
    ASSERT_EQ(::write(w, data_.data(), data_.size()), static_cast<ssize_t>(data_.size()));
    ::close(w);
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }

  TempDir dir_;
  std::string path_, data_;
  int fd_ = -1;
};

TEST_F(MappedFileTest, GivesTheFileBytesAndLetsWritersInOnceGone) {
  {
    auto m = MappedFile::Map(fd_, data_.size(), path_);
    ASSERT_NE(m, nullptr) << "this machine (root, ext4 or tmpfs, Linux >= 5.14) can lease and populate";
    ASSERT_TRUE(m->Populate(0, data_.size()).ok());
    EXPECT_TRUE(m->data() == data_);
    EXPECT_TRUE(m->Populate(data_.size(), 10).ok()) << "nothing to do past the end";
  }
  // The lease went with the mapping: a writer opens at once.
  int w = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
  EXPECT_GE(w, 0) << "a lease would make a non-blocking open fail with EWOULDBLOCK";
  if (w >= 0) ::close(w);
}

TEST_F(MappedFileTest, AFileOpenForWritingIsLeftToRead) {
  int w = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(w, 0);
  EXPECT_EQ(MappedFile::Map(fd_, data_.size(), path_), nullptr);
  ::close(w);
  // A size that is no longer the file's is refused too (the caller then sees the change).
  EXPECT_EQ(MappedFile::Map(fd_, data_.size() + 1, path_), nullptr);
  EXPECT_NE(MappedFile::Map(fd_, data_.size(), path_), nullptr);
}

TEST_F(MappedFileTest, FilesAboveTheBoundAreLeftToRead) {
  // Sparse files: only their sizes matter here.
  for (uint64_t size : {MappedFile::kMaxMapped, MappedFile::kMaxMapped + 1}) {
    const std::string path = dir_.path() + "/sparse";
    int w = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(w, 0);
    ASSERT_EQ(::ftruncate(w, static_cast<off_t>(size)), 0);
    ::close(w);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto m = MappedFile::Map(fd, size, path);
    EXPECT_EQ(m != nullptr, size <= MappedFile::kMaxMapped) << size;
    m.reset();
    ::close(fd);
  }
}

TEST_F(MappedFileTest, ATruncationWaitsUntilTheMappingIsGone) {
  auto m = MappedFile::Map(fd_, data_.size(), path_);
  ASSERT_NE(m, nullptr);
  std::atomic<bool> truncated{false};
  std::thread t([&] {
    // Breaks the lease: the kernel tells the holder (SIGIO, ignored) and waits for it.
    EXPECT_EQ(::truncate(path_.c_str(), 0), 0);
    truncated = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(truncated.load()) << "the file shrank under its mapping";
  EXPECT_TRUE(m->Populate(0, data_.size()).ok());
  EXPECT_EQ(m->data().back(), data_.back());
  m.reset();
  t.join();
  EXPECT_TRUE(truncated.load());
}

TEST_F(MappedFileTest, PopulatingPagesPastANewEndIsAnErrorNamingTheFile) {
  auto m = MappedFile::Map(fd_, data_.size(), path_);
  ASSERT_NE(m, nullptr);
  // What the lease prevents, done by the holder itself: give the lease up, then shrink.
  ASSERT_EQ(::fcntl(fd_, F_SETLEASE, F_UNLCK), 0);
  ASSERT_EQ(::truncate(path_.c_str(), 4096), 0);
  EXPECT_TRUE(m->Populate(0, 4096).ok());
  Status s = m->Populate(0, data_.size());
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.message().find(path_), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("Input/output error"), std::string::npos) << s.ToString();
}

TEST_F(MappedFileTest, AnUnreadablePageEndsTheProcessNamingTheFile) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto m = MappedFile::Map(fd_, data_.size(), path_);
        if (m == nullptr) ::_exit(1);
        (void)::fcntl(fd_, F_SETLEASE, F_UNLCK);
        if (::truncate(path_.c_str(), 4096) != 0) ::_exit(2);
        volatile char c = m->data()[data_.size() - 1];  // SIGBUS
        (void)c;
        ::_exit(3);
      },
      ::testing::ExitedWithCode(6), "cairn: read .*/big: Input/output error");
}

}  // namespace
}  // namespace cairn::indexer
