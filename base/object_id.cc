#include "base/object_id.h"

#include <algorithm>
#include <cctype>

#include "base/hex.h"

namespace cairn {

Result<ObjectId> ObjectId::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) {
    return Status::Corruption("decode object id: expected 32 bytes, got " +
                              std::to_string(raw.size()));
  }
  std::array<uint8_t, kSize> b;
  std::memcpy(b.data(), raw.data(), kSize);
  return ObjectId(b);
}

Result<ObjectId> ObjectId::FromHex(std::string_view hex) {
  if (hex.size() != kHexSize || !IsHexDigits(hex)) {
    return Status::InvalidArgument("parse object id '" + std::string(hex) +
                                   "': expected 64 hex digits");
  }
  return FromBytes(*HexDecode(hex));
}

std::string ObjectId::ToHex() const { return HexEncode(AsBytes()); }

bool ObjectId::IsZero() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](uint8_t b) { return b == 0; });
}

Result<std::string> NormalizeIdPrefix(std::string_view text) {
  if (text.size() < ObjectId::kMinPrefixDigits || text.size() > ObjectId::kHexSize ||
      !IsHexDigits(text)) {
    return Status::InvalidArgument("parse object id '" + std::string(text) + "': expected " +
                                   std::to_string(ObjectId::kMinPrefixDigits) +
                                   " to 64 hex digits");
  }
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace cairn
