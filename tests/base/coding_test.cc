#include "base/coding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace cairn {
namespace {

std::vector<uint64_t> InterestingU64() {
  std::vector<uint64_t> v = {0,
                             1,
                             127,
                             128,
                             255,
                             256,
                             16383,
                             16384,
                             (1ull << 32) - 1,
                             1ull << 32,
                             (1ull << 63) - 1,
                             1ull << 63,
                             std::numeric_limits<uint64_t>::max()};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) v.push_back(rng() >> (rng() % 64));
  return v;
}

TEST(CodingTest, Varint64RoundTripsInSequence) {
  std::string buf;
  auto values = InterestingU64();
  for (uint64_t v : values) PutVarint64(&buf, v);
  std::string_view in = buf;
  for (uint64_t want : values) {
    uint64_t got = ~want;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(got, want);
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, DecodeLittleEndianReadsFieldsAtAnOffset) {
  std::string b("\x00\x55\xAA\x01\x02\x03\x04\x05\x06\x07\x08", 11);
  EXPECT_EQ(DecodeLittleEndian(b, 1, 2), 0xAA55u);
  EXPECT_EQ(DecodeLittleEndian(b, 3, 4), 0x04030201u);
  EXPECT_EQ(DecodeLittleEndian(b, 3, 8), 0x0807060504030201u);
  EXPECT_EQ(DecodeLittleEndian(b, 2, 1), 0xAAu);
}

TEST(CodingTest, Varint64UsesSevenBitsPerByte) {
  std::string buf;
  PutVarint64(&buf, 127);
  EXPECT_EQ(buf.size(), 1u);
  buf.clear();
  PutVarint64(&buf, 300);
  EXPECT_EQ(buf, std::string("\xac\x02", 2));
  buf.clear();
  PutVarint64(&buf, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(buf.size(), 10u);
}

TEST(CodingTest, TruncatedVarintReturnsFalse) {
  for (uint64_t v : InterestingU64()) {
    std::string buf;
    PutVarint64(&buf, v);
    for (size_t len = 0; len < buf.size(); ++len) {
      std::string_view in(buf.data(), len);
      uint64_t got;
      EXPECT_FALSE(GetVarint64(&in, &got)) << "value " << v << " cut to " << len;
    }
  }
}

TEST(CodingTest, VarintWithATrailingZeroByteIsRefused) {
  // 0x80 0x00 and 0xef 0x00 would decode to 0 and 0x6f: a second encoding of a value gives a
  // second id to the same Tree or Version.
  for (std::string buf :
       {std::string("\x80\x00", 2), std::string("\xef\x00", 2), std::string("\xac\x82\x00", 3)}) {
    std::string_view in = buf;
    uint64_t v;
    EXPECT_FALSE(GetVarint64(&in, &v)) << buf.size() << " bytes";
  }
  std::string zero("\x00", 1);
  std::string_view in = zero;
  uint64_t v = 1;
  EXPECT_TRUE(GetVarint64(&in, &v));
  EXPECT_EQ(v, 0u);
}

TEST(CodingTest, OverlongVarintReturnsFalse) {
  // Eleven continuation bytes: longer than any 64-bit value.
  std::string buf(11, '\x80');
  buf.push_back('\x01');
  std::string_view in = buf;
  uint64_t v;
  EXPECT_FALSE(GetVarint64(&in, &v));
  // Ten bytes whose last one carries bits beyond 64.
  std::string big(9, '\xff');
  big.push_back('\x02');
  in = big;
  EXPECT_FALSE(GetVarint64(&in, &v));
}

TEST(CodingTest, SignedVarintRoundTrips) {
  std::vector<int64_t> values = {0,
                                 1,
                                 -1,
                                 63,
                                 -64,
                                 64,
                                 -65,
                                 1 << 20,
                                 -(1 << 20),
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min()};
  std::string buf;
  for (int64_t v : values) PutVarsint64(&buf, v);
  std::string_view in = buf;
  for (int64_t want : values) {
    int64_t got = ~want;
    ASSERT_TRUE(GetVarsint64(&in, &got));
    EXPECT_EQ(got, want);
  }
  EXPECT_TRUE(in.empty());
  // Zig-zag keeps small magnitudes small.
  buf.clear();
  PutVarsint64(&buf, -1);
  EXPECT_EQ(buf.size(), 1u);
}

TEST(CodingTest, FixedWidthIsLittleEndianAndRoundTrips) {
  std::string buf;
  PutFixed32(&buf, 0x04030201u);
  PutFixed64(&buf, 0x0807060504030201ull);
  EXPECT_EQ(buf, std::string("\x01\x02\x03\x04\x01\x02\x03\x04\x05\x06\x07\x08", 12));
  std::string_view in = buf;
  uint32_t a;
  uint64_t b;
  ASSERT_TRUE(GetFixed32(&in, &a));
  ASSERT_TRUE(GetFixed64(&in, &b));
  EXPECT_EQ(a, 0x04030201u);
  EXPECT_EQ(b, 0x0807060504030201ull);
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, TruncatedFixedReturnsFalse) {
  std::string buf;
  PutFixed64(&buf, 99);
  for (size_t len = 0; len < 8; ++len) {
    std::string_view in(buf.data(), len);
    uint64_t v;
    EXPECT_FALSE(GetFixed64(&in, &v));
    if (len < 4) {
      std::string_view in32(buf.data(), len);
      uint32_t w;
      EXPECT_FALSE(GetFixed32(&in32, &w));
    }
  }
}

TEST(CodingTest, LengthPrefixedRoundTripsAndRejectsTruncation) {
  std::string buf;
  std::string binary("a\0b\xff", 4);
  PutLengthPrefixed(&buf, "");
  PutLengthPrefixed(&buf, binary);
  PutLengthPrefixed(&buf, std::string(300, 'x'));
  std::string_view in = buf;
  std::string_view s;
  ASSERT_TRUE(GetLengthPrefixed(&in, &s));
  EXPECT_EQ(s, "");
  ASSERT_TRUE(GetLengthPrefixed(&in, &s));
  EXPECT_EQ(s, binary);
  ASSERT_TRUE(GetLengthPrefixed(&in, &s));
  EXPECT_EQ(s, std::string(300, 'x'));
  EXPECT_TRUE(in.empty());

  std::string one;
  PutLengthPrefixed(&one, "hello");
  std::string_view cut(one.data(), one.size() - 1);
  EXPECT_FALSE(GetLengthPrefixed(&cut, &s));
}

TEST(CodingTest, GetBytesTakesExactlyNOrFails) {
  std::string_view in = "abcdef";
  std::string_view s;
  ASSERT_TRUE(GetBytes(&in, 4, &s));
  EXPECT_EQ(s, "abcd");
  EXPECT_EQ(in, "ef");
  EXPECT_FALSE(GetBytes(&in, 3, &s));
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(CodingTest, Varint32RejectsValuesPast32Bits) {
  std::string buf;
  PutVarint64(&buf, UINT32_MAX);
  PutVarint64(&buf, uint64_t{UINT32_MAX} + 1);
  std::string_view in = buf;
  uint32_t v = 0;
  ASSERT_TRUE(GetVarint32(&in, &v));
  EXPECT_EQ(v, UINT32_MAX);
  EXPECT_FALSE(GetVarint32(&in, &v));
}

}  // namespace
}  // namespace cairn
