// Disks (docs/format/disk.md) come from the store, and a checkout writes partitions, boot areas
// and logical volumes where a Disk says: DecodeDisk must accept only a canonical encoding of a
// Disk that ValidateDisk accepts (no overlapping partitions, extents inside their volumes...).
#include "cas/disk.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  auto disk = cas::DecodeDisk(ObjectId(), in);
  if (!disk) {
    FUZZ_CHECK(disk.error().IsCorruption(), disk.error().ToString());
    return 0;
  }
  Status valid = cas::ValidateDisk(*disk);
  FUZZ_CHECK(valid.ok(), "decoded but invalid: " + valid.ToString());
  const std::string again = cas::EncodeDisk(*disk);
  FUZZ_CHECK(again == in, fuzz::FirstDifference(again, in));
  return 0;
}
