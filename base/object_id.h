// ObjectId: the SHA-256 of an object's canonical uncompressed bytes.
//
// Printed as 64 lower-case hex digits. Users may abbreviate an id to a unique prefix of at least
// kMinPrefixDigits hex digits; resolving a prefix is the store's job (cas::ObjectStore).
// Thread-safety: a value type.
#ifndef CAIRN_BASE_OBJECT_ID_H_
#define CAIRN_BASE_OBJECT_ID_H_

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cairn {

class ObjectId {
 public:
  static constexpr size_t kSize = 32;
  static constexpr size_t kHexSize = 64;
  static constexpr size_t kMinPrefixDigits = 8;

  ObjectId() { bytes_.fill(0); }
  explicit ObjectId(const std::array<uint8_t, kSize>& b) : bytes_(b) {}

  // REQUIRES: raw.size() == kSize; otherwise returns a Corruption error.
  static Result<ObjectId> FromBytes(std::string_view raw);
  // Parses exactly 64 hex digits (either case). InvalidArgument otherwise, naming the input.
  static Result<ObjectId> FromHex(std::string_view hex);

  const uint8_t* data() const { return bytes_.data(); }
  std::string_view AsBytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), kSize};
  }
  std::string ToHex() const;
  // The first 12 hex digits, for messages.
  std::string Short() const { return ToHex().substr(0, 12); }
  bool IsZero() const;

  auto operator<=>(const ObjectId& o) const = default;
  bool operator==(const ObjectId& o) const = default;

 private:
  std::array<uint8_t, kSize> bytes_;
};

// Validates a user-typed id or prefix: hex digits only, kMinPrefixDigits..kHexSize of them.
// Returns the lower-cased prefix, or InvalidArgument naming the input.
Result<std::string> NormalizeIdPrefix(std::string_view text);

}  // namespace cairn

template <>
struct std::hash<cairn::ObjectId> {
  size_t operator()(const cairn::ObjectId& id) const noexcept {
    size_t h;
    std::memcpy(&h, id.data(), sizeof(h));  // already uniformly distributed
    return h;
  }
};

#endif  // CAIRN_BASE_OBJECT_ID_H_
