// CRC-32 (the reflected polynomial 0xEDB88320 of zlib, gzip, GPT and LVM), computed by zlib.
#ifndef CAIRN_BASE_CRC32_H_
#define CAIRN_BASE_CRC32_H_

#include <cstdint>
#include <string_view>

namespace cairn {

// The CRC-32 of `data` continuing from `crc`, the CRC of what came before (0 for none), with
// zlib's initial and final inversions: Crc32("123456789") is 0xCBF43926.
uint32_t Crc32(std::string_view data, uint32_t crc = 0);

}  // namespace cairn

#endif  // CAIRN_BASE_CRC32_H_
