#include "indexer/disk_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "cas/disk.h"
#include "cas/tree_reader.h"
#include "indexer/command.h"
#include "indexer/dir_sink.h"
#include "indexer/loop_mount.h"

namespace cairn::indexer {
namespace {

constexpr uint64_t kSector = 512;

// Removes a temporary file unless released.
struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

// Writes `data` at `offset`, leaving whole zero blocks as holes (the file starts sparse).
Status WriteAt(int fd, uint64_t offset, std::string_view data, const std::string& shown) {
  constexpr size_t kBlock = 4096;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min(kBlock - (offset + pos) % kBlock, data.size() - pos);
    std::string_view piece = data.substr(pos, n);
    if (piece.find_first_not_of('\0') != std::string_view::npos) {
      for (size_t done = 0; done < n;) {
        ssize_t w = ::pwrite(fd, piece.data() + done, n - done, static_cast<off_t>(offset + pos + done));
        if (w < 0) return ErrnoStatus("write", shown, errno);
        done += static_cast<size_t>(w);
      }
    }
    pos += n;
  }
  return Status();
}

// Streams a stored content of `length` bytes to `offset`.
Status WriteContent(cas::ObjectStore* store, int fd, const ObjectId& id, uint64_t offset, uint64_t length,
                    const std::string& shown) {
  cas::TreeEntry e;
  e.type = cas::EntryType::kRegular;
  e.id = id;
  e.size = length;
  uint64_t at = offset;
  CAIRN_RETURN_IF_ERROR(cas::ReadFileEntry(store, e, [&](std::string_view piece) -> Status {
    if (at + piece.size() > offset + length) return Status::Corruption(shown + ": content longer than its area");
    CAIRN_RETURN_IF_ERROR(WriteAt(fd, at, piece, shown));
    at += piece.size();
    return Status();
  }));
  if (at != offset + length) return Status::Corruption(shown + ": content shorter than its area");
  return Status();
}

std::string GptAttrs(uint64_t attrs) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
  for (int bit = 0; bit < 64; ++bit) {
    if (!(attrs >> bit & 1)) continue;
    if (bit == 0) add("RequiredPartition");
    else if (bit == 1) add("NoBlockIOProtocol");
    else if (bit == 2) add("LegacyBIOSBootable");
    else add("GUID:" + std::to_string(bit));
  }
  return out;
}

// The sfdisk script that makes `d`'s table (partition `grow` ends at `end` bytes).
Result<std::string> SfdiskScript(const cas::Disk& d, const std::string& image) {
  std::string s = std::string("label: ") + std::string(cas::PartitionTableName(d.table)) + "\n";
  s += "label-id: " + d.disk_id + "\nunit: sectors\nsector-size: 512\n";
  if (d.table == cas::PartitionTable::kGpt) {
    s += "first-lba: " + std::to_string(d.first_lba) + "\ntable-length: " + std::to_string(d.entries) + "\n";
  }
  s += "\n";
  for (const auto& p : d.partitions) {
    s += image + std::to_string(p.number) + " : start=" + std::to_string(p.start / kSector) +
         ", size=" + std::to_string(p.size / kSector) + ", type=" + p.type;
    if (d.table == cas::PartitionTable::kGpt) {
      if (p.name.find_first_of("\"\\\n") != std::string::npos) {
        return Status::NotSupported("checkout: GPT partition name '" + p.name + "' has quotes");
      }
      s += ", uuid=" + p.guid + ", name=\"" + p.name + "\"";
      if (p.attrs) s += ", attrs=\"" + GptAttrs(p.attrs) + "\"";
    } else if (p.attrs & 0x80) {
      s += ", bootable";
    }
    s += "\n";
  }
  return s;
}

