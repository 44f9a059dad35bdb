#include "cas/x86_filter.h"

#include <emmintrin.h>

#include <cstdint>

namespace cairn::cas {
namespace {

// One pass of the filter (docs/format/store.md, "The x86 filter"). Decision points depend only
// on opcode bytes, which the transform never changes, and on whether an operand lies in
// [-2^24, 2^24) (its top byte 0x00 or 0xFF), which the transform preserves (arithmetic modulo
// 2^25, sign-extended): so encoder and decoder stop at the same places and the decoder undoes
// exactly what the encoder did.
//
// Only five byte values can start a transformed instruction (E8, E9, 0F, 48, 4C): runs of other
// bytes are skipped 16 at a time, which is what makes the pass fast (about 12% of the bytes of
// x86-64 code are candidates). The decisions are those of the plain byte loop.
template <bool kEncode>
void Transform(unsigned char* b, size_t n) {
  const __m128i e8 = _mm_set1_epi8(static_cast<char>(0xE8));
  const __m128i e9 = _mm_set1_epi8(static_cast<char>(0xE9));
  const __m128i of = _mm_set1_epi8(0x0F);
  const __m128i r48 = _mm_set1_epi8(0x48);
  const __m128i r4c = _mm_set1_epi8(0x4C);
  size_t i = 0;
  while (i < n) {
    if (n - i >= 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
      __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, e8), _mm_cmpeq_epi8(v, e9)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, of),
                                              _mm_or_si128(_mm_cmpeq_epi8(v, r48), _mm_cmpeq_epi8(v, r4c))));
      auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
      if (mask == 0) {
        i += 16;
        continue;
      }
      i += static_cast<size_t>(__builtin_ctz(mask));
    }
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
