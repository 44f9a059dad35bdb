// TarSink: writes a stored tree as a pax tarball that TarSource reads back to the same root id
// and that GNU tar (as root, with --xattrs --xattrs-include='*' --acls --numeric-owner)
// extracts to the same tree, but for xattr names with bytes outside '!'..'~': libarchive
// escapes those as %XX, which GNU tar does not undo (docs/cli.md, Tarballs).
//
// Layout: the root directory first as "./" (it carries the root's metadata), then every entry
// in depth-first byte order, a directory before its contents, names relative ("etc/passwd").
// A name that is not UTF-8 is written as raw bytes (libarchive falls back to pax
// hdrcharset=BINARY for it), so it survives. Xattrs (security.capability and system.posix_acl_*
// included) go in SCHILY.xattr and LIBARCHIVE.xattr records (GNU tar reads the first and warns
// about the second), ACLs also as SCHILY.acl records (which GNU tar --acls restores from);
// mtimes carry nanoseconds (written as their decimal value, -1.5 for half a second before
// -1, as GNU tar writes them; but for a time in the second before 1970, written as -1);
// owners are numeric only. Of a hardlink
// group, the name the walk meets first is a regular entry and the others hard links to it.
// Sparse files are GNU sparse 1.0 entries holding only their data regions, written at a cost
// in their data, not their size. Sockets cannot be
// stored in a tarball and are left out, as GNU tar does; CheckoutResult::left_out names them.
#include "indexer/tar_sink.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "cas/content_reader.h"
#include "cas/tree.h"
#include "cas/tree_reader.h"
#include "indexer/output_file.h"

namespace cairn::indexer {
namespace {

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<struct archive_entry, EntryDeleter>;

// The one conversion point from libarchive errors in this file.
Status ArchiveStatus(struct archive* a, const std::string& target, std::string_view what) {
  const char* msg = archive_error_string(a);
  std::string text = "write tarball " + target;
  if (!what.empty()) text += " at '" + std::string(what) + "'";
  text += ": ";
  text += msg != nullptr ? msg : "unknown libarchive error";
  int err = archive_errno(a);
  if (err == ENOSPC) return Status::NoSpace(std::move(text));
  if (err == EACCES || err == EPERM) return Status::PermissionDenied(std::move(text));
  return Status::IOError(std::move(text));
}

// Where the tarball's bytes go: libarchive's raw format, which hands them on as they come to
// the compression filter and the file. The pax formatters write into it unbuffered
// (Callback), and a sparse file's data regions go into it around them (Writer::WriteSparse).
class Output {
 public:
  explicit Output(std::string target) : target_(std::move(target)) {}

  // Opens the output on `fd` (not owned), compressed as `format` says.
  Status Open(const std::string& format, int fd) {
    a_.reset(archive_write_new());
    if (!a_) return Status::Internal("write tarball " + target_ + ": out of memory");
    int r = archive_write_set_format_raw(a_.get());
    if (r == ARCHIVE_OK && format == "tar.gz") r = archive_write_add_filter_gzip(a_.get());
    if (r == ARCHIVE_OK && format == "tar.zst") r = archive_write_add_filter_zstd(a_.get());
    if (r == ARCHIVE_OK && format == "tar.xz") r = archive_write_add_filter_xz(a_.get());
    if (r == ARCHIVE_OK && format == "tar.bz2") r = archive_write_add_filter_bzip2(a_.get());
    // Nothing after the last compressed byte: libarchive pads the last block with zeros when
    // the output is a terminal, a pipe or standard output, which zstd and bzip2 refuse as
    // trailing garbage (`checkout NAME - --format tar.zst | zstd -t` failed).
    if (r == ARCHIVE_OK) r = archive_write_set_bytes_in_last_block(a_.get(), 1);
    if (r == ARCHIVE_OK) r = archive_write_open_fd(a_.get(), fd);
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), "tarball");
    archive_entry_set_filetype(e.get(), AE_IFREG);
    if (r == ARCHIVE_OK) r = archive_write_header(a_.get(), e.get());
    if (r != ARCHIVE_OK) return ArchiveStatus(a_.get(), target_, "");
    return Status();
  }

