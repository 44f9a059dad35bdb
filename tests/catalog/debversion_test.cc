// Debian version ordering (deb-version(7)) and package constraints. Every ordering case below
// was checked against `dpkg --compare-versions`.
#include "catalog/debversion.h"

#include <gtest/gtest.h>

namespace cairn::catalog {
namespace {

struct Ordered {
  const char* older;
  const char* newer;
};

class DebianOrderTest : public ::testing::TestWithParam<Ordered> {};

TEST_P(DebianOrderTest, OlderSortsBeforeNewerBothWays) {
  const Ordered& c = GetParam();
  EXPECT_LT(CompareDebianVersions(c.older, c.newer), 0) << c.older << " < " << c.newer;
  EXPECT_GT(CompareDebianVersions(c.newer, c.older), 0) << c.newer << " > " << c.older;
  EXPECT_EQ(CompareDebianVersions(c.older, c.older), 0);
  EXPECT_EQ(CompareDebianVersions(c.newer, c.newer), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Dpkg, DebianOrderTest,
    ::testing::Values(Ordered{"1.9", "1.10"},                            // digits numerically
                      Ordered{"3.0.20-1~deb12u2", "3.0.22-1~deb12u2"},
                      Ordered{"1.0~rc1", "1.0"},                         // '~' before the end
                      Ordered{"1.0~~", "1.0~"}, Ordered{"1.0~", "1.0"},
                      Ordered{"1:9", "2:1"},                             // epochs first
                      Ordered{"9.9", "1:1.0"},                           // no epoch is 0
                      Ordered{"1.0", "1.0a"},                            // the end before letters
                      Ordered{"1.0a", "1.0+"},                           // letters before others
                      Ordered{"1.0", "1.0.1"}, Ordered{"1.0", "1.0.0"},
                      Ordered{"1.0.0", "1.0.a"},
                      Ordered{"1.0-1", "1.0-2"}, Ordered{"1.0-9", "1.0-10"},  // revisions
                      Ordered{"1.0-1", "1.0-1+b1"}, Ordered{"1.0-1~bpo1", "1.0-1"},
                      Ordered{"2.36-9", "2.36-9+deb12u4"},
                      Ordered{"1.2-3", "1.2-3-4"},                       // last '-' splits
                      Ordered{"1a", "10"}));

TEST(DebianVersionTest, EqualSpellingsCompareEqual) {
  EXPECT_EQ(CompareDebianVersions("1.0", "1.0-0"), 0);
  EXPECT_EQ(CompareDebianVersions("0:1.0", "1.0"), 0);
  EXPECT_EQ(CompareDebianVersions("1.01", "1.1"), 0);
  EXPECT_EQ(CompareDebianVersions("2.36-9+deb12u4", "2.36-9+deb12u4"), 0);
}

// Versions from an image's dpkg database may hold bytes dpkg itself would refuse, NUL among
// them: the order must stay an order (found by fuzz/debversion_fuzzer.cc with these three).
TEST(DebianVersionTest, ANulByteDoesNotStepOverADigit) {
  const std::string a = "23.0.11-1~deb12u1";
  const std::string b("\0\n~deb123.0.11-1", 16);
  const std::string c = "3.0>=1-\x01";
  auto sign = [](int x) { return (x > 0) - (x < 0); };
  EXPECT_EQ(sign(CompareDebianVersions(a, b)), -sign(CompareDebianVersions(b, a)));
  EXPECT_EQ(CompareDebianVersions(std::string("\0", 1), "2"),
            -CompareDebianVersions("2", std::string("\0", 1)));
  EXPECT_NE(CompareDebianVersions(std::string("\0"
                                              "2",
                                              2),
                                  std::string("\0"
                                              "3",
                                              2)),
            0);
  const int ab = sign(CompareDebianVersions(a, b)), bc = sign(CompareDebianVersions(b, c));
  const int ac = sign(CompareDebianVersions(a, c));
  if (ab <= 0 && bc <= 0) {
    EXPECT_LE(ac, 0);
  }
  if (ab >= 0 && bc >= 0) {
    EXPECT_GE(ac, 0);
  }
  EXPECT_LT(CompareDebianVersions("2", std::string("\0", 1)), 0)
      << "a NUL sorts as any other symbol, as '2' < '+'";
  EXPECT_LT(CompareDebianVersions("2", "+"), 0);
}

TEST(PackageConstraintTest, ParsesNameOperatorAndVersion) {
  auto c = ParsePackageConstraint("libssl3<3.0.22");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->name, "libssl3");
  EXPECT_EQ(c->op, PackageConstraint::Op::kLess);
  EXPECT_EQ(c->version, "3.0.22");

  c = ParsePackageConstraint("libc6 >= 2.36");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->name, "libc6");
  EXPECT_EQ(c->op, PackageConstraint::Op::kGreaterEq);
  EXPECT_EQ(c->version, "2.36");

