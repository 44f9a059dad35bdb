// TarSource: a tarball becomes the same Trees its extracted directory would (DirSource).
//
// Entries may come in any order and parents may be missing, so the tarball is read once into
// a tree of paths (indexer/path_tree.h: metadata and content ids only; every file's content is
// streamed into the Ingestor while the tarball is read), and Trees are stored bottom-up. Memory
// stays bounded by the directories still open (those on the current entry's path), not the
// tarball: a directory the entries have left
// (tar writes a directory's entries together) is stored as its Tree and only that Tree's id is
// held ("sealed"). An entry that comes back to a sealed directory (an appended tarball, a hard
// link to a file in it) loads its Tree again, one level per directory on its path; a Tree
// changed that way is stored again, and the first one is left for `cairn gc`.
//
// Names are normalised as GNU tar extracts them: leading '/' are stripped, "" and "."
// components are dropped ("./etc/" is "etc"); a ".." component is refused. Decisions on
// hostile or unusual tarballs:
// - A directory named in a path but without its own entry gets mode 0755, uid 0, gid 0,
//   mtime 0 and no xattrs; the root likewise when the tarball has no "./" entry.
// - A later entry of the same name replaces the earlier, as extraction would; a directory
//   replaced by a directory keeps its children (only its metadata changes), a directory
//   replaced by anything else loses them.
// - A path beneath a non-directory is refused.
// - A hard link must name an entry read earlier; a hard link to a regular file joins its
//   hardlink group (root Tree), a hard link to anything else becomes an independent copy, as
//   DirSource records hard-linked nodes. A hard link that carries data (cpio: newc gives a
//   file's data only with its last name, odc with each) gives that content and its metadata to
//   every name of the file.
// - POSIX ACLs recorded only as ACL headers (SCHILY.acl.*, not as xattrs) are turned into the
//   system.posix_acl_* xattrs the kernel would hold. An ACL Linux cannot hold (malformed, a
//   default ACL on a non-directory, one on a symbolic link) is refused naming the entry; an
//   xattr outside Linux's namespaces (com.apple.*) is kept (DirSink leaves it out).
// - A name with a component over 255 bytes or a symbolic link whose target is 4096 bytes or
//   more (Linux cannot make them: every checkout would fail) is refused naming the entry.
// - A symbolic link without a target (Linux cannot make one, a Tree cannot hold one), an
//   owner or group id beyond 32 bits or (uid_t)-1, and a device node whose major is over 4095
//   or minor over 1048575 (beyond Linux's dev_t: mknod(2) refuses it) are refused naming the
//   entry.
// - Archives other than tar and cpio are refused naming their format (CheckFormat).
#include "indexer/tar_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "base/rel_path.h"
#include "cas/content_reader.h"
#include "cas/tree.h"
#include "indexer/path_tree.h"
#include "indexer/sparse_map.h"
#include "indexer/tar_entry.h"
#include "indexer/tar_input.h"
#include "indexer/zero_blocks.h"

namespace cairn::indexer {
namespace {

// Dense files up to this size are read whole and stored from memory (as DirSource does).
constexpr int64_t kSmallFile = 1 << 20;

// The largest device numbers Linux's dev_t holds (a 12-bit major, a 20-bit minor).
constexpr uint64_t kMaxDevMajor = (1 << 12) - 1;
constexpr uint64_t kMaxDevMinor = (1 << 20) - 1;

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

// The one conversion point from libarchive errors in this file.
Status ArchiveStatus(struct archive* a, const std::string& tarball, std::string_view what) {
  const char* msg = archive_error_string(a);
  // libarchive fails some reads without saying why (a tarball cut right after a pax header).
  std::string detail =
      msg != nullptr ? msg : "damaged or cut short (the archive reader gave no reason)";
  int err = archive_errno(a);
  std::string text = "read tarball " + tarball;
  if (!what.empty()) text += " at '" + std::string(what) + "'";
  text += ": " + detail;
  if (err == ENOENT || err == EACCES || err == EISDIR) return ErrnoStatus("open tarball", tarball, err);
  // Truncated and damaged tarballs and unknown formats all land here.
  return Status::Corruption(std::move(text));
}

// A SequentialFile over the data of the current archive entry. Only data is returned (holes of
// a sparse entry are skipped), so its bytes are the content as Trees define it.
class EntryData final : public SequentialFile {
 public:
  // `input` (not owned) is what `a` reads: its error is the cause of a failure that follows.
  // `layout`: where the entry's data lies in the file, in order (the whole file for a dense
  // one); `expect`, the sum of its lengths.
  EntryData(struct archive* a, const TarInput* input, std::string tarball, std::string shown,
            std::vector<cas::Extent> layout, uint64_t expect)
      : a_(a),
        input_(input),
        tarball_(std::move(tarball)),
        shown_(std::move(shown)),
        layout_(std::move(layout)),
        expect_(expect) {}

