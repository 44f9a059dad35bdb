// Sparse maps widened to whole blocks (indexer/sparse_map.h).
#include "indexer/sparse_map.h"

#include <algorithm>

namespace cairn::indexer {
namespace {

constexpr uint64_t kHoleBlock = 4096;

}  // namespace

std::vector<cas::Extent> BlockAligned(const std::vector<cas::Extent>& regions, uint64_t size) {
  std::vector<cas::Extent> out;
  for (const cas::Extent& x : regions) {
    const uint64_t start = x.offset / kHoleBlock * kHoleBlock;
    const uint64_t end =
        std::min(size, (x.offset + x.length + kHoleBlock - 1) / kHoleBlock * kHoleBlock);
    if (!out.empty() && start <= out.back().offset + out.back().length) {
      out.back().length = std::max(out.back().length, end - out.back().offset);
    } else {
      out.push_back({start, end - start});
    }
  }
  return out;
}

AlignedData::AlignedData(SequentialFile* data, const std::vector<cas::Extent>& regions,
                         const std::vector<cas::Extent>& aligned)
    : data_(data) {
  size_t r = 0;
  for (const cas::Extent& a : aligned) {
    uint64_t at = a.offset;
    for (; r < regions.size() && regions[r].offset < a.offset + a.length; ++r) {
      if (regions[r].offset > at) plan_.push_back({false, regions[r].offset - at});
      plan_.push_back({true, regions[r].length});
      at = regions[r].offset + regions[r].length;
    }
    if (a.offset + a.length > at) plan_.push_back({false, a.offset + a.length - at});
    size_ += a.length;
  }
}

Result<size_t> AlignedData::Read(char* buf, size_t n) {
  size_t done = 0;
  while (done < n && next_ < plan_.size()) {
    Piece& p = plan_[next_];
    const size_t want = static_cast<size_t>(std::min<uint64_t>(p.left, n - done));
    size_t got = want;
    if (p.data) {
      CAIRN_ASSIGN_OR_RETURN(got, data_->Read(buf + done, want));
      if (got == 0) break;  // the data ended early: the caller's count says so
    } else {
      std::fill_n(buf + done, want, '\0');
    }
    done += got;
    p.left -= got;
    if (p.left == 0) ++next_;
  }
  return done;
}

}  // namespace cairn::indexer
