// Reading one regular file of a directory source into the store: holes detected, changes
// during the read detected.
#ifndef CAIRN_INDEXER_FILE_READER_H_
#define CAIRN_INDEXER_FILE_READER_H_

#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "cas/ingestor.h"
#include "cas/tree.h"
#include "indexer/source.h"

namespace cairn::indexer {

struct FileOut {
  bool skipped = false;
  cas::FileContent content;
  bool sparse = false;
  std::vector<cas::Extent> extents;
  uint64_t bytes_read = 0;
  bool from_cache = false;
};

// Stores the file at `path` (walked as `st`). IOError naming the file if it changed between
// the walk and the end of the read; unreadable files are skipped (not an error) when
// options.skip_unreadable. (The walk consults and records the stat cache.)
// `root_fd`: AT_FDCWD opens `path`; else a descriptor of the source root (O_PATH will do), open
// for the call, from which `rel` is opened: the kernel then looks up only the components
// beneath the root (`__d_lookup_rcu` took 6.6% of a checkin of 200,000 small files).
Result<FileOut> ReadAndStoreFile(cas::Ingestor* ingestor, const std::string& path,
                                 const std::string& rel, const struct stat& st,
                                 const CheckinOptions& options, int root_fd = AT_FDCWD);

// A regular file the walk found, for ReadAndStoreFiles.
struct FileToStore {
  std::string path;
  std::string rel;
  struct stat st;
};

// ReadAndStoreFiles reads at most this many dense files up to kBatchedFileMax bytes, and this
// many bytes of them, in one submission; more, larger or sparse files it reads one by one.
inline constexpr unsigned kBatchedFilesMax = 64;
inline constexpr uint64_t kBatchedFileMax = 128 << 10;
inline constexpr uint64_t kBatchedBytesMax = 2 << 20;

// Stores each of `files` as ReadAndStoreFile would, one result each, in order. The small dense
// ones are read with one io_uring submission (one by one where the kernel has none): a tree of
// small files read a file at a time from a cold cache waits on one small read after another,
// where queued together the disk's scheduler merges the reads of neighbouring files.
// `root_fd`: as for ReadAndStoreFile.
std::vector<Result<FileOut>> ReadAndStoreFiles(cas::Ingestor* ingestor,
                                               const std::vector<FileToStore>& files,
                                               const CheckinOptions& options,
                                               int root_fd = AT_FDCWD);

namespace testing {
// Makes ReadAndStoreFiles on the calling thread read one file at a time from now on, as on a
// kernel without io_uring.
void StopBatchedReadsOnThisThread();
// Whether ReadAndStoreFiles on the calling thread reads through io_uring.
bool BatchedReadsOnThisThread();
}  // namespace testing

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_FILE_READER_H_