  Status Write(const void* p, size_t n) {
    if (!error_.ok()) return error_;
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      la_ssize_t w = archive_write_data(a_.get(), c, n);
      if (w <= 0) {
        error_ = ArchiveStatus(a_.get(), target_, "");
        return error_;
      }
      c += w;
      n -= static_cast<size_t>(w);
    }
    return Status();
  }

  Status WriteZeros(size_t n) {
    static const char kZeros[512] = {};
    while (n > 0) {
      size_t k = std::min(n, sizeof(kZeros));
      CAIRN_RETURN_IF_ERROR(Write(kZeros, k));
      n -= k;
    }
    return Status();
  }

  Status Close() {
    if (!error_.ok()) return error_;
    if (archive_write_close(a_.get()) != ARCHIVE_OK) error_ = ArchiveStatus(a_.get(), target_, "");
    return error_;
  }

  // The first error of a write, if any: what a pax formatter's failure comes from.
  const Status& error() const { return error_; }

  // While set, what the formatters write is dropped (a sparse file's formatter, closed).
  void set_discard(bool discard) { discard_ = discard; }

  // Opens pax formatter `a` (new) to write into this output unbuffered.
  Status OpenFormatter(struct archive* a) {
    if (archive_write_set_format_pax(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
        archive_write_open(a, this, nullptr, &Output::Callback, nullptr) != ARCHIVE_OK) {
      return ArchiveStatus(a, target_, "");
    }
    return Status();
  }

 private:
  static la_ssize_t Callback(struct archive*, void* self, const void* p, size_t n) {
    Output* out = static_cast<Output*>(self);
    if (out->discard_) return static_cast<la_ssize_t>(n);
    if (!out->Write(p, n).ok()) return -1;
    return static_cast<la_ssize_t>(n);
  }

  std::string target_;
  ArchivePtr a_;
  Status error_;
  bool discard_ = false;
};

class Writer {
 public:
  Writer(struct archive* a, Output* out, cas::ObjectStore* store, std::string target,
         const CheckoutOptions& options)
      : a_(a),
        out_(out),
        store_(store),
        reader_(store),
        target_(std::move(target)),
        options_(options) {}

