// Overlay and Filesystem on a real overlay directory over a MemoryStore: what a journal append
// that fails (disk full) leaves behind, in the journal and in the mounted tree. RLIMIT_FSIZE stands
// in for the full disk: a write that crosses it is cut short, one that starts beyond it fails
// (EFBIG).
#include "vmount/overlay.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>

#include "base/env.h"
#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "cas/tree.h"
#include "tests/cas/test_util.h"
#include "vmount/filesystem.h"

namespace cairn::vmount {
namespace {

NewEntry DirEntry() {
  NewEntry e;
  e.type = cas::EntryType::kDirectory;
  e.mode = 0755;
  return e;
}

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

std::string ReadAll(const std::string& path) {
  auto s = ReadFileToString(Env::Default(), path);
  return s ? *s : "(unreadable: " + s.status().ToString() + ")";
}

void AppendBytes(const std::string& path, std::string_view data) {
  std::ofstream(path, std::ios::binary | std::ios::app) << data;
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

// The machine stopped while a record was appended: resumed, the mount appends after the
// records that are whole, never after the torn bytes (which would then read as damage in the
// middle, or as a record that swallows the ones after it).
TEST_F(OverlayTest, TornLastRecordIsCutOffBeforeTheResumedMountAppends) {
  ASSERT_TRUE(overlay_->Append(Mkdir("early")).ok());
  const uint64_t whole = FileSize(journal_);
  for (JournalFormat f : {JournalFormat::kV2, JournalFormat::kV1}) {
    std::string torn = EncodeJournalRecord(Mkdir("lost"), f).substr(0, 14);
    AppendBytes(journal_, torn);
  }
  auto resumed = Overlay::Open(overlay_->dir());
  ASSERT_TRUE(resumed.has_value()) << resumed.status().ToString();
  EXPECT_EQ(FileSize(journal_), whole);
  ASSERT_TRUE((*resumed)->Append(Mkdir("late")).ok());
  auto records = Overlay::Open(overlay_->dir()).value()->Records();
  ASSERT_TRUE(records.has_value()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].name, "early");
  EXPECT_EQ((*records)[1].name, "late");
}

// A journal a cairn before checksums wrote (header "cairn-journal-1") resumes: its records are
// read, and appended, in its own format until a commit starts the journal again.
TEST_F(OverlayTest, VersionOneJournalResumesInItsFormat) {
  std::string header = ReadAll(journal_).substr(0, 16 + 32);
  ASSERT_EQ(header.substr(0, 16), "cairn-journal-2\n");
  header[14] = '1';
  cas::testing::WriteFileOrDie(journal_,
                               header + EncodeJournalRecord(Mkdir("old"), JournalFormat::kV1));
  auto resumed = Overlay::Open(overlay_->dir());
  ASSERT_TRUE(resumed.has_value()) << resumed.status().ToString();
  ASSERT_TRUE((*resumed)->Append(Mkdir("new")).ok());
  EXPECT_EQ(ReadAll(journal_), header + EncodeJournalRecord(Mkdir("old"), JournalFormat::kV1) +
                                   EncodeJournalRecord(Mkdir("new"), JournalFormat::kV1));
  auto records = (*resumed)->Records();
  ASSERT_TRUE(records.has_value()) << records.status().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].name, "new");
  ASSERT_TRUE((*resumed)->Reset(ObjectId(), {}).ok());
  EXPECT_TRUE(ReadAll(journal_).starts_with("cairn-journal-2\n"))
      << "a commit starts a version 2 journal";
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

TEST_F(OverlayTest, DamagedMountInfoIsAnErrorNamingTheOverlayNeverSkipped) {
  auto bad = MountInfo::Decode("mountpoint /mnt/x\npid 12ab\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(bad.status().IsCorruption());
  EXPECT_NE(bad.status().message().find("pid is not a number: 12ab"), std::string::npos)
      << bad.status().ToString();
  cas::testing::WriteFileOrDie(overlay_->dir() + "/info", "mountpoint /mnt/x\nstarted x\n");
  auto all = ListMounts(tmp_.path());  // what gc's roots come from: it must not go on without
  ASSERT_FALSE(all.has_value());
  EXPECT_NE(all.status().message().find(overlay_->dir()), std::string::npos)
      << all.status().ToString();
}

// A writable Filesystem over a stored root holding `a` ("precious") and the directory `d`.
class FilesystemTest : public OverlayTest {
 protected:
  void SetUp() override {
    OverlayTest::SetUp();
    cas::Ingestor ingestor(store_.get(), cas::IngestOptions{});
    cas::Tree root;
    root.meta.mode = 0755;
    cas::TreeEntry a;
    a.name = "a";
    a.meta.mode = 0644;
    a.id = ingestor.PutBytes("precious")->id;
    a.size = 8;
    cas::Tree d;
    d.meta.mode = 0755;
    cas::TreeEntry de;
    de.name = "d";
    de.type = cas::EntryType::kDirectory;
    de.id = *ingestor.PutObject(cas::ObjectType::kTree, cas::EncodeTree(d));
    root.entries = {a, de};
    ASSERT_TRUE(cas::CanonicalizeTree(&root).ok());
    root_ = *ingestor.PutObject(cas::ObjectType::kTree, cas::EncodeTree(root));
    ASSERT_TRUE(ingestor.Finish().ok());
    fs_ = Mount();
  }
  std::unique_ptr<Filesystem> Mount() {
    auto fs = Filesystem::Open(store_, root_, overlay_.get(), FilesystemOptions{});
    EXPECT_TRUE(fs.has_value()) << fs.status().ToString();
    return fs ? std::move(*fs) : nullptr;
  }
  std::string Contents(Filesystem* fs, const std::string& name) {
    auto ino = fs->Lookup(kRootIno, name);
    if (!ino) return "(" + ino.status().ToString() + ")";
    auto r = fs->Read(ino->ino, 0, 100);
    return r ? std::string(r->data) : "(" + r.status().ToString() + ")";
  }

  std::shared_ptr<cas::MemoryStore> store_ = std::make_shared<cas::MemoryStore>();
  ObjectId root_;
  std::unique_ptr<Filesystem> fs_;
};

TEST_F(FilesystemTest, OperationWhoseJournalAppendFailsLeavesTheTreeAsItWas) {
  ASSERT_TRUE(fs_->Make(kRootIno, "before", DirEntry()).has_value());
  Ino a = fs_->Lookup(kRootIno, "a")->ino;
  Ino d = fs_->Lookup(kRootIno, "d")->ino;
  {
    FileSizeLimit full(FileSize(journal_));  // no append fits
    EXPECT_FALSE(fs_->Make(kRootIno, "newdir", DirEntry()).has_value());
    SetAttrRequest cut;  // echo hi > a: the O_TRUNC
    cut.size = 0;
    EXPECT_FALSE(fs_->SetAttr(a, cut).has_value());
    SetAttrRequest chmod;
    chmod.mode = 0600;
    EXPECT_FALSE(fs_->SetAttr(a, chmod).has_value());
    EXPECT_FALSE(fs_->SetXattr(a, "user.x", "1", 0).ok());
    EXPECT_FALSE(fs_->Rename(kRootIno, "a", d, "a", 0).ok());
    EXPECT_FALSE(fs_->Unlink(kRootIno, "a").ok());
    EXPECT_FALSE(fs_->Rmdir(kRootIno, "d").ok());
    EXPECT_FALSE(fs_->Link(a, d, "a2").has_value());
  }
  EXPECT_FALSE(fs_->Lookup(kRootIno, "newdir").has_value()) << "mkdir failed";
  EXPECT_FALSE(fs_->Lookup(d, "a").has_value()) << "rename failed";
  EXPECT_FALSE(fs_->Lookup(d, "a2").has_value()) << "link failed";
  EXPECT_EQ(Contents(fs_.get(), "a"), "precious");
  EXPECT_EQ(fs_->GetAttr(a)->mode, 0644u);
  EXPECT_FALSE(fs_->GetXattr(a, "user.x").has_value());
  // The tree is what the journal replays to; writes go on once space is back.
  ASSERT_TRUE(fs_->Make(kRootIno, "after", DirEntry()).has_value());
  auto resumed = Mount();
  ASSERT_TRUE(resumed->Replay().ok());
  EXPECT_TRUE(resumed->Lookup(kRootIno, "before").has_value());
  EXPECT_TRUE(resumed->Lookup(kRootIno, "after").has_value());
  EXPECT_FALSE(resumed->Lookup(kRootIno, "newdir").has_value());
  EXPECT_EQ(Contents(resumed.get(), "a"), "precious");
}

TEST_F(FilesystemTest, OperationThatFailsInTheTreeLeavesNoJournalRecord) {
  uint64_t before = FileSize(journal_);
  EXPECT_FALSE(fs_->Make(kRootIno, "a", DirEntry()).has_value());
  EXPECT_FALSE(fs_->Rmdir(kRootIno, "a").ok());
  EXPECT_FALSE(fs_->Unlink(kRootIno, "missing").ok());
  EXPECT_EQ(FileSize(journal_), before);
  EXPECT_FALSE(overlay_->has_edits());
  // Those that succeed keep theirs.
  ASSERT_TRUE(fs_->Unlink(kRootIno, "a").ok());
  ASSERT_TRUE(fs_->Rmdir(kRootIno, "d").ok());
  auto resumed = Mount();
  ASSERT_TRUE(resumed->Replay().ok());
  EXPECT_FALSE(resumed->Lookup(kRootIno, "a").has_value());
  EXPECT_FALSE(resumed->Lookup(kRootIno, "d").has_value());
}

}  // namespace
}  // namespace cairn::vmount
