#include "indexer/image_sniff.h"

#include <cstdint>

#include "base/coding.h"

namespace cairn::indexer {
namespace {

constexpr auto& Le = DecodeLittleEndian;  // base/coding.h

// A tar header of any format (v7 has no magic): its checksum field, octal, is the sum of its 512
// bytes with that field read as spaces.
bool IsTarHeader(std::string_view h) {
  if (h.size() < 512 || h[0] == '\0') return false;
  uint64_t field = 0;
  size_t i = 148, digits = 0;
  while (i < 156 && h[i] == ' ') ++i;
  for (; i < 156 && h[i] >= '0' && h[i] <= '7'; ++i, ++digits) field = field * 8 + (h[i] - '0');
  if (digits == 0 || (i < 156 && h[i] != ' ' && h[i] != '\0')) return false;
  uint64_t sum = 0;
  for (size_t j = 0; j < 512; ++j) {
    sum += (j >= 148 && j < 156) ? ' ' : static_cast<uint8_t>(h[j]);
  }
  return sum == field;
}

// Whether `h` begins as a tarball or a compressed stream does: a tar header (ustar or GNU magic,
// or any whose checksum holds: v7), cpio (ASCII or binary), or the magic of a compression
// libarchive reads. These come before a raw disk's signatures, which lie at offsets a tarball's
// first file, or compressed bytes, can fill with anything: a tar whose first file held 0xEF53 at
// its offset 568 was loop-mounted as ext, and about 2 in 65,536 .tar.gz files hold 0x55AA at 510
// (an MBR's signature).
bool LooksLikeAnArchive(std::string_view h) {
  if (h.size() >= 263 && h.substr(257, 5) == "ustar") return true;
  if (IsTarHeader(h)) return true;
  // Binary cpio (GNU cpio's default), either byte order.
  if (h.starts_with("\xc7\x71") || h.starts_with("\x71\xc7")) return true;
  for (std::string_view magic :
       {std::string_view("\x1f\x8b", 2),  // gzip
        std::string_view("\x1f\x9d", 2),  // compress
        std::string_view("\xfd"
                         "7zXZ\0",
                         6),                         // xz
        std::string_view("\x28\xb5\x2f\xfd", 4),     // zstd
        std::string_view("\x04\x22\x4d\x18", 4),     // lz4
        std::string_view("\x02\x21\x4c\x18", 4),     // lz4, legacy
        std::string_view("\x89LZO\0\r\n\x1a\n", 9),  // lzop
        std::string_view("\x5d\0\0", 3),             // lzma (lc=3 lp=0 pb=2)
        std::string_view("LRZI"), std::string_view("GRZipII"), std::string_view("LZIP"),
        std::string_view("070701"), std::string_view("070702"), std::string_view("070707")}) {
    if (h.starts_with(magic)) return true;
  }
  if (h.size() >= 4 && h.starts_with("BZh") && h[3] >= '1' && h[3] <= '9') return true;
  // A zstd skippable frame (pzstd writes one first): 0x184D2A50-5F, little-endian.
  if (h.size() >= 4 && (static_cast<uint8_t>(h[0]) & 0xF0) == 0x50 &&
      h.substr(1, 3) == "\x2a\x4d\x18")
    return true;
  return false;
}

}  // namespace

std::string SniffImageFormat(std::string_view h) {
  if (h.starts_with("QFI\xfb")) return "qcow2";
  if (h.starts_with("KDMV") || h.find("# Disk DescriptorFile") < 512) return "vmdk";
  if (h.size() >= 68 && Le(h, 64, 4) == 0xbeda107f) return "vdi";
  if (h.starts_with("vhdxfile")) return "vhdx";
  if (LooksLikeAnArchive(h)) return "";
  if (h.size() >= 1082 && Le(h, 1080, 2) == 0xEF53) return "raw";
  if (h.size() >= 520 && h.substr(512, 8) == "EFI PART") return "raw";
  if (h.size() >= 512 && Le(h, 510, 2) == 0xAA55) return "raw";
  // A whole disk holding what the probe knows and refuses, so that it is named (exit 9) rather
  // than taken for a tarball: LUKS, an LVM physical volume, XFS, squashfs, swap, ISO 9660. A tar
  // header (ustar or GNU magic) came first: a tarball of such images holds these bytes too.
  if (h.starts_with("LUKS\xba\xbe") || h.starts_with("XFSB") || h.starts_with("hsqs")) return "raw";
  for (size_t s = 0; s < 4; ++s) {
    if (h.size() >= s * 512 + 28 && h.substr(s * 512, 8) == "LABELONE" &&
        h.substr(s * 512 + 24, 4) == "LVM2") {
      return "raw";
    }
  }
  for (size_t page : {4096, 8192, 16384, 65536}) {
    if (h.size() >= page && h.substr(page - 10, 10) == "SWAPSPACE2") return "raw";
  }
  if (h.size() > 32774 && h.substr(32769, 5) == "CD001") return "raw";
  return "";
}

}  // namespace cairn::indexer
