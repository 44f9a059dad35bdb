// Disk images come from anywhere (indexer/disk_probe.h): their partition tables (MBR with its
// chain of extended boot records, GPT), superblocks and LVM physical volumes must end in a
// layout or an error, never a crash, undefined behaviour or a read the image's bytes alone make
// enormous. The input is the start of a 64 MiB disk, and its last 64 KiB are also the disk's
// last 64 KiB (where a GPT keeps its backup); zeros between.
#include <algorithm>

#include "fuzz/fuzz_check.h"
#include "indexer/disk_probe.h"
#include "indexer/image_sniff.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  (void)indexer::SniffImageFormat(in);
  constexpr uint64_t kDisk = 64 << 20, kTail = 64 << 10;
  uint64_t asked = 0;
  indexer::ReadAtFn read = [&](uint64_t offset, size_t n) -> Result<std::string> {
    asked += n;
    FUZZ_CHECK(asked <= (uint64_t{256} << 20), "reads of more than 256 MiB of a 64 MiB disk");
    if (offset > kDisk || n > kDisk - offset) {
      return Status::IOError("read " + std::to_string(n) + " bytes at " + std::to_string(offset) +
                             ": past the end");
    }
    std::string out(n, '\0');
    if (offset < in.size()) {
      std::string_view part = in.substr(offset, n);
      std::copy(part.begin(), part.end(), out.begin());
    }
    const std::string_view tail = in.substr(in.size() > kTail ? in.size() - kTail : 0);
    const uint64_t tail_at = kDisk - tail.size();
    if (offset + n > tail_at) {
      const uint64_t from = std::max(offset, tail_at);
      std::string_view part = tail.substr(from - tail_at, offset + n - from);
      std::copy(part.begin(), part.end(), out.begin() + static_cast<long>(from - offset));
    }
    return out;
  };
  auto layout = indexer::ProbeLayout(read, kDisk, "fuzz.img");
  if (!layout) {
    const Code c = layout.error().code();
    FUZZ_CHECK(c == Code::kInvalidArgument || c == Code::kCorruption || c == Code::kNotSupported ||
                   c == Code::kIOError,
               layout.error().ToString());
    return 0;
  }
  for (const auto& p : layout->disk.partitions) {
    FUZZ_CHECK(p.start <= kDisk && p.size <= kDisk - p.start,
               "partition " + std::to_string(p.number) + " lies outside the disk");
  }
  return 0;
}
