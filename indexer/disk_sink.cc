#include "indexer/disk_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>

#include "base/coding.h"
#include "base/crc32.h"
#include "cas/disk.h"
#include "cas/tree_reader.h"
#include "indexer/command.h"
#include "indexer/disk_ext.h"
#include "indexer/disk_lvm.h"
#include "indexer/loop_device.h"
#include "indexer/output_file.h"
#include "indexer/run_record.h"

namespace cairn::indexer {
namespace {

constexpr uint64_t kSector = 512;

// Removes a temporary file unless released; recorded while held (run_record.h), so that the
// next disk command removes it if the process is killed.
struct TempFile {
  std::string path;
  std::unique_ptr<RunRecord> record;
  // Takes `made`, a file just created.
  void Hold(std::string made) {
    path = std::move(made);
    record = RunRecord::Make(RunRecord::Kind::kFile, path);
  }
  // The file is renamed into place: no longer temporary.
  void Release() {
    path.clear();
    record.reset();
  }
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

// The little-endian `n` bytes at `at` of `b` (DecodeLittleEndian, base/coding.h, reads them).
void PutLe(std::string* b, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) (*b)[at + i] = static_cast<char>(v >> (8 * i));
}

// A GPT partition name (UTF-8, as the probe read it) as its entry holds it: UTF-16LE, outside
// the BMP as surrogate pairs, at most 36 code units. A byte that is no UTF-8 becomes U+FFFD.
Result<std::string> GptName(std::string_view name) {
  std::string out;
  auto unit = [&](uint32_t u) {
    out += static_cast<char>(u & 0xFF);
    out += static_cast<char>(u >> 8);
  };
  for (size_t i = 0; i < name.size();) {
    const auto b = static_cast<uint8_t>(name[i]);
    const int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    uint32_t c = n == 1 ? b : n == 2 ? b & 0x1F : n == 3 ? b & 0x0F : b & 0x07;
    bool ok = n != 0 && i + n <= name.size();
    for (int k = 1; ok && k < n; ++k) {
      const auto t = static_cast<uint8_t>(name[i + k]);
      ok = (t >> 6) == 2;
      c = c << 6 | (t & 0x3F);
    }
    if (!ok || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) {
      c = 0xFFFD;
      i += 1;
    } else {
      i += n;
    }
    if (c >= 0x10000) {
      unit(0xD800 | ((c - 0x10000) >> 10));
      unit(0xDC00 | ((c - 0x10000) & 0x3FF));
    } else {
      unit(c);
    }
  }
  if (out.size() > 72)
    return Status::Corruption("GPT partition name '" + std::string(name) +
                              "' is longer than 36 units");
  out.resize(72, '\0');
  return out;
}

// Writes the names and attribute bits of `d`'s partitions into both copies of the GPT sfdisk
// wrote on `fd`, with their checksums: sfdisk drops attribute bits 3 to 47 with only a warning
// and takes no name holding a quote, so they are written here, as recorded, bit for bit. And
// moves the primary entry array to the sector recorded when that is not 2 (sfdisk cannot).
Status PatchGptEntries(int fd, const cas::Disk& d, uint64_t size, const std::string& shown) {
  for (uint64_t at : {kSector, (size / kSector - 1) * kSector}) {
    std::string h(kSector, '\0');
    if (::pread(fd, h.data(), h.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(h.size()) ||
        !h.starts_with("EFI PART")) {
      return Status::IOError("write the partition table of " + shown + ": no GPT header at byte " +
                             std::to_string(at));
    }
    uint64_t entries = DecodeLittleEndian(h, 72, 8) * kSector;
    const uint64_t count = DecodeLittleEndian(h, 80, 4), esize = DecodeLittleEndian(h, 84, 4);
    const uint64_t header_size = DecodeLittleEndian(h, 12, 4);
    if (esize < 128 || count > 1024 || header_size < 92 || header_size > kSector) {
      return Status::IOError("write the partition table of " + shown + ": unexpected GPT header");
    }
    std::string e(count * esize, '\0');
    if (::pread(fd, e.data(), e.size(), static_cast<off_t>(entries)) !=
        static_cast<ssize_t>(e.size())) {
      return ErrnoStatus("read the partition table of", shown, errno);
    }
    for (const auto& p : d.partitions) {
      if (p.number == 0 || p.number > count) continue;
      const size_t off = (p.number - 1) * esize;
      PutLe(&e, off + 48, p.attrs, 8);
      CAIRN_ASSIGN_OR_RETURN(std::string name, GptName(p.name));
      e.replace(off + 56, 72, name);
    }
    // The primary's entries where they were (sfdisk writes them at sector 2): the sectors
    // sfdisk used are zeroed first (the "gpt-gap" boot area, written later, may hold some).
    if (at == kSector && d.entries_lba != 0 && d.entries_lba * kSector != entries) {
      const std::string zeros(e.size(), '\0');
      if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(entries)) !=
          static_cast<ssize_t>(zeros.size())) {
        return ErrnoStatus("write the partition table of", shown, errno);
      }
      entries = d.entries_lba * kSector;
      PutLe(&h, 72, d.entries_lba, 8);
    }
    PutLe(&h, 88, Crc32(e), 4);
    PutLe(&h, 16, 0, 4);
    PutLe(&h, 16, Crc32(std::string_view(h).substr(0, header_size)), 4);
    if (::pwrite(fd, e.data(), e.size(), static_cast<off_t>(entries)) !=
            static_cast<ssize_t>(e.size()) ||
        ::pwrite(fd, h.data(), h.size(), static_cast<off_t>(at)) !=
            static_cast<ssize_t>(h.size())) {
      return ErrnoStatus("write the partition table of", shown, errno);
    }
  }
  return Status();
}

// A Linux swap header (version 1) for `length` bytes with `uuid` and `label`.
std::string SwapHeader(uint64_t length, const std::string& uuid, const std::string& label) {
  std::string h(4096, '\0');
  PutLe(&h, 1024, 1, 4);
  PutLe(&h, 1028, length / 4096 - 1, 4);
  std::string hex;
  for (char c : uuid) if (c != '-') hex += c;
  for (size_t i = 0; i < 16 && 2 * i + 1 < hex.size(); ++i) {
    h[1024 + 12 + i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  h.replace(1024 + 28, std::min<size_t>(label.size(), 16), label.substr(0, 16));
  h.replace(4086, 10, "SWAPSPACE2");
  return h;
}

// Writes the LVM metadata of `vg` onto its physical volumes in `image` with the host's lvm2 tools:
// no device-mapper is needed, as nothing is activated. pvcreate --uuid --restorefile keeps each
// PV's uuid and data offset; vgcfgrestore writes the group with its uuid and every logical
// volume with its uuid and extents. The commands see only the loop devices of this image
// (--devices), never the host's volumes, and leave no backup or archive in /etc/lvm.
Status WriteVolumeGroup(const cas::Disk& d, const cas::VolumeGroup& vg, const std::string& image,
                        const std::string& shown) {
  std::vector<std::unique_ptr<LoopDevice>> loops;
  std::map<uint32_t, LvmDevice> devices;
  std::string list;
  for (const auto& pv : vg.pvs) {
    const cas::DiskPartition* p = d.FindPartition(pv.partition);
    CAIRN_ASSIGN_OR_RETURN(auto loop, LoopDevice::Attach(image, p->start, p->size));
    devices[pv.partition] = {loop->path(), p->size};
    list += (list.empty() ? "" : ",") + loop->path();
    loops.push_back(std::move(loop));
  }
  TempFile meta;
  {
    std::string text = VgMetadataText(vg, devices);
    // Beside the fresh temporary image: a name only this checkout uses (O_EXCL never follows
    // a symlink planted there, nor replaces anything; it is removed only once made here).
    const std::string path = image + ".lvm-" + vg.name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus("create", path, errno);
    meta.Hold(path);
    Status w = WriteAt(fd, 0, text, meta.path);
    ::close(fd);
    CAIRN_RETURN_IF_ERROR(w);
  }
  // The host's lvm.conf may filter out loop devices; these commands see exactly `list`.
  const std::string config =
      "devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 filter = [ \"a|.*|\" ] "
      "global_filter = [ \"a|.*|\" ] } backup { backup = 0 archive = 0 }";
  for (const auto& pv : vg.pvs) {
    CAIRN_RETURN_IF_ERROR(RunChecked("make LVM physical volume " + pv.uuid + " of " + shown,
                                     {"pvcreate", "-ff", "-y", "-q", "--config", config, "--devices", list,
                                      "--uuid", pv.uuid, "--restorefile", meta.path,
                                      devices[pv.partition].path})
                              .status());
  }
  CAIRN_RETURN_IF_ERROR(RunChecked("restore LVM volume group " + vg.name + " of " + shown,
                                   {"vgcfgrestore", "-q", "--config", config, "--devices", list, "-f", meta.path,
                                    vg.name})
                            .status());
  return Status();
}

// Copies `from` (a file of a logical volume's bytes) into the volume's segments in `fd`.
Status CopyIntoSegments(const std::string& from, int fd, const cas::Disk& d, const cas::VolumeGroup& vg,
                        const cas::LogicalVolume& lv, const std::string& shown) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoStatus("open", from, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  uint64_t at = 0;
  std::string buf(1 << 20, '\0');
  for (const auto& sg : lv.segments) {
    uint64_t dst = d.FindPartition(sg.partition)->start + vg.FindPv(sg.partition)->pe_start + sg.pe * vg.extent_size;
    for (uint64_t left = sg.extents * vg.extent_size; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
      ssize_t r = ::pread(in, buf.data(), n, static_cast<off_t>(at));
      if (r < 0) return ErrnoStatus("read", from, errno);
      if (r == 0) return Status();  // the rest stays zero
      CAIRN_RETURN_IF_ERROR(WriteAt(fd, dst, std::string_view(buf.data(), static_cast<size_t>(r)), shown));
      at += static_cast<uint64_t>(r);
      dst += static_cast<uint64_t>(r);
      left -= static_cast<uint64_t>(r);
    }
  }
  return Status();
}

}  // namespace

// The sfdisk script that makes `d`'s table (partition `grow` ends at `end` bytes).
Result<std::string> SfdiskScript(const cas::Disk& d, const std::string& image) {
  std::string s = std::string("label: ") + std::string(cas::PartitionTableName(d.table)) + "\n";
  s += "label-id: " + d.disk_id + "\nunit: sectors\nsector-size: 512\n";
  if (d.table == cas::PartitionTable::kGpt) {
    s += "first-lba: " + std::to_string(d.first_lba) +
         "\ntable-length: " + std::to_string(d.entries) + "\n";
  }
  s += "\n";
  // sfdisk reads a partition's number from the digits its name ends with; after a name that
  // ends with a digit (the temporary image's random name may) they follow a 'p', as Linux names
  // partitions (loop0p1).
  const std::string prefix =
      image + (!image.empty() && std::isdigit(static_cast<unsigned char>(image.back())) ? "p" : "");
  for (const auto& p : d.partitions) {
    s += prefix + std::to_string(p.number) + " : start=" + std::to_string(p.start / kSector) +
         ", size=" + std::to_string(p.size / kSector) + ", type=" + p.type;
    if (d.table == cas::PartitionTable::kGpt) {
      s += ", uuid=" + p.guid;  // name and attribute bits: PatchGptEntries
    } else if (p.attrs & 0x80) {
      s += ", bootable";
    }
    s += "\n";
  }
  return s;
}

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
  (void)CleanUpAfterDeadProcesses();  // what a killed disk command left behind
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(root, cas::ObjectType::kDisk));
  CAIRN_ASSIGN_OR_RETURN(cas::Disk d, cas::DecodeDisk(root, data));
  uint64_t size = size_ == 0 ? d.size : size_;
  if (size < d.size) {
    return Status::InvalidArgument("checkout " + target_ + ": --size " + std::to_string(size) +
                                   " is smaller than the disk (" + std::to_string(d.size) + " bytes)");
  }
  // A grown disk ends on a whole sector; one of the size recorded keeps it to the byte (an image
  // need not be whole sectors: its last partial sector is the disk's too).
  if (size > d.size) size = std::max(d.size, size - size % kSector);
  CAIRN_ASSIGN_OR_RETURN(const bool replace, CheckTargetFree(target_, options.force));
  // Grow the last partition (or the whole-disk filesystem) to fill the new size.
  bool grown = size > d.size;
  uint32_t grown_part = 0;
  std::string grown_volume;
  if (grown && !d.partitions.empty()) {
    auto last = std::max_element(d.partitions.begin(), d.partitions.end(),
                                 [](const auto& a, const auto& b) { return a.start < b.start; });
    // A GPT keeps its backup at the end: the entries (128 bytes each, d.entries of them; 32
    // sectors for the usual 128), the header, and the sector before them, as sfdisk lays it out.
    const uint64_t entries = d.entries == 0 ? 128 : d.entries;
    uint64_t end = size - (d.table == cas::PartitionTable::kGpt
                               ? (2 + (entries * 128 + kSector - 1) / kSector) * kSector
                               : 0);
    if (last->content == cas::PartitionContent::kRaw) {
      grown_part = 0;  // raw bytes keep their size
    } else {
      last->size = end - last->start;
      grown_part = last->number;
      if (last->number > 4 && d.table == cas::PartitionTable::kMbr) {  // a logical partition
        for (auto& p : d.partitions) {
          if (p.number <= 4 && cas::IsExtendedType(p.type)) p.size = end - p.start;
        }
      }
    }
    // A physical volume grows with its partition; its new extents go to the logical volume
    // that holds its last used extent (when that is the volume's last segment).
    for (auto& vg : d.volume_groups) {
      for (auto& pv : vg.pvs) {
        if (pv.partition != grown_part) continue;
        pv.pe_count = (last->size - pv.pe_start) / vg.extent_size;
        cas::LogicalVolume* owner = nullptr;
        uint64_t top = 0;
        for (auto& lv : vg.lvs) {
          for (const auto& sg : lv.segments) {
            if (sg.partition == pv.partition && sg.pe + sg.extents > top) top = sg.pe + sg.extents, owner = &lv;
          }
        }
        if (owner && owner->segments.back().partition == pv.partition &&
            owner->segments.back().pe + owner->segments.back().extents == top && owner->content != cas::VolumeContent::kRaw) {
          owner->segments.back().extents += pv.pe_count - top;
          grown_volume = vg.name + "/" + owner->name;
        }
      }
    }
  }
  d.size = size;

