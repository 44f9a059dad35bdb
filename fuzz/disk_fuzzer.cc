// Disks (docs/format/disk.md) come from the store, and a checkout writes partitions, boot areas
// and logical volumes where a Disk says: DecodeDisk must accept only a canonical encoding of a
// Disk that ValidateDisk accepts (no overlapping partitions, extents inside their volumes...).
#include "cas/disk.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  auto disk = fuzz::CheckCanonical(
      in, [](std::string_view b) { return cas::DecodeDisk(ObjectId(), b); }, cas::EncodeDisk);
  if (!disk) return 0;
  Status valid = cas::ValidateDisk(*disk);
  FUZZ_CHECK(valid.ok(), "decoded but invalid: " + valid.ToString());
  return 0;
}
