// Reading one regular file of a directory source into the store: holes detected, changes
// during the read detected.
#ifndef CAIRN_INDEXER_FILE_READER_H_
#define CAIRN_INDEXER_FILE_READER_H_

#include <sys/stat.h>

#include <string>
#include <vector>

#include "cas/ingestor.h"
#include "cas/tree.h"
#include "indexer/source.h"

namespace cairn::indexer {

struct FileOut {
  std::string path;  // relative to the source root
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
Result<FileOut> ReadAndStoreFile(cas::Ingestor* ingestor, const std::string& path,
                                 const std::string& rel, const struct stat& st,
                                 const CheckinOptions& options);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_FILE_READER_H_
