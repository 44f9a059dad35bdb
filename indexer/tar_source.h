// TarSource: checks in a tarball (tar, tar.gz, tar.zst, ...; the format is detected) through
// libarchive: pax headers with xattrs, GNU sparse files, device nodes, hard links. A tree checked
// in from a directory and from its tarball get the same root id.
#ifndef CAIRN_INDEXER_TAR_SOURCE_H_
#define CAIRN_INDEXER_TAR_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "indexer/source.h"

namespace cairn::indexer {

// Errors: Corruption naming the tarball when it is truncated, damaged or not an archive;
// InvalidArgument naming the entry for a ".." component, a hard link to an entry not read
// before it, or a path beneath a non-directory. Leading '/' are stripped, as GNU tar does; a
// later entry of the same name replaces the earlier; missing parent directories are made with
// mode 0755, owner 0:0, mtime 0 (details: tar_source.cc).
class TarReader;  // tar_source.cc

class TarSource : public Source {
 public:
  // kBounded: directories the entries have left are stored as they are left (memory: the
  // entries of the directories still open). kWholeTree: every entry is held until Store, as a
  // reference for tests and fuzzing; the Trees are the same.
  enum class Memory { kBounded, kWholeTree };
  explicit TarSource(std::string path, Memory memory = Memory::kBounded);
  ~TarSource() override;
  // Read, then Store.
  Result<CheckinResult> Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) override;

  // In two steps, for the disk source (tar-out of a filesystem cannot show its holes):
  // Read stores every content; with zero_block_size > 0 it also notes the regular files (dense
  // entries) holding an aligned all-zero block of that size (indexer/zero_blocks.h). Then the
  // caller may record some of those sparse (MakeSparse), and Store stores the Trees.
  // `ingestor` and `options` must outlive the TarSource. REQUIRES: Read called once, first.
  Status Read(cas::Ingestor* ingestor, const CheckinOptions& options, uint64_t zero_block_size = 0);
  // The files noted by Read, as paths relative to the root, in the order read.
  std::vector<std::string> ZeroBlockFiles() const;
  // Records `path` (one of ZeroBlockFiles) sparse by the zero-block rule: its content becomes
  // its non-zero blocks (read back from the store after the ingestor's pending objects are
  // written), and every hard link to it changes with it. InvalidArgument when `path` is not one
  // of them.
  Status MakeSparse(const std::string& path);
  // Stores the Trees and returns the result. REQUIRES: Read succeeded.
  Result<CheckinResult> Store();
  // The most entries (files, directories, links...) Read held in memory at once: those of the
  // directories its entries had not left, not the tarball's (tar_source.cc).
  size_t peak_entries_held() const;
  // The directories' Trees Read stored: one per directory, more for directories its entries came
  // back to (an appended tarball, hard links into a directory left).
  size_t trees_sealed() const;

 private:
  std::string path_;
  Memory memory_;
  std::unique_ptr<TarReader> reader_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_TAR_SOURCE_H_
