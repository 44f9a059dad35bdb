#include "indexer/disk_lvm.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <tuple>

#include "base/coding.h"
#include "base/crc32.h"

namespace cairn::indexer {
namespace {

constexpr uint64_t kSector = 512;
constexpr auto& Le = DecodeLittleEndian;  // base/coding.h, short for the many field reads here
constexpr std::string_view kMdaMagic = " LVM2 x[5A%r0N*>";
// A volume group's metadata text is ~1-2 KiB per logical volume, in an area of 1 MiB by
// default: 64 MiB is thousands of volumes over anything seen, and bounds what damage can ask
// the probe to read (an area may claim up to 1 GiB).
constexpr uint64_t kMaxMetadataText = uint64_t{64} << 20;

// The text metadata's grammar: sections `name { ... }` holding sections and assignments
// `key = value`, a value being a number, a "string" or a [list] of them; `#` comments.
struct Section {
  std::string name;                                        // empty for the file's top level
  std::map<std::string, std::vector<std::string>> values;  // a scalar is a list of one
  std::vector<Section> sections;
  const Section* Find(std::string_view n) const {
    for (const auto& s : sections) {
      if (s.name == n) return &s;
    }
    return nullptr;
  }
  const std::string* Scalar(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() || it->second.size() != 1 ? nullptr : &it->second[0];
  }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : in_(text) {}

  Result<Section> ParseFile() {
    Section top;
    CAIRN_RETURN_IF_ERROR(ParseBody(&top, 0));
    return top;
  }

