// Object records (docs/format/store.md) are read from the store's files, which a disk error or
// a hostile repository may have changed: decoding must end in the object's verified bytes or
// Corruption, never a crash or an allocation the record's header alone asks for. The object
// info and search index values beside them likewise.
#include "base/sha256.h"
#include "cas/object.h"
#include "cas/write_batch.h"
#include "catalog/search_index.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  auto header = cas::ParseRecordHeader(ObjectId(), in);
  auto id = cas::IdOfRecord(in);
  if (id) {
    FUZZ_CHECK(static_cast<bool>(header), "a record that decodes has a header");
    auto object = cas::DecodeObject(*id, in);
    FUZZ_CHECK(static_cast<bool>(object), "IdOfRecord and DecodeObject disagree");
    FUZZ_CHECK(object->type == header->type, "type");
    FUZZ_CHECK(object->data.size() == header->raw_size, "size");
    FUZZ_CHECK(Sha256::Of(object->data) == *id, "verified bytes");
    std::string into(object->data.size(), '\0');
    Status s = cas::DecodeObjectInto(*id, object->type, in, into);
    FUZZ_CHECK(s.ok() && into == object->data, "DecodeObjectInto: " + s.ToString());
  } else {
    FUZZ_CHECK(id.error().IsCorruption(), id.error().ToString());
  }
  auto info = cas::DecodeObjectInfo(ObjectId(), in);
  if (info) {
    const std::string again = cas::EncodeObjectInfo(*info);
    FUZZ_CHECK(again == in, fuzz::FirstDifference(again, in));
  }
  (void)catalog::DecodeEntryValue(in);
  return 0;
}
