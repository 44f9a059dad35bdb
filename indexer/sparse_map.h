// Sparse maps as a file system holds them: a tarball's map (regions of data, the rest holes)
// widened to whole 4 KiB blocks, and the data of the widened regions read from the tarball's
// (TarSource, indexer/tar_source.cc).
//
// GNU tar before 1.29, or on a file system without SEEK_HOLE (--hole-detection=raw), maps a
// sparse file by 512-byte zero blocks; extracted, such a map is what the file system makes of
// it, and what a checkin of the directory records (SEEK_DATA): so the tarball gets the
// directory's root id.
//
// Thread-safety: an AlignedData is used by one thread.
#ifndef CAIRN_INDEXER_SPARSE_MAP_H_
#define CAIRN_INDEXER_SPARSE_MAP_H_

#include <cstdint>
#include <vector>

#include "base/env.h"
#include "cas/tree.h"

namespace cairn::indexer {

// Each of `regions` (in order, not overlapping) widened to whole 4 KiB blocks, the last ending at
// `size`; those that then touch are merged.
std::vector<cas::Extent> BlockAligned(const std::vector<cas::Extent>& regions, uint64_t size);

// The data of `aligned` regions (BlockAligned of `regions`), read from `data`, which holds the
// data of `regions` in order: the bytes the wider regions add are the file's, zeros. Stops at
// the end of `aligned`: what `data` holds beyond is left unread.
class AlignedData final : public SequentialFile {
 public:
  AlignedData(SequentialFile* data, const std::vector<cas::Extent>& regions,
              const std::vector<cas::Extent>& aligned);
  Result<size_t> Read(char* buf, size_t n) override;
  uint64_t Size() const override { return size_; }

 private:
  struct Piece {
    bool data;      // from data_, else zeros
    uint64_t left;  // bytes not yet read
  };
  SequentialFile* data_;
  std::vector<Piece> plan_;
  size_t next_ = 0;
  uint64_t size_ = 0;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_SPARSE_MAP_H_
