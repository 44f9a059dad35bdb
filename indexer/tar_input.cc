// TarInput: a tarball's bytes for libarchive, gzip inflated and checked (indexer/tar_input.h).
#include "indexer/tar_input.h"

#include <archive.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace cairn::indexer {
namespace {

// Bytes read from the input, and inflated, at a time.
constexpr size_t kBlock = 1 << 18;

// The compression `head`, the input's first bytes, starts, when it is one whose data carries
// checksums and is not gzip: zstd, xz, bzip2, lz4 (frame, legacy), lzip, lzop; "" otherwise.
std::string_view CheckedCompression(std::string_view head) {
  using namespace std::string_view_literals;
  for (auto [magic, name] : {std::pair{"\x28\xb5\x2f\xfd"sv, "zstd"sv},
                             {"\xfd\x37\x7a\x58\x5a\x00"sv, "xz"sv},
                             {"BZh"sv, "bzip2"sv},
                             {"\x04\x22\x4d\x18"sv, "lz4"sv},
                             {"\x02\x21\x4c\x18"sv, "lz4"sv},
                             {"LZIP"sv, "lzip"sv},
                             {"\x89\x4c\x5a\x4f\x00\x0d\x0a\x1a\x0a"sv, "lzop"sv}}) {
    if (head.starts_with(magic)) return name;
  }
  return "";
}

}  // namespace

// A libarchive reader of the "raw" format over the input: its filters undo the compression and
// check its checksums, to the end of the input.
struct TarInput::Unpack {
  struct archive* a = archive_read_new();
  std::string out = std::string(kBlock, '\0');
  std::string name;  // the compression (CheckedCompression)
  ~Unpack() { archive_read_free(a); }
};

struct TarInput::Gunzip {
  z_stream z{};
  std::string out = std::string(kBlock, '\0');
  bool in_member = true;  // the current member's trailer is not yet read
  ~Gunzip() { inflateEnd(&z); }
};

TarInput::TarInput(std::string path, int fd, bool own_fd)
    : path_(std::move(path)), fd_(fd), own_fd_(own_fd), in_(kBlock, '\0') {}

TarInput::~TarInput() {
  if (own_fd_) ::close(fd_);
}

Result<std::unique_ptr<TarInput>> TarInput::Open(const std::string& path) {
  int fd = STDIN_FILENO;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open tarball", path, errno);
  }
  std::unique_ptr<TarInput> in(new TarInput(path, fd, path != "-"));
  while (in->end_ < 9 && !in->eof_) CAIRN_RETURN_IF_ERROR(in->Fill(in->end_));
  if (in->end_ >= 2 && in->in_[0] == '\x1f' && in->in_[1] == '\x8b') {
    in->gunzip_ = std::make_unique<Gunzip>();
    // 16 + MAX_WBITS: a gzip wrapper, whose trailer inflate checks.
    if (inflateInit2(&in->gunzip_->z, 16 + MAX_WBITS) != Z_OK) {
      return Status::Internal("read tarball " + path + ": zlib inflateInit2 failed");
    }
  } else if (std::string_view compression =
                 CheckedCompression(std::string_view(in->in_.data(), in->end_));
             !compression.empty()) {
    in->unpack_ = std::make_unique<Unpack>();
    in->unpack_->name = compression;
    struct archive* a = in->unpack_->a;
    if (a == nullptr) return Status::Internal("read tarball " + path + ": out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    archive_read_support_format_empty(a);  // raw takes no empty stream: an empty tarball
    auto read = [](struct archive* a, void* client, const void** buf) -> la_ssize_t {
      Result<std::string_view> bytes = static_cast<TarInput*>(client)->Raw();
      if (!bytes) {
        archive_set_error(a, EIO, "%s", bytes.error().message().c_str());
        return -1;
      }
      *buf = bytes->data();
      return static_cast<la_ssize_t>(bytes->size());
    };
    struct archive_entry* e;
    const int opened = archive_read_open(a, in.get(), nullptr, read, nullptr);
    const int r = opened == ARCHIVE_OK ? archive_read_next_header(a, &e) : opened;
    if (r == ARCHIVE_EOF) {
      in->done_ = true;  // nothing compressed: an empty tarball, an empty tree
    } else if (r != ARCHIVE_OK) {
      if (!in->error_.ok()) return in->error_;
      const char* why = archive_error_string(a);
      return Status::Corruption("read tarball " + path + ": damaged " + in->unpack_->name +
                                " data: " + (why != nullptr ? why : "unreadable"));
    }
  }
  return in;
}

