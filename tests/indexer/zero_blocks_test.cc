// The zero-block hole rule of disk filesystems (indexer/zero_blocks.h): the scanner on synthetic
// bytes, and its two users on real files: DirSource (the fast path reads the loop-mounted
// filesystem) and TarSource in two steps (the libguestfs path streams a dense tarball, then
// records sparse the files the filesystem's allocation says are) must give the same Trees.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "cas/tree_reader.h"
#include "indexer/dir_source.h"
#include "indexer/tar_source.h"
#include "indexer/zero_blocks.h"

namespace cairn::indexer {
namespace {

namespace fs = std::filesystem;
using Extents = std::vector<cas::Extent>;

ZeroBlockScanner Scan(uint64_t block_size, const std::vector<std::string>& pieces) {
  ZeroBlockScanner s(block_size);
  for (const auto& p : pieces) s.Feed(p);
  s.Finish();
  return s;
}

TEST(ZeroBlockScannerTest, AlignedZeroBlocksAreHolesWhateverThePiecesAre) {
  std::string bytes = std::string(4, '\0') + "abcd" + std::string(4, '\0') + "e" +
                      std::string(3, '\0') + std::string(2, '\0');
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    auto s = Scan(4, {bytes.substr(0, cut), bytes.substr(cut)});
    EXPECT_TRUE(s.any_zero_block());
    EXPECT_EQ(s.size(), bytes.size());
    // The trailing partial block of zeros is a hole too.
    EXPECT_EQ(s.data(), (Extents{{4, 4}, {12, 4}})) << "cut at " << cut;
  }
}

TEST(ZeroBlockScannerTest, ZerosThatAreNotAWholeAlignedBlockAreData) {
  auto s = Scan(4, {"ab", std::string(4, '\0'), "cd"});  // zeros at [2, 6): in two blocks
  EXPECT_FALSE(s.any_zero_block());
  EXPECT_EQ(s.data(), (Extents{{0, 8}}));
}

TEST(ZeroBlockScannerTest, SkippedZerosCountAsZeroBlocks) {
  ZeroBlockScanner s(4);
  s.Feed("ab");
  s.FeedZeros(10);  // [2, 12): ends block 0, then blocks 1 and 2
  s.Feed("c");
  s.Finish();
  EXPECT_TRUE(s.any_zero_block());
  EXPECT_EQ(s.size(), 13u);
  EXPECT_EQ(s.data(), (Extents{{0, 4}, {12, 1}}));
  EXPECT_TRUE(AllZero(std::string(4096, '\0')));
  EXPECT_FALSE(AllZero(std::string(4095, '\0') + "x"));
  EXPECT_FALSE(AllZero("x" + std::string(4095, '\0')));
}

class StringFile final : public SequentialFile {
 public:
  explicit StringFile(std::string s) : s_(std::move(s)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    n = std::min(n, s_.size() - at_);
    std::copy_n(s_.data() + at_, n, buf);
    at_ += n;
    return n;
  }
  uint64_t Size() const override { return s_.size(); }

 private:
  std::string s_;
  size_t at_ = 0;
};

Result<std::string> ReadAll(SequentialFile* f) {
  std::string out;
  char buf[3];  // small reads cross region boundaries
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(size_t n, f->Read(buf, sizeof(buf)));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

TEST(RegionsOfFileTest, YieldsOnlyTheDataRegions) {
  Extents data{{0, 4}, {8, 5}};
  StringFile whole(std::string("aaaa\0\0\0\0bbbbb\0\0\0", 16));
  RegionsOfFile regions(&whole, data);
  auto r = ReadAll(&regions);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(*r, "aaaabbbbb");
  StringFile short_file(std::string("aaaa\0\0\0\0bb", 10));
  RegionsOfFile cut(&short_file, data);
  EXPECT_EQ(ReadAll(&cut).error().code(), Code::kCorruption);
}

class ZeroBlockRuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-zero-blocks-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    store_ = std::make_unique<cas::MemoryStore>();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
  int Sh(const std::string& cmd) {
    return std::system(("set -e; cd '" + tmp_ + "'; " + cmd).c_str());
  }

  cas::TreeEntry Entry(const ObjectId& root, const std::string& name) {
    auto tree = cas::LoadTree(store_.get(), root);
    EXPECT_TRUE(tree) << tree.error().ToString();
    if (tree) {
      for (const auto& e : tree->entries) {
        if (e.name == name) return e;
      }
    }
    ADD_FAILURE() << "no entry " << name;
    return {};
  }

  std::string tmp_;
  std::unique_ptr<cas::MemoryStore> store_;
};

TEST_F(ZeroBlockRuleTest, DirectoryAndItsDenseTarballGiveTheSameTreesByTheRule) {
  // holes: a 1 MiB hole, 8 KiB of data, a 512 KiB hole at the end; zeros: written zero blocks
  // around data, fully allocated (never sparse); link: a hard link to holes.
  ASSERT_EQ(Sh("mkdir d && truncate -s 1M d/holes && head -c 8192 /dev/zero | tr '\\0' d >> d/holes"
               " && truncate -s $((1024 * 1024 + 8192 + 512 * 1024)) d/holes && ln d/holes d/link"
               " && { head -c 65536 /dev/zero; head -c 4096 /dev/zero | tr '\\0' x; head -c 65536 "
               "/dev/zero; } > d/zeros"
               " && tar --format=posix -C d -cf dense.tar ."),
            0);
  struct stat st;
  ASSERT_EQ(::stat((tmp_ + "/d/holes").c_str(), &st), 0);
  if (!AllocationSaysSparse(static_cast<uint64_t>(st.st_size),
                            static_cast<uint64_t>(st.st_blocks))) {
    GTEST_SKIP() << tmp_ << " keeps no holes (st_blocks " << st.st_blocks << ")";
  }
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(tmp_.c_str(), &vfs), 0);
  ASSERT_EQ((1u << 20) % vfs.f_bsize, 0u) << "block size " << vfs.f_bsize;