  c = ParsePackageConstraint("libstdc++6");
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->name, "libstdc++6");
  EXPECT_EQ(c->op, PackageConstraint::Op::kAny);

  struct {
    const char* text;
    PackageConstraint::Op op;
  } const ops[] = {{"p<=1", PackageConstraint::Op::kLessEq},  {"p=1", PackageConstraint::Op::kEqual},
                   {"p==1", PackageConstraint::Op::kEqual},   {"p>1", PackageConstraint::Op::kGreater},
                   {"p!=1", PackageConstraint::Op::kNotEqual}, {"p<<1", PackageConstraint::Op::kLess},
                   {"p>>1", PackageConstraint::Op::kGreater}, {"p >= 1:2.0-1~x", PackageConstraint::Op::kGreaterEq}};
  for (const auto& o : ops) {
    auto r = ParsePackageConstraint(o.text);
    ASSERT_TRUE(r.has_value()) << o.text << ": " << r.error().ToString();
    EXPECT_EQ(r->name, "p") << o.text;
    EXPECT_EQ(r->op, o.op) << o.text;
  }
}

TEST(PackageConstraintTest, MalformedConstraintsAreInvalidArgumentNamingTheText) {
  for (const char* text : {"<3", "pkg<", "pkg<<<1", "pkg<abc", "", "pkg ~ 1", "pkg<1 2", "pkg>=1;rm"}) {
    auto c = ParsePackageConstraint(text);
    ASSERT_FALSE(c.has_value()) << "'" << text << "' parsed as " << c->name << " " << c->version;
    EXPECT_EQ(c.error().code(), Code::kInvalidArgument) << text;
    EXPECT_NE(c.error().message().find("'" + std::string(text) + "'"), std::string::npos)
        << c.error().message();
  }
}

TEST(PackageConstraintTest, MatchesWithDebianOrdering) {
  auto less = ParsePackageConstraint("libssl3<3.0.22");
  ASSERT_TRUE(less.has_value());
  EXPECT_TRUE(less->Matches("3.0.20-1~deb12u2"));
  EXPECT_TRUE(less->Matches("3.0.22~rc1"));
  EXPECT_FALSE(less->Matches("3.0.22"));
  EXPECT_FALSE(less->Matches("3.0.22-1~deb12u2"));  // 3.0.22-x is newer than 3.0.22
  EXPECT_FALSE(less->Matches("1:0.1"));

  auto ne = ParsePackageConstraint("p!=1.0");
  ASSERT_TRUE(ne.has_value());
  EXPECT_FALSE(ne->Matches("1.0-0"));
  EXPECT_TRUE(ne->Matches("1.0-1"));

  auto any = ParsePackageConstraint("p");
  ASSERT_TRUE(any.has_value());
  EXPECT_TRUE(any->Matches("0"));

  for (auto [text, installed, want] :
       std::vector<std::tuple<const char*, const char*, bool>>{{"p<=1.0", "1.0", true},
                                                               {"p<=1.0", "1.0.1", false},
                                                               {"p>=2.36", "2.36-9+deb12u4", true},
                                                               {"p>2.36-9+deb12u4", "2.36-9+deb12u4", false},
                                                               {"p=1.01", "1.1", true}}) {
    auto c = ParsePackageConstraint(text);
    ASSERT_TRUE(c.has_value()) << text;
    EXPECT_EQ(c->Matches(installed), want) << text << " on " << installed;
  }
}

}  // namespace
}  // namespace cairn::catalog
