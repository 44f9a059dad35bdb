// The journal's framing (docs/vmount.md): what a crash of the machine leaves at the end is
// dropped, damage anywhere else is Corruption naming the record, and version 1 journals, written
// before records carried checksums, still read.
#include "vmount/journal.h"

#include <gtest/gtest.h>

#include "base/crc32.h"

namespace cairn::vmount {
namespace {

JournalRecord Mkdir(const std::string& name) {
  JournalRecord r;
  r.op = JournalOp::kMake;
  r.name = name;
  r.entry.type = cas::EntryType::kDirectory;
  r.entry.mode = 0755;
  r.now = {1700000000, 0};
  return r;
}

// Three records, "a", "b" (whose payload holds "payload-of-b") and "c".
std::string Three(JournalFormat f) {
  return EncodeJournalRecord(Mkdir("a"), f) + EncodeJournalRecord(Mkdir("payload-of-b"), f) +
         EncodeJournalRecord(Mkdir("c"), f);
}

std::vector<std::string> Names(const DecodedJournal& d) {
  std::vector<std::string> out;
  for (const auto& r : d.records) out.push_back(r.name);
  return out;
}

std::string Decoded(std::string_view bytes, JournalFormat f = JournalFormat::kV2) {
  auto d = DecodeJournalRecords(bytes, f);
  if (!d) return d.status().ToString();
  std::string out;
  for (const auto& n : Names(*d)) out += n + " ";
  return out + "(" + std::to_string(d->whole_bytes) + " bytes)";
}

TEST(JournalTest, CrcIsZlibs) { EXPECT_EQ(Crc32("123456789"), 0xCBF43926u); }

TEST(JournalTest, RecordsRoundTripAndCountTheirBytes) {
  for (JournalFormat f : {JournalFormat::kV1, JournalFormat::kV2}) {
    std::string all = Three(f);
    EXPECT_EQ(Decoded(all, f), "a payload-of-b c (" + std::to_string(all.size()) + " bytes)");
  }
  EXPECT_EQ(EncodeJournalRecord(Mkdir("a"), JournalFormat::kV2).size(),
            EncodeJournalRecord(Mkdir("a"), JournalFormat::kV1).size() + 8)
      << "version 2 adds two CRC-32s";
}

TEST(JournalTest, WhatACrashLeavesAtTheEndIsDropped) {
  const std::string two =
      EncodeJournalRecord(Mkdir("a")) + EncodeJournalRecord(Mkdir("payload-of-b"));
  const std::string third = EncodeJournalRecord(Mkdir("c"));
  const std::string kept = "a payload-of-b (" + std::to_string(two.size()) + " bytes)";
  for (size_t cut = 1; cut < third.size(); ++cut) {
    EXPECT_EQ(Decoded(two + third.substr(0, cut)), kept) << "cut after " << cut << " bytes";
  }
  EXPECT_EQ(Decoded(two + std::string(third.size(), '\0')), kept)
      << "the length reached the disk, the bytes did not";
  EXPECT_EQ(Decoded(two + std::string(4096, '\0')), kept) << "zeros to the end";
  std::string unwritten = third;
  unwritten.replace(12, unwritten.size() - 12, unwritten.size() - 12, '\0');
  EXPECT_EQ(Decoded(two + unwritten), kept) << "the frame written, the payload not";
}

TEST(JournalTest, DamageBeforeTheEndIsCorruptionNamingTheRecord) {
  const std::string all = Three(JournalFormat::kV2);
  const size_t b = EncodeJournalRecord(Mkdir("a")).size();  // where record 2 starts
  {
    std::string payload = all;
    size_t at = payload.find("payload-of-b");
    payload[at] ^= 1;
    auto d = DecodeJournalRecords(payload);
    ASSERT_FALSE(d.has_value()) << "a flipped bit in a name";
    EXPECT_TRUE(d.status().IsCorruption());
    EXPECT_NE(d.status().message().find("record 2 is damaged"), std::string::npos)
        << d.status().ToString();
  }
  for (size_t byte : {0, 1, 3, 4, 8}) {  // the length, its CRC, the payload's CRC
    std::string frame = all;
    frame[b + byte] ^= 0x40;
    auto d = DecodeJournalRecords(frame);
    ASSERT_FALSE(d.has_value()) << "byte " << byte << " of the frame damaged: " << Decoded(frame);
    EXPECT_NE(d.status().message().find("record 2 is damaged"), std::string::npos)
        << d.status().ToString();
  }
  // Zeros in the middle are damage too: records follow them.
  std::string zeroed = all;
  zeroed.replace(b, 12, 12, '\0');
  EXPECT_FALSE(DecodeJournalRecords(zeroed).has_value()) << Decoded(zeroed);
}

TEST(JournalTest, VersionOneFramingIsReadAsBefore) {
  const std::string all = Three(JournalFormat::kV1);
  EXPECT_EQ(Decoded(all + all.substr(0, 7), JournalFormat::kV1),
            "a payload-of-b c (" + std::to_string(all.size()) + " bytes)");
  EXPECT_FALSE(DecodeJournalRecords(all, JournalFormat::kV2).has_value())
      << "version 1 records do not pass for version 2";
}

}  // namespace
}  // namespace cairn::vmount
