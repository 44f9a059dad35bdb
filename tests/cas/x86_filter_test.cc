// The x86 filter and codec 2: exactly reversible on any bytes, effective on real machine code,
// and verified like every other record.
#include "cas/x86_filter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "base/sha256.h"
#include "cas/object.h"
#include "tests/cas/test_util.h"

namespace cairn::cas::testing {
namespace {

std::string Filtered(std::string s) {
  X86Filter(s.data(), s.size());
  return s;
}
std::string Unfiltered(std::string s) {
  X86Unfilter(s.data(), s.size());
  return s;
}

TEST(X86FilterTest, CallTargetsBecomeAbsoluteOffsets) {
  // call +0 at offset 0 (next instruction at 5) and call -10 at offset 5 (next at 10): both
  // become the absolute targets 5 and 0.
  std::string code("\xE8\x00\x00\x00\x00\xE8\xF6\xFF\xFF\xFF", 10);
  EXPECT_EQ(Filtered(code), std::string("\xE8\x05\x00\x00\x00\xE8\x00\x00\x00\x00", 10));
  EXPECT_EQ(Unfiltered(Filtered(code)), code);
}

TEST(X86FilterTest, OperandsOutsideTheRangeAndTruncatedInstructionsStayAsTheyAre) {
  std::string far("\xE8\x00\x00\x00\x01", 5);  // +16 MiB: top byte neither 0x00 nor 0xFF
  EXPECT_EQ(Filtered(far), far);
  std::string cut("\x90\xE8\x01\x00\x00", 5);  // the operand runs past the end
  EXPECT_EQ(Filtered(cut), cut);
  std::string lea("\x48\x8D\x05\x10\x00\x00\x00", 7);  // lea rax, [rip+0x10] -> 0x17
  EXPECT_EQ(Filtered(lea), std::string("\x48\x8D\x05\x17\x00\x00\x00", 7));
}

// Bytes dense in the patterns the filter looks for, so that decision points overlap in every
// way: the transform must still be exactly undone.
std::string PatternSoup(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const unsigned char alphabet[] = {0xE8, 0xE9, 0x0F, 0x80, 0x8F, 0x48, 0x4C, 0x89, 0x8B,
                                    0x8D, 0x05, 0x0D, 0x00, 0xFF, 0x01, 0xFE, 0xC7, 0x25};
  std::string s(n, '\0');
  for (auto& c : s) {
    c = static_cast<char>(rng() % 3 == 0 ? rng() : alphabet[rng() % sizeof(alphabet)]);
  }
  return s;
}

TEST(X86FilterTest, UnfilterUndoesFilterOnAnyBytes) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::string soup = PatternSoup(1 + seed * 37 % 5000, seed);
    ASSERT_EQ(Unfiltered(Filtered(soup)), soup) << "seed " << seed;
    std::string random = RandomBytes(1 + seed * 131 % 70000, seed);
    ASSERT_EQ(Unfiltered(Filtered(random)), random) << "seed " << seed;
  }
}

// The filter as docs/format/store.md defines it, one byte at a time: the stored format. The
// library's filter skips runs of bytes that cannot start an instruction; it must decide exactly
// as this does, or objects stored before would no longer read back.
template <bool kEncode>
std::string Reference(std::string s) {
  auto* b = reinterpret_cast<unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    size_t at = 0, len = 0;
    const unsigned char op = b[i];
    if ((op == 0xE8 || op == 0xE9) && n - i >= 5) {
      at = 1, len = 5;
    } else if (op == 0x0F && n - i >= 6 && (b[i + 1] & 0xF0) == 0x80) {
      at = 2, len = 6;
    } else if ((op == 0x48 || op == 0x4C) && n - i >= 7 &&
               (b[i + 1] == 0x89 || b[i + 1] == 0x8B || b[i + 1] == 0x8D) && (b[i + 2] & 0xC7) == 0x05) {
      at = 3, len = 7;
    } else {
      ++i;
      continue;
    }
    unsigned char* p = b + i + at;
    if (p[3] == 0x00 || p[3] == 0xFF) {
      uint32_t v = uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
      const auto next = static_cast<uint32_t>(i + len);
      uint32_t u = (kEncode ? v + next : v - next) & 0x1FFFFFFu;
      if (u & 0x1000000u) u |= 0xFE000000u;
      for (int k = 0; k < 4; ++k) p[k] = static_cast<unsigned char>(u >> (8 * k));
    }
    i += len;
  }
  return s;
}

