#include "indexer/file_reader.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <memory>
#include <string_view>

#include "indexer/fs_meta.h"
#include "indexer/mapped_file.h"
#include "indexer/zero_blocks.h"

namespace cairn::indexer {
namespace {

// Files up to this size are read whole and stored from memory.
constexpr uint64_t kSmallFile = 1 << 20;

// A SequentialFile over the data regions of an open file (all of it when dense).
class ExtentFile final : public SequentialFile {
 public:
  ExtentFile(int fd, std::string path, std::vector<cas::Extent> extents)
      : fd_(fd), path_(std::move(path)), extents_(std::move(extents)) {
    for (const cas::Extent& x : extents_) size_ += x.length;
  }
  Result<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n && i_ < extents_.size()) {
      const cas::Extent& x = extents_[i_];
      uint64_t left = x.length - pos_;
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, n - done));
      ssize_t r = ::pread(fd_, buf + done, want, static_cast<off_t>(x.offset + pos_));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno);
      }
      if (r == 0) {
        return Status::IOError("read " + path_ + ": file shrank while being read (it is changing)");
      }
      done += static_cast<size_t>(r);
      pos_ += static_cast<uint64_t>(r);
      if (pos_ == x.length) {
        ++i_;
        pos_ = 0;
      }
    }
    total_ += done;
    return done;
  }
  // The bytes the extents hold: what the reads will give, unless the file shrinks.
  uint64_t Size() const override { return size_; }
  uint64_t total() const { return total_; }

 private:
  int fd_;
  std::string path_;
  std::vector<cas::Extent> extents_;
  uint64_t size_ = 0;  // the extents' bytes
  size_t i_ = 0;
  uint64_t pos_ = 0;
  uint64_t total_ = 0;
};

// A SequentialFile over the non-zero blocks of an open file (the kZeroBlocks rule). Reads only
// `regions` (block-aligned: where SEEK_DATA finds data; the rest reads as zeros) and yields each
// block that is not all zero; `scanner` records which those are.
class ZeroBlockFile final : public SequentialFile {
 public:
  ZeroBlockFile(int fd, std::string path, uint64_t size, std::vector<cas::Extent> regions,
                ZeroBlockScanner* scanner)
      : fd_(fd),
        path_(std::move(path)),
        size_(size),
        regions_(std::move(regions)),
        scanner_(scanner) {
    uint64_t bs = scanner->block_size();
    piece_ = std::max<uint64_t>(bs, (uint64_t{1} << 20) / bs * bs);
  }
  Result<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (!pending_.empty()) {
        size_t k = std::min(n - done, pending_.size());
        std::copy_n(pending_.data(), k, buf + done);
        pending_.remove_prefix(k);
        done += k;
        continue;
      }
      if (pos_ == size_) {
        if (!finished_) scanner_->Finish();
        finished_ = true;
        break;
      }
      while (i_ < regions_.size() && regions_[i_].offset + regions_[i_].length <= pos_) ++i_;
      uint64_t next = i_ < regions_.size() ? regions_[i_].offset : size_;
      if (next > pos_) {  // a hole: zeros, not read
        scanner_->FeedZeros(next - pos_);
        pos_ = next;
        continue;
      }
      uint64_t end = std::min(regions_[i_].offset + regions_[i_].length, pos_ + piece_);
      CAIRN_RETURN_IF_ERROR(ReadPiece(end - pos_));
    }
    return done;
  }
  uint64_t Size() const override { return 0; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // Reads `len` bytes at pos_ (a block boundary) and keeps the non-zero blocks in pending_.
  Status ReadPiece(uint64_t len) {
    buf_.resize(static_cast<size_t>(len));
    for (size_t got = 0; got < buf_.size();) {
      ssize_t r =
          ::pread(fd_, buf_.data() + got, buf_.size() - got, static_cast<off_t>(pos_ + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno);
      }
      if (r == 0)
        return Status::IOError("read " + path_ + ": file shrank while being read (it is changing)");
      got += static_cast<size_t>(r);
    }
    bytes_read_ += len;
    pos_ += len;
    // Non-zero blocks are moved to the front of buf_, in order.
    size_t keep = 0;
    std::string_view all(buf_);
    for (size_t at = 0; at < all.size(); at += scanner_->block_size()) {
      std::string_view block = all.substr(at, scanner_->block_size());
      if (scanner_->FeedBlock(block)) continue;
      if (keep != at) std::copy(block.begin(), block.end(), buf_.begin() + static_cast<long>(keep));
      keep += block.size();
    }
    pending_ = std::string_view(buf_.data(), keep);
    return Status();
  }

  int fd_;
  std::string path_;
  uint64_t size_;
  std::vector<cas::Extent> regions_;
  ZeroBlockScanner* scanner_;
  uint64_t piece_;
  size_t i_ = 0;
  uint64_t pos_ = 0;
  bool finished_ = false;
  std::string buf_;
  std::string_view pending_;
  uint64_t bytes_read_ = 0;
};