  Result<size_t> Read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (left_.empty()) {
        if (eof_) break;
        const void* block;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(a_, &block, &size, &offset);
        if (r == ARCHIVE_EOF) {
          eof_ = true;
          break;
        }
        if (r < ARCHIVE_WARN) {
          return input_->error().ok() ? ArchiveStatus(a_, tarball_, shown_) : input_->error();
        }
        CAIRN_RETURN_IF_ERROR(CheckPlace(offset, size));
        left_ = std::string_view(static_cast<const char*>(block), size);
        continue;
      }
      size_t k = std::min(n - done, left_.size());
      std::copy_n(left_.data(), k, buf + done);
      left_.remove_prefix(k);
      done += k;
    }
    total_ += done;
    if (scanner_ != nullptr) scanner_->Feed(std::string_view(buf, done));
    return done;
  }
  uint64_t Size() const override { return expect_; }
  uint64_t total() const { return total_; }
  // Every byte read is also fed to `scanner` (not owned; may be null).
  void set_scanner(ZeroBlockScanner* scanner) { scanner_ = scanner; }

 private:
  // libarchive hands over each data block at its offset in the file, and drops, unsaid, a
  // sparse region that ends past the file's size while still handing over its data: a block
  // must lie where the layout puts the next bytes. Data beyond the layout's end is left for the
  // caller's count to refuse.
  Status CheckPlace(la_int64_t offset, size_t size) {
    if (size == 0) return Status();
    if (next_extent_ < layout_.size()) {
      const cas::Extent& x = layout_[next_extent_];
      if (offset >= 0 && static_cast<uint64_t>(offset) == x.offset + into_extent_ &&
          size <= x.length - into_extent_) {
        into_extent_ += size;
        if (into_extent_ == x.length) {
          ++next_extent_;
          into_extent_ = 0;
        }
        return Status();
      }
    } else if (offset >= 0 &&
               (layout_.empty() ||
                static_cast<uint64_t>(offset) == layout_.back().offset + layout_.back().length)) {
      return Status();
    }
    return Status::Corruption("read tarball " + tarball_ + ": entry '" + shown_ +
                              "' has data at offset " + std::to_string(offset) +
                              " that its size and sparse map do not hold");
  }

  struct archive* a_;
  const TarInput* input_;
  std::string tarball_;
  std::string shown_;
  std::vector<cas::Extent> layout_;
  size_t next_extent_ = 0;
  uint64_t into_extent_ = 0;
  uint64_t expect_;
  std::string_view left_;
  bool eof_ = false;
  uint64_t total_ = 0;
  ZeroBlockScanner* scanner_ = nullptr;
};

// A regular file holding an aligned all-zero block, as read (TarSource::ZeroBlockFiles).
struct ZeroBlockFile {
  std::vector<std::string> parts;
  ObjectId content;
  std::vector<cas::Extent> data;  // its non-zero blocks
};

}  // namespace

class TarReader {
 public:
  TarReader(std::string tarball, cas::Ingestor* ingestor, const CheckinOptions& options,
            uint64_t zero_block_size, bool seal)
      : tarball_(std::move(tarball)),
        ingestor_(ingestor),
        options_(options),
        tree_(ingestor, tarball_, options.progress, seal),
        zero_block_size_(zero_block_size) {}

