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

Result<size_t> RegionsOfFile::Read(char* buf, size_t n) {
  size_t done = 0;
  while (done < n && i_ < data_.size()) {
    const cas::Extent& x = data_[i_];
    size_t got;
    if (pos_ < x.offset) {  // a hole: read past it
      char skip[65536];
      CAIRN_ASSIGN_OR_RETURN(got, whole_->Read(skip, static_cast<size_t>(std::min<uint64_t>(
                                                         sizeof(skip), x.offset - pos_))));
    } else {
      CAIRN_ASSIGN_OR_RETURN(got,
                             whole_->Read(buf + done, static_cast<size_t>(std::min<uint64_t>(
                                                          n - done, x.offset + x.length - pos_))));
      done += got;
    }
    if (got == 0)
      return Status::Corruption("read data regions: the file ends before its last region");
    pos_ += got;
    if (pos_ == x.offset + x.length) ++i_;
  }
  return done;
}

}  // namespace cairn::indexer
