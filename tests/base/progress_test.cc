#include "base/progress.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(ProgressTest, LineShowsFilesBytesAndRateAndNoEtaWithoutATotal) {
  Progress p("checkin web", 0);
  p.Add(3, 3 << 20);
  p.Add(1, 1 << 20);
  EXPECT_EQ(p.files(), 4u);
  EXPECT_EQ(p.bytes(), 4u << 20);
  EXPECT_EQ(p.Line(2), "checkin web: 4 files, 4.0 MiB, 2.0 MiB/s");
}

TEST(ProgressTest, EtaFollowsTheBytesOfAKnownTotal) {
  Progress p("checkout web", 10 << 20);
  p.Add(1, 4 << 20);
  EXPECT_EQ(p.Line(2), "checkout web: 1 files, 4.0 MiB, 2.0 MiB/s, 40%, ETA 0m3s");
  p.Add(1, 7 << 20);  // past the total (an estimate): no share, no ETA
  EXPECT_EQ(p.Line(2), "checkout web: 2 files, 11.0 MiB, 5.5 MiB/s");
}

// A tarball: the bytes shown are its files', the share done is the compressed bytes read.
TEST(ProgressTest, APositionTakesOverFromTheTotal) {
  Progress p("checkin web", 100 << 20);
  p.Add(10, 50 << 20);
  p.SetPosition(3 << 20, 4 << 20);
  EXPECT_EQ(p.Line(90), "checkin web: 10 files, 50.0 MiB, 568.9 KiB/s, 75%, ETA 0m30s");
  p.SetPosition(5 << 20, 4 << 20);  // never more than all of it
  EXPECT_EQ(p.Line(90), "checkin web: 10 files, 50.0 MiB, 568.9 KiB/s, 100%, ETA 0m0s");
  EXPECT_EQ(p.Line(0), "checkin web: 10 files, 50.0 MiB, 0 B/s");
}

}  // namespace
}  // namespace cairn