 private:
  Status Bad(const std::string& what) {
    return Status::InvalidArgument("parse LVM metadata at byte " + std::to_string(pos_) + ": " + what);
  }
  void Skip() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == '#') {
        while (pos_ < in_.size() && in_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0') {
        ++pos_;
      } else {
        break;
      }
    }
  }
  static bool IsWordChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '+' || c == '-';
  }
  std::string Word() {
    size_t start = pos_;
    while (pos_ < in_.size() && IsWordChar(in_[pos_])) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }
  Result<std::string> Value() {
    Skip();
    if (pos_ < in_.size() && in_[pos_] == '"') {
      std::string s;
      for (++pos_; pos_ < in_.size() && in_[pos_] != '"'; ++pos_) {
        if (in_[pos_] == '\\' && pos_ + 1 < in_.size()) ++pos_;
        s += in_[pos_];
      }
      if (pos_ >= in_.size()) return Bad("unterminated string");
      ++pos_;
      return s;
    }
    std::string w = Word();
    if (w.empty()) return Bad("expected a value");
    return w;
  }
  Status ParseBody(Section* s, int depth) {
    if (depth > 16) return Bad("sections nested too deep");
    for (;;) {
      Skip();
      if (pos_ >= in_.size()) return depth == 0 ? Status() : Bad("unterminated section");
      if (in_[pos_] == '}') {
        if (depth == 0) return Bad("unexpected '}'");
        ++pos_;
        return Status();
      }
      std::string name = Word();
      if (name.empty()) return Bad("expected a name");
      Skip();
      if (pos_ < in_.size() && in_[pos_] == '{') {
        ++pos_;
        Section sub;
        CAIRN_RETURN_IF_ERROR(ParseBody(&sub, depth + 1));
        sub.name = std::move(name);
        s->sections.push_back(std::move(sub));
      } else if (pos_ < in_.size() && in_[pos_] == '=') {
        ++pos_;
        Skip();
        std::vector<std::string> v;
        if (pos_ < in_.size() && in_[pos_] == '[') {
          ++pos_;
          for (;;) {
            Skip();
            if (pos_ < in_.size() && in_[pos_] == ']') {
              ++pos_;
              break;
            }
            if (!v.empty()) {
              if (pos_ >= in_.size() || in_[pos_] != ',') return Bad("expected ',' in a list");
              ++pos_;
            }
            CAIRN_ASSIGN_OR_RETURN(std::string item, Value());
            v.push_back(std::move(item));
          }
        } else {
          CAIRN_ASSIGN_OR_RETURN(std::string item, Value());
          v.push_back(std::move(item));
        }
        s->values[name] = std::move(v);
      } else {
        return Bad("expected '{' or '=' after '" + name + "'");
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

std::optional<uint64_t> Number(const std::string* s) {
  if (s == nullptr) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size()) return std::nullopt;
  return v;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

// CRC-32 from 0xf597a6cf without zlib's inversions (lvm2's calc_crc): the inversions of
// Crc32 undone on both sides.
uint32_t LvmChecksum(std::string_view data) { return ~Crc32(data, ~0xf597a6cfu); }

Result<std::optional<LvmPvLabel>> ReadPvLabel(const ReadAtFn& read, uint64_t offset) {
  CAIRN_ASSIGN_OR_RETURN(std::string head, read(offset, 4 * kSector));
  std::string_view h = head;
  for (uint64_t s = 0; s < 4; ++s) {
    std::string_view l = h.substr(s * kSector, kSector);
    if (l.substr(0, 8) != "LABELONE" || l.substr(24, 8) != "LVM2 001") continue;
    uint64_t at = Le(l, 20, 4);
    auto bad = [&](const std::string& what) {
      return Status::Corruption("read LVM label at byte " + std::to_string(offset) + ": " + what);
    };
    if (at < 32 || at + 32 + 8 + 16 > kSector) return bad("header outside the label sector");
    LvmPvLabel out;
    std::string_view id = l.substr(at, 32);
    for (size_t i = 0; i < 32; ++i) {
      if (i == 6 || i == 10 || i == 14 || i == 18 || i == 22 || i == 26) out.uuid += '-';
      out.uuid += id[i];
    }
    // Two lists of (offset, size), each ending with a zero entry: data areas, then metadata.
    size_t p = at + 40;
    int list = 0;
    bool first_data = true;
    while (list < 2) {
      if (p + 16 > kSector) return bad("unterminated area list");
      uint64_t o = Le(l, p, 8), n = Le(l, p + 8, 8);
      p += 16;
      if (o == 0) {
        ++list;
        continue;
      }
      if (list == 0 && first_data) {
        out.pe_start = o;
        first_data = false;
      } else if (list == 1) {
        out.mdas.emplace_back(o, n);
      }
    }
    if (out.pe_start == 0) return bad("no data area");
    return std::optional<LvmPvLabel>(std::move(out));
  }
  return std::optional<LvmPvLabel>();
}

Result<std::string> ReadPvMetadata(const ReadAtFn& read, uint64_t offset, std::pair<uint64_t, uint64_t> mda) {
  auto bad = [&](const std::string& what) {
    return Status::Corruption("read LVM metadata area at byte " + std::to_string(offset + mda.first) + ": " + what);
  };
  if (mda.second < kSector || mda.second > (1ull << 30)) return bad("bad size");
  CAIRN_ASSIGN_OR_RETURN(std::string h, read(offset + mda.first, kSector));
  if (h.substr(4, 16) != kMdaMagic) return bad("bad magic");
  if (Le(h, 0, 4) != LvmChecksum(std::string_view(h).substr(4))) return bad("header checksum mismatch");
  uint64_t loc = Le(h, 40, 8), len = Le(h, 48, 8);
  if (loc == 0 || len == 0) return std::string();
  if (loc < kSector || loc >= mda.second || len > mda.second - kSector) return bad("metadata outside the area");
  if (len > kMaxMetadataText) {
    return bad("metadata text of " + std::to_string(len) + " bytes, more than cairn reads (" +
               std::to_string(kMaxMetadataText >> 20) + " MiB)");
  }
  // The area is a ring after its header sector.
  uint64_t first = std::min(len, mda.second - loc);
  CAIRN_ASSIGN_OR_RETURN(std::string text, read(offset + mda.first + loc, first));
  if (first < len) {
    CAIRN_ASSIGN_OR_RETURN(std::string rest, read(offset + mda.first + kSector, len - first));
    text += rest;
  }
  if (Le(h, 56, 4) != LvmChecksum(text)) return bad("metadata checksum mismatch");
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

Result<LvmVolumeGroup> ParseVgMetadata(std::string_view text) {
  CAIRN_ASSIGN_OR_RETURN(Section top, Parser(text).ParseFile());
  const Section* vgs = nullptr;
  LvmVolumeGroup vg;
  for (const auto& s : top.sections) {
    if (s.Find("physical_volumes") != nullptr) {
      vg.name = s.name;
      vgs = &s;
      break;
    }
  }
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("parse LVM metadata of volume group '" + vg.name + "': " + what);
  };
  if (vgs == nullptr) return bad("no volume group");
  const std::string* id = vgs->Scalar("id");
  auto extent = Number(vgs->Scalar("extent_size"));
  if (id == nullptr || !extent || *extent == 0) return bad("no id or extent size");
  // Sector counts that would wrap around 64 bits as bytes are no disk's.
  constexpr uint64_t kMaxSectors = uint64_t{1} << 54;
  if (*extent > kMaxSectors) return bad("extent size out of range");
  vg.uuid = *id;
  vg.seqno = Number(vgs->Scalar("seqno")).value_or(0);
  vg.extent_size = *extent * kSector;
  for (const auto& pv : vgs->Find("physical_volumes")->sections) {
    const std::string& key = pv.name;
    auto pe_start = Number(pv.Scalar("pe_start")), pe_count = Number(pv.Scalar("pe_count"));
    if (pv.Scalar("id") == nullptr || !pe_start || !pe_count) return bad("physical volume " + key + " incomplete");
    if (*pe_start > kMaxSectors) return bad("physical volume " + key + ": pe_start out of range");
    vg.pvs.push_back({key, *pv.Scalar("id"), *pe_start * kSector, *pe_count});
  }
  if (const Section* lvs = vgs->Find("logical_volumes")) {
    auto refuse = [&](const std::string& name, const std::string& what) {
      return Status::NotSupported("logical volume " + vg.name + "/" + name + " " + what +
                                  " (only linear logical volumes are supported)");
    };
    // Segment types first, so that a snapshot or thin pool is named as such rather than by the
    // hidden volumes it is made of.
    for (const auto& lv : lvs->sections) {
      for (const auto& seg : lv.sections) {
        const std::string* type = seg.Scalar("type");
        if (seg.name.starts_with("segment") && (type == nullptr || *type != "striped")) {
          return refuse(lv.name, "is a " + (type ? *type : std::string("typeless")) + " volume");
        }
      }
    }
    for (const auto& lv : lvs->sections) {
      const std::string& name = lv.name;
      auto refuse_this = [&](const std::string& what) { return refuse(name, what); };
      auto status = lv.values.find("status");
      if (status == lv.values.end() ||
          std::find(status->second.begin(), status->second.end(), "VISIBLE") == status->second.end()) {
        return refuse_this("is hidden (part of a thin pool, mirror, RAID or snapshot)");
      }
      LvmVolumeGroup::Lv out;
      out.name = name;
      if (lv.Scalar("id") == nullptr) return bad("logical volume " + name + " has no id");
      out.uuid = *lv.Scalar("id");
      // Segments in logical order: segment1, segment2, ... by start_extent.
      std::vector<std::pair<uint64_t, LvmVolumeGroup::Segment>> segs;
      for (const auto& seg : lv.sections) {
        const std::string& sname = seg.name;
        if (!sname.starts_with("segment")) continue;
        const std::string* type = seg.Scalar("type");
        if (type == nullptr || *type != "striped") {
          return refuse_this("is a " + (type ? *type : std::string("typeless")) + " volume");
        }
        auto start = Number(seg.Scalar("start_extent")), count = Number(seg.Scalar("extent_count"));
        auto stripes = seg.values.find("stripes");
        if (stripes == seg.values.end() || stripes->second.size() != 2 || Number(seg.Scalar("stripe_count")) != 1) {
          return refuse_this("is striped over several physical volumes");
        }
        auto pe = Number(&stripes->second[1]);
        if (!start || !count || !pe || *count == 0) return bad("segment " + sname + " of " + name + " incomplete");
        segs.push_back({*start, {stripes->second[0], *pe, *count}});
      }
      std::sort(segs.begin(), segs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      uint64_t next = 0;
      for (auto& [start, segment] : segs) {
        auto& seg = segment;  // the lambda below captures it (clang 14 cannot capture a binding)
        if (start != next) return bad("segments of " + name + " leave a gap");
        next += seg.extents;
        if (std::none_of(vg.pvs.begin(), vg.pvs.end(), [&](const auto& p) { return p.key == seg.pv; })) {
          return bad("segment of " + name + " names an unknown physical volume " + seg.pv);
        }
        out.segments.push_back(std::move(seg));
      }
      if (out.segments.empty()) return bad("logical volume " + name + " has no segment");
      vg.lvs.push_back(std::move(out));
    }
  }
  std::sort(vg.lvs.begin(), vg.lvs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return vg;
}

std::string VgMetadataText(const cas::VolumeGroup& vg, const std::map<uint32_t, LvmDevice>& devices) {
  std::string t = "contents = \"Text Format Volume Group\"\nversion = 1\n\n";
  t += vg.name + " {\n\tid = " + Quote(vg.uuid) + "\n\tseqno = 1\n\tformat = \"lvm2\"\n";
  t += "\tstatus = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\n\tflags = []\n";
  t += "\textent_size = " + std::to_string(vg.extent_size / kSector) + "\n";
  t += "\tmax_lv = 0\n\tmax_pv = 0\n\tmetadata_copies = 0\n\n\tphysical_volumes {\n";
  for (size_t i = 0; i < vg.pvs.size(); ++i) {
    const auto& pv = vg.pvs[i];
    const LvmDevice& dev = devices.at(pv.partition);
    t += "\t\tpv" + std::to_string(i) + " {\n\t\t\tid = " + Quote(pv.uuid) + "\n\t\t\tdevice = " + Quote(dev.path) +
         "\n\t\t\tstatus = [\"ALLOCATABLE\"]\n\t\t\tflags = []\n\t\t\tdev_size = " +
         std::to_string(dev.size / kSector) + "\n\t\t\tpe_start = " + std::to_string(pv.pe_start / kSector) +
         "\n\t\t\tpe_count = " + std::to_string(pv.pe_count) + "\n\t\t}\n";
  }
  t += "\t}\n";
  if (!vg.lvs.empty()) {
    t += "\n\tlogical_volumes {\n";
    for (const auto& lv : vg.lvs) {
      t += "\t\t" + lv.name + " {\n\t\t\tid = " + Quote(lv.uuid) +
           "\n\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n\t\t\tflags = []\n\t\t\tsegment_count = " +
           std::to_string(lv.segments.size()) + "\n";
      uint64_t start = 0;
      for (size_t i = 0; i < lv.segments.size(); ++i) {
        const auto& sg = lv.segments[i];
        size_t pv = 0;
        while (vg.pvs[pv].partition != sg.partition) ++pv;
        t += "\n\t\t\tsegment" + std::to_string(i + 1) + " {\n\t\t\t\tstart_extent = " + std::to_string(start) +
             "\n\t\t\t\textent_count = " + std::to_string(sg.extents) +
             "\n\t\t\t\ttype = \"striped\"\n\t\t\t\tstripe_count = 1\n\t\t\t\tstripes = [\"pv" + std::to_string(pv) +
             "\", " + std::to_string(sg.pe) + "]\n\t\t\t}\n";
        start += sg.extents;
      }
      t += "\t\t}\n";
    }
    t += "\t}\n";
  }
  return t + "}\n";
}

namespace {

// The disk offset of extent `pe` of the PV on `partition`.
uint64_t ExtentOffset(const cas::Disk& d, const cas::VolumeGroup& vg, uint32_t partition, uint64_t pe) {
  const cas::DiskPartition* p = d.FindPartition(partition);
  const cas::PhysicalVolume* pv = vg.FindPv(partition);
  return p->start + pv->pe_start + pe * vg.extent_size;
}

}  // namespace

Status ProbeVolumeGroups(const ReadAtFn& read, ProbedLayout* layout) {
  cas::Disk& d = layout->disk;
  std::map<std::string, uint32_t> partition_of;  // PV uuid -> partition
  // VG name -> (seqno, metadata text): the newest copy among the PVs' metadata areas.
  std::map<std::string, std::pair<uint64_t, std::string>> texts;
  for (size_t i = 0; i < d.partitions.size(); ++i) {
    if (layout->contents[i].kind != ProbedContent::Kind::kLvmPv) continue;
    const cas::DiskPartition& p = d.partitions[i];
    CAIRN_ASSIGN_OR_RETURN(auto label, ReadPvLabel(read, p.start));
    if (!label) return Status::Corruption("partition " + std::to_string(p.number) + ": damaged LVM label");
    partition_of[label->uuid] = p.number;
    for (const auto& mda : label->mdas) {
      CAIRN_ASSIGN_OR_RETURN(std::string text, ReadPvMetadata(read, p.start, mda));
      if (text.empty()) continue;
      auto vg = ParseVgMetadata(text);
      if (!vg) {
        return Status(vg.error().code(), "partition " + std::to_string(p.number) + ": " + vg.error().message());
      }
      auto& newest = texts[vg->name];
      if (newest.second.empty() || vg->seqno > newest.first) newest = {vg->seqno, std::move(text)};
    }
  }
  for (const auto& [name, copy] : texts) {
    const std::string& text = copy.second;
    CAIRN_ASSIGN_OR_RETURN(LvmVolumeGroup parsed, ParseVgMetadata(text));
    cas::VolumeGroup vg;
    vg.name = parsed.name;
    vg.uuid = parsed.uuid;
    vg.extent_size = parsed.extent_size;
    if (!cas::IsLvmName(vg.name)) return Status::Corruption("LVM volume group name '" + vg.name + "' is not valid");
    std::map<std::string, uint32_t> pv_partition;  // key -> partition
    for (const auto& pv : parsed.pvs) {
      auto it = partition_of.find(pv.uuid);
      if (it == partition_of.end()) {
        return Status::NotSupported("volume group " + vg.name + " has physical volume " + pv.uuid +
                                    " outside this disk, which is not supported");
      }
      pv_partition[pv.key] = it->second;
      vg.pvs.push_back({it->second, pv.uuid, pv.pe_start, pv.pe_count});
    }
    std::sort(vg.pvs.begin(), vg.pvs.end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
    for (const auto& lv : parsed.lvs) {
      cas::LogicalVolume out;
      out.name = lv.name;
      out.uuid = lv.uuid;
      if (!cas::IsLvmName(lv.name)) return Status::Corruption("LVM logical volume name '" + lv.name + "' is not valid");
      for (const auto& sg : lv.segments) out.segments.push_back({pv_partition[sg.pv], sg.pe, sg.extents});
      vg.lvs.push_back(std::move(out));
    }
    for (auto& p : d.partitions) {
      if (vg.FindPv(p.number)) p.content = cas::PartitionContent::kLvmPv;
    }
    d.volume_groups.push_back(std::move(vg));
  }
  // Check the geometry before reading through it (ValidateDisk ignores what is not yet filled).
  for (const auto& vg : d.volume_groups) {
    for (const auto& pv : vg.pvs) {
      const cas::DiskPartition* p = d.FindPartition(pv.partition);
      // In extents, so that nothing wraps around 64 bits.
      if (pv.pe_start > p->size || pv.pe_count > (p->size - pv.pe_start) / vg.extent_size) {
        return Status::Corruption("volume group " + vg.name + ": physical volume on partition " +
                                  std::to_string(pv.partition) + " is larger than the partition");
      }
    }
    // Segments inside their physical volume, and no extent in two of them: lvm2 never writes
    // either, and checkout could not.
    std::vector<std::tuple<uint32_t, uint64_t, uint64_t, std::string>> taken;  // pv, first, end, lv
    for (const auto& lv : vg.lvs) {
      for (const auto& sg : lv.segments) {
        const uint64_t pe_count = vg.FindPv(sg.partition)->pe_count;
        if (sg.extents > pe_count || sg.pe > pe_count - sg.extents) {
          return Status::Corruption("logical volume " + vg.name + "/" + lv.name + " lies outside its physical volume");
        }
        taken.emplace_back(sg.partition, sg.pe, sg.pe + sg.extents, lv.name);
      }
    }
    std::sort(taken.begin(), taken.end());
    for (size_t i = 1; i < taken.size(); ++i) {
      const auto& [pv, first, end, name] = taken[i - 1];
      if (std::get<0>(taken[i]) == pv && std::get<1>(taken[i]) < end) {
        return Status::Corruption("logical volumes " + vg.name + "/" + name + " and " + vg.name +
                                  "/" + std::get<3>(taken[i]) +
                                  " share extents of the physical volume on partition " +
                                  std::to_string(pv));
      }
    }
    for (const auto& lv : vg.lvs) {
      ReadAtFn lv_read = VolumeReader(read, d, vg, lv);
      CAIRN_ASSIGN_OR_RETURN(ProbedContent c, ProbeContent(lv_read, 0, lv.Extents() * vg.extent_size));
      if (c.kind == ProbedContent::Kind::kLvmPv) c.kind = ProbedContent::Kind::kUnknown;  // nested: bytes
      layout->volumes[vg.name + "/" + lv.name] = std::move(c);
    }
  }
  // A physical volume of no group: its bytes.
  for (size_t i = 0; i < d.partitions.size(); ++i) {
    if (layout->contents[i].kind == ProbedContent::Kind::kLvmPv &&
        d.partitions[i].content != cas::PartitionContent::kLvmPv) {
      layout->contents[i].kind = ProbedContent::Kind::kUnknown;
    }
  }
  return Status();
}

ReadAtFn VolumeReader(const ReadAtFn& disk, const cas::Disk& layout, const cas::VolumeGroup& vg,
                      const cas::LogicalVolume& lv) {
  // Logical start, disk offset and length of each segment.
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> map;
  uint64_t at = 0;
  for (const auto& sg : lv.segments) {
    uint64_t len = sg.extents * vg.extent_size;
    map.emplace_back(at, ExtentOffset(layout, vg, sg.partition, sg.pe), len);
    at += len;
  }
  return [disk, map](uint64_t offset, size_t n) -> Result<std::string> {
    std::string out;
    out.reserve(n);
    for (const auto& [start, where, len] : map) {
      if (out.size() == n) break;
      uint64_t pos = offset + out.size();
      if (pos < start || pos >= start + len) continue;
      size_t take = static_cast<size_t>(std::min<uint64_t>(n - out.size(), start + len - pos));
      CAIRN_ASSIGN_OR_RETURN(std::string piece, disk(where + (pos - start), take));
      out += piece;
    }
    out.resize(n, '\0');
    return out;
  };
}

std::optional<uint64_t> VolumeOffset(const cas::Disk& layout, const cas::VolumeGroup& vg,
                                     const cas::LogicalVolume& lv) {
  if (lv.segments.size() != 1) return std::nullopt;
  return ExtentOffset(layout, vg, lv.segments[0].partition, lv.segments[0].pe);
}

}  // namespace cairn::indexer
