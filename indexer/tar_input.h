// TarInput: the bytes of a tarball as TarSource (indexer/tar_source.cc) hands them to libarchive,
// read from a file or standard input.
//
// Gzip (RFC 1952: input starting 1f 8b) is inflated here with zlib, not by libarchive, whose gzip
// reader checks neither a member's CRC-32 nor its length (ISIZE): a byte flipped in a stored
// deflate block was checked in as data. Every member's trailer is checked, concatenated members
// are read as one stream, and bytes after the last member that do not start another are ignored
// (as gzip -d and libarchive do). Finish reads the input to its end, since libarchive stops at
// the tar end marker, before the last trailer. Other compressions are left to libarchive: zstd,
// xz, lzip, bzip2 and lz4 carry checksums their decoders check; compress (.Z) has none.
//
// Thread-safety: none; one thread at a time.
#ifndef CAIRN_INDEXER_TAR_INPUT_H_
#define CAIRN_INDEXER_TAR_INPUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace cairn::indexer {

class TarInput {
 public:
  // Opens `path` ("-": standard input, which is not closed). Errors as ErrnoStatus("open
  // tarball", path).
  static Result<std::unique_ptr<TarInput>> Open(const std::string& path);
  ~TarInput();
  TarInput(const TarInput&) = delete;
  TarInput& operator=(const TarInput&) = delete;

  // The next bytes of the tarball, inflated if it is gzip; empty at its end. Valid until the next
  // call. Errors, each naming the tarball and also kept for error(): Corruption for damaged or
  // truncated gzip, ErrnoStatus("read tarball") for a failed read.
  Result<std::string_view> Next();
  // Reads what is left of the input, checking it as Next does (for gzip: to the last trailer;
  // nothing is read for other input). Errors as Next.
  Status Finish();

  // The first error Next or Finish returned (ok if none): what a libarchive failure that
  // follows one was caused by.
  const Status& error() const { return error_; }
  // Bytes read from the file so far (compressed, if it is), for a progress line.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  struct Gunzip;  // tar_input.cc

  TarInput(std::string path, int fd, bool own_fd);
  // Reads more input after the `keep` unconsumed bytes at the end of the buffer (moved to its
  // start); sets eof_ at the end of the input.
  Status Fill(size_t keep);
  Result<std::string_view> Inflate();
  Status Fail(Status s);

  std::string path_;
  int fd_;
  bool own_fd_;
  std::string in_;  // input read, in_[pos_, end_) not yet consumed
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;   // the input has no more bytes
  bool done_ = false;  // the tarball's bytes end (gzip: the last member ended)
  uint64_t bytes_read_ = 0;
  std::unique_ptr<Gunzip> gunzip_;  // null unless the input is gzip
  Status error_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_TAR_INPUT_H_