// `extents` (where SEEK_DATA found data, or nullopt for all of the file) rounded out to whole
// blocks of `bs`, merged.
std::vector<cas::Extent> BlockRegions(const std::optional<std::vector<cas::Extent>>& extents,
                                      uint64_t size, uint64_t bs) {
  std::vector<cas::Extent> in = extents ? *extents : std::vector<cas::Extent>{{0, size}};
  std::vector<cas::Extent> out;
  for (const auto& x : in) {
    uint64_t start = x.offset / bs * bs;
    uint64_t end = std::min(size, (x.offset + x.length + bs - 1) / bs * bs);
    if (!out.empty() && start <= out.back().offset + out.back().length) {
      out.back().length = std::max(out.back().offset + out.back().length, end) - out.back().offset;
    } else {
      out.push_back({start, end - start});
    }
  }
  return out;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status Changed(const std::string& path) {
  return Status::IOError("read " + path + ": file changed during checkin (the tree is changing)");
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// The kZeroBlocks rule for a file its allocation says is sparse: its content is its non-zero
// blocks of the filesystem's block size.
Result<FileOut> StoreZeroBlocks(cas::Ingestor* ingestor, int fd, const std::string& path,
                                const struct stat& before, FileOut out) {
  const uint64_t size = static_cast<uint64_t>(before.st_size);
  struct statvfs vfs;
  if (::fstatvfs(fd, &vfs) != 0) return ErrnoStatus("statvfs", path, errno);
  if (vfs.f_bsize == 0) return Status::IOError("statvfs " + path + ": block size 0");
  CAIRN_ASSIGN_OR_RETURN(auto seek, DataExtents(fd, size, path));
  ZeroBlockScanner scanner(vfs.f_bsize);
  ZeroBlockFile file(fd, path, size, BlockRegions(seek, size, vfs.f_bsize), &scanner);
  CAIRN_ASSIGN_OR_RETURN(out.content, ingestor->PutStream(&file, path));
  struct stat after;
  if (::fstat(fd, &after) != 0) return ErrnoStatus("stat", path, errno);
  if (scanner.size() != size || !SameFile(before, after)) return Changed(path);
  out.bytes_read = file.bytes_read();
  const auto& data = scanner.data();
  out.sparse = !(data.size() == 1 && data[0].offset == 0 && data[0].length == size);
  if (out.sparse) out.extents = data;
  return out;
}

// Opens `path` (walked as `st`) for reading and checks that it is still that file. False: it
// is unreadable and options.skip_unreadable says to skip it.
// `out_of_fds` (if set) says whether it failed for want of file descriptors.
// `root_fd`: see ReadAndStoreFile.
Result<bool> OpenChecked(const std::string& path, const std::string& rel, int root_fd,
                         const struct stat& st, const CheckinOptions& options, Fd* f,
                         struct stat* before, bool* out_of_fds = nullptr) {
  PathAt p(root_fd, root_fd == AT_FDCWD ? path : rel);
  f->fd = p.error() != 0
              ? -1
              : ::openat(p.at(), p.name(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (p.error() != 0) {
    errno = p.error();
  } else if (f->fd < 0 && errno == EPERM) {
    f->fd = ::openat(p.at(), p.name(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (f->fd < 0) {
    if (out_of_fds != nullptr) *out_of_fds = errno == EMFILE || errno == ENFILE;
    if (options.skip_unreadable && (errno == EACCES || errno == EPERM || errno == EIO)) {
      return false;
    }
    if (errno == ENOENT || errno == ELOOP) return Changed(path);
    return ErrnoStatus("open", path, errno);
  }
  if (::fstat(f->fd, before) != 0) return ErrnoStatus("stat", path, errno);
  if (before->st_ino != st.st_ino || before->st_dev != st.st_dev || before->st_size != st.st_size ||
      before->st_mtim.tv_sec != st.st_mtim.tv_sec ||
      before->st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
    return Changed(path);
  }
  return true;
}

// A read that failed with EIO leaves the file out under --skip-unreadable.
bool SkipsAsUnreadable(const Status& s, const CheckinOptions& options) {
  return options.skip_unreadable && s.code() == Code::kIOError &&
         s.message().find("Input/output error") != std::string::npos;
}

// Whether the file's status changed since `before` (its content may have).
bool ChangedSince(int fd, const struct stat& before, const std::string& path, Status* error) {
  struct stat after;
  if (::fstat(fd, &after) != 0) {
    *error = ErrnoStatus("stat", path, errno);
    return true;
  }
  return after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
         after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
         after.st_ctim.tv_nsec != before.st_ctim.tv_nsec;
}

// ReadAndStoreFile once the file is open and checked.
Result<FileOut> StoreOpened(cas::Ingestor* ingestor, int fd, const std::string& path,
                            const struct stat& before, const CheckinOptions& options, FileOut out) {
  const uint64_t size = static_cast<uint64_t>(before.st_size);
  const bool zero_blocks = options.holes == CheckinOptions::HoleRule::kZeroBlocks;
  if (zero_blocks && AllocationSaysSparse(size, static_cast<uint64_t>(before.st_blocks))) {
    FileOut skipped = out;
    skipped.skipped = true;
    Result<FileOut> r = StoreZeroBlocks(ingestor, fd, path, before, std::move(out));
    if (!r && SkipsAsUnreadable(r.error(), options)) return skipped;
    return r;
  }
  std::optional<std::vector<cas::Extent>> extents;
  if (!zero_blocks) {
    CAIRN_ASSIGN_OR_RETURN(extents, DataExtents(fd, size, path));
  }
  std::vector<cas::Extent> regions = extents ? *extents : std::vector<cas::Extent>{{0, size}};
  if (size == 0) regions.clear();
  uint64_t expect = 0;
  for (const auto& x : regions) expect += x.length;
  ExtentFile file(fd, path, regions);
  Result<cas::FileContent> content = Status::Internal("unreachable");
  bool mapped = false;
  if (!extents && size <= kSmallFile) {
    // Each reading thread reuses one buffer (PutBytes is done with it when it returns): a
    // string per file was zero-filled first, and its fresh pages faulted in.
    thread_local std::unique_ptr<char[]> buffer =
        std::make_unique_for_overwrite<char[]>(kSmallFile);
    Result<size_t> n = file.Read(buffer.get(), size);
    if (!n && SkipsAsUnreadable(n.error(), options)) {  // as a failed read of any other size
      out.skipped = true;
      return out;
    }
    CAIRN_RETURN_IF_ERROR(n.status());
    if (*n != size) return Changed(path);
    content = ingestor->PutBytes(std::string_view(buffer.get(), size));
  } else if (std::unique_ptr<MappedFile> map =
                 extents ? nullptr : MappedFile::Map(fd, size, path)) {
    // A large dense file is hashed and compressed where the page cache holds it (under a read
    // lease that keeps its size: indexer/mapped_file.h), a piece faulted in at a time.
    content = ingestor->PutView(map->data(), path,
                                [&](size_t offset, size_t n) { return map->Populate(offset, n); });
    mapped = true;
  } else {
    content = ingestor->PutStream(&file, path);
  }
  if (!content) {
    if (SkipsAsUnreadable(content.error(), options)) {
      out.skipped = true;
      return out;
    }
    return std::move(content).error();
  }
  Status error;
  if (ChangedSince(fd, before, path, &error) || (!mapped && file.total() != expect)) {
    if (!error.ok()) return error;
    return Changed(path);
  }
  out.content = *content;
  out.bytes_read = expect;
  out.sparse = extents.has_value();
  if (extents) out.extents = std::move(*extents);
  return out;
}

// The io_uring and buffer of each reading thread, for ReadAndStoreFiles. No ring where the
// kernel refuses one (the files are then read one by one).
struct BatchReader {
  io_uring ring;
  bool ok = false;
  std::unique_ptr<char[]> buffer = std::make_unique_for_overwrite<char[]>(kBatchedBytesMax);
  BatchReader() { ok = io_uring_queue_init(kBatchedFilesMax, &ring, 0) == 0; }
  ~BatchReader() {
    if (ok) io_uring_queue_exit(&ring);
  }
  // After a failure of the ring itself: reads the kernel did not take stay queued in it, and
  // reads it took may still land in the buffer, so neither is used again (the buffer is left
  // to them).
  void Abandon() {
    ok = false;
    (void)buffer.release();
    buffer = std::make_unique_for_overwrite<char[]>(kBatchedBytesMax);
  }
};

BatchReader& ThisThreadsReader() {
  thread_local BatchReader r;
  return r;
}

// Reads [from, n) of `fd` into `buf` with pread: what io_uring left unread.
Status ReadRest(int fd, char* buf, size_t from, size_t n, const std::string& path) {
  while (from < n) {
    ssize_t r = ::pread(fd, buf + from, n - from, static_cast<off_t>(from));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (r == 0) return Changed(path);
    from += static_cast<size_t>(r);
  }
  return Status();
}

}  // namespace

Result<FileOut> ReadAndStoreFile(cas::Ingestor* ingestor, const std::string& path,
                                 const std::string& rel, const struct stat& st,
                                 const CheckinOptions& options, int root_fd) {
  FileOut out;
  Fd f;
  struct stat before;
  CAIRN_ASSIGN_OR_RETURN(bool opened, OpenChecked(path, rel, root_fd, st, options, &f, &before));
  if (!opened) {
    out.skipped = true;
    return out;
  }
  return StoreOpened(ingestor, f.fd, path, before, options, std::move(out));
}

std::vector<Result<FileOut>> ReadAndStoreFiles(cas::Ingestor* ingestor,
                                               const std::vector<FileToStore>& files,
                                               const CheckinOptions& options, int root_fd) {
  std::vector<Result<FileOut>> out(files.size(), Status::Internal("not read"));
  std::vector<Fd> fds(files.size());
  std::vector<struct stat> before(files.size());
  // The dense small files, read from one buffer: their index in `files` and offset in it.
  struct Plain {
    size_t i;
    size_t offset;
    size_t size;
    Status read;
  };
  std::vector<Plain> plain;
  BatchReader& reader = ThisThreadsReader();
  size_t used = 0;
  // Files that found no descriptor free while the batch held the others open: read alone at
  // the end, once the batch's are closed.
  std::vector<size_t> later;
  const bool zero_blocks = options.holes == CheckinOptions::HoleRule::kZeroBlocks;
  for (size_t i = 0; i < files.size(); ++i) {
    const FileToStore& file = files[i];
    FileOut fo;
    bool out_of_fds = false;
    Result<bool> opened = OpenChecked(file.path, file.rel, root_fd, file.st, options, &fds[i],
                                      &before[i], &out_of_fds);
    if (out_of_fds) {
      later.push_back(i);
      continue;
    }
    if (!opened || !*opened) {
      fo.skipped = true;
      out[i] = opened ? Result<FileOut>(std::move(fo)) : Result<FileOut>(opened.error());
      continue;
    }
    const uint64_t size = static_cast<uint64_t>(before[i].st_size);
    bool dense = size <= kBatchedFileMax && used + size <= kBatchedBytesMax &&
                 plain.size() < kBatchedFilesMax;
    if (dense && zero_blocks) {
      dense = !AllocationSaysSparse(size, static_cast<uint64_t>(before[i].st_blocks));
    } else if (dense) {
      Result<std::optional<std::vector<cas::Extent>>> holes =
          DataExtents(fds[i].fd, size, file.path);
      if (!holes) {
        out[i] = holes.error();
        continue;
      }
      dense = !holes->has_value();
    }
    if (!dense) {
      out[i] = StoreOpened(ingestor, fds[i].fd, file.path, before[i], options, std::move(fo));
      continue;
    }
    plain.push_back({i, used, static_cast<size_t>(size), Status()});
    used += static_cast<size_t>(size);
  }
  // One submission for all of them: the kernel queues the reads together, and the disk's
  // scheduler merges those of neighbouring blocks (files written together lie together).
  std::vector<size_t> got(plain.size(), 0);
  if (plain.size() > 1 && reader.ok) {
    io_uring* ring = &reader.ring;
    unsigned queued = 0;
    for (size_t k = 0; k < plain.size(); ++k) {
      if (plain[k].size == 0) continue;
      io_uring_sqe* sqe = io_uring_get_sqe(ring);
      if (sqe == nullptr) break;  // the rest is read below
      io_uring_prep_read(sqe, fds[plain[k].i].fd, reader.buffer.get() + plain[k].offset,
                         static_cast<unsigned>(plain[k].size), 0);
      io_uring_sqe_set_data64(sqe, k);
      ++queued;
    }
    unsigned submitted = 0;
    while (submitted < queued) {
      int r = io_uring_submit(ring);
      if (r == -EINTR) continue;
      if (r <= 0) break;
      submitted += static_cast<unsigned>(r);
    }
    bool abandon = submitted < queued;
    for (unsigned done = 0; done < submitted;) {
      io_uring_cqe* cqe;
      int w = io_uring_wait_cqe(ring, &cqe);
      if (w == -EINTR) continue;
      if (w < 0) {
        abandon = true;
        break;
      }
      ++done;
      const size_t k = static_cast<size_t>(io_uring_cqe_get_data64(cqe));
      if (cqe->res >= 0) {
        got[k] = static_cast<size_t>(cqe->res);  // a short read is finished below
      } else if (cqe->res != -EAGAIN && cqe->res != -EINTR) {
        plain[k].read = ErrnoStatus("read", files[plain[k].i].path, -cqe->res);
      }
      io_uring_cqe_seen(ring, cqe);
    }
    if (abandon) {
      // Nothing read through the ring is trusted: all of it is read again below.
      reader.Abandon();
      std::fill(got.begin(), got.end(), 0);
      for (Plain& p : plain) p.read = Status();
    }
  }
  for (size_t k = 0; k < plain.size(); ++k) {
    Plain& p = plain[k];
    const FileToStore& file = files[p.i];
    const int fd = fds[p.i].fd;
    char* data = reader.buffer.get() + p.offset;
    if (p.read.ok()) p.read = ReadRest(fd, data, got[k], p.size, file.path);
    FileOut fo;
    if (!p.read.ok()) {
      fo.skipped = true;
      out[p.i] = SkipsAsUnreadable(p.read, options) ? Result<FileOut>(std::move(fo))
                                                    : Result<FileOut>(p.read);
      continue;
    }
    Result<cas::FileContent> content = ingestor->PutBytes(std::string_view(data, p.size));
    if (!content) {
      out[p.i] = content.error();
      continue;
    }
    Status error;
    if (ChangedSince(fd, before[p.i], file.path, &error)) {
      out[p.i] = error.ok() ? Changed(file.path) : error;
      continue;
    }
    fo.content = *content;
    fo.bytes_read = p.size;
    out[p.i] = std::move(fo);
  }
  fds.clear();
  for (size_t i : later) {
    out[i] = ReadAndStoreFile(ingestor, files[i].path, files[i].rel, files[i].st, options, root_fd);
  }
  return out;
}

namespace testing {
void StopBatchedReadsOnThisThread() { ThisThreadsReader().Abandon(); }
bool BatchedReadsOnThisThread() { return ThisThreadsReader().ok; }
}  // namespace testing

}  // namespace cairn::indexer
