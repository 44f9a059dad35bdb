#include "indexer/zero_blocks.h"

#include <algorithm>
#include <cstring>

namespace cairn::indexer {

bool AllZero(std::string_view data) {
  // Compare the data with itself shifted by one word: all zero iff the first word is zero
  // and each word equals the next (memcmp runs at memory speed).
  constexpr size_t kWord = 16;
  if (data.size() <= kWord) {
    return std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
  }
  static constexpr char kZeros[kWord] = {};
  return std::memcmp(data.data(), kZeros, kWord) == 0 &&
         std::memcmp(data.data(), data.data() + kWord, data.size() - kWord) == 0;
}

void ZeroBlockScanner::EndBlock() {
  if (in_block_ == 0) return;
  uint64_t start = offset_ - in_block_;
  if (block_zero_) {
    any_zero_ = true;
  } else if (!data_.empty() && data_.back().offset + data_.back().length == start) {
    data_.back().length += in_block_;
  } else {
    data_.push_back({start, in_block_});
  }
  in_block_ = 0;
  block_zero_ = true;
}

void ZeroBlockScanner::Feed(std::string_view data) {
  while (!data.empty()) {
    size_t k = static_cast<size_t>(std::min<uint64_t>(data.size(), block_size_ - in_block_));
    if (block_zero_ && !AllZero(data.substr(0, k))) block_zero_ = false;
    offset_ += k;
    in_block_ += k;
    data.remove_prefix(k);
    if (in_block_ == block_size_) EndBlock();
  }
}

bool ZeroBlockScanner::FeedBlock(std::string_view block) {
  bool zero = AllZero(block);
  offset_ += block.size();
  in_block_ = block.size();
  block_zero_ = zero;
  EndBlock();
  return zero;
}

void ZeroBlockScanner::FeedZeros(uint64_t n) {
  if (n == 0) return;
  uint64_t k = std::min(n, block_size_ - in_block_);
  offset_ += k;
  in_block_ += k;
  n -= k;
  if (in_block_ == block_size_) EndBlock();
  if (n == 0) return;
  // Whole zero blocks, then the start of the next one.
  if (n >= block_size_) any_zero_ = true;
  offset_ += n;
  in_block_ = n % block_size_;
}

void ZeroBlockScanner::Finish() { EndBlock(); }

}  // namespace cairn::indexer
