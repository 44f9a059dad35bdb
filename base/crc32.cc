#include "base/crc32.h"

#include <zlib.h>

namespace cairn {

uint32_t Crc32(std::string_view data, uint32_t crc) {
  return static_cast<uint32_t>(
      ::crc32_z(crc, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

}  // namespace cairn