  Result<CheckoutResult> Run(const ObjectId& root) {
    CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, cas::LoadTree(store_, root));
    for (size_t g = 0; g < tree.hardlinks.size(); ++g) {
      for (const auto& p : tree.hardlinks[g]) {
        if (!cas::IsSafeRelativePath(p)) {
          return Status::Corruption("checkout: hard link path '" + p + "' is not a safe path");
        }
        link_group_[p] = g;
      }
    }
    first_written_.resize(tree.hardlinks.size());
    CAIRN_RETURN_IF_ERROR(WriteDirEntry("./", tree.meta));
    CAIRN_RETURN_IF_ERROR(WriteDir("", tree));
    return result_;
  }

 private:
  Status WriteDirEntry(const std::string& name, const cas::Metadata& meta) {
    EntryPtr e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    SetMetadata(e.get(), meta);
    result_.dirs++;
    return WriteHeader(e.get(), name);
  }

  Status WriteDir(const std::string& rel, const cas::Tree& tree) {
    for (const auto& te : tree.entries) {
      std::string path = rel.empty() ? te.name : rel + "/" + te.name;
      if (te.type == cas::EntryType::kDirectory) {
        CAIRN_ASSIGN_OR_RETURN(cas::Tree child, cas::LoadTree(store_, te.id));
        CAIRN_RETURN_IF_ERROR(WriteDirEntry(path, child.meta));
        CAIRN_RETURN_IF_ERROR(WriteDir(path, child));
        if (options_.progress) options_.progress->Add(0, 0);
        continue;
      }
      if (te.type == cas::EntryType::kSocket) {  // tar has no sockets
        result_.left_out.push_back({path, "a socket, which a tarball cannot hold"});
        continue;
      }
      EntryPtr e(archive_entry_new());
      archive_entry_set_pathname(e.get(), path.c_str());
      SetMetadata(e.get(), te.meta);
      switch (te.type) {
        case cas::EntryType::kRegular: {
          archive_entry_set_filetype(e.get(), AE_IFREG);
          auto g = link_group_.find(path);
          if (g != link_group_.end()) {
            std::string& first = first_written_[g->second];
            if (!first.empty()) {
              archive_entry_set_hardlink(e.get(), first.c_str());
              archive_entry_set_size(e.get(), 0);
              CAIRN_RETURN_IF_ERROR(WriteHeader(e.get(), path));
              CountFile(te.size);
              continue;
            }
            first = path;
          }
          archive_entry_set_size(e.get(), static_cast<la_int64_t>(te.size));
          if (te.sparse) {
            for (const auto& x : te.extents) {
              archive_entry_sparse_add_entry(e.get(), static_cast<la_int64_t>(x.offset),
                                             static_cast<la_int64_t>(x.length));
            }
            // A file that is all hole still needs a map saying so.
            if (te.extents.empty()) {
              archive_entry_sparse_add_entry(e.get(), static_cast<la_int64_t>(te.size), 0);
            }
          }
          if (te.sparse) {
            CAIRN_RETURN_IF_ERROR(WriteSparse(e.get(), te, path));
          } else {
            CAIRN_RETURN_IF_ERROR(WriteHeader(e.get(), path));
            CAIRN_RETURN_IF_ERROR(WriteContent(te, path));
          }
          CountFile(te.size);
          continue;
        }
        case cas::EntryType::kSymlink:
          archive_entry_set_filetype(e.get(), AE_IFLNK);
          archive_entry_set_symlink(e.get(), te.target.c_str());
          break;
        case cas::EntryType::kCharDevice:
        case cas::EntryType::kBlockDevice:
          archive_entry_set_filetype(
              e.get(), te.type == cas::EntryType::kCharDevice ? AE_IFCHR : AE_IFBLK);
          archive_entry_set_rdevmajor(e.get(), te.rdev_major);
          archive_entry_set_rdevminor(e.get(), te.rdev_minor);
          break;
        case cas::EntryType::kFifo:
          archive_entry_set_filetype(e.get(), AE_IFIFO);
          break;
        default:
          return Status::Corruption("checkout " + target_ + ": entry '" + path +
                                    "' has an unknown type");
      }
      CAIRN_RETURN_IF_ERROR(WriteHeader(e.get(), path));
    }
    return Status();
  }

  static void SetMetadata(struct archive_entry* e, const cas::Metadata& m) {
    archive_entry_set_perm(e, m.mode & 07777);
    archive_entry_set_uid(e, m.uid);
    archive_entry_set_gid(e, m.gid);
    SetMtime(e, m.mtime_sec, m.mtime_nsec);
    for (const auto& [k, v] : m.xattrs) {
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
      if (k == "system.posix_acl_access") AddAcl(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, v);
      if (k == "system.posix_acl_default") AddAcl(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, v);
    }
  }

  // A pax time is the decimal value of the time (POSIX; GNU tar reads and writes it so), but
  // libarchive prints the pair (floored seconds, nanoseconds) side by side: -1.25 s, stored as
  // (-2, 7.5e8), would be "-2.75". Given (-1, 2.5e8) it prints "-1.25", the true value. A time
  // in (-1, 0) cannot be printed so (libarchive prints (0, n) as "0.n"): it is written as -1,
  // losing its fraction.
  static void SetMtime(struct archive_entry* e, int64_t sec, uint32_t nsec) {
    if (sec < 0 && nsec > 0) {
      if (sec == -1) {
        nsec = 0;
      } else {
        sec += 1;
        nsec = 1000000000 - nsec;
      }
    }
    archive_entry_set_mtime(e, static_cast<time_t>(sec), static_cast<long>(nsec));
  }

  // GNU tar restores ACLs only from ACL records (SCHILY.acl.*), not from their xattrs, so
  // both are written. `value` is the kernel's form: version 2, then 8-byte entries. libarchive
  // holds an access ACL's owner, owning group and others entries as the entry's mode bits, so
  // adding them sets those bits: to the mode's own owner and others bits, since a stored mode
  // agrees with its ACL (TarSource makes it, as the kernel does), and the group bits to the
  // owning group's entry, which with a mask differ from the mode's (the mask): extraction by
  // cairn, GNU tar or bsdtar sets the ACL, which gives the group bits the mask again.
  static void AddAcl(struct archive_entry* e, int type, std::string_view value) {
    auto u = [&](size_t pos, int bytes) {
      uint32_t x = 0;
      for (int i = 0; i < bytes; ++i) {
        x |= static_cast<uint32_t>(static_cast<uint8_t>(value[pos + i])) << (8 * i);
      }
      return x;
    };
    if (value.size() < 4 || u(0, 4) != 2) return;  // not a POSIX ACL: the xattr alone carries it
    for (size_t pos = 4; pos + 8 <= value.size(); pos += 8) {
      int tag;
      switch (u(pos, 2)) {
        case 0x01: tag = ARCHIVE_ENTRY_ACL_USER_OBJ; break;
        case 0x02: tag = ARCHIVE_ENTRY_ACL_USER; break;
        case 0x04: tag = ARCHIVE_ENTRY_ACL_GROUP_OBJ; break;
        case 0x08: tag = ARCHIVE_ENTRY_ACL_GROUP; break;
        case 0x10: tag = ARCHIVE_ENTRY_ACL_MASK; break;
        case 0x20: tag = ARCHIVE_ENTRY_ACL_OTHER; break;
        default: continue;
      }
      bool named = tag == ARCHIVE_ENTRY_ACL_USER || tag == ARCHIVE_ENTRY_ACL_GROUP;
      archive_entry_acl_add_entry(e, type, static_cast<int>(u(pos + 2, 2) & 7), tag,
                                  named ? static_cast<int>(u(pos + 4, 4)) : -1, nullptr);
    }
  }

  Status WriteHeader(struct archive_entry* e, const std::string& path) {
    int r = archive_write_header(a_, e);
    if (r < ARCHIVE_WARN) return ArchiveStatus(a_, target_, path);
    return Status();
  }

  Status WriteData(const char* p, size_t n, const std::string& path) {
    while (n > 0) {
      la_ssize_t w = archive_write_data(a_, p, n);
      if (w < 0) return ArchiveStatus(a_, target_, path);
      if (w == 0) {
        return Status::Internal("write tarball " + target_ + " at '" + path +
                                "': libarchive took no data");
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status();
  }

  // A sparse file: libarchive's pax writer would want every byte of every hole fed to it (and
  // throw them away), a cost in the file's logical size, which a tarball may make 2^63 bytes.
  // So a formatter of its own writes the entry's pax header, ustar header and sparse map (its
  // first, empty write), and the data regions go into the output after them, padded to a
  // block; the formatter is closed with its output dropped. The main formatter finishes its last
  // entry first, so the bytes go out in order.
  Status WriteSparse(struct archive_entry* e, const cas::TreeEntry& te, const std::string& path) {
    if (archive_write_finish_entry(a_) < ARCHIVE_WARN) return ArchiveStatus(a_, target_, path);
    ArchivePtr h(archive_write_new());
    if (!h) return Status::Internal("write tarball " + target_ + ": out of memory");
    CAIRN_RETURN_IF_ERROR(out_->OpenFormatter(h.get()));
    Status s;
    if (archive_write_header(h.get(), e) < ARCHIVE_WARN || archive_write_data(h.get(), "", 0) < 0) {
      s = out_->error().ok() ? ArchiveStatus(h.get(), target_, path) : out_->error();
    }
    // Closed (freeing all it holds: archive_write_fail leaked its output's state) with what
    // it writes on closing dropped: zeros for the data it was not given (the data's size, not
    // the holes') and the end of an archive.
    out_->set_discard(true);
    (void)archive_write_close(h.get());
    out_->set_discard(false);
    CAIRN_RETURN_IF_ERROR(s);
    uint64_t data = 0;
    for (const auto& x : te.extents) data += x.length;
    CAIRN_RETURN_IF_ERROR(WriteContent(te, path));
    return out_->WriteZeros(static_cast<size_t>(-data & 511));
  }

  // The content: through the formatter, or for a sparse file (WriteSparse) its data regions
  // straight to the output.
  Status WriteContent(const cas::TreeEntry& te, const std::string& path) {
    size_t extent = 0;
    uint64_t in_extent = 0;
    uint64_t data = 0;  // content bytes seen
    Status s = reader_.Read(te.id, [&](std::string_view piece) -> Status {
      data += piece.size();
      if (!te.sparse) {
        if (data > te.size) {
          return Status::Corruption("checkout " + target_ + ": '" + path +
                                    "' has more content than its size");
        }
        return WriteData(piece.data(), piece.size(), path);
      }
      while (!piece.empty()) {
        if (extent >= te.extents.size()) {
          return Status::Corruption("checkout " + target_ + ": '" + path +
                                    "' has content beyond its extents");
        }
        const cas::Extent& x = te.extents[extent];
        size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), x.length - in_extent));
        CAIRN_RETURN_IF_ERROR(out_->Write(piece.data(), n));
        piece.remove_prefix(n);
        in_extent += n;
        if (in_extent == x.length) {
          ++extent;
          in_extent = 0;
        }
      }
      return Status();
    });
    if (!s.ok()) return s.WithContext("checkout " + path);
    uint64_t expect = te.size;
    if (te.sparse) {
      expect = 0;
      for (const auto& x : te.extents) expect += x.length;
    }
    if (data != expect) {
      return Status::Corruption("checkout " + target_ + ": '" + path + "' has " +
                                std::to_string(data) + " bytes of content, expected " +
                                std::to_string(expect));
    }
    return Status();
  }

  void CountFile(uint64_t size) {
    result_.files++;
    result_.bytes += size;
    if (options_.progress) options_.progress->Add(1, size);
  }

  struct archive* a_;  // the pax formatter of every entry but sparse files
  Output* out_;
  cas::ObjectStore* store_;
  cas::ContentReader reader_;
  std::string target_;
  const CheckoutOptions& options_;
  std::map<std::string, size_t> link_group_;  // path -> its hardlink group
  std::vector<std::string> first_written_;    // per group: the path written as a file
  CheckoutResult result_;
};

}  // namespace

