// Overlay and Filesystem on a real overlay directory over a MemoryStore: what a journal append
// that fails (disk full) leaves behind. RLIMIT_FSIZE stands in for the full disk: a write that
// crosses it is cut short, one that starts beyond it fails (EFBIG).
#include "vmount/overlay.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "tests/cas/test_util.h"

namespace cairn::vmount {
namespace {

using cas::testing::TempDir;

// Caps the size of files this process writes at `bytes` while it lives.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit r = old_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_;
  sighandler_t old_handler_;
};

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

JournalRecord Mkdir(const std::string& name) {
  JournalRecord r;
  r.op = JournalOp::kMake;
  r.name = name;
  r.entry.type = cas::EntryType::kDirectory;
  r.entry.mode = 0755;
  r.now = {1700000000, 0};
  return r;
}

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MountInfo info;
    info.mountpoint = "/mnt/x";
    auto o = Overlay::Create(tmp_.path(), info);
    ASSERT_TRUE(o.has_value()) << o.status().ToString();
    overlay_ = std::move(*o);
    journal_ = overlay_->dir() + "/journal";
  }

  TempDir tmp_;
  std::unique_ptr<Overlay> overlay_;
  std::string journal_;
};

TEST_F(OverlayTest, ShortAppendLeavesNoPartialRecordBeforeLaterOnes) {
  ASSERT_TRUE(overlay_->Append(Mkdir("early")).ok());
  uint64_t before = FileSize(journal_);
  {
    FileSizeLimit full(before + 10);  // the record is cut after 10 bytes
    Status s = overlay_->Append(Mkdir(std::string(200, 'n')));
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(journal_), std::string::npos) << s.ToString();
  }
  EXPECT_EQ(FileSize(journal_), before) << "the partial record is cut off";
  ASSERT_TRUE(overlay_->Append(Mkdir("late")).ok()) << "space came back";
  auto records = Overlay::Open(overlay_->dir()).value()->Records();
  ASSERT_TRUE(records.has_value()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].name, "early");
  EXPECT_EQ((*records)[1].name, "late");
}

TEST_F(OverlayTest, DropLastRemovesOnlyTheLastRecord) {
  ASSERT_TRUE(overlay_->Append(Mkdir("kept")).ok());
  ASSERT_TRUE(overlay_->Append(Mkdir("dropped")).ok());
  ASSERT_TRUE(overlay_->DropLast().ok());
  EXPECT_TRUE(overlay_->has_edits());
  ASSERT_TRUE(overlay_->Append(Mkdir("after")).ok());
  auto records = overlay_->Records();
  ASSERT_TRUE(records.has_value()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].name, "kept");
  EXPECT_EQ((*records)[1].name, "after");
}

}  // namespace
}  // namespace cairn::vmount
