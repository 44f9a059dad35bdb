#include "base/sha256.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace cairn {
namespace {

// FIPS 180-2 / NIST test vectors.
constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kTwoBlocks[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr char kMillionA[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
constexpr char kTwoBlocksInput[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST(Sha256Test, MatchesKnownVectors) {
  EXPECT_EQ(Sha256::Of("").ToHex(), kEmpty);
  EXPECT_EQ(Sha256::Of("abc").ToHex(), kAbc);
  EXPECT_EQ(Sha256::Of(kTwoBlocksInput).ToHex(), kTwoBlocks);
  EXPECT_EQ(Sha256::Of(std::string(1000000, 'a')).ToHex(), kMillionA);
}

TEST(Sha256Test, IncrementalUpdatesEqualOneShot) {
  Sha256 h;
  std::string million(1000000, 'a');
  for (size_t pos = 0, step = 1; pos < million.size(); pos += step, step = step * 3 % 9973 + 1) {
    h.Update(std::string_view(million).substr(pos, step));
  }
  EXPECT_EQ(h.Finish().ToHex(), kMillionA);
  h.Update("a", 1);
  h.Update("bc");
  EXPECT_EQ(h.Finish().ToHex(), kAbc);
}

TEST(Sha256Test, FinishResetsForReuse) {
  Sha256 h;
  h.Update("garbage");
  (void)h.Finish();
  EXPECT_EQ(h.Finish().ToHex(), kEmpty);
  h.Update("abc");
  EXPECT_EQ(h.Finish().ToHex(), kAbc);
}

TEST(Sha256Test, OfIsSafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &bad] {
      for (int i = 0; i < 500; ++i) {
        if (Sha256::Of("abc").ToHex() != kAbc || Sha256::Of("").ToHex() != kEmpty) ++bad[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int b : bad) EXPECT_EQ(b, 0);
}

}  // namespace
}  // namespace cairn