bool IsTarFormat(std::string_view format) {
  return format == "tar" || format == "tar.gz" || format == "tar.zst" || format == "tar.xz" ||
         format == "tar.bz2";
}

std::string TarFormatOf(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kEndings[] = {
      {".tar", "tar"},         {".tar.gz", "tar.gz"}, {".tgz", "tar.gz"},
      {".tar.zst", "tar.zst"}, {".tar.xz", "tar.xz"}, {".txz", "tar.xz"},
      {".tar.bz2", "tar.bz2"}, {".tbz2", "tar.bz2"}};
  for (const auto& [ending, format] : kEndings) {
    if (name.ends_with(ending)) return std::string(format);
  }
  return "";
}

Result<CheckoutResult> TarSink::Checkout(cas::ObjectStore* store, const ObjectId& root,
                                         const CheckoutOptions& options) {
  const bool to_stdout = target_ == "-";
  if (!IsTarFormat(format_)) {
    return Status::InvalidArgument("checkout " + target_ + ": unknown tarball format '" + format_ +
                                   "' (tar, tar.gz, tar.zst, tar.xz or tar.bz2)");
  }
  std::unique_ptr<OutputFile> file;
  bool replace = false;
  if (!to_stdout) {
    struct stat st;
    CAIRN_ASSIGN_OR_RETURN(replace, CheckTargetFree(target_, options.force));
    if (::lstat(target_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::InvalidArgument("checkout " + target_ + ": target is a directory");
    }
    // Never a file of a fixed name beside the target: one planted there (a symlink) would be
    // written through.
    CAIRN_ASSIGN_OR_RETURN(file, OutputFile::Create(target_));
  }
  Output out(target_);
  CAIRN_RETURN_IF_ERROR(out.Open(format_, to_stdout ? STDOUT_FILENO : file->fd()));
  ArchivePtr a(archive_write_new());
  if (!a) return Status::Internal("write tarball " + target_ + ": out of memory");
  CAIRN_RETURN_IF_ERROR(out.OpenFormatter(a.get()));
  Writer w(a.get(), &out, store, target_, options);
  Result<CheckoutResult> result = w.Run(root);
  if (result && archive_write_close(a.get()) != ARCHIVE_OK) {
    result = ArchiveStatus(a.get(), target_, "");
  }
  // A formatter's write failed for the output's reason, which says more.
  if (!result && !out.error().ok()) result = out.error();
  if (result) {
    Status s = out.Close();
    if (!s.ok()) result = s;
  }
  if (result && file) {
    Status s = file->Publish(replace);
    if (!s.ok()) result = s.WithContext("checkout " + target_);
  }
  return result;
}

}  // namespace cairn::indexer
