#include "base/object_id.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/sha256.h"

namespace cairn {
namespace {

constexpr char kHex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(ObjectIdTest, FromHexRoundTripsThroughToHex) {
  auto id = ObjectId::FromHex(kHex);
  ASSERT_TRUE(id.has_value()) << id.status().ToString();
  EXPECT_EQ(id->ToHex(), kHex);
  EXPECT_EQ(id->data()[0], 0xba);
  EXPECT_EQ(id->data()[31], 0xad);
  EXPECT_EQ(id->Short(), std::string(kHex).substr(0, 12));
  EXPECT_FALSE(id->IsZero());
}

TEST(ObjectIdTest, FromHexAcceptsUpperCaseAndPrintsLowerCase) {
  std::string upper = kHex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  auto id = ObjectId::FromHex(upper);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->ToHex(), kHex);
}

TEST(ObjectIdTest, FromHexErrorsNameTheInput) {
  for (std::string bad : {std::string("abc"), std::string(kHex) + "0", std::string(kHex, 63),
                          std::string(kHex).replace(10, 1, "g"), std::string("")}) {
    auto id = ObjectId::FromHex(bad);
    ASSERT_FALSE(id.has_value()) << bad;
    EXPECT_EQ(id.error().code(), Code::kInvalidArgument);
    EXPECT_NE(id.error().message().find("'" + bad + "'"), std::string::npos)
        << id.error().message();
  }
}

TEST(ObjectIdTest, FromBytesRequiresExactly32Bytes) {
  EXPECT_EQ(ObjectId::FromBytes(std::string(31, 'a')).error().code(), Code::kCorruption);
  EXPECT_EQ(ObjectId::FromBytes(std::string(33, 'a')).error().code(), Code::kCorruption);
  auto id = ObjectId::FromBytes(std::string(32, '\x11'));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->ToHex(), std::string(64, '1'));
  EXPECT_EQ(id->AsBytes(), std::string(32, '\x11'));
}

TEST(ObjectIdTest, DefaultIsZero) {
  ObjectId id;
  EXPECT_TRUE(id.IsZero());
  EXPECT_EQ(id.ToHex(), std::string(64, '0'));
}

TEST(ObjectIdTest, OrderingFollowsTheHexText) {
  std::vector<ObjectId> ids;
  std::vector<std::string> hex;
  for (int i = 0; i < 50; ++i) {
    ids.push_back(Sha256::Of(std::to_string(i)));
    hex.push_back(ids.back().ToHex());
  }
  std::sort(ids.begin(), ids.end());
  std::sort(hex.begin(), hex.end());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i].ToHex(), hex[i]);
  EXPECT_EQ(Sha256::Of("x"), Sha256::Of("x"));
  EXPECT_NE(Sha256::Of("x"), Sha256::Of("y"));
}

TEST(ObjectIdTest, HashableInUnorderedContainers) {
  std::unordered_set<ObjectId> set;
  for (int i = 0; i < 100; ++i) set.insert(Sha256::Of(std::to_string(i % 40)));
  EXPECT_EQ(set.size(), 40u);
  EXPECT_TRUE(set.contains(Sha256::Of("7")));
  EXPECT_FALSE(set.contains(Sha256::Of("77")));
}

TEST(NormalizeIdPrefixTest, AcceptsEightToSixtyFourHexDigitsAndLowerCases) {
  auto p = NormalizeIdPrefix("ABCDEF01");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, "abcdef01");
  auto odd = NormalizeIdPrefix("abcdef012");
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(*odd, "abcdef012");
  auto full = NormalizeIdPrefix(kHex);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(*full, kHex);
}

TEST(NormalizeIdPrefixTest, RejectsShortLongAndNonHexNamingTheInput) {
  for (std::string bad : {std::string("abcdef0"), std::string(kHex) + "a", std::string("abcdefgh"),
                          std::string("0123 4567"), std::string("")}) {
    auto p = NormalizeIdPrefix(bad);
    ASSERT_FALSE(p.has_value()) << bad;
    EXPECT_EQ(p.error().code(), Code::kInvalidArgument);
    EXPECT_NE(p.error().message().find("'" + bad + "'"), std::string::npos) << p.error().message();
  }
}

}  // namespace
}  // namespace cairn
