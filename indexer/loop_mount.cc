#include "indexer/loop_mount.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "indexer/command.h"

namespace cairn::indexer {

Result<std::unique_ptr<LoopMount>> LoopMount::Mount(const std::string& image, uint64_t offset,
                                                    uint64_t size, bool read_only) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/cairn-mnt-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return ErrnoStatus("create mount point", templ, errno);
  const std::string point = templ + "/fs";
  if (::mkdir(point.c_str(), 0700) != 0) {
    int err = errno;
    ::rmdir(templ.c_str());
    return ErrnoStatus("create mount point", point, err);
  }
  std::unique_ptr<LoopMount> m(new LoopMount(templ, point));
  m->record_ = RunRecord::Make(RunRecord::Kind::kMount, point);
  std::string opts = "loop,nosuid,nodev,noexec,offset=" + std::to_string(offset) +
                     ",sizelimit=" + std::to_string(size);
  opts += read_only ? ",ro,noload" : ",rw";
  auto r = RunChecked("mount " + image + " at offset " + std::to_string(offset),
                      {"mount", "-t", "ext4", "-o", opts, image, point});
  if (!r) return r.error();
  m->mounted_ = true;
  return m;
}

Status LoopMount::Unmount() {
  if (mounted_) {
    // The loop device goes with the mount (mount(8) sets it to autoclear).
    if (::umount2(dir_.c_str(), 0) != 0) {
      int err = errno;
      ::umount2(dir_.c_str(), MNT_DETACH);
      mounted_ = false;
      ::rmdir(dir_.c_str());
      ::rmdir(parent_.c_str());
      record_.reset();
      return ErrnoStatus("unmount", dir_, err);
    }
    mounted_ = false;
  }
  if (!dir_.empty()) {
    ::rmdir(dir_.c_str());
    ::rmdir(parent_.c_str());
    dir_.clear();
  }
  record_.reset();
  return Status();
}

LoopMount::~LoopMount() { (void)Unmount(); }

}  // namespace cairn::indexer