Status TarInput::Fail(Status s) {
  if (error_.ok()) error_ = s;
  return s;
}

Status TarInput::Fill(size_t keep) {
  std::memmove(in_.data(), in_.data() + end_ - keep, keep);
  pos_ = 0;
  end_ = keep;
  for (;;) {
    ssize_t n = ::read(fd_, in_.data() + end_, in_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(ErrnoStatus("read tarball", path_, errno));
    if (n == 0) eof_ = true;
    end_ += static_cast<size_t>(n);
    bytes_read_ += static_cast<uint64_t>(n);
    return Status();
  }
}

Result<std::string_view> TarInput::Next() {
  if (!error_.ok()) return error_;
  if (gunzip_ != nullptr) return Inflate();
  if (unpack_ != nullptr) return Decompress();
  return Raw();
}

Result<std::string_view> TarInput::Raw() {
  if (!error_.ok()) return error_;
  if (pos_ == end_ && !eof_) CAIRN_RETURN_IF_ERROR(Fill(0));
  std::string_view out(in_.data() + pos_, end_ - pos_);
  pos_ = end_;
  return out;
}

Result<std::string_view> TarInput::Decompress() {
  Unpack& u = *unpack_;
  if (done_) return std::string_view();
  const la_ssize_t n = archive_read_data(u.a, u.out.data(), u.out.size());
  if (n < 0) {
    if (!error_.ok()) return error_;
    const char* why = archive_error_string(u.a);
    return Fail(Status::Corruption("read tarball " + path_ + ": damaged " + u.name +
                                   " data: " + (why != nullptr ? why : "unreadable")));
  }
  if (n == 0) done_ = true;
  return std::string_view(u.out.data(), static_cast<size_t>(n));
}

Result<std::string_view> TarInput::Inflate() {
  Gunzip& g = *gunzip_;
  for (;;) {
    if (done_) return std::string_view();
    if (!g.in_member) {
      // A member ended: another starts here (1f 8b), or the gzip data ends.
      if (end_ - pos_ < 2 && !eof_) {
        CAIRN_RETURN_IF_ERROR(Fill(end_ - pos_));
        continue;
      }
      if (end_ - pos_ < 2 || in_[pos_] != '\x1f' || in_[pos_ + 1] != '\x8b') {
        done_ = true;
        continue;
      }
      inflateReset(&g.z);
      g.in_member = true;
    }
    if (pos_ == end_) {
      if (eof_) {
        return Fail(Status::Corruption("read tarball " + path_ +
                                       ": gzip data truncated: it ends before the trailer "
                                       "(CRC-32 and length) of its last member"));
      }
      CAIRN_RETURN_IF_ERROR(Fill(0));
      continue;
    }
    g.z.next_in = reinterpret_cast<Bytef*>(in_.data() + pos_);
    g.z.avail_in = static_cast<uInt>(end_ - pos_);
    g.z.next_out = reinterpret_cast<Bytef*>(g.out.data());
    g.z.avail_out = static_cast<uInt>(g.out.size());
    const int r = inflate(&g.z, Z_NO_FLUSH);
    pos_ = end_ - g.z.avail_in;
    const size_t produced = g.out.size() - g.z.avail_out;
    if (r == Z_STREAM_END) {
      g.in_member = false;
    } else if (r == Z_DATA_ERROR) {
      std::string why = g.z.msg != nullptr ? g.z.msg : "invalid data";
      if (why == "incorrect data check") why = "its CRC-32 does not match the data";
      if (why == "incorrect length check") why = "its length (ISIZE) does not match the data";
      return Fail(Status::Corruption("read tarball " + path_ + ": damaged gzip data: " + why));
    } else if (r == Z_MEM_ERROR) {
      return Fail(Status::Internal("read tarball " + path_ + ": zlib: out of memory"));
    } else if (r != Z_OK && r != Z_BUF_ERROR) {
      return Fail(Status::Internal("read tarball " + path_ + ": zlib inflate returned " +
                                   std::to_string(r)));
    }
    if (produced > 0) return std::string_view(g.out.data(), produced);
  }
}

Status TarInput::Finish() {
  if (!error_.ok()) return error_;
  if (gunzip_ == nullptr && unpack_ == nullptr) return Status();
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(std::string_view bytes, Next());
    if (bytes.empty()) return Status();
  }
}

}  // namespace cairn::indexer
