// Versions (docs/format/catalog.md) come from the store: DecodeVersion must accept only the
// canonical encoding of a Version, so that one version has one id.
#include "cas/version.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  (void)fuzz::CheckCanonical(
      in, [](std::string_view b) { return cas::DecodeVersion(ObjectId(), b); }, cas::EncodeVersion);
  return 0;
}
