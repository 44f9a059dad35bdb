#include "base/rel_path.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(RelPathTest, ParentOfAndBaseNameSplitAtTheLastSlash) {
  EXPECT_EQ(ParentOf("a/b/c"), "a/b");
  EXPECT_EQ(BaseName("a/b/c"), "c");
  EXPECT_EQ(ParentOf("c"), "");
  EXPECT_EQ(BaseName("c"), "c");
  EXPECT_EQ(ParentOf(""), "");
  // Names are raw bytes: a backslash or a byte above 0x7f is no separator.
  EXPECT_EQ(ParentOf("d\\e/\xff"), "d\\e");
  EXPECT_EQ(BaseName("d\\e/\xff"), "\xff");
}

TEST(RelPathTest, BeneathNeedsASlashAfterTheDirectory) {
  EXPECT_TRUE(Beneath("a/b", "a"));
  EXPECT_TRUE(Beneath("a/b/c", "a"));
  EXPECT_FALSE(Beneath("ab", "a"));
  EXPECT_FALSE(Beneath("ab/c", "a"));
  EXPECT_FALSE(Beneath("a", "a"));
  EXPECT_FALSE(Beneath("a", "a/b"));
}

TEST(RelPathTest, EveryOtherPathIsBeneathTheRoot) {
  EXPECT_TRUE(Beneath("a", ""));
  EXPECT_FALSE(Beneath("", ""));
  EXPECT_TRUE(Beneath("/a", "/"));
  EXPECT_FALSE(Beneath("/", "/"));
  EXPECT_TRUE(Beneath("/srv/t/x", "/srv/t"));
  EXPECT_FALSE(Beneath("/srv/tx", "/srv/t"));
}

TEST(RelPathTest, AtOrBeneathTakesTheDirectoryItself) {
  EXPECT_TRUE(AtOrBeneath("a", "a"));
  EXPECT_TRUE(AtOrBeneath("a/b", "a"));
  EXPECT_FALSE(AtOrBeneath("ab", "a"));
  EXPECT_TRUE(AtOrBeneath("", ""));
  EXPECT_TRUE(AtOrBeneath("x/y", ""));
}

}  // namespace
}  // namespace cairn
