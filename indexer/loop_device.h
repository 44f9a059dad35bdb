// A loop device attached over a region of an image file (losetup --offset --sizelimit), for
// the host tools that take a device rather than an offset (pvcreate, vgcfgrestore, debugfs).
// Needs root. Detached by the destructor; recorded while attached (run_record.h), so that the
// next disk command detaches it if the process is killed. Not thread-safe.
#ifndef CAIRN_INDEXER_LOOP_DEVICE_H_
#define CAIRN_INDEXER_LOOP_DEVICE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "indexer/run_record.h"

namespace cairn::indexer {

class LoopDevice {
 public:
  // Attaches a free loop device to bytes [offset, offset + size) of `image`. IOError with
  // losetup's message on failure.
  static Result<std::unique_ptr<LoopDevice>> Attach(const std::string& image, uint64_t offset,
                                                    uint64_t size);
  ~LoopDevice();
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  // "/dev/loopN".
  const std::string& path() const { return path_; }

 private:
  explicit LoopDevice(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::unique_ptr<RunRecord> record_;  // removed after the detach (members go after the body)
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_LOOP_DEVICE_H_