// A Linux swap header (version 1) for `length` bytes with `uuid` and `label`.
std::string SwapHeader(uint64_t length, const std::string& uuid, const std::string& label) {
  std::string h(4096, '\0');
  auto put32 = [&](size_t off, uint32_t v) {
    for (int i = 0; i < 4; ++i) h[off + i] = static_cast<char>(v >> (8 * i));
  };
  put32(1024, 1);
  put32(1028, static_cast<uint32_t>(length / 4096 - 1));
  std::string hex;
  for (char c : uuid) if (c != '-') hex += c;
  for (size_t i = 0; i < 16 && 2 * i + 1 < hex.size(); ++i) {
    h[1024 + 12 + i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  h.replace(1024 + 28, std::min<size_t>(label.size(), 16), label.substr(0, 16));
  h.replace(4086, 10, "SWAPSPACE2");
  return h;
}

Status MakeExt(cas::ObjectStore* store, const std::string& image, const cas::DiskFilesystem& f,
               uint64_t offset, uint64_t length, bool grown, const CheckoutOptions& options,
               CheckoutResult* result) {
  uint64_t bs = std::stoull(f.Param("block_size").empty() ? "4096" : f.Param("block_size"));
  uint64_t blocks = length / bs;
  std::vector<std::string> argv = {"mke2fs", "-q", "-F", "-t", f.type, "-b", std::to_string(bs)};
  if (!f.Param("inode_size").empty()) argv.insert(argv.end(), {"-I", f.Param("inode_size")});
  uint64_t inodes = f.Param("inode_count").empty() ? 0 : std::stoull(f.Param("inode_count"));
  uint64_t old_blocks = f.Param("block_count").empty() ? 0 : std::stoull(f.Param("block_count"));
  if (inodes && grown && old_blocks) inodes = inodes * blocks / old_blocks;  // keep the ratio
  if (inodes) argv.insert(argv.end(), {"-N", std::to_string(inodes)});
  if (!f.Param("features").empty()) {
    std::string feats = "none";
    std::string word;
    std::stringstream ss(f.Param("features"));
    while (ss >> word) {
      if (!word.starts_with("FEATURE_")) feats += "," + word;
    }
    argv.insert(argv.end(), {"-O", feats});
  }
  if (!f.uuid.empty()) argv.insert(argv.end(), {"-U", f.uuid});
  if (!f.label.empty()) argv.insert(argv.end(), {"-L", f.label});
  argv.insert(argv.end(), {"-E", "offset=" + std::to_string(offset), image, std::to_string(blocks)});
  std::string what = "make " + f.type + " on partition " + std::to_string(f.partition);
  CAIRN_RETURN_IF_ERROR(RunChecked(what, argv).status());
  CAIRN_ASSIGN_OR_RETURN(auto mount, LoopMount::Mount(image, offset, length, /*read_only=*/false));
  CheckoutOptions o = options;
  o.force = true;  // the new filesystem holds lost+found
  DirSink sink(mount->dir());
  auto r = sink.Checkout(store, f.tree, o);
  Status u = mount->Unmount();
  if (!r) return r.error();
  CAIRN_RETURN_IF_ERROR(u);
  result->files += r->files;
  result->dirs += r->dirs;
  result->bytes += r->bytes;
  return Status();
}

}  // namespace

Result<uint64_t> ParseSize(const std::string& text) {
  size_t pos = 0;
  uint64_t v = 0;
  try {
    v = std::stoull(text, &pos);
  } catch (...) {
    pos = 0;
  }
  std::string unit = text.substr(pos);
  int shift = unit.empty() || unit == "B" ? 0 : unit == "K" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : unit == "T" ? 40 : -1;
  if (pos == 0 || shift < 0 || (shift && v >> (64 - shift))) {
    return Status::InvalidArgument("size '" + text + "': expected a number with K, M, G or T");
  }
  return v << shift;
}

Result<CheckoutResult> DiskSink::Checkout(cas::ObjectStore* store, const ObjectId& root,
                                          const CheckoutOptions& options) {
  if (format_ != "raw" && format_ != "qcow2") {
    return Status::InvalidArgument("checkout format '" + format_ + "': expected raw or qcow2");
  }
  if (::geteuid() != 0) {
    return Status::NotSupported("checkout " + target_ + ": writing a disk image needs root (loop mounts)");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(root, cas::ObjectType::kDisk));
  CAIRN_ASSIGN_OR_RETURN(cas::Disk d, cas::DecodeDisk(root, data));
  uint64_t size = size_ == 0 ? d.size : size_;
  if (size < d.size) {
    return Status::InvalidArgument("checkout " + target_ + ": --size " + std::to_string(size) +
                                   " is smaller than the disk (" + std::to_string(d.size) + " bytes)");
  }
  size -= size % kSector;
  struct stat st;
  if (::lstat(target_.c_str(), &st) == 0 && !options.force) {
    return Status::AlreadyExists("checkout " + target_ + ": target exists (use --force to replace it)");
  }
  // Grow the last partition (or the whole-disk filesystem) to fill the new size.
  bool grown = size > d.size;
  uint32_t grown_part = 0;
  if (grown && !d.partitions.empty()) {
    auto last = std::max_element(d.partitions.begin(), d.partitions.end(),
                                 [](const auto& a, const auto& b) { return a.start < b.start; });
    uint64_t end = size - (d.table == cas::PartitionTable::kGpt ? 34 * kSector : 0);
    if (last->content == cas::PartitionContent::kRaw) {
      grown_part = 0;  // raw bytes keep their size
    } else {
      last->size = end - last->start;
      grown_part = last->number;
    }
  }
  d.size = size;

  TempFile tmp{target_ + ".cairn-tmp"};
  ::unlink(tmp.path.c_str());
  int fd = ::open(tmp.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create", tmp.path, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return ErrnoStatus("size", tmp.path, errno);
  if (d.table != cas::PartitionTable::kNone) {
    CAIRN_ASSIGN_OR_RETURN(std::string script, SfdiskScript(d, tmp.path));
    CAIRN_RETURN_IF_ERROR(RunChecked("write the partition table of " + target_,
                                     {"sfdisk", "-q", "--no-reread", "--no-tell-kernel", tmp.path}, script)
                              .status());
  }
  for (const auto& b : d.boot) {
    CAIRN_RETURN_IF_ERROR(WriteContent(store, fd, b.content, b.offset, b.length, "boot area " + b.kind));
  }
  CheckoutResult result;
  for (const auto& p : d.partitions) {
    if (p.content == cas::PartitionContent::kRaw) {
      CAIRN_RETURN_IF_ERROR(WriteContent(store, fd, p.raw, p.start, p.size, "partition " + std::to_string(p.number)));
    }
  }
  if (::fsync(fd) != 0) return ErrnoStatus("sync", tmp.path, errno);
  for (const auto& f : d.filesystems) {
    const cas::DiskPartition* p = d.FindPartition(f.partition);
    uint64_t offset = p ? p->start : 0, length = p ? p->size : size;
    bool g = grown && (p ? p->number == grown_part : true);
    if (f.type == "swap") {
      CAIRN_RETURN_IF_ERROR(WriteAt(fd, offset, SwapHeader(length, f.uuid, f.label), "swap"));
    } else if (f.type == "ext2" || f.type == "ext3" || f.type == "ext4") {
      CAIRN_RETURN_IF_ERROR(MakeExt(store, tmp.path, f, offset, length, g, options, &result));
    } else {
      return Status::NotSupported("checkout: filesystem type '" + f.type + "' is not supported");
    }
  }
  if (::fsync(fd) != 0) return ErrnoStatus("sync", tmp.path, errno);
  if (format_ == "qcow2") {
    if (options.force) ::unlink(target_.c_str());
    CAIRN_RETURN_IF_ERROR(RunChecked("convert to qcow2",
                                     {"qemu-img", "convert", "-f", "raw", "-O", "qcow2", tmp.path, target_})
                              .status());
  } else {
    if (::rename(tmp.path.c_str(), target_.c_str()) != 0) return ErrnoStatus("rename to", target_, errno);
    tmp.path.clear();
  }
  return result;
}

}  // namespace cairn::indexer
