// Hex encoding of byte strings.
#ifndef CAIRN_BASE_HEX_H_
#define CAIRN_BASE_HEX_H_

#include <optional>
#include <string>
#include <string_view>

namespace cairn {

std::string HexEncode(std::string_view bytes);
// Returns nullopt unless `hex` has an even number of hex digits.
std::optional<std::string> HexDecode(std::string_view hex);
bool IsHexDigits(std::string_view s);

}  // namespace cairn

#endif  // CAIRN_BASE_HEX_H_