  Status Read() {
    CAIRN_ASSIGN_OR_RETURN(input_, TarInput::Open(tarball_));
    ArchivePtr a(archive_read_new());
    if (!a) return Status::Internal("read tarball " + tarball_ + ": out of memory");
    archive_read_support_filter_all(a.get());
    // Tar (ustar, pax, GNU, v7) and cpio (newc, odc, binary) are checked in; "empty" is an
    // empty file (or an empty compressed one): an empty tree. The other formats libarchive
    // reads are recognised only to be refused by name (CheckFormat): they hold less than a Tree
    // (owners, xattrs, devices) and each is read its own lossy way (a zip's times are local
    // time: its root id changed with $TZ). mtree (a listing) and xar (its reader links libxml2
    // and ICU, whose 31 MB of data cost every cairn start) are not even recognised.
    for (auto* add : {archive_read_support_format_tar, archive_read_support_format_empty,
                      archive_read_support_format_cpio, archive_read_support_format_zip,
                      archive_read_support_format_7zip, archive_read_support_format_iso9660,
                      archive_read_support_format_ar, archive_read_support_format_cab,
                      archive_read_support_format_lha, archive_read_support_format_rar,
                      archive_read_support_format_rar5, archive_read_support_format_warc}) {
      add(a.get());
    }
    // "-": standard input (a pipe, or a file redirected in).
    const bool from_stdin = tarball_ == "-";
    if (archive_read_open(a.get(), input_.get(), nullptr, ReadInput, nullptr) != ARCHIVE_OK) {
      return Failed(a.get(), "");
    }
    // The progress line's share done: the tarball's bytes read (compressed, if it is), of its size.
    struct stat st;
    const uint64_t tarball_size =
        options_.progress &&
                (from_stdin ? ::fstat(STDIN_FILENO, &st) : ::stat(tarball_.c_str(), &st)) == 0 &&
                S_ISREG(st.st_mode)
            ? st.st_size
            : 0;
    for (;;) {
      struct archive_entry* e;
      int r = archive_read_next_header(a.get(), &e);
      if (r == ARCHIVE_EOF) break;
      // ARCHIVE_WARN: e.g. a name that is not valid UTF-8 in the current locale; its raw
      // bytes are kept, which is what we want.
      CAIRN_RETURN_IF_ERROR(CheckFormat(a.get()));
      // ARCHIVE_RETRY (above ARCHIVE_WARN): a header that failed its checksum, which a reader
      // may skip to look for the next. Not this one: the tarball is damaged. (Taken for a
      // warning, the cleared entry went on to fail as "entry without a name".)
      if (r == ARCHIVE_RETRY || r < ARCHIVE_WARN) return Failed(a.get(), "");
      CAIRN_RETURN_IF_ERROR(AddEntry(a.get(), e));
      peak_held_ = std::max(peak_held_, tree_.held());
      if (tarball_size > 0) {
        options_.progress->SetPosition(input_->bytes_read(), tarball_size);
      }
    }
    // An archive of a refused format that lists no entry (an empty zip) is refused too.
    CAIRN_RETURN_IF_ERROR(CheckFormat(a.get()));
    if (archive_read_close(a.get()) != ARCHIVE_OK) return Failed(a.get(), "");
    // The rest of the input, which libarchive did not need: the last gzip trailer is there.
    return input_->Finish();
  }

  std::vector<std::string> ZeroBlockFiles() const {
    std::vector<std::string> out;
    for (const auto& z : zero_files_) out.push_back(JoinPath(z.parts));
    return out;
  }

