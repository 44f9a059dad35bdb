#include "indexer/disk_probe.h"

extern "C" {
#include <e2p/e2p.h>
}

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <optional>

#include "base/coding.h"
#include "base/crc32.h"
#include "indexer/disk_lvm.h"

namespace cairn::indexer {
namespace {

constexpr uint64_t kSector = 512;
constexpr auto& Le = DecodeLittleEndian;  // base/coding.h, short for the many field reads here
constexpr uint64_t kGapPiece = 1 << 20;
constexpr std::string_view kBiosBootType = "21686148-6449-6E6F-744E-656564454649";

bool AllZero(std::string_view b) {
  return std::all_of(b.begin(), b.end(), [](char c) { return c == 0; });
}

// A GPT GUID (first three fields little-endian) as upper-case text.
std::string GptGuid(std::string_view b) {
  char s[40];
  std::snprintf(s, sizeof(s), "%08X-%04X-%04X-", static_cast<unsigned>(Le(b, 0, 4)),
                static_cast<unsigned>(Le(b, 4, 2)), static_cast<unsigned>(Le(b, 6, 2)));
  std::string out = s;
  for (int i = 8; i < 16; ++i) {
    if (i == 10) out += '-';
    std::snprintf(s, sizeof(s), "%02X", static_cast<uint8_t>(b[i]));
    out += s;
  }
  return out;
}

// A byte-order UUID (ext, swap) as lower-case text, as blkid prints it.
std::string Uuid(std::string_view b) {
  std::string out;
  char s[4];
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    std::snprintf(s, sizeof(s), "%02x", static_cast<uint8_t>(b[i]));
    out += s;
  }
  return out;
}

std::string CString(std::string_view b) { return std::string(b.substr(0, b.find('\0'))); }

// UTF-16LE (GPT names) to UTF-8: a surrogate pair is one character outside the BMP, a lone
// surrogate U+FFFD.
std::string Utf16ToUtf8(std::string_view b) {
  std::string out;
  for (size_t i = 0; i + 1 < b.size(); i += 2) {
    uint32_t c = Le(b, i, 2);
    if (c == 0) break;
    if (c >= 0xD800 && c < 0xDC00 && i + 3 < b.size() && Le(b, i + 2, 2) >= 0xDC00 &&
        Le(b, i + 2, 2) < 0xE000) {
      c = 0x10000 + ((c - 0xD800) << 10) + (Le(b, i + 2, 2) - 0xDC00);
      i += 2;
    } else if (c >= 0xD800 && c < 0xE000) {
      c = 0xFFFD;
    }
    if (c >= 0x10000) {
      out += static_cast<char>(0xF0 | c >> 18);
      out += static_cast<char>(0x80 | (c >> 12 & 0x3F));
      out += static_cast<char>(0x80 | (c >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | c >> 6);
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | c >> 12);
      out += static_cast<char>(0x80 | (c >> 6 & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

// The journal mke2fs makes for a filesystem of `blocks` blocks, in blocks (0: none, too small),
// as e2fsprogs' ext2fs_default_journal_size decides it (1.47; linking libext2fs for it would
// bring much of the library into the static binary).
uint64_t DefaultJournalBlocks(uint64_t blocks) {
  constexpr std::pair<uint64_t, uint64_t> kBelow[] = {{2048, 0},
                                                      {32768, 1024},
                                                      {256 * 1024, 4096},
                                                      {512 * 1024, 8192},
                                                      {4096 * 1024, 16384},
                                                      {8192 * 1024, 32768},
                                                      {16384 * 1024, 65536},
                                                      {32768 * 1024, 131072}};
  for (const auto& [limit, journal] : kBelow) {
    if (blocks < limit) return journal;
  }
  return 262144;
}

ProbedContent ProbeExt(std::string_view sb) {
  ProbedContent c;
  // Blocks are 1 KiB << s_log_block_size, at most 64 KiB. A superblock that says more is not
  // one a kernel mounts: its bytes are kept as they are (and the shift below stays defined:
  // found by fuzz/probe_fuzzer.cc).
  if (Le(sb, 24, 4) > 6) {
    c.kind = ProbedContent::Kind::kUnknown;
    return c;
  }
  c.kind = ProbedContent::Kind::kExt;
  uint32_t compat = Le(sb, 92, 4), incompat = Le(sb, 96, 4), ro = Le(sb, 100, 4);
  // As blkid decides: a journal makes ext3; features ext3 does not know make ext4.
  constexpr uint32_t kExt3Incompat = 0x0002 | 0x0004 | 0x0010;  // filetype, recover, meta_bg
  constexpr uint32_t kExt3Ro = 0x0001 | 0x0002 | 0x0004;         // sparse_super, large_file, btree
  if ((incompat & ~kExt3Incompat) || (ro & ~kExt3Ro)) c.type = "ext4";
  else if (compat & 0x0004) c.type = "ext3";
  else c.type = "ext2";
  c.needs_recovery = (incompat & 0x0004) != 0;
  c.uuid = Uuid(sb.substr(104, 16));
  c.label = CString(sb.substr(120, 16));
  std::string features;
  for (int kind = 0; kind < 3; ++kind) {
    uint32_t mask = kind == 0 ? compat : kind == 1 ? incompat : ro;
    for (int bit = 0; bit < 32; ++bit) {
      if (!(mask & (1u << bit))) continue;
      std::string name = e2p_feature2string(kind, 1u << bit);
      // State, not creation parameters.
      if (name == "needs_recovery" || name == "orphan_present") continue;
      // An unknown compat feature is harmless to older code and is set back at checkout; an
      // unknown incompat or ro_compat one changes what the filesystem means.
      if (kind != E2P_FEATURE_COMPAT && name.starts_with("FEATURE_")) {
        c.unknown_features += (c.unknown_features.empty() ? "" : " ") + name;
      }
      features += (features.empty() ? "" : " ") + name;
    }
  }
  uint64_t blocks = Le(sb, 4, 4);
  uint64_t free_blocks = Le(sb, 12, 4);
  if (incompat & 0x80) {  // 64bit
    blocks |= Le(sb, 0x150, 4) << 32;
    free_blocks |= Le(sb, 0x158, 4) << 32;
  }
  // The files' data, roughly: the blocks in use less the inode tables and the journal (its
  // size is in s_jnl_blocks when s_jnl_backup_type is 1). Other metadata (bitmaps, reserved
  // descriptor blocks, directories) stays in: 1-20% more than the files hold.
  const uint64_t block_size = 1024u << Le(sb, 24, 4);
  const uint64_t inodes = Le(sb, 0, 4);
  const uint64_t inode_size = Le(sb, 76, 4) == 0 ? 128 : Le(sb, 88, 2);
  uint64_t estimate = free_blocks < blocks ? (blocks - free_blocks) * block_size : 0;
  const uint64_t journal =
      sb[0xFD] == 1 ? Le(sb, 0x10C + 16 * 4, 4) | Le(sb, 0x10C + 15 * 4, 4) << 32 : 0;
  for (uint64_t overhead : {inodes * inode_size, journal}) {
    estimate = estimate > overhead ? estimate - overhead : 0;
  }
  c.data_bytes_estimate = estimate;
  c.params = {{"block_count", std::to_string(blocks)},
              {"block_size", std::to_string(block_size)},
              {"features", features},
              {"inode_count", std::to_string(inodes)},
              {"inode_size", std::to_string(inode_size)}};
  // The journal's size, when it is not the one mke2fs would make (-J size=: a minimized image's
  // files may not fit beside a bigger one), so ordinary filesystems keep their params. Known
  // only for an internal journal whose inode is backed up in the superblock; not with fast
  // commits, whose area shares the journal inode.
  constexpr uint32_t kHasJournal = 0x0004, kFastCommit = 0x0400;
  if ((compat & kHasJournal) && !(compat & kFastCommit) && Le(sb, 0xE0, 4) != 0 && journal != 0 &&
      journal != DefaultJournalBlocks(blocks) * block_size) {
    c.params.emplace_back("journal_size", std::to_string(journal));  // sorted: after inode_size
  }
  return c;
}

}  // namespace

namespace {

// A volume boot record (FAT, NTFS): its 0xAA55 signature does not make it a partition table.
bool IsVolumeBootRecord(std::string_view h) {
  return h.size() >= 512 &&
         (h.substr(54, 3) == "FAT" || h.substr(82, 5) == "FAT32" || h.substr(3, 8) == "NTFS    ");
}

}  // namespace

Result<ProbedContent> ProbeContent(const ReadAtFn& read, uint64_t offset, uint64_t size) {
  ProbedContent c;
  uint64_t n = std::min<uint64_t>(size, 68 * 1024);
  CAIRN_ASSIGN_OR_RETURN(std::string b, read(offset, n));
  b.resize(68 * 1024, '\0');
  auto unsupported = [&](const char* type) {
    c.kind = ProbedContent::Kind::kUnsupported;
    c.type = type;
    return c;
  };
  if (b.starts_with("LUKS\xba\xbe")) return unsupported("crypto_LUKS");
  for (int s = 0; s < 4; ++s) {
    if (b.substr(s * 512, 8) == "LABELONE" && b.substr(s * 512 + 24, 4) == "LVM2") {
      c.kind = ProbedContent::Kind::kLvmPv;
      c.type = "LVM2_member";
      return c;
    }
  }
  if (Le(b, 1024 + 56, 2) == 0xEF53) return ProbeExt(std::string_view(b).substr(1024, 1024));
  for (uint64_t page : {4096, 8192, 16384, 65536}) {
    if (page <= b.size() && b.substr(page - 10, 10) == "SWAPSPACE2") {
      c.kind = ProbedContent::Kind::kSwap;
      c.type = "swap";
      c.uuid = Uuid(std::string_view(b).substr(1024 + 12, 16));
      c.label = CString(std::string_view(b).substr(1024 + 28, 16));
      return c;
    }
  }
  if (b.starts_with("XFSB")) return unsupported("xfs");
  if (b.substr(65536 + 64, 8) == "_BHRfS_M") return unsupported("btrfs");
  if (b.substr(3, 8) == "NTFS    ") return unsupported("ntfs");
  if (b.starts_with("hsqs")) return unsupported("squashfs");
  if (Le(b, 510, 2) == 0xAA55 && (b.substr(54, 3) == "FAT" || b.substr(82, 5) == "FAT32")) {
    return unsupported("vfat");
  }
  if (b.size() > 32774 && b.substr(32769, 5) == "CD001") return unsupported("iso9660");
  c.kind = AllZero(b) ? ProbedContent::Kind::kEmpty : ProbedContent::Kind::kUnknown;
  return c;
}

namespace {

// A GPT header and its entry array, both checksums verified.
struct Gpt {
  uint64_t first_lba = 0, last_lba = 0;  // the usable sectors
  std::string disk_id;
  uint64_t entries_lba = 0;
  uint32_t count = 0;
  uint32_t entry_size = 0;
  std::string entries;
};

// Reads the GPT whose header sector is `header` (the primary's or the backup's). Corruption,
// without the image's name, when a field is out of range or a checksum fails.
Result<Gpt> ReadGpt(const ReadAtFn& read, std::string_view header) {
  Gpt g;
  g.first_lba = Le(header, 40, 8);
  g.last_lba = Le(header, 48, 8);
  g.disk_id = GptGuid(header.substr(56, 16));
  g.entries_lba = Le(header, 72, 8);
  const uint64_t count = Le(header, 80, 4), esize = Le(header, 84, 4);
  // Entries are 128 * 2^n bytes (UEFI); 1 KiB is the most any tool writes. Unbounded, a damaged
  // header asked for up to 4 TiB of entries (found by fuzz/probe_fuzzer.cc).
  // Sectors are counted in 64 bits, bytes too: an LBA of 2^55 or more is no disk's.
  constexpr uint64_t kMaxLba = uint64_t{1} << 54;
  if (esize < 128 || esize > 1024 || (esize & (esize - 1)) != 0 || count > 1024 ||
      g.entries_lba < 2 || g.entries_lba > kMaxLba || g.first_lba > g.last_lba + 1 ||
      g.last_lba > kMaxLba) {
    return Status::Corruption("damaged GPT header");
  }
  // Checksums as the kernel and blkid check them: the header's (its own field zeroed) and the
  // entry array's. A table that fails them is not the one the OS sees.
  const uint64_t header_size = Le(header, 12, 4);
  if (header_size < 92 || header_size > kSector) return Status::Corruption("damaged GPT header");
  std::string copy(header.substr(0, header_size));
  copy.replace(16, 4, 4, '\0');
  if (Crc32(copy) != Le(header, 16, 4)) {
    return Status::Corruption("GPT header checksum mismatch");
  }
  g.count = static_cast<uint32_t>(count);
  g.entry_size = static_cast<uint32_t>(esize);
  CAIRN_ASSIGN_OR_RETURN(g.entries, read(g.entries_lba * kSector, count * esize));
  if (Crc32(g.entries) != Le(header, 88, 4)) {
    return Status::Corruption("GPT partition entries checksum mismatch");
  }
  return g;
}

}  // namespace

Result<ProbedLayout> ProbeLayout(const ReadAtFn& read, uint64_t size, const std::string& image) {
  ProbedLayout out;
  cas::Disk& d = out.disk;
  d.size = size;
  CAIRN_ASSIGN_OR_RETURN(std::string head, read(0, std::min<uint64_t>(size, 1 << 20)));
  head.resize(1 << 20, '\0');
  std::string_view h = head;
  auto fail = [&](Code code, const std::string& what) { return Status(code, "checkin " + image + ": " + what); };
  uint64_t table_end = kSector;
  uint64_t gpt_gap_end = 0;  // GPT entries not at sector 2: where the sectors after the header end
  bool mbr = Le(h, 510, 2) == 0xAA55 && !(Le(h, 1080, 2) == 0xEF53) && !IsVolumeBootRecord(h);
  // A protective MBR (a type 0xEE entry in any of the four slots, as libfdisk and blkid look
  // for it: gdisk's hybrid MBR puts it beside MBR copies of GPT partitions, in any slot): the
  // GPT in sector 1 or, as the kernel does when that one fails its checks, the backup in the
  // disk's last sector (which names its own copy of the entries). Without either, the MBR is
  // read as it is, as before the backup was known.
  bool protective = false, hybrid = false;
  for (int i = 0; mbr && i < 4; ++i) {
    const auto type = static_cast<uint8_t>(h[446 + 16 * i + 4]);
    protective = protective || type == 0xEE;
    hybrid = hybrid || (type != 0xEE && type != 0);
  }
  hybrid = hybrid && protective;
  std::optional<Result<Gpt>> gpt;
  bool from_backup = false;
  if (protective) {
    if (h.substr(512, 8) == "EFI PART") gpt = ReadGpt(read, h.substr(512, kSector));
    if ((!gpt || (!*gpt && gpt->error().code() == Code::kCorruption)) && size >= 3 * kSector) {
      const uint64_t last = size / kSector - 1;
      CAIRN_ASSIGN_OR_RETURN(std::string backup_header, read(last * kSector, kSector));
      if (backup_header.starts_with("EFI PART") && Le(backup_header, 24, 8) == last) {
        Result<Gpt> backup = ReadGpt(read, backup_header);
        if (backup) {
          out.warnings.push_back(
              "checkin " + image + ": the primary GPT " +
              (gpt ? "is damaged (" + gpt->error().message() + ")" : "is missing") +
              "; the backup in sector " + std::to_string(last) +
              " was read, as the kernel reads it");
          gpt = std::move(backup);
          from_backup = true;
        }
      }
    }
  }
  if (gpt) {
    if (!*gpt) return fail(gpt->error().code(), gpt->error().message());
    d.table = cas::PartitionTable::kGpt;
    Gpt& g = **gpt;
    d.first_lba = g.first_lba;
    d.disk_id = g.disk_id;
    d.entries = g.count;
    // Where the primary's entries end (from the backup: where they end in the usual layout,
    // from sector 2): the boot area's gap starts there.
    const uint64_t entries_lba = from_backup ? 2 : g.entries_lba;
    const uint64_t entries_sectors = (uint64_t{g.count} * g.entry_size + kSector - 1) / kSector;
    table_end = (entries_lba + entries_sectors) * kSector;
    // Entries moved past sector 2 (sgdisk -j 64, for boards whose boot ROM loads code from
    // 8 KiB): where they are is kept, and the sectors before them ("gpt-gap", below).
    if (entries_lba != 2) {
      if (entries_lba > g.first_lba || entries_sectors > g.first_lba - entries_lba) {
        return fail(Code::kNotSupported,
                    "the GPT entry array at sector " + std::to_string(entries_lba) +
                        " does not lie before the first usable sector (" +
                        std::to_string(g.first_lba) + "), which is not supported");
      }
      d.entries_lba = entries_lba;
      gpt_gap_end = entries_lba * kSector;
    }
    for (uint64_t i = 0; i < g.count; ++i) {
      std::string_view e = std::string_view(g.entries).substr(i * g.entry_size, g.entry_size);
      if (AllZero(e.substr(0, 16))) continue;
      if (i >= 128) return fail(Code::kNotSupported, "GPT partition number above 128");
      cas::DiskPartition p;
      p.number = static_cast<uint32_t>(i + 1);
      p.type = GptGuid(e.substr(0, 16));
      p.guid = GptGuid(e.substr(16, 16));
      uint64_t first = Le(e, 32, 8), last = Le(e, 40, 8);
      if (last < first) return fail(Code::kCorruption, "GPT partition " + std::to_string(i + 1) + " ends before it starts");
      // Checked before they become bytes, which could wrap around 64 bits.
      if (last >= size / kSector) {
        return fail(Code::kCorruption,
                    "partition " + std::to_string(i + 1) + " lies outside the disk");
      }
      // What sfdisk, and so checkout, refuses too.
      if (first < g.first_lba || last > g.last_lba) {
        return fail(Code::kCorruption, "GPT partition " + std::to_string(i + 1) +
                                           " lies outside the table's usable sectors (" +
                                           std::to_string(g.first_lba) + " to " +
                                           std::to_string(g.last_lba) + ")");
      }
      p.start = first * kSector;
      p.size = (last - first + 1) * kSector;
      p.attrs = Le(e, 48, 8);
      p.name = Utf16ToUtf8(e.substr(56, 72));
      d.partitions.push_back(std::move(p));
    }
  } else if (mbr) {
    d.table = cas::PartitionTable::kMbr;
    char id[16];
    std::snprintf(id, sizeof(id), "0x%08x", static_cast<unsigned>(Le(h, 440, 4)));
    d.disk_id = id;
    for (int i = 0; i < 4; ++i) {
      std::string_view e = h.substr(446 + 16 * i, 16);
      uint8_t type = static_cast<uint8_t>(e[4]);
      if (type == 0) continue;
      cas::DiskPartition p;
      p.number = static_cast<uint32_t>(i + 1);
      char t[4];
      std::snprintf(t, sizeof(t), "%02x", type);
      p.type = t;
      p.attrs = static_cast<uint8_t>(e[0]) == 0x80 ? 0x80 : 0;
      p.start = Le(e, 8, 4) * kSector;
      p.size = Le(e, 12, 4) * kSector;
      d.partitions.push_back(std::move(p));
    }
    // Logical partitions: a chain of EBRs in the extended partition, each holding one logical
    // partition (its start relative to that EBR) and a link to the next EBR (relative to the
    // extended partition's start). Their EBR sectors are not stored: checkout lets sfdisk place
    // them (docs/format/disk.md).
    std::vector<cas::DiskPartition> logical;
    for (const auto& ext : d.partitions) {
      if (!cas::IsExtendedType(ext.type)) continue;
      if (!logical.empty()) return fail(Code::kCorruption, "two extended partitions");
      uint64_t ebr = ext.start;
      for (;;) {
        if (logical.size() >= 124) return fail(Code::kNotSupported, "more than 124 logical partitions");
        if (ebr < ext.start || ebr + kSector > ext.start + ext.size || ebr + kSector > size) {
          return fail(Code::kCorruption, "an extended boot record lies outside the extended partition");
        }
        CAIRN_ASSIGN_OR_RETURN(std::string sec, read(ebr, kSector));
        if (Le(sec, 510, 2) != 0xAA55) {
          if (logical.empty()) break;  // an empty extended partition
          return fail(Code::kCorruption, "damaged extended boot record at byte " + std::to_string(ebr));
        }
        std::string_view e0 = std::string_view(sec).substr(446, 16), e1 = std::string_view(sec).substr(462, 16);
        uint8_t type = static_cast<uint8_t>(e0[4]);
        if (type != 0) {
          cas::DiskPartition p;
          p.number = static_cast<uint32_t>(5 + logical.size());
          char t[4];
          std::snprintf(t, sizeof(t), "%02x", type);
          p.type = t;
          p.attrs = static_cast<uint8_t>(e0[0]) == 0x80 ? 0x80 : 0;
          p.start = ebr + Le(e0, 8, 4) * kSector;
          p.size = Le(e0, 12, 4) * kSector;
          logical.push_back(std::move(p));
        }
        uint64_t next = Le(e1, 8, 4) * kSector;
        if (static_cast<uint8_t>(e1[4]) == 0 || next == 0) break;
        if (ext.start + next <= ebr) return fail(Code::kCorruption, "extended boot records out of order");
        ebr = ext.start + next;
      }
    }
    for (auto& p : logical) d.partitions.push_back(std::move(p));
  } else {
    d.table = cas::PartitionTable::kNone;
    table_end = 0;
  }
  for (const auto& p : d.partitions) {
    if (p.start == 0 || p.size == 0 || p.start > size || p.size > size - p.start) {
      return fail(Code::kCorruption, "partition " + std::to_string(p.number) + " lies outside the disk");
    }
  }
  // Partitions over the same sectors: no tool makes them (checkout could not write them); an MBR
  // extended partition holds the logical ones, which its chain already keeps inside it.
  {
    std::vector<const cas::DiskPartition*> sorted;
    for (const auto& p : d.partitions) {
      if (d.table == cas::PartitionTable::kMbr && cas::IsExtendedType(p.type)) continue;
      sorted.push_back(&p);
    }
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->start < b->start; });
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i]->start < sorted[i - 1]->start + sorted[i - 1]->size) {
        return fail(Code::kCorruption, "partitions " + std::to_string(sorted[i - 1]->number) +
                                           " and " + std::to_string(sorted[i]->number) +
                                           " overlap");
      }
    }
  }
  // Contents.
  bool any_fs = false;
  // NotSupported naming `where` when `c` is what cairn does not store.
  auto refuse = [&](const ProbedContent& c, const std::string& where) -> Status {
    if (c.kind == ProbedContent::Kind::kUnsupported) {
      std::string what = c.type == "crypto_LUKS"
                             ? "is encrypted (LUKS), which is not supported"
                             : "holds a " + c.type + " filesystem, which is not supported (ext2/3/4 and swap are)";
      return fail(Code::kNotSupported, where + " " + what);
    }
    if (c.kind == ProbedContent::Kind::kExt && !c.unknown_features.empty()) {
      return fail(Code::kNotSupported, where + " holds an " + c.type +
                                           " filesystem with features e2fsprogs does not know (" +
                                           c.unknown_features + "), which is not supported");
    }
    return Status();
  };
  auto probe = [&](uint64_t off, uint64_t len, const std::string& where) -> Status {
    CAIRN_ASSIGN_OR_RETURN(ProbedContent c, ProbeContent(read, off, len));
    CAIRN_RETURN_IF_ERROR(refuse(c, where));
    if (c.kind == ProbedContent::Kind::kExt) any_fs = true;
    out.contents.push_back(std::move(c));
    return Status();
  };
  if (d.table == cas::PartitionTable::kNone) {
    // A CD or DVD image is one of the archive formats checkin refuses (docs/cli.md), as it
    // does when the same bytes come as a tarball on standard input.
    CAIRN_ASSIGN_OR_RETURN(ProbedContent whole, ProbeContent(read, 0, size));
    if (whole.kind == ProbedContent::Kind::kUnsupported && whole.type == "iso9660") {
      return fail(Code::kInvalidArgument,
                  "an iso9660 (CD or DVD) image; cairn checks in tar and cpio archives only");
    }
    CAIRN_RETURN_IF_ERROR(probe(0, size, "the disk"));
    if (out.contents[0].kind == ProbedContent::Kind::kLvmPv) {
      return fail(Code::kNotSupported, "the disk is an LVM physical volume without a partition table, which is not supported");
    }
    if (!any_fs) return fail(Code::kInvalidArgument, "not a disk image (no partition table and no filesystem)");
  } else {
    for (const auto& p : d.partitions) {
      if (d.table == cas::PartitionTable::kMbr && cas::IsExtendedType(p.type)) {
        out.contents.push_back({});  // its logical partitions are probed themselves
        continue;
      }
      CAIRN_RETURN_IF_ERROR(probe(p.start, p.size, "partition " + std::to_string(p.number)));
    }
    Status lvm = ProbeVolumeGroups(read, &out);
    if (!lvm.ok()) return Status(lvm.code(), "checkin " + image + ": " + lvm.message());
    for (const auto& [name, c] : out.volumes) {
      CAIRN_RETURN_IF_ERROR(refuse(c, "logical volume " + name));
      if (c.kind == ProbedContent::Kind::kExt) any_fs = true;
    }
    if (!any_fs) return fail(Code::kInvalidArgument, "the disk holds no filesystem cairn can store");
    for (size_t i = 0; i < d.partitions.size(); ++i) {
      if (d.partitions[i].type == kBiosBootType) out.contents[i].kind = ProbedContent::Kind::kUnknown;
    }
    // Boot areas: the MBR boot code and the gap before the first partition. The gap is looked
    // at a piece at a time: a first partition far into the disk makes it gigabytes.
    if (!AllZero(h.substr(0, 440))) out.boot.push_back({"mbr-code", 0, 440, ObjectId()});
    // A hybrid MBR's entries (and the disk signature before them), which the GPT does not hold
    // and sfdisk does not write: kept as they are, over the protective MBR checkout writes.
    if (d.table == cas::PartitionTable::kGpt && hybrid) {
      out.boot.push_back({"mbr-table", 440, 70, ObjectId()});
    }
    uint64_t first = size;
    for (const auto& p : d.partitions) first = std::min(first, p.start);
    // The sectors between the GPT header and an entry array moved away from sector 2, and those
    // from the end of the table to the first partition.
    const std::pair<const char*, std::pair<uint64_t, uint64_t>> gaps[] = {
        {"gpt-gap", {2 * kSector, gpt_gap_end}}, {"gap", {table_end, first}}};
    for (const auto& [kind, range] : gaps) {
      const auto [from, to] = range;
      for (uint64_t at = from; at < to; at += kGapPiece) {
        CAIRN_ASSIGN_OR_RETURN(std::string piece, read(at, std::min(kGapPiece, to - at)));
        if (!AllZero(piece)) {
          out.boot.push_back({kind, from, to - from, ObjectId()});
          break;
        }
      }
    }
  }
  // The boot block of each ext filesystem (its first 1 KiB, which ext leaves to a boot loader:
  // extlinux installs a volume boot record there), when not all zero: mke2fs zeroes it.
  std::vector<cas::DiskFilesystem> exts;
  for (size_t i = 0; i < out.contents.size(); ++i) {
    if (out.contents[i].kind != ProbedContent::Kind::kExt) continue;
    exts.push_back({});
    exts.back().partition = d.partitions.empty() ? 0 : d.partitions[i].number;
  }
  for (const auto& [name, c] : out.volumes) {
    if (c.kind != ProbedContent::Kind::kExt) continue;
    exts.push_back({});
    exts.back().volume = name;
  }
  for (const auto& f : exts) {
    std::optional<uint64_t> at = d.FilesystemOffset(f);
    if (!at) continue;
    CAIRN_ASSIGN_OR_RETURN(std::string block, read(*at, cas::kFsBootLength));
    if (!AllZero(block)) {
      out.boot.push_back({std::string(cas::kFsBootKind), *at, cas::kFsBootLength, ObjectId()});
    }
  }
  std::sort(out.boot.begin(), out.boot.end(),
            [](const auto& a, const auto& b) { return a.offset < b.offset; });
  return out;
}

}  // namespace cairn::indexer
