#include "cas/x86_filter.h"

#include <cstdint>

namespace cairn::cas {
namespace {

// One pass of the filter (docs/format/store.md, "The x86 filter"). Decision points depend only
// on opcode bytes, which the transform never changes, and on whether an operand lies in
// [-2^24, 2^24) (its top byte 0x00 or 0xFF), which the transform preserves (arithmetic modulo
// 2^25, sign-extended): so encoder and decoder stop at the same places and the decoder undoes
// exactly what the encoder did.
template <bool kEncode>
void Transform(unsigned char* b, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t at, len;  // operand offset from i, instruction length
    unsigned char op = b[i];
    if ((op == 0xE8 || op == 0xE9) && n - i >= 5) {  // call/jmp rel32
      at = 1;
      len = 5;
    } else if (op == 0x0F && n - i >= 6 && (b[i + 1] & 0xF0) == 0x80) {  // jcc rel32
      at = 2;
      len = 6;
    } else if ((op == 0x48 || op == 0x4C) && n - i >= 7 &&
               (b[i + 1] == 0x89 || b[i + 1] == 0x8B || b[i + 1] == 0x8D) &&
               (b[i + 2] & 0xC7) == 0x05) {  // mov/lea with REX.W and a RIP-relative operand
      at = 3;
      len = 7;
    } else {
      ++i;
      continue;
    }
    unsigned char* p = b + i + at;
    if (p[3] == 0x00 || p[3] == 0xFF) {
      uint32_t v = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
      auto next = static_cast<uint32_t>(i + len);
      uint32_t u = (kEncode ? v + next : v - next) & 0x1FFFFFFu;
      if (u & 0x1000000u) u |= 0xFE000000u;
      p[0] = static_cast<unsigned char>(u);
      p[1] = static_cast<unsigned char>(u >> 8);
      p[2] = static_cast<unsigned char>(u >> 16);
      p[3] = static_cast<unsigned char>(u >> 24);
    }
    i += len;
  }
}

}  // namespace

void X86Filter(char* data, size_t size) { Transform<true>(reinterpret_cast<unsigned char*>(data), size); }
void X86Unfilter(char* data, size_t size) { Transform<false>(reinterpret_cast<unsigned char*>(data), size); }

bool IsX86Elf(std::string_view head) {
  if (head.size() < 20 || head.substr(0, 4) != "\x7f" "ELF") return false;
  if (head[5] != 1) return false;  // little-endian
  auto machine = static_cast<uint16_t>(static_cast<unsigned char>(head[18]) |
                                       static_cast<unsigned char>(head[19]) << 8);
  return machine == 3 || machine == 62;  // EM_386, EM_X86_64
}

}  // namespace cairn::cas
