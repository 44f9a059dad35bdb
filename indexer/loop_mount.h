// A filesystem inside an image file mounted through a loop device (mount -o loop,offset=N):
// the fast path of disk checkin (read-only) and of checkout to a disk (read-write). Needs root.
// Unmounted by Unmount() or, at the latest, by the destructor, on every path; recorded while
// mounted (run_record.h), so that the next disk command unmounts it if the process is killed.
#ifndef CAIRN_INDEXER_LOOP_MOUNT_H_
#define CAIRN_INDEXER_LOOP_MOUNT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "indexer/run_record.h"

namespace cairn::indexer {

class LoopMount {
 public:
  // Mounts the ext2/3/4 filesystem at bytes [offset, offset+size) of `image` on a fresh
  // temporary directory. Read-only mounts do not replay the journal (noload). The filesystem
  // comes from an image, so it is mounted nosuid, nodev and noexec, inside a directory of mode
  // 0700 (its root's own mode may let anyone in): no other user reaches its files, and nothing
  // in it runs as its owner. IOError with mount's message on failure.
  static Result<std::unique_ptr<LoopMount>> Mount(const std::string& image, uint64_t offset,
                                                  uint64_t size, bool read_only);
  ~LoopMount();
  LoopMount(const LoopMount&) = delete;
  LoopMount& operator=(const LoopMount&) = delete;

  const std::string& dir() const { return dir_; }
  // Unmounts (flushing a read-write mount) and removes the directory. Idempotent.
  Status Unmount();

 private:
  LoopMount(std::string parent, std::string dir)
      : parent_(std::move(parent)), dir_(std::move(dir)) {}
  std::string parent_;  // mode 0700, holding dir_
  std::string dir_;
  bool mounted_ = false;
  std::unique_ptr<RunRecord> record_;  // from before the mount until the unmount
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_LOOP_MOUNT_H_
