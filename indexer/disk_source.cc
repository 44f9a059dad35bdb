#include "indexer/disk_source.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "cas/disk.h"
#include "indexer/command.h"
#include "indexer/dir_source.h"
#include "indexer/disk_lvm.h"
#include "indexer/disk_probe.h"
#include "indexer/disk_view.h"
#include "indexer/guestfs_session.h"
#include "indexer/loop_mount.h"
#include "indexer/run_record.h"

namespace cairn::indexer {
namespace {

// The bytes of [offset, offset+size) of the disk, for raw partitions.
class RegionFile final : public SequentialFile {
 public:
  RegionFile(ReadAtFn read, uint64_t offset, uint64_t size) : read_(std::move(read)), at_(offset), left_(size), size_(size) {}
  Result<size_t> Read(char* buf, size_t n) override {
    n = std::min<uint64_t>(n, left_);
    if (n == 0) return size_t{0};
    CAIRN_ASSIGN_OR_RETURN(std::string b, read_(at_, n));
    std::copy(b.begin(), b.end(), buf);
    at_ += n;
    left_ -= n;
    return n;
  }
  uint64_t Size() const override { return size_; }

 private:
  ReadAtFn read_;
  uint64_t at_, left_, size_;
};

// Checks a non-raw image with qemu-img before an appliance is launched for it: a missing
// backing file or damaged metadata is named here, in seconds rather than after a launch.
Status CheckWithQemuImg(const std::string& path, const std::string& format) {
  CAIRN_ASSIGN_OR_RETURN(CommandOutput info, RunCommand({"qemu-img", "info", "--backing-chain", "-f", format,
                                                         "--output=json", path}));
  if (info.exit_code != 0) {
    std::string msg = info.err;
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (msg.find("backing") != std::string::npos || msg.find("No such file") != std::string::npos) {
      return Status::NotFound("checkin " + path + ": backing file missing: " + msg);
    }
    return Status::Corruption("checkin " + path + ": not a readable " + format + " image: " + msg);
  }
  if (format == "qcow2" || format == "vdi" || format == "vhdx") {
    CAIRN_ASSIGN_OR_RETURN(CommandOutput check, RunCommand({"qemu-img", "check", "-f", format, path}));
    // 0: clean; 3: leaked clusters only (harmless); 2: corruption; 1, 63: cannot check.
    if (check.exit_code == 2) {
      return Status::Corruption("checkin " + path + ": damaged " + format +
                                " image (truncated or corrupt; qemu-img check found errors)");
    }
    if (check.exit_code == 1) {
      std::string msg = check.err;
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return Status::Corruption("checkin " + path + ": " + msg);
    }
  }
  return Status();
}

// Whether [offset, offset + length) of the image reads as zeros. The probe takes a region whose
// first 68 KiB are zero for empty, but data may lie further in (a wiped superblock, raw data
// after a gap): only a region of zeros is recorded as nothing. With the image's descriptor
// (`fd` >= 0, the fast path) its holes are skipped, so a sparse image's empty partition costs
// no reading.
Result<bool> ZeroRegion(const ReadAtFn& read, int fd, uint64_t offset, uint64_t length) {
  const uint64_t end = offset + length;
  auto zero = [&](uint64_t from, uint64_t to) -> Result<bool> {
    constexpr uint64_t kPiece = 1 << 20;
    for (uint64_t at = from; at < to; at += kPiece) {
      CAIRN_ASSIGN_OR_RETURN(std::string b, read(at, std::min(kPiece, to - at)));
      if (!std::all_of(b.begin(), b.end(), [](char c) { return c == 0; })) return false;
    }
    return true;
  };
  if (fd < 0) return zero(offset, end);
  uint64_t at = offset;
  while (at < end) {
    off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) return true;  // no data from here to the image's end
    if (data < 0) return zero(at, end);           // no SEEK_DATA here: read it all
    if (static_cast<uint64_t>(data) >= end) return true;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    uint64_t to = hole < 0 ? end : std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    CAIRN_ASSIGN_OR_RETURN(bool z, zero(static_cast<uint64_t>(data), to));
    if (!z) return false;
    at = to;
  }
  return true;
}

Status Named(const Status& s, const std::string& image) {
  if (s.ok() || s.message().find(image) != std::string::npos) return s;
  return Status(s.code(), "checkin " + image + ": " + s.message());
}

}  // namespace

