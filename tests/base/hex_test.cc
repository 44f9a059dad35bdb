#include "base/hex.h"

#include <gtest/gtest.h>

#include <string>

namespace cairn {
namespace {

TEST(HexTest, EncodesLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10\xab", 4)), "00ff10ab");
}

TEST(HexTest, DecodeRoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  auto back = HexDecode(HexEncode(all));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, all);
}

TEST(HexTest, DecodeAcceptsUpperCase) {
  auto v = HexDecode("ABcd");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "\xab\xcd");
}

TEST(HexTest, DecodeRejectsOddLengthAndNonHex) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_FALSE(HexDecode("0g").has_value());
  EXPECT_FALSE(HexDecode(" 0").has_value());
  EXPECT_TRUE(HexDecode("").has_value());
}

TEST(HexTest, IsHexDigitsChecksEveryCharacter) {
  EXPECT_TRUE(IsHexDigits("0123456789abcdefABCDEF"));
  EXPECT_TRUE(IsHexDigits(""));
  EXPECT_FALSE(IsHexDigits("12x4"));
  EXPECT_FALSE(IsHexDigits("-1"));
}

}  // namespace
}  // namespace cairn