  CheckinOptions options;
  options.update_stat_cache = false;
  options.holes = CheckinOptions::HoleRule::kZeroBlocks;
  cas::Ingestor ingestor(store_.get(), cas::IngestOptions{});
  DirSource dir(tmp_ + "/d", 2);
  auto fast = dir.Checkin(&ingestor, options);
  ASSERT_TRUE(fast) << fast.error().ToString();

  TarSource tar(tmp_ + "/dense.tar");
  ASSERT_TRUE(tar.Read(&ingestor, options, vfs.f_bsize).ok());
  // Both files hold zero blocks; only the one the filesystem does not allocate whole is sparse.
  auto candidates = tar.ZeroBlockFiles();
  std::sort(candidates.begin(), candidates.end());
  // (holes or link: whichever tar read first; the other is a hard link to it)
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_TRUE(candidates[0] == "holes" || candidates[0] == "link") << candidates[0];
  EXPECT_EQ(candidates[1], "zeros");
  for (const auto& name : candidates) {
    ASSERT_EQ(::stat((tmp_ + "/d/" + name).c_str(), &st), 0);
    if (AllocationSaysSparse(static_cast<uint64_t>(st.st_size),
                             static_cast<uint64_t>(st.st_blocks))) {
      ASSERT_TRUE(tar.MakeSparse(name).ok()) << name;
    }
  }
  EXPECT_EQ(tar.MakeSparse("nothing").code(), Code::kInvalidArgument);
  auto slow = tar.Store();
  ASSERT_TRUE(slow) << slow.error().ToString();
  ASSERT_TRUE(ingestor.Finish().ok());

  EXPECT_EQ(slow->root, fast->root);
  cas::TreeEntry holes = Entry(fast->root, "holes");
  EXPECT_TRUE(holes.sparse);
  EXPECT_EQ(holes.extents, (Extents{{1u << 20, 8192}}));
  EXPECT_EQ(Entry(fast->root, "link").id, holes.id) << "a hard link changes with its file";
  EXPECT_TRUE(Entry(fast->root, "link").sparse);
  cas::TreeEntry zeros = Entry(fast->root, "zeros");
  EXPECT_FALSE(zeros.sparse) << "a fully allocated file is never made sparse";
  EXPECT_EQ(zeros.size, 65536u * 2 + 4096);
}

TEST_F(ZeroBlockRuleTest, PlainDirectoryCheckinStillFindsHolesWithSeekData) {
  // Written zero blocks in a file that also has a hole stay data under kSeekData.
  ASSERT_EQ(
      Sh("mkdir d && head -c 65536 /dev/zero > d/f && head -c 4096 /dev/zero | tr '\\0' x >> d/f"
         " && truncate -s 1M d/f"),
      0);
  struct stat st;
  ASSERT_EQ(::stat((tmp_ + "/d/f").c_str(), &st), 0);
  if (!AllocationSaysSparse(static_cast<uint64_t>(st.st_size),
                            static_cast<uint64_t>(st.st_blocks))) {
    GTEST_SKIP() << tmp_ << " keeps no holes";
  }
  CheckinOptions options;
  options.update_stat_cache = false;
  cas::Ingestor ingestor(store_.get(), cas::IngestOptions{});
  auto seek = DirSource(tmp_ + "/d", 2).Checkin(&ingestor, options);
  ASSERT_TRUE(seek) << seek.error().ToString();
  options.holes = CheckinOptions::HoleRule::kZeroBlocks;
  auto zero = DirSource(tmp_ + "/d", 2).Checkin(&ingestor, options);
  ASSERT_TRUE(zero) << zero.error().ToString();
  ASSERT_TRUE(ingestor.Finish().ok());
  EXPECT_EQ(Entry(seek->root, "f").extents, (Extents{{0, 65536 + 4096}}));
  EXPECT_EQ(Entry(zero->root, "f").extents, (Extents{{65536, 4096}}));
}

}  // namespace
}  // namespace cairn::indexer
