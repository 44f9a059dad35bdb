// The hole rule of disk filesystems (CheckinOptions::HoleRule::kZeroBlocks): a regular file whose
// allocation is smaller than its size (st_blocks * 512 < st_size) is recorded sparse, its holes
// being exactly its all-zero blocks of the filesystem's block size, its data regions the rest,
// merged. Both disk paths apply it (a loop mount reads the file, libguestfs' tar-out streams it
// without its holes), so both give the same Trees. Exact for files made by truncate or seek; a
// file mixing written zero blocks with holes gets its zero blocks recorded as holes too (same
// bytes, no more allocation than before).
//
// Thread-safety: a ZeroBlockScanner is used by one thread.
#ifndef CAIRN_INDEXER_ZERO_BLOCKS_H_
#define CAIRN_INDEXER_ZERO_BLOCKS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "cas/tree.h"

namespace cairn::indexer {

// Whether `data` is all zero bytes.
bool AllZero(std::string_view data);

// Whether a file of `size` bytes occupying `blocks` 512-byte units is sparse by the rule.
inline bool AllocationSaysSparse(uint64_t size, uint64_t blocks) { return blocks * 512 < size; }

// Splits a file, given in order, into blocks [i * block_size, (i + 1) * block_size) (the last
// one ends at the file's end) and records which are all zero.
class ZeroBlockScanner {
 public:
  // REQUIRES: block_size > 0.
  explicit ZeroBlockScanner(uint64_t block_size) : block_size_(block_size) {}
  // The next bytes of the file, in pieces of any size.
  void Feed(std::string_view data);
  // REQUIRES: at a block boundary. Feeds one block (block_size bytes; fewer only for the last)
  // and returns whether it is all zero.
  bool FeedBlock(std::string_view block);
  // The next `n` bytes are zeros (a hole the caller skipped).
  void FeedZeros(uint64_t n);
  // Ends the file (its last block may be partial).
  void Finish();

  uint64_t block_size() const { return block_size_; }
  uint64_t size() const { return offset_; }
  // After Finish: whether some block is all zero, and the non-zero blocks, merged.
  bool any_zero_block() const { return any_zero_; }
  const std::vector<cas::Extent>& data() const { return data_; }

 private:
  void EndBlock();

  uint64_t block_size_;
  uint64_t offset_ = 0;    // bytes fed
  uint64_t in_block_ = 0;  // bytes of the current block fed
  bool block_zero_ = true;
  bool any_zero_ = false;
  std::vector<cas::Extent> data_;
};

// A SequentialFile over the bytes of the `data` regions (ascending, as ZeroBlockScanner gives
// them) of `whole`, a whole file's bytes: what Trees store as a sparse file's content. Corruption
// when `whole` ends before the last region. Both must outlive it.
class RegionsOfFile final : public SequentialFile {
 public:
  RegionsOfFile(SequentialFile* whole, const std::vector<cas::Extent>& data)
      : whole_(whole), data_(data) {}
  Result<size_t> Read(char* buf, size_t n) override;
  uint64_t Size() const override { return 0; }

 private:
  SequentialFile* whole_;
  const std::vector<cas::Extent>& data_;
  size_t i_ = 0;
  uint64_t pos_ = 0;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_ZERO_BLOCKS_H_
