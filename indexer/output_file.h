// OutputFile: the file a sink writes a single-file output (a tarball) into before publishing it
// at its target path in one step, so that a failed or killed checkout never leaves a partial
// target and never writes through a name someone else planted beside the target.
//
// The file is made in the target's directory: unnamed (O_TMPFILE) where the filesystem has
// them, so that a process killed before Publish leaves nothing behind; else under a fresh
// unique name ("NAME.cairn-tmp.XXXXXXXX", created with O_EXCL | O_NOFOLLOW, so a symlink or
// file already at a chosen name is never opened, and concurrent checkouts never share one).
// Publish links or renames it to the target; an unpublished file is removed by the destructor.
//
// Thread-compatible: one thread uses an OutputFile.
#ifndef CAIRN_INDEXER_OUTPUT_FILE_H_
#define CAIRN_INDEXER_OUTPUT_FILE_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/result.h"

namespace cairn::indexer {

// A name beside `base` (a path) that no other process picks: `base`.cairn-tmp. and 8 random
// letters and digits. Create it with O_EXCL: whatever already has it is someone else's.
std::string UniqueTempName(const std::string& base);

// Whether a checkout may write its single-file output (a tarball, a disk image) at `target`:
// when nothing is there, when an empty regular file is (as an empty directory takes a directory
// checkout), or with `force`; true when something is there to replace (OutputFile::Publish).
// InvalidArgument naming the target otherwise (exit 2, as for a directory checkout into a
// non-empty directory).
Result<bool> CheckTargetFree(const std::string& target, bool force);

class OutputFile {
 public:
  // Opens the directory of `target` and makes the file in it, writable, with `mode` (less the
  // umask). InvalidArgument if `target` names a directory ("", "x/", ".", ".."); the errno
  // status of open/create otherwise (naming the directory).
  static Result<std::unique_ptr<OutputFile>> Create(const std::string& target, mode_t mode = 0666);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // The descriptor to write to; owned by this object (closed by Publish or the destructor).
  int fd() const { return fd_; }

  // Closes the file and puts it at the target: with `replace` over whatever non-directory is
  // there (rename, which replaces a symlink itself, never its target; a regular file replaced
  // gives the new one its owner, when root, and permission bits), else only if the name is
  // free (AlreadyExists otherwise, atomically: a name created meanwhile is not replaced). After
  // an error the file is removed; Publish is called at most once.
  Status Publish(bool replace);

 private:
  OutputFile(int dirfd, int fd, std::string target, std::string base, std::string name)
      : dirfd_(dirfd),
        fd_(fd),
        target_(std::move(target)),
        base_(std::move(base)),
        name_(std::move(name)) {}
  // Gives the unnamed file the name name_ (a fresh unique one).
  Status LinkUnnamed();

  int dirfd_;
  int fd_;
  std::string target_;  // as given, for messages
  std::string base_;    // the target's name in dirfd_
  std::string name_;    // the temporary name in dirfd_; "" while unnamed (O_TMPFILE)
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_OUTPUT_FILE_H_
