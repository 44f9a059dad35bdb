#include "indexer/guestfs_session.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>
#include <vector>

#include "base/phase_timer.h"
#include "base/rel_path.h"
#include "indexer/guestfs_api.h"
#include "indexer/tar_source.h"
#include "indexer/zero_blocks.h"

namespace cairn::indexer {
namespace {

void FreeStrings(char** list) {
  if (list == nullptr) return;
  for (char** p = list; *p; ++p) std::free(*p);
  std::free(list);
}

// "/dev/sda3", "/dev/sda" as they are; "/dev/VG/LV" and "/dev/mapper/VG-LV" (a '-' in a name
// doubled) as "VG/LV"; anything else (other disks) -> nullopt.
std::optional<std::string> DeviceOf(std::string_view dev) {
  if (dev.starts_with("/dev/sda")) {
    std::string_view n = dev.substr(8);
    if (std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::string(dev);
    return std::nullopt;
  }
  if (dev.starts_with("/dev/mapper/")) {
    dev.remove_prefix(12);
    std::string vg, lv;
    bool in_lv = false;
    for (size_t i = 0; i < dev.size(); ++i) {
      if (dev[i] == '-' && i + 1 < dev.size() && dev[i + 1] == '-') {
        (in_lv ? lv : vg) += '-';
        ++i;
      } else if (dev[i] == '-' && !in_lv) {
        in_lv = true;
      } else {
        (in_lv ? lv : vg) += dev[i];
      }
    }
    if (vg.empty() || lv.empty()) return std::nullopt;
    return vg + "/" + lv;
  }
  if (dev.starts_with("/dev/")) {
    dev.remove_prefix(5);
    size_t slash = dev.find('/');
    if (slash == std::string_view::npos || dev.find('/', slash + 1) != std::string_view::npos) return std::nullopt;
    return std::string(dev);
  }
  return std::nullopt;
}

}  // namespace

Status GuestfsSession::Error(const std::string& what) {
  const char* msg = api_->last_error(g_);
  return Status::IOError("read disk image " + image_ + ": " + what + ": " +
                         (msg != nullptr ? msg : "libguestfs error"));
}

Result<std::unique_ptr<GuestfsSession>> GuestfsSession::Open(const std::string& image,
                                                             const std::string& format) {
  auto api = GuestfsApi::Load();
  if (!api) return api.error().WithContext("read disk image " + image);
  // `force_tcg`: run the appliance under emulation even where /dev/kvm exists.
  auto launch = [&](bool force_tcg) -> Result<std::unique_ptr<GuestfsSession>> {
    guestfs_h* g = (*api)->create();
    if (g == nullptr) return Status::IOError("read disk image " + image + ": cannot create a libguestfs handle");
    std::unique_ptr<GuestfsSession> s(new GuestfsSession(*api, g, image));
    (*api)->set_error_handler(g, nullptr, nullptr);  // errors are returned, not printed
    const char* backend = std::getenv("LIBGUESTFS_BACKEND");
    if (backend == nullptr || *backend == '\0') {
      if ((*api)->set_backend(g, "direct") != 0) return s->Error("set backend");
    }
    if (force_tcg && (*api)->set_backend_setting(g, "force_tcg", "1") != 0) {
      return s->Error("set backend setting force_tcg");
    }
    struct guestfs_add_drive_opts_argv drive {};
    drive.bitmask = GUESTFS_ADD_DRIVE_OPTS_READONLY_BITMASK | GUESTFS_ADD_DRIVE_OPTS_FORMAT_BITMASK;
    drive.readonly = 1;
    drive.format = format.c_str();
    if ((*api)->add_drive_opts_argv(g, image.c_str(), &drive) != 0) return s->Error("add drive");
    PhaseTimer timer;
    if ((*api)->launch(g) != 0) return s->Error("launch appliance");
    timer.Mark("appliance");
    return s;
  };
  auto s = launch(false);
  // A /dev/kvm that qemu cannot use (seen on nested hosts: "failed to set MSR 0x10a", then
  // qemu aborts) fails the launch within a second or two; the appliance then runs emulated, as
  // it does where there is no /dev/kvm at all. The user's own backend settings are left alone.
  const char* settings = std::getenv("LIBGUESTFS_BACKEND_SETTINGS");
  if (!s && ::access("/dev/kvm", F_OK) == 0 && (settings == nullptr || *settings == '\0')) {
    auto emulated = launch(true);
    if (!emulated) {
      return Status::IOError(emulated.error().message() + " (with KVM: " + s.error().message() + ")");
    }
    s = std::move(emulated);
  }
  if (!s) return s;
  int64_t size = (*api)->blockdev_getsize64((*s)->g_, "/dev/sda");
  if (size < 0) return (*s)->Error("size");
  (*s)->size_ = static_cast<uint64_t>(size);
  return s;
}

GuestfsSession::~GuestfsSession() {
  api_->shutdown(g_);
  api_->close(g_);
}

std::string GuestfsSession::Device(uint32_t partition) {
  return partition == 0 ? "/dev/sda" : "/dev/sda" + std::to_string(partition);
}

ReadAtFn GuestfsSession::Reader() {
  return [this](uint64_t offset, size_t n) -> Result<std::string> {
    std::string out;
    out.reserve(n);
    while (out.size() < n) {
      uint64_t at = offset + out.size();
      if (at >= size_) break;
      size_t want = std::min<uint64_t>({n - out.size(), size_ - at, 2 << 20});
      size_t got = 0;
      char* buf = api_->pread_device(g_, "/dev/sda", static_cast<int>(want), static_cast<int64_t>(at), &got);
      if (buf == nullptr) return Error("read at " + std::to_string(at));
      out.append(buf, got);
      std::free(buf);
      if (got == 0) break;
    }
    out.resize(n, '\0');
    return out;
  };
}

Result<CheckinResult> GuestfsSession::CheckinFilesystem(const std::string& device, cas::Ingestor* ingestor,
                                                        const CheckinOptions& options) {
  if (api_->mount_ro(g_, device.c_str(), "/") != 0) return Error("mount " + device);
  uint64_t block_size = 0;  // the zero-block rule's block
  if (options.holes == CheckinOptions::HoleRule::kZeroBlocks) {
    struct guestfs_statvfs* vfs = api_->statvfs(g_, "/");
    if (vfs == nullptr) {
      Status s = Error("statvfs " + device);
      api_->umount_all(g_);
      return s;
    }
    block_size = vfs->bsize > 0 ? static_cast<uint64_t>(vfs->bsize) : 0;
    api_->free_statvfs(vfs);
    if (block_size == 0) {
      api_->umount_all(g_);
      return Status::IOError("read disk image " + image_ + ": statvfs " + device +
                             ": block size 0");
    }
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("create pipe for", image_, errno);
  // The TarSource reads the pipe on another thread while libguestfs writes it here; if the
  // reader stops early it drains the pipe, so that the writer never blocks forever.
  TarSource tar("/dev/fd/" + std::to_string(fds[0]));
  Status read;
  std::thread reader([&] {
    read = tar.Read(ingestor, options, block_size);
    char buf[65536];
    while (::read(fds[0], buf, sizeof(buf)) > 0) {
    }
  });
  std::string out = "/dev/fd/" + std::to_string(fds[1]);
  struct guestfs_tar_out_opts_argv tar_opts {};
  tar_opts.bitmask = GUESTFS_TAR_OUT_OPTS_NUMERICOWNER_BITMASK | GUESTFS_TAR_OUT_OPTS_XATTRS_BITMASK |
                     GUESTFS_TAR_OUT_OPTS_ACLS_BITMASK;
  tar_opts.numericowner = 1;
  tar_opts.xattrs = 1;
  tar_opts.acls = 1;
  int rc = api_->tar_out_opts_argv(g_, "/", out.c_str(), &tar_opts);
  Status s = rc == 0 ? Status() : Error("tar-out " + device);
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  if (s.ok() && read.ok() && block_size > 0) s = RecordHoles(&tar);
  if (api_->umount_all(g_) != 0 && s.ok()) s = Error("unmount " + device);
  CAIRN_RETURN_IF_ERROR(s);
  Result<CheckinResult> result = read.ok() ? tar.Store() : Result<CheckinResult>(read);
  if (!result) {
    return Status(result.error().code(), "read " + device + " of " + image_ + ": " + result.error().message());
  }
  return result;
}

Status GuestfsSession::RecordHoles(TarSource* tar) {
  // The candidates by directory: one lstatnslist round trip per directory holding any (the
  // appliance runs under TCG, where each call is slow), in batches that keep messages small.
  constexpr size_t kBatch = 256;
  std::map<std::string, std::vector<std::string>> by_dir;
  for (std::string& path : tar->ZeroBlockFiles()) {
    by_dir["/" + std::string(ParentOf(path))].emplace_back(BaseName(path));
  }
  for (const auto& [dir, names] : by_dir) {
    for (size_t from = 0; from < names.size(); from += kBatch) {
      size_t to = std::min(names.size(), from + kBatch);
      std::vector<char*> argv;
      for (size_t i = from; i < to; ++i) argv.push_back(const_cast<char*>(names[i].c_str()));
      argv.push_back(nullptr);
      struct guestfs_statns_list* st = api_->lstatnslist(g_, dir.c_str(), argv.data());
      if (st == nullptr) return Error("stat files in " + dir);
      Status s;
      if (st->len != to - from) {
        s = Status::IOError("read disk image " + image_ + ": stat files in " + dir + ": " +
                            std::to_string(st->len) + " answers for " + std::to_string(to - from) +
                            " files");
      }
      for (size_t i = 0; s.ok() && i < st->len; ++i) {
        const struct guestfs_statns& n = st->val[i];
        if (n.st_size < 0 || n.st_blocks < 0 ||
            !AllocationSaysSparse(static_cast<uint64_t>(n.st_size),
                                  static_cast<uint64_t>(n.st_blocks))) {
          continue;
        }
        std::string path = dir == "/" ? names[from + i] : dir.substr(1) + "/" + names[from + i];
        s = tar->MakeSparse(path);
      }
      api_->free_statns_list(st);
      CAIRN_RETURN_IF_ERROR(s);
    }
  }
  return Status();
}

Result<std::map<std::string, std::string>> GuestfsSession::Mountpoints() {
  std::map<std::string, std::string> out;
  char** roots = api_->inspect_os(g_);
  if (roots == nullptr) return Error("inspect");
  if (roots[0] != nullptr) {
    char** mps = api_->inspect_get_mountpoints(g_, roots[0]);
    if (mps == nullptr) {
      FreeStrings(roots);
      return Error("inspect mount points");
    }
    for (char** p = mps; p[0] && p[1]; p += 2) {
      if (auto d = DeviceOf(p[1])) out[p[0]] = *d;
    }
    FreeStrings(mps);
  }
  FreeStrings(roots);
  return out;
}

}  // namespace cairn::indexer