  Status MakeSparse(const std::string& path) {
    auto found = zero_by_path_.find(path);  // the last read of that name, which replaced the others
    auto it = found == zero_by_path_.end() ? zero_files_.end()
                                           : zero_files_.begin() + static_cast<long>(found->second);
    const cas::TreeEntry* file = nullptr;
    if (it != zero_files_.end()) {
      CAIRN_ASSIGN_OR_RETURN(file, tree_.FindFile(it->parts));
    }
    if (file == nullptr || file->type != cas::EntryType::kRegular || file->id != it->content) {
      return Status::InvalidArgument("read tarball " + tarball_ + ": '" + path +
                                     "' is not a file with zero blocks");
    }
    if (!flushed_) {  // the contents just stored become readable (durable only at the end)
      CAIRN_RETURN_IF_ERROR(ingestor_->WritePending());
      flushed_ = true;
    }
    cas::ContentReader reader(ingestor_->store(), 1);
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> dense, reader.Open(it->content));
    RegionsOfFile regions(dense.get(), it->data);
    CAIRN_ASSIGN_OR_RETURN(cas::FileContent content,
                           ingestor_->PutStream(&regions, tarball_ + ":" + path));
    uint64_t expect = 0;
    for (const auto& x : it->data) expect += x.length;
    if (content.size != expect) {
      return Status::Corruption("read tarball " + tarball_ + ": '" + path + "' read back with " +
                                std::to_string(content.size) + " bytes of data, expected " +
                                std::to_string(expect));
    }
    // Its hard links change with it.
    return tree_.SetSparse(it->parts, content.id, it->data);
  }

  Result<CheckinResult> Store() {
    CAIRN_ASSIGN_OR_RETURN(PathTree::Root root, tree_.Store());
    result_.root = root.id;
    result_.files = root.counts.files;
    result_.bytes = root.counts.bytes;
    result_.dirs = root.counts.dirs;
    return std::move(result_);
  }

  // The most entries held at once while reading (what sealing keeps memory to).
  size_t peak_held() const { return peak_held_; }
  size_t trees_sealed() const { return tree_.seals(); }

 private:
  Status AddEntry(struct archive* a, struct archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) return Status::Corruption("read tarball " + tarball_ + ": entry without a name");
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitName(raw, tarball_));
    const std::string shown = JoinPath(parts);
    if (std::string why = BeyondPathLimits(shown, parts.empty() ? 0 : parts.size() - 1);
        !why.empty()) {
      return Status::NotSupported("read tarball " + tarball_ + ": entry " + why);
    }
    CAIRN_ASSIGN_OR_RETURN(cas::Metadata meta, EntryMetadata(e, tarball_ + ":" + shown));
    mode_t ftype = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);
    const bool is_link = hardlink != nullptr && *hardlink != '\0';
    // Leading parts naming the directory the entries are in now: a directory, else its parent.
    const size_t depth =
        parts.size() - (ftype == AE_IFDIR && !is_link ? 0 : std::min<size_t>(parts.size(), 1));
    CAIRN_RETURN_IF_ERROR(tree_.Leave(parts, depth));

    if (is_link) {
      CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> target, SplitName(hardlink, tarball_));
      if (parts.empty()) {
        return Status::InvalidArgument("read tarball " + tarball_ + ": entry '" + raw +
                                       "' names the root but is a hard link to '" + hardlink + "'");
      }
      // A link that holds data gives the file's content to all its names: cpio's newc format
      // (GNU cpio -H newc, initramfs images) writes the names of a file with several empty
      // but the last, which carries the data and which libarchive reports as a hard link to
      // the first; odc cpio gives the data with every name.
      if ((ftype == AE_IFREG || ftype == 0) && archive_entry_size_is_set(e) &&
          archive_entry_size(e) > 0) {
        cas::TreeEntry te;
        te.meta = std::move(meta);
        te.type = cas::EntryType::kRegular;
        CAIRN_RETURN_IF_ERROR(ReadContent(a, e, shown, &te));
        return tree_.AddHardlink(parts, std::move(target), hardlink, &te);
      }
      return tree_.AddHardlink(parts, std::move(target), hardlink);
    }
    if (ftype == AE_IFDIR) return tree_.AddDirectory(parts, std::move(meta));
    if (parts.empty()) {
      return Status::InvalidArgument("read tarball " + tarball_ + ": entry '" + raw +
                                     "' names the root but is not a directory");
    }
    cas::TreeEntry te;
    te.meta = std::move(meta);
    switch (ftype) {
      case AE_IFREG:
        te.type = cas::EntryType::kRegular;
        CAIRN_RETURN_IF_ERROR(ReadContent(a, e, shown, &te));
        break;
      case AE_IFLNK: {
        te.type = cas::EntryType::kSymlink;
        const char* target = archive_entry_symlink(e);
        if (target == nullptr || *target == '\0') {  // Linux cannot make one (symlink(2): ENOENT)
          return Status::InvalidArgument("read tarball " + tarball_ + ": entry '" + shown +
                                         "' is a symbolic link without a target");
        }
        if (std::strlen(target) >= PATH_MAX) {  // symlink(2): ENAMETOOLONG
          return Status::InvalidArgument("read tarball " + tarball_ + ": entry '" + shown +
                                         "' is a symbolic link whose target is " +
                                         std::to_string(std::strlen(target)) +
                                         " bytes (Linux allows 4095)");
        }
        te.target = target;
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK: {
        te.type = ftype == AE_IFCHR ? cas::EntryType::kCharDevice : cas::EntryType::kBlockDevice;
        // Linux's dev_t holds a 12-bit major and a 20-bit minor: mknod(2) refuses (EINVAL) any
        // other, so every directory checkout would fail.
        const uint64_t major = archive_entry_rdevmajor(e), minor = archive_entry_rdevminor(e);
        if (major > kMaxDevMajor || minor > kMaxDevMinor) {
          return Status::InvalidArgument("read tarball " + tarball_ + ": entry '" + shown +
                                         "' is a device node " + std::to_string(major) + ":" +
                                         std::to_string(minor) + " (Linux allows majors to " +
                                         std::to_string(kMaxDevMajor) + " and minors to " +
                                         std::to_string(kMaxDevMinor) + ")");
        }
        te.rdev_major = static_cast<uint32_t>(major);
        te.rdev_minor = static_cast<uint32_t>(minor);
        break;
      }
      case AE_IFIFO: te.type = cas::EntryType::kFifo; break;
      case AE_IFSOCK: te.type = cas::EntryType::kSocket; break;
      default:
        return Status::NotSupported("read tarball " + tarball_ + ": entry '" + shown +
                                    "' has an unknown file type");
    }
    return tree_.AddFile(parts, std::move(te));
  }

  Status ReadContent(struct archive* a, struct archive_entry* e, const std::string& shown,
                     cas::TreeEntry* te) {
    // Linux holds files of up to 2^63 - 1 bytes (MAX_LFS_FILESIZE: tmpfs, XFS and btrfs reach
    // it, ext4 stops at 16 TiB), all a tarball's size can say; a negative size is refused.
    const int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0) {
      return Status::Corruption("read tarball " + tarball_ + ": entry '" + shown +
                                "' has a negative size");
    }
    te->size = static_cast<uint64_t>(size);
    // Extents as DirSource finds them with SEEK_DATA: no empty regions (GNU tar ends its map
    // with one at the file's size), adjacent regions merged; one region covering the whole
    // file, or an empty file, is dense.
    std::vector<cas::Extent> extents;
    bool sparse = archive_entry_sparse_reset(e) > 0;
    if (sparse) {
      la_int64_t off, len;
      while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
        if (off < 0 || len < 0 || off > size || len > size - off) {
          return Status::Corruption("read tarball " + tarball_ + ": entry '" + shown +
                                    "' has a sparse map outside the file");
        }
        if (len == 0) continue;
        uint64_t o = static_cast<uint64_t>(off), l = static_cast<uint64_t>(len);
        if (!extents.empty() && o < extents.back().offset + extents.back().length) {
          return Status::Corruption("read tarball " + tarball_ + ": entry '" + shown +
                                    "' has an unordered sparse map");
        }
        if (!extents.empty() && extents.back().offset + extents.back().length == o) {
          extents.back().length += l;
        } else {
          extents.push_back({o, l});
        }
      }
    }
    // What the tarball holds of the file (its map's regions, else all of it), and what is
    // recorded: the regions widened to whole blocks (BlockAligned); one region covering the
    // whole file, or an empty file, is dense.
    const std::vector<cas::Extent> whole =
        te->size > 0 ? std::vector<cas::Extent>{{0, te->size}} : std::vector<cas::Extent>{};
    const std::vector<cas::Extent> held = sparse ? extents : whole;
    if (sparse) extents = BlockAligned(extents, te->size);
    if (sparse && extents == whole) sparse = false;
    const std::vector<cas::Extent>& recorded = sparse ? extents : whole;
    uint64_t expect = 0, out_size = 0;
    for (const auto& x : held) expect += x.length;
    for (const auto& x : recorded) out_size += x.length;
    EntryData data(a, input_.get(), tarball_, shown, held, expect);
    std::optional<AlignedData> aligned;
    if (held != recorded) aligned.emplace(&data, held, recorded);
    SequentialFile* in = aligned ? static_cast<SequentialFile*>(&*aligned) : &data;
    std::optional<ZeroBlockScanner> scanner;
    if (zero_block_size_ > 0 && !sparse && !aligned) {
      scanner.emplace(zero_block_size_);
      data.set_scanner(&*scanner);
    }
    Result<cas::FileContent> content = Status::Internal("unreachable");
    if (!sparse && size <= kSmallFile) {
      std::string buf(static_cast<size_t>(out_size) + 1, '\0');  // one more byte to see excess
      CAIRN_ASSIGN_OR_RETURN(size_t n, in->Read(buf.data(), buf.size()));
      buf.resize(n);
      if (n == out_size) content = ingestor_->PutBytes(buf);
    } else {
      content = ingestor_->PutStream(in, tarball_ + ":" + shown);
      // The archive's own error (cut short, damaged compressed data) is what went wrong: the
      // count of bytes it left unread said "holds 0 bytes of data, expected N".
      if (!content) return std::move(content).error();
    }
    if (aligned) {  // AlignedData stops at its plan's end: data beyond the map is counted here
      char extra;
      CAIRN_ASSIGN_OR_RETURN(size_t n, data.Read(&extra, 1));
      (void)n;
    }
    if (data.total() != expect) {
      return Status::Corruption("read tarball " + tarball_ + ": entry '" + shown + "' holds " +
                                std::to_string(data.total()) + " bytes of data, expected " +
                                std::to_string(expect));
    }
    if (!content) return std::move(content).error();
    te->id = content->id;
    if (scanner) {
      scanner->Finish();
      if (scanner->any_zero_block()) {
        CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitName(shown, tarball_));
        zero_by_path_[shown] = zero_files_.size();
        zero_files_.push_back({std::move(parts), content->id, scanner->data()});
      }
    }
    te->sparse = sparse;
    if (sparse) te->extents = std::move(extents);
    result_.bytes_read += expect;
    if (options_.progress) options_.progress->Add(1, te->size);
    return Status();
  }

  // libarchive's read callback: the next bytes of `client` (a TarInput).
  static la_ssize_t ReadInput(struct archive* a, void* client, const void** buf) {
    Result<std::string_view> bytes = static_cast<TarInput*>(client)->Next();
    if (!bytes) {
      archive_set_error(a, EIO, "%s", bytes.error().message().c_str());
      return -1;
    }
    *buf = bytes->data();
    return static_cast<la_ssize_t>(bytes->size());
  }

  // InvalidArgument, naming the tarball and its format, unless libarchive reads it as tar or
  // cpio (or has not found its format yet).
  Status CheckFormat(struct archive* a) const {
    const int format = archive_format(a);
    switch (format & ARCHIVE_FORMAT_BASE_MASK) {
      case 0:
      case ARCHIVE_FORMAT_TAR:
      case ARCHIVE_FORMAT_CPIO:
      case ARCHIVE_FORMAT_EMPTY:
        return Status();
    }
    const char* name = archive_format_name(a);
    // libarchive names no WARC archive.
    if ((format & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_WARC) name = "WARC";
    return Status::InvalidArgument("read tarball " + tarball_ + ": a " +
                                   (name != nullptr ? name : "non-tar") +
                                   " archive; cairn checks in tar and cpio archives only");
  }

  // What made libarchive fail: the input's error, else libarchive's.
  Status Failed(struct archive* a, std::string_view what) const {
    if (input_ != nullptr && !input_->error().ok()) return input_->error();
    // Damaged compressed data decompresses to bytes the tar reader refuses ("Unrecognized
    // archive format") before the checksum that would say why: the compression is read to its
    // end, and named if it is damaged (a damaged zstd tarball was "not a tarball", exit 2).
    if (input_ != nullptr) {
      if (Status s = input_->Finish(); !s.ok()) return s;
    }
    return ArchiveStatus(a, tarball_, what);
  }

  std::string tarball_;
  std::unique_ptr<TarInput> input_;
  cas::Ingestor* ingestor_;
  const CheckinOptions& options_;
  PathTree tree_;
  size_t peak_held_ = 0;
  CheckinResult result_;
  uint64_t zero_block_size_;
  std::vector<ZeroBlockFile> zero_files_;
  std::map<std::string, size_t> zero_by_path_;  // index in zero_files_
  bool flushed_ = false;
};

TarSource::TarSource(std::string path, Memory memory) : path_(std::move(path)), memory_(memory) {}
TarSource::~TarSource() = default;

Result<CheckinResult> TarSource::Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) {
  CAIRN_RETURN_IF_ERROR(Read(ingestor, options));
  return Store();
}

Status TarSource::Read(cas::Ingestor* ingestor, const CheckinOptions& options,
                       uint64_t zero_block_size) {
  reader_ = std::make_unique<TarReader>(path_, ingestor, options, zero_block_size,
                                        memory_ == Memory::kBounded);
  return reader_->Read();
}

std::vector<std::string> TarSource::ZeroBlockFiles() const { return reader_->ZeroBlockFiles(); }
Status TarSource::MakeSparse(const std::string& path) { return reader_->MakeSparse(path); }
Result<CheckinResult> TarSource::Store() { return reader_->Store(); }
size_t TarSource::peak_entries_held() const { return reader_ ? reader_->peak_held() : 0; }
size_t TarSource::trees_sealed() const { return reader_ ? reader_->trees_sealed() : 0; }

}  // namespace cairn::indexer
