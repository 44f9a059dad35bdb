// LVM physical volumes are read from disk images of any origin (indexer/disk_lvm.h): the label,
// the metadata area's header and ring, and the text metadata must end in a volume group or an
// error, never a crash or a read the image's bytes alone make enormous. The input is a disk
// whose physical volume starts at byte 0 (zeros past its end), and also the text on its own.
#include <algorithm>

#include "fuzz/fuzz_check.h"
#include "indexer/disk_lvm.h"

using namespace cairn;

namespace {

void CheckGroup(const indexer::LvmVolumeGroup& vg) {
  for (size_t i = 1; i < vg.lvs.size(); ++i)
    FUZZ_CHECK(vg.lvs[i - 1].name < vg.lvs[i].name, "volumes sorted");
  for (const auto& lv : vg.lvs) {
    FUZZ_CHECK(!lv.segments.empty(), lv.name + " has segments");
    for (const auto& seg : lv.segments) {
      FUZZ_CHECK(seg.extents > 0, lv.name + ": empty segment");
      FUZZ_CHECK(std::any_of(vg.pvs.begin(), vg.pvs.end(),
                             [&](const auto& pv) { return pv.key == seg.pv; }),
                 lv.name + ": segment on an unknown physical volume");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  if (auto vg = indexer::ParseVgMetadata(in)) CheckGroup(*vg);

  size_t asked = 0;
  indexer::ReadAtFn read = [&](uint64_t offset, size_t n) -> Result<std::string> {
    asked += n;
    FUZZ_CHECK(asked <= (size_t{1} << 30),
               "reads of more than 1 GiB for a " + std::to_string(size) + "-byte input");
    std::string out(n, '\0');
    if (offset < in.size()) {
      std::string_view part = in.substr(offset, n);
      std::copy(part.begin(), part.end(), out.begin());
    }
    return out;
  };
  auto label = indexer::ReadPvLabel(read, 0);
  if (!label) {
    FUZZ_CHECK(label.error().IsCorruption(), label.error().ToString());
    return 0;
  }
  if (!*label) return 0;
  for (const auto& mda : (*label)->mdas) {
    auto text = indexer::ReadPvMetadata(read, 0, mda);
    if (!text) {
      FUZZ_CHECK(text.error().IsCorruption(), text.error().ToString());
      continue;
    }
    if (auto vg = indexer::ParseVgMetadata(*text)) CheckGroup(*vg);
  }
  return 0;
}