Result<CheckinResult> DiskSource::Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) {
  (void)CleanUpAfterDeadProcesses();  // what a killed disk command left behind
  bool fast = format_ == "raw" && ::geteuid() == 0 && options.disk_path != "guestfs";
  if (options.disk_path == "fast" && !fast) {
    return Status::NotSupported("checkin " + path_ + ": the fast path needs a raw image and root");
  }
  if (format_ != "raw") CAIRN_RETURN_IF_ERROR(CheckWithQemuImg(path_, format_));
  CheckinOptions fs_options = options;
  fs_options.holes = CheckinOptions::HoleRule::kZeroBlocks;
  fs_options.use_stat_cache = false;
  fs_options.update_stat_cache = false;

  std::unique_ptr<GuestfsSession> session;
  ReadAtFn read;
  uint64_t size = 0;
  int fd = -1;
  struct FdCloser {
    int* fd;
    ~FdCloser() { if (*fd >= 0) ::close(*fd); }
  } closer{&fd};
  if (fast) {
    fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open disk image", path_, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus("stat", path_, errno);
    size = static_cast<uint64_t>(st.st_size);
    // A block device (/dev/sdb, /dev/loop0) has no file size: the device's.
    if (S_ISBLK(st.st_mode) && ::ioctl(fd, BLKGETSIZE64, &size) != 0) {
      return ErrnoStatus("size of block device", path_, errno);
    }
    read = [fd, this](uint64_t offset, size_t n) -> Result<std::string> {
      std::string out(n, '\0');
      size_t done = 0;
      while (done < n) {
        ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
        if (r < 0) return ErrnoStatus("read disk image", path_, errno);
        if (r == 0) break;  // past the end: zeros
        done += static_cast<size_t>(r);
      }
      return out;
    };
  } else {
    CAIRN_ASSIGN_OR_RETURN(session, GuestfsSession::Open(path_, format_));
    size = session->size();
    read = session->Reader();
  }
  auto layout_r = ProbeLayout(read, size, path_);
  if (!layout_r) return layout_r.error();
  // A loop mount needs a filesystem in one piece: a logical volume of several segments is read
  // through the appliance, which assembles it with device-mapper. And a read-only loop mount
  // cannot replay a journal (noload: the image is not written), so a filesystem that was not
  // unmounted cleanly (a snapshot of a running guest) is read through the appliance too, which
  // replays it on its copy-on-write overlay: the loop mount would show the files as they were
  // before the journal's last transactions.
  std::string why_slow;
  for (const auto& vg : layout_r->disk.volume_groups) {
    for (const auto& lv : vg.lvs) {
      const ProbedContent& c = layout_r->volumes[vg.name + "/" + lv.name];
      if (lv.segments.size() > 1 && c.kind == ProbedContent::Kind::kExt) {
        why_slow = "logical volume " + vg.name + "/" + lv.name + " has " + std::to_string(lv.segments.size()) +
                   " segments";
      } else if (c.kind == ProbedContent::Kind::kExt && c.needs_recovery) {
        why_slow = "the filesystem in logical volume " + vg.name + "/" + lv.name +
                   " was not unmounted cleanly (its journal must be replayed)";
      }
    }
  }
  for (size_t i = 0; i < layout_r->contents.size(); ++i) {
    const ProbedContent& c = layout_r->contents[i];
    if (c.kind != ProbedContent::Kind::kExt || !c.needs_recovery) continue;
    const auto& parts = layout_r->disk.partitions;
    why_slow = (parts.empty() ? std::string("the filesystem")
                              : "the filesystem on partition " + std::to_string(parts[i].number)) +
               " was not unmounted cleanly (its journal must be replayed)";
  }
  if (fast && !why_slow.empty()) {
    if (options.disk_path == "fast") {
      return Status::NotSupported("checkin " + path_ + ": the fast path cannot read it: " +
                                  why_slow + " (--via guestfs reads it)");
    }
    fast = false;
    ::close(fd);
    fd = -1;
    CAIRN_ASSIGN_OR_RETURN(session, GuestfsSession::Open(path_, format_));
    read = session->Reader();
    layout_r = ProbeLayout(read, size, path_);
    if (!layout_r) return layout_r.error();
  }
  ProbedLayout& layout = *layout_r;
  if (options.progress != nullptr && options.progress->total() == 0) {
    // The share done and the ETA, from what the superblocks say the filesystems hold (a parent
    // version's size, when there is one, is the better guess).
    uint64_t total = 0;
    for (const auto& c : layout.contents) total += c.data_bytes_estimate;
    for (const auto& [name, c] : layout.volumes) total += c.data_bytes_estimate;
    options.progress->SetTotal(total);
  }
  cas::Disk disk = layout.disk;
  CheckinResult result;
  result.warnings = layout.warnings;
  result.disk_path = fast ? "fast" : "guestfs";
  if (!why_slow.empty()) result.disk_path_reason = why_slow;

  // Each region: a filesystem Tree, swap, raw bytes or nothing. `device`: the appliance's name
  // for it; [offset, offset + length): where it lies in the disk (the fast path's loop mount).
  auto checkin_fs = [&](const std::string& device, uint64_t offset, uint64_t length) -> Result<ObjectId> {
    Result<CheckinResult> r = Status::Internal("unreachable");
    if (fast) {
      CAIRN_ASSIGN_OR_RETURN(auto mount, LoopMount::Mount(path_, offset, length, /*read_only=*/true));
      DirSource dir(mount->dir());
      r = dir.Checkin(ingestor, fs_options);
      Status u = mount->Unmount();
      if (r && !u.ok()) return u;
    } else {
      r = session->CheckinFilesystem(device, ingestor, fs_options);
    }
    if (!r) return Named(r.error(), path_);
    result.files += r->files;
    result.dirs += r->dirs;
    result.bytes += r->bytes;
    result.bytes_read += r->bytes_read;
    return r->root;
  };
  auto filesystem = [](const ProbedContent& c) {
    cas::DiskFilesystem f;
    f.type = c.type;
    f.uuid = c.uuid;
    f.label = c.label;
    f.params = c.params;
    return f;
  };
  for (size_t i = 0; i < layout.contents.size(); ++i) {
    const ProbedContent& c = layout.contents[i];
    cas::DiskPartition* p = disk.partitions.empty() ? nullptr : &disk.partitions[i];
    uint64_t offset = p ? p->start : 0, length = p ? p->size : size;
    uint32_t number = p ? p->number : 0;
    if (c.kind == ProbedContent::Kind::kExt || c.kind == ProbedContent::Kind::kSwap) {
      cas::DiskFilesystem f = filesystem(c);
      f.partition = number;
      if (c.kind == ProbedContent::Kind::kExt) {
        CAIRN_ASSIGN_OR_RETURN(f.tree, checkin_fs(GuestfsSession::Device(number), offset, length));
      }
      if (p) p->content = cas::PartitionContent::kFilesystem;
      disk.filesystems.push_back(std::move(f));
    } else if (p &&
               (c.kind == ProbedContent::Kind::kUnknown || c.kind == ProbedContent::Kind::kEmpty)) {
      if (c.kind == ProbedContent::Kind::kEmpty) {
        // An extended partition holds the chain of logical ones, recorded as partitions.
        if (disk.table == cas::PartitionTable::kMbr && cas::IsExtendedType(p->type)) continue;
        CAIRN_ASSIGN_OR_RETURN(bool zero, ZeroRegion(read, fd, offset, length));
        if (zero) continue;  // recorded as nothing: checkout writes zeros
      }
      RegionFile region(read, offset, length);
      CAIRN_ASSIGN_OR_RETURN(cas::FileContent content,
                             ingestor->PutStream(&region, path_ + " partition " + std::to_string(number)));
      p->content = cas::PartitionContent::kRaw;
      p->raw = content.id;
    }
  }
  for (auto& vg : disk.volume_groups) {
    for (auto& lv : vg.lvs) {
      std::string name = vg.name + "/" + lv.name;
      const ProbedContent& c = layout.volumes[name];
      uint64_t length = lv.Extents() * vg.extent_size;
      if (c.kind == ProbedContent::Kind::kExt || c.kind == ProbedContent::Kind::kSwap) {
        cas::DiskFilesystem f = filesystem(c);
        f.volume = name;
        if (c.kind == ProbedContent::Kind::kExt) {
          uint64_t offset = VolumeOffset(disk, vg, lv).value_or(0);
          CAIRN_ASSIGN_OR_RETURN(f.tree, checkin_fs(GuestfsSession::VolumeDevice(name), offset, length));
        }
        lv.content = cas::VolumeContent::kFilesystem;
        disk.filesystems.push_back(std::move(f));
      } else if (c.kind == ProbedContent::Kind::kUnknown || c.kind == ProbedContent::Kind::kEmpty) {
        if (c.kind == ProbedContent::Kind::kEmpty) {
          CAIRN_ASSIGN_OR_RETURN(bool zero,
                                 ZeroRegion(VolumeReader(read, disk, vg, lv), -1, 0, length));
          if (zero) continue;
        }
        RegionFile region(VolumeReader(read, disk, vg, lv), 0, length);
        CAIRN_ASSIGN_OR_RETURN(cas::FileContent content,
                               ingestor->PutStream(&region, path_ + " logical volume " + name));
        lv.content = cas::VolumeContent::kRaw;
        lv.raw = content.id;
      }
    }
  }
  // Canonical order: partitions' filesystems by number, then logical volumes' by name.
  std::stable_sort(disk.filesystems.begin(), disk.filesystems.end(), [](const auto& a, const auto& b) {
    return std::tie(a.volume, a.partition) < std::tie(b.volume, b.partition);
  });
  for (cas::BootArea b : layout.boot) {
    RegionFile region(read, b.offset, b.length);
    CAIRN_ASSIGN_OR_RETURN(cas::FileContent content,
                           ingestor->PutStream(&region, path_ + ": " + b.kind + " at byte " +
                                                            std::to_string(b.offset)));
    b.content = content.id;
    disk.boot.push_back(std::move(b));
  }
  if (session) {
    CAIRN_ASSIGN_OR_RETURN(auto mps, session->Mountpoints());
    for (auto& f : disk.filesystems) {
      std::string device = f.volume.empty() ? GuestfsSession::Device(f.partition) : f.volume;
      for (const auto& [mp, dev] : mps) {
        // The rule fstab's mount points follow on the fast path (a name "." or ".." refused).
        std::optional<std::string> safe = SafeMountpoint(mp);
        if (dev == device && !f.tree.IsZero() && safe) f.mountpoint = *safe;
      }
    }
  }
  // The view reads the Trees just written.
  CAIRN_RETURN_IF_ERROR(ingestor->Finish());
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> view_warnings,
                         AssignMountpoints(ingestor, &disk));
  for (const auto& w : view_warnings) result.warnings.push_back("checkin " + path_ + ": " + w);
  CAIRN_RETURN_IF_ERROR(BuildView(ingestor, &disk));
  Status valid = cas::ValidateDisk(disk);
  if (!valid.ok()) return Status::Corruption("checkin " + path_ + ": " + valid.message());
  CAIRN_ASSIGN_OR_RETURN(result.disk, ingestor->PutObject(cas::ObjectType::kDisk, cas::EncodeDisk(disk)));
  result.root = disk.view;
  return result;
}

}  // namespace cairn::indexer