TEST(X86FilterTest, FilterDecidesAsTheFormatsByteLoop) {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  std::stringstream self;
  self << in.rdbuf();
  const std::string code = self.str().substr(0, 4 << 20);  // real x86-64 code
  ASSERT_GT(code.size(), 1u << 20);
  EXPECT_TRUE(Filtered(code) == Reference<true>(code)) << "the test binary's code";
  EXPECT_TRUE(Unfiltered(code) == Reference<false>(code)) << "the test binary's code";
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    // Every length up to 300 puts instructions across the 16-byte steps and the tail.
    for (const std::string& s : {PatternSoup(seed, seed), PatternSoup(1 + seed * 37 % 5000, seed),
                                 RandomBytes(1 + seed * 131 % 70000, seed)}) {
      ASSERT_EQ(Filtered(s), Reference<true>(s)) << "seed " << seed << ", " << s.size() << " bytes";
      ASSERT_EQ(Unfiltered(s), Reference<false>(s)) << "seed " << seed << ", " << s.size() << " bytes";
    }
  }
}

// The first `n` bytes of `path`.
std::string ReadHead(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string out(n, '\0');
  in.read(out.data(), static_cast<std::streamsize>(n));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

TEST(X86FilterTest, RecognisesX86ElfFilesOnly) {
  std::string self = ReadHead("/proc/self/exe", 8 << 20);
  ASSERT_GT(self.size(), 64u);
  EXPECT_TRUE(IsX86Elf(self));
  std::string arm = self.substr(0, 64);
  arm[18] = static_cast<char>(183);  // EM_AARCH64
  arm[19] = 0;
  EXPECT_FALSE(IsX86Elf(arm));
  EXPECT_FALSE(IsX86Elf("#!/bin/sh\necho hello world\n"));
  EXPECT_FALSE(IsX86Elf("\x7f" "ELF"));
}

TEST(X86FilterTest, RealMachineCodeRoundTripsAndCompressesSmaller) {
  std::string self = ReadHead("/proc/self/exe", 8 << 20);
  size_t plain = 0, filtered = 0;
  for (size_t off = 0; off + 65536 <= self.size(); off += 65536) {
    std::string chunk = self.substr(off, 65536);
    EncodedObject a = EncodeObject(ObjectType::kBlob, chunk, 3, /*x86_code=*/false);
    EncodedObject b = EncodeObject(ObjectType::kBlob, chunk, 3, /*x86_code=*/true);
    ASSERT_EQ(a.id, b.id);  // the id is of the canonical bytes, whatever the codec
    auto back = DecodeObject(b.id, b.record);
    ASSERT_TRUE(back.has_value()) << back.status().ToString();
    ASSERT_EQ(back->data, chunk);
    plain += a.record.size();
    filtered += b.record.size();
  }
  // Measured on the corpus: about 4% smaller. The test binary is mostly machine code.
  EXPECT_LT(filtered, plain) << "plain " << plain << " filtered " << filtered;
}

TEST(X86FilterTest, DamagedFilteredRecordIsCorruption) {
  std::string self = ReadHead("/proc/self/exe", 65536);
  EncodedObject b = EncodeObject(ObjectType::kBlob, self, 3, /*x86_code=*/true);
  ASSERT_EQ(b.record[0], 2);  // codec kZstdX86
  // The same zstd payload read as plain zstd: decodes, but to the filtered bytes.
  std::string as_zstd = b.record;
  as_zstd[0] = 1;
  auto r = DecodeObject(b.id, as_zstd);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace cairn::cas::testing
