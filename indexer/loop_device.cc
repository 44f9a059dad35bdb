#include "indexer/loop_device.h"

#include "indexer/command.h"

namespace cairn::indexer {

Result<std::unique_ptr<LoopDevice>> LoopDevice::Attach(const std::string& image, uint64_t offset,
                                                       uint64_t size) {
  CAIRN_ASSIGN_OR_RETURN(std::string out, RunChecked("attach a loop device to " + image,
                                                     {"losetup", "--find", "--show", "--offset",
                                                      std::to_string(offset), "--sizelimit",
                                                      std::to_string(size), image}));
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::unique_ptr<LoopDevice> device(new LoopDevice(out));
  device->record_ = RunRecord::Make(RunRecord::Kind::kLoop, out, image, offset);
  return device;
}

LoopDevice::~LoopDevice() { (void)RunCommand({"losetup", "--detach", path_}); }

}  // namespace cairn::indexer