  // A fresh name beside the target: whatever has a name there is the user's, never replaced.
  TempFile tmp;
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 100; ++tries) {
    std::string name = UniqueTempName(target_);
    fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0)
      tmp.Hold(std::move(name));
    else if (errno != EEXIST)
      return ErrnoStatus("create", name, errno);
  }
  if (fd < 0) return ErrnoStatus("create a file beside", target_, EEXIST);
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
    if (d.table == cas::PartitionTable::kGpt)
      CAIRN_RETURN_IF_ERROR(PatchGptEntries(fd, d, size, target_));
  }
  // An ext filesystem's boot block goes back once mke2fs has made the filesystem (it zeroes it).
  auto write_boot = [&](bool fs_boot) -> Status {
    for (const auto& b : d.boot) {
      if ((b.kind == cas::kFsBootKind) != fs_boot) continue;
      CAIRN_RETURN_IF_ERROR(
          WriteContent(store, fd, b.content, b.offset, b.length, "boot area " + b.kind));
    }
    return Status();
  };
  CAIRN_RETURN_IF_ERROR(write_boot(false));
  CheckoutResult result;
  for (const auto& p : d.partitions) {
    if (p.content == cas::PartitionContent::kRaw) {
      CAIRN_RETURN_IF_ERROR(WriteContent(store, fd, p.raw, p.start, p.size, "partition " + std::to_string(p.number)));
    }
  }
  for (const auto& vg : d.volume_groups) {
    CAIRN_RETURN_IF_ERROR(WriteVolumeGroup(d, vg, tmp.path, target_));
  }
  if (::fsync(fd) != 0) return ErrnoStatus("sync", tmp.path, errno);
  // What a filesystem or raw volume is written into: a region of the image, or for a logical
  // volume of several segments a temporary file copied into the segments afterwards.
  auto in_volume = [&](const std::string& name, const std::function<Status(const std::string& file, uint64_t offset,
                                                                          uint64_t length)>& fill) -> Status {
    auto [vg, lv] = d.FindVolume(name);
    uint64_t length = lv->Extents() * vg->extent_size;
    if (auto offset = VolumeOffset(d, *vg, *lv)) return fill(tmp.path, *offset, length);
    // Beside the fresh temporary image: a name only this checkout uses (O_EXCL all the same).
    TempFile part;
    const std::string part_path = tmp.path + ".lv";
    int pfd = ::open(part_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (pfd < 0) return ErrnoStatus("create", part_path, errno);
    part.Hold(part_path);
    int t = ::ftruncate(pfd, static_cast<off_t>(length));
    ::close(pfd);
    if (t != 0) return ErrnoStatus("size", part.path, errno);
    CAIRN_RETURN_IF_ERROR(fill(part.path, 0, length));
    return CopyIntoSegments(part.path, fd, d, *vg, *lv, "logical volume " + name);
  };
  for (const auto& vg : d.volume_groups) {
    for (const auto& lv : vg.lvs) {
      if (lv.content != cas::VolumeContent::kRaw) continue;
      std::string name = vg.name + "/" + lv.name;
      CAIRN_RETURN_IF_ERROR(in_volume(name, [&](const std::string& file, uint64_t offset, uint64_t length) {
        int wfd = file == tmp.path ? fd : ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
        if (wfd < 0) return ErrnoStatus("open", file, errno);
        Status w = WriteContent(store, wfd, lv.raw, offset, length, "logical volume " + name);
        if (wfd != fd) ::close(wfd);
        return w;
      }));
    }
  }
  for (const auto& f : d.filesystems) {
    const cas::DiskPartition* p = f.volume.empty() ? d.FindPartition(f.partition) : nullptr;
    bool g = grown && (!f.volume.empty() ? f.volume == grown_volume : p ? p->number == grown_part : true);
    auto make = [&](const std::string& file, uint64_t offset, uint64_t length) -> Status {
      if (f.type == "swap") {
        int wfd = file == tmp.path ? fd : ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
        if (wfd < 0) return ErrnoStatus("open", file, errno);
        Status w = WriteAt(wfd, offset, SwapHeader(length, f.uuid, f.label), "swap");
        if (wfd != fd) ::close(wfd);
        return w;
      }
      if (f.type == "ext2" || f.type == "ext3" || f.type == "ext4") {
        return MakeExt(store, file, f, offset, length, g, options, target_, &result);
      }
      return Status::NotSupported("checkout: filesystem type '" + f.type + "' is not supported");
    };
    if (!f.volume.empty()) {
      CAIRN_RETURN_IF_ERROR(in_volume(f.volume, make));
    } else {
      CAIRN_RETURN_IF_ERROR(make(tmp.path, p ? p->start : 0, p ? p->size : size));
    }
  }
  CAIRN_RETURN_IF_ERROR(write_boot(true));
  if (::fsync(fd) != 0) return ErrnoStatus("sync", tmp.path, errno);
  if (format_ == "qcow2") {
    if (replace) ::unlink(target_.c_str());
    CAIRN_RETURN_IF_ERROR(RunChecked("convert to qcow2",
                                     {"qemu-img", "convert", "-f", "raw", "-O", "qcow2", tmp.path, target_})
                              .status());
  } else {
    if (::rename(tmp.path.c_str(), target_.c_str()) != 0) return ErrnoStatus("rename to", target_, errno);
    tmp.Release();
  }
  return result;
}

}  // namespace cairn::indexer
