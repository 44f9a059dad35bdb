// TarInput: the bytes of a tarball as TarSource (indexer/tar_source.cc) hands them to libarchive,
// read from a file or standard input.
//
// Gzip (RFC 1952: input starting 1f 8b) is inflated here with zlib, not by libarchive, whose gzip
// reader checks neither a member's CRC-32 nor its length (ISIZE): a byte flipped in a stored
// deflate block was checked in as data. Every member's trailer is checked, concatenated members
// are read as one stream, and bytes after the last member that do not start another are ignored
// (as gzip -d and libarchive do). Finish reads the input to its end, since libarchive stops at
// the tar end marker, before the last trailer. The other compressions that carry checksums
// (zstd, xz, lzip, bzip2, lz4, lzop: recognised by their magic bytes) are undone here too, by a
// libarchive reader of their own (its "raw" format), so that Finish can read them to their end:
// an lz4 frame's checksum follows its last block, which the tar end marker comes before, and a
// damaged lz4 tarball was checked in as data. Their decoders' errors name the compression and
// are Corruption, as for gzip. compress (.Z) has no checksum and is left to TarSource's reader.
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

  // The next bytes of the tarball, decompressed if it is compressed as above; empty at its end.
  // Valid until the next call. Errors, each naming the tarball and also kept for error():
  // Corruption for damaged or truncated compressed data, ErrnoStatus("read tarball") for a
  // failed read.
  Result<std::string_view> Next();
  // Reads what is left of the input, checking it as Next does (compressed input: to its end,
  // where the last checksum is; nothing is read for other input). Errors as Next.
  Status Finish();

  // The first error Next or Finish returned (ok if none): what a libarchive failure that
  // follows one was caused by.
  const Status& error() const { return error_; }
  // Bytes read from the file so far (compressed, if it is), for a progress line.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  struct Gunzip;  // tar_input.cc
  struct Unpack;  // tar_input.cc

  TarInput(std::string path, int fd, bool own_fd);
  // Reads more input after the `keep` unconsumed bytes at the end of the buffer (moved to its
  // start); sets eof_ at the end of the input.
  Status Fill(size_t keep);
  Result<std::string_view> Inflate();
  // The input's bytes as they are, from the buffer, then from the file.
  Result<std::string_view> Raw();
  Result<std::string_view> Decompress();
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
  std::unique_ptr<Unpack> unpack_;  // null unless the input is compressed otherwise, as above
  Status error_;
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_TAR_INPUT_H_
