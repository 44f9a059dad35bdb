#include "cas/disk.h"

#include <algorithm>
#include <tuple>

#include "base/coding.h"
#include "cas/tree.h"

namespace cairn::cas {
namespace {

constexpr std::string_view kMagic1 = "cairn-disk-1\n";
constexpr std::string_view kMagic2 = "cairn-disk-2\n";
constexpr std::string_view kMagic3 = "cairn-disk-3\n";

bool GetString(std::string_view* in, std::string* s) {
  std::string_view v;
  if (!GetLengthPrefixed(in, &v)) return false;
  s->assign(v);
  return true;
}

bool GetId(std::string_view* in, ObjectId* id) {
  std::string_view raw;
  if (!GetBytes(in, ObjectId::kSize, &raw)) return false;
  *id = *ObjectId::FromBytes(raw);
  return true;
}

bool ValidMountpoint(const std::string& m) {
  if (m.empty() || m == "/") return true;
  if (m[0] != '/' || m.back() == '/') return false;
  size_t pos = 1;
  while (pos <= m.size()) {
    size_t slash = m.find('/', pos);
    if (slash == std::string::npos) slash = m.size();
    if (!IsSafeName(std::string_view(m).substr(pos, slash - pos))) return false;
    pos = slash + 1;
  }
  return true;
}

}  // namespace

bool IsExtendedType(std::string_view mbr_type) {
  return mbr_type == "05" || mbr_type == "0f" || mbr_type == "85";
}

bool Disk::HasLogicalPartitions() const {
  return table == PartitionTable::kMbr && !partitions.empty() && partitions.back().number > 4;
}

std::string_view PartitionTableName(PartitionTable t) {
  switch (t) {
    case PartitionTable::kNone: return "none";
    case PartitionTable::kMbr: return "dos";
    case PartitionTable::kGpt: return "gpt";
  }
  return "unknown";
}

std::string DiskFilesystem::Param(std::string_view key) const {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return "";
}

const DiskPartition* Disk::FindPartition(uint32_t number) const {
  for (const auto& p : partitions) {
    if (p.number == number) return &p;
  }
  return nullptr;
}

uint64_t LogicalVolume::Extents() const {
  uint64_t n = 0;
  for (const auto& s : segments) n += s.extents;
  return n;
}

const PhysicalVolume* VolumeGroup::FindPv(uint32_t partition) const {
  for (const auto& pv : pvs) {
    if (pv.partition == partition) return &pv;
  }
  return nullptr;
}

std::pair<const VolumeGroup*, const LogicalVolume*> Disk::FindVolume(std::string_view name) const {
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) return {nullptr, nullptr};
  for (const auto& vg : volume_groups) {
    if (vg.name != name.substr(0, slash)) continue;
    for (const auto& lv : vg.lvs) {
      if (lv.name == name.substr(slash + 1)) return {&vg, &lv};
    }
  }
  return {nullptr, nullptr};
}

uint64_t Disk::FilesystemSize(const DiskFilesystem& f) const {
  if (!f.volume.empty()) {
    auto [vg, lv] = FindVolume(f.volume);
    return lv ? lv->Extents() * vg->extent_size : 0;
  }
  const DiskPartition* p = FindPartition(f.partition);
  return p ? p->size : size;
}

std::optional<uint64_t> Disk::FilesystemOffset(const DiskFilesystem& f) const {
  if (!f.volume.empty()) {
    auto [vg, lv] = FindVolume(f.volume);
    if (lv == nullptr || lv->segments.empty()) return std::nullopt;
    const LvmSegment& first = lv->segments.front();
    const PhysicalVolume* pv = vg->FindPv(first.partition);
    const DiskPartition* p = FindPartition(first.partition);
    if (pv == nullptr || p == nullptr) return std::nullopt;
    return p->start + pv->pe_start + first.pe * vg->extent_size;
  }
  if (table == PartitionTable::kNone) return 0;
  const DiskPartition* p = FindPartition(f.partition);
  if (p == nullptr) return std::nullopt;
  return p->start;
}

bool IsLvmName(std::string_view n) {
  if (n.empty() || n.size() > 127 || n[0] == '-' || n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '_' || c == '.' || c == '-';
  });
}

namespace {

// MBR: partitions 5.. are logical partitions, numbered in the order of their chain without a
// gap, each inside the one extended partition (after its first sector, which holds an EBR)
// and after the one before; the extended partition holds nothing itself.
Status ValidateLogicalPartitions(const Disk& d) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("disk layout: " + what); };
  if (d.table != PartitionTable::kMbr) return Status();
  const DiskPartition* ext = nullptr;
  const DiskPartition* prev = nullptr;
  for (const auto& p : d.partitions) {
    std::string name = "partition " + std::to_string(p.number);
    if (p.number <= 4) {
      if (!IsExtendedType(p.type)) continue;
      if (ext != nullptr) return bad("two extended partitions");
      if (p.content != PartitionContent::kNothing) return bad(name + ": an extended partition holds nothing itself");
      ext = &p;
      continue;
    }
    if (ext == nullptr) return bad(name + ": a logical partition without an extended partition");
    if (p.number != (prev ? prev->number + 1 : 5)) return bad(name + ": logical partitions not numbered in order");
    if (IsExtendedType(p.type)) return bad(name + ": a logical partition of an extended type");
    uint64_t floor = prev ? prev->start + prev->size : ext->start;
    if (p.start <= floor || p.start + p.size > ext->start + ext->size) {
      return bad(name + ": outside its extended partition or before the logical partition before it");
    }
    prev = &p;
  }
  return Status();
}

Status ValidateVolumeGroups(const Disk& d) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("disk layout: " + what); };
  for (size_t i = 0; i < d.volume_groups.size(); ++i) {
    const auto& vg = d.volume_groups[i];
    std::string name = "volume group '" + vg.name + "'";
    if (!IsLvmName(vg.name)) return bad("bad volume group name '" + vg.name + "'");
    if (i > 0 && d.volume_groups[i - 1].name >= vg.name) return bad("volume groups not in order");
    if (vg.uuid.empty()) return bad(name + ": no uuid");
    if (vg.extent_size == 0 || vg.extent_size % 512 != 0) return bad(name + ": bad extent size");
    if (vg.pvs.empty()) return bad(name + ": no physical volume");
    for (size_t j = 0; j < vg.pvs.size(); ++j) {
      const auto& pv = vg.pvs[j];
      if (j > 0 && vg.pvs[j - 1].partition >= pv.partition) return bad(name + ": physical volumes not in order");
      const DiskPartition* p = d.FindPartition(pv.partition);
      if (p == nullptr || p->content != PartitionContent::kLvmPv) {
        return bad(name + ": physical volume on partition " + std::to_string(pv.partition) + " that is not one");
      }
      if (pv.uuid.empty() || pv.pe_start == 0 || pv.pe_start % 512 != 0 || pv.pe_count > p->size / vg.extent_size ||
          pv.pe_start + pv.pe_count * vg.extent_size > p->size) {
        return bad(name + ": physical volume on partition " + std::to_string(pv.partition) + " outside it");
      }
    }
    // Every physical extent belongs to at most one segment.
    std::vector<std::tuple<uint32_t, uint64_t, uint64_t>> used;
    for (size_t j = 0; j < vg.lvs.size(); ++j) {
      const auto& lv = vg.lvs[j];
      std::string lname = "logical volume '" + vg.name + "/" + lv.name + "'";
      if (!IsLvmName(lv.name)) return bad("bad logical volume name '" + lv.name + "'");
      if (j > 0 && vg.lvs[j - 1].name >= lv.name) return bad(name + ": logical volumes not in order");
      if (lv.uuid.empty()) return bad(lname + ": no uuid");
      if (lv.segments.empty()) return bad(lname + ": no segment");
      for (const auto& sg : lv.segments) {
        const PhysicalVolume* pv = vg.FindPv(sg.partition);
        if (pv == nullptr || sg.extents == 0 || sg.pe > pv->pe_count || sg.extents > pv->pe_count - sg.pe) {
          return bad(lname + ": segment outside its physical volumes");
        }
        used.emplace_back(sg.partition, sg.pe, sg.pe + sg.extents);
      }
      if (static_cast<uint8_t>(lv.content) > 2) return bad(lname + ": unknown content");
      if (lv.content != VolumeContent::kRaw && !lv.raw.IsZero()) return bad(lname + ": stray content id");
      std::string full = vg.name + "/" + lv.name;
      int fs = 0;
      for (const auto& f : d.filesystems) fs += f.volume == full;
      if ((lv.content == VolumeContent::kFilesystem) != (fs == 1) || fs > 1) {
        return bad(lname + ": filesystem records disagree with its content");
      }
    }
    std::sort(used.begin(), used.end());
    for (size_t j = 1; j < used.size(); ++j) {
      if (std::get<0>(used[j - 1]) == std::get<0>(used[j]) && std::get<2>(used[j - 1]) > std::get<1>(used[j])) {
        return bad(name + ": logical volumes overlap");
      }
    }
  }
  return Status();
}

}  // namespace

Status ValidateDisk(const Disk& d) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("disk layout: " + what); };
  if (d.sector_size != 512 && d.sector_size != 4096) return bad("sector size must be 512 or 4096");
  if (static_cast<uint8_t>(d.table) > 2) return bad("unknown partition table");
  if (d.table == PartitionTable::kNone && !d.partitions.empty()) return bad("partitions without a table");
  if (d.entries_lba != 0) {
    // Where sfdisk would not put it (2), and before the first usable sector (entries of 128
    // bytes, as checkout writes them).
    const uint64_t sectors = (uint64_t{d.entries} * 128 + 511) / 512;
    if (d.table != PartitionTable::kGpt || d.entries_lba <= 2 || d.entries_lba > d.first_lba ||
        sectors > d.first_lba - d.entries_lba) {
      return bad("GPT entry array at LBA " + std::to_string(d.entries_lba) +
                 " outside the sectors before the first usable one");
    }
  }
  uint32_t max_number = 128;
  Status logical = ValidateLogicalPartitions(d);
  if (!logical.ok()) return logical;
  for (size_t i = 0; i < d.partitions.size(); ++i) {
    const auto& p = d.partitions[i];
    std::string name = "partition " + std::to_string(p.number);
    if (p.number < 1 || p.number > max_number) return bad(name + ": bad number");
    if (i > 0 && d.partitions[i - 1].number >= p.number) return bad("partitions not in order");
    if (p.start == 0 || p.size == 0 || p.start + p.size < p.start || p.start + p.size > d.size) {
      return bad(name + ": outside the disk");
    }
    if (static_cast<uint8_t>(p.content) > 3) return bad(name + ": unknown content");
    int pvs = 0;
    for (const auto& vg : d.volume_groups) pvs += vg.FindPv(p.number) != nullptr;
    if ((p.content == PartitionContent::kLvmPv) != (pvs == 1) || pvs > 1) {
      return bad(name + ": physical volume records disagree with its content");
    }
    if (p.content != PartitionContent::kRaw && !p.raw.IsZero()) return bad(name + ": stray content id");
    int fs = 0;
    for (const auto& f : d.filesystems) fs += f.partition == p.number;
    if ((p.content == PartitionContent::kFilesystem) != (fs == 1) || fs > 1) {
      return bad(name + ": filesystem records disagree with its content");
    }
  }
  Status s = ValidateVolumeGroups(d);
  if (!s.ok()) return s;
  for (size_t i = 0; i < d.filesystems.size(); ++i) {
    const auto& f = d.filesystems[i];
    if (i > 0 && std::tie(d.filesystems[i - 1].volume, d.filesystems[i - 1].partition) >=
                     std::tie(f.volume, f.partition)) {
      return bad("filesystems not in order");
    }
    if (!f.volume.empty()) {
      if (f.partition != 0 || d.FindVolume(f.volume).second == nullptr) {
        return bad("filesystem names a missing logical volume '" + f.volume + "'");
      }
    } else if (d.table == PartitionTable::kNone ? f.partition != 0 || d.filesystems.size() != 1
                                                : d.FindPartition(f.partition) == nullptr) {
      return bad("filesystem names a missing partition " + std::to_string(f.partition));
    }
    if (f.type.empty()) return bad("filesystem without a type");
    for (size_t j = 1; j < f.params.size(); ++j) {
      if (f.params[j - 1].first >= f.params[j].first) return bad("filesystem parameters not sorted");
    }
    if (!ValidMountpoint(f.mountpoint)) return bad("bad mount point '" + f.mountpoint + "'");
  }
  uint64_t end = 0;
  for (const auto& b : d.boot) {
    if (b.kind.empty() || b.length == 0 || b.offset < end || b.offset + b.length < b.offset ||
        b.offset + b.length > d.size) {
      return bad("boot area '" + b.kind + "' out of order or outside the disk");
    }
    end = b.offset + b.length;
    if (b.kind == kFsBootKind) {
      bool at_ext = b.length == kFsBootLength &&
                    std::any_of(d.filesystems.begin(), d.filesystems.end(), [&](const auto& f) {
                      return f.type.starts_with("ext") && d.FilesystemOffset(f) == b.offset;
                    });
      if (!at_ext) return bad("boot area 'fs-boot' not the first 1024 bytes of an ext filesystem");
    }
  }
  return Status();
}

std::string EncodeDisk(const Disk& d) {
  const bool v3 = d.entries_lba != 0;
  const bool v2 = v3 || !d.volume_groups.empty() || d.HasLogicalPartitions();
  std::string out(v3 ? kMagic3 : v2 ? kMagic2 : kMagic1);
  PutVarint64(&out, d.size);
  PutVarint64(&out, d.sector_size);
  out.push_back(static_cast<char>(d.table));
  PutLengthPrefixed(&out, d.disk_id);
  PutVarint64(&out, d.first_lba);
  PutVarint64(&out, d.entries);
  if (v3) PutVarint64(&out, d.entries_lba);
  PutVarint64(&out, d.partitions.size());
  for (const auto& p : d.partitions) {
    PutVarint64(&out, p.number);
    PutVarint64(&out, p.start);
    PutVarint64(&out, p.size);
    PutLengthPrefixed(&out, p.type);
    PutLengthPrefixed(&out, p.guid);
    PutLengthPrefixed(&out, p.name);
    PutVarint64(&out, p.attrs);
    out.push_back(static_cast<char>(p.content));
    if (p.content == PartitionContent::kRaw) out.append(p.raw.AsBytes());
  }
  PutVarint64(&out, d.filesystems.size());
  for (const auto& f : d.filesystems) {
    PutVarint64(&out, f.partition);
    if (v2) PutLengthPrefixed(&out, f.volume);
    PutLengthPrefixed(&out, f.type);
    PutLengthPrefixed(&out, f.uuid);
    PutLengthPrefixed(&out, f.label);
    PutVarint64(&out, f.params.size());
    for (const auto& [k, v] : f.params) {
      PutLengthPrefixed(&out, k);
      PutLengthPrefixed(&out, v);
    }
    PutLengthPrefixed(&out, f.mountpoint);
    out.append(f.tree.AsBytes());
  }
  PutVarint64(&out, d.boot.size());
  for (const auto& b : d.boot) {
    PutLengthPrefixed(&out, b.kind);
    PutVarint64(&out, b.offset);
    PutVarint64(&out, b.length);
    out.append(b.content.AsBytes());
  }
  if (v2) {
    PutVarint64(&out, d.volume_groups.size());
    for (const auto& vg : d.volume_groups) {
      PutLengthPrefixed(&out, vg.name);
      PutLengthPrefixed(&out, vg.uuid);
      PutVarint64(&out, vg.extent_size);
      PutVarint64(&out, vg.pvs.size());
      for (const auto& pv : vg.pvs) {
        PutVarint64(&out, pv.partition);
        PutLengthPrefixed(&out, pv.uuid);
        PutVarint64(&out, pv.pe_start);
        PutVarint64(&out, pv.pe_count);
      }
      PutVarint64(&out, vg.lvs.size());
      for (const auto& lv : vg.lvs) {
        PutLengthPrefixed(&out, lv.name);
        PutLengthPrefixed(&out, lv.uuid);
        PutVarint64(&out, lv.segments.size());
        for (const auto& sg : lv.segments) {
          PutVarint64(&out, sg.partition);
          PutVarint64(&out, sg.pe);
          PutVarint64(&out, sg.extents);
        }
        out.push_back(static_cast<char>(lv.content));
        if (lv.content == VolumeContent::kRaw) out.append(lv.raw.AsBytes());
      }
    }
  }
  out.append(d.view.AsBytes());
  return out;
}

Result<Disk> DecodeDisk(const ObjectId& id, std::string_view data) {
  std::string_view in = data;
  auto bad = [&](const std::string& what) {
    return Status::Corruption("decode disk " + id.Short() + ": " + what);
  };
  // Version 3 is version 2 (volume fields, volume groups) plus the GPT entries' LBA.
  const bool v3 = in.starts_with(kMagic3);
  const bool v2 = v3 || in.starts_with(kMagic2);
  if (!v2 && !in.starts_with(kMagic1)) return bad("bad magic");
  in.remove_prefix(kMagic1.size());
  Disk d;
  uint64_t n;
  if (!GetVarint64(&in, &d.size) || !GetVarint32(&in, &d.sector_size) || in.empty()) return bad("truncated header");
  uint8_t table = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (table > 2) return bad("unknown partition table " + std::to_string(table));
  d.table = static_cast<PartitionTable>(table);
  if (!GetString(&in, &d.disk_id) || !GetVarint64(&in, &d.first_lba) ||
      !GetVarint32(&in, &d.entries) || (v3 && !GetVarint64(&in, &d.entries_lba)) ||
      !GetVarint64(&in, &n) || n > 128) {
    return bad("truncated header");
  }
  for (uint64_t i = 0; i < n; ++i) {
    DiskPartition p;
    if (!GetVarint32(&in, &p.number) || !GetVarint64(&in, &p.start) || !GetVarint64(&in, &p.size) ||
        !GetString(&in, &p.type) || !GetString(&in, &p.guid) || !GetString(&in, &p.name) ||
        !GetVarint64(&in, &p.attrs) || in.empty()) {
      return bad("truncated partition");
    }
    uint8_t content = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (content > (v2 ? 3 : 2)) return bad("unknown partition content " + std::to_string(content));
    p.content = static_cast<PartitionContent>(content);
    if (p.content == PartitionContent::kRaw && !GetId(&in, &p.raw)) return bad("truncated partition");
    d.partitions.push_back(std::move(p));
  }
  if (!GetVarint64(&in, &n) || n > 129) return bad("bad filesystem count");
  for (uint64_t i = 0; i < n; ++i) {
    DiskFilesystem f;
    uint64_t np;
    if (!GetVarint32(&in, &f.partition) || (v2 && !GetString(&in, &f.volume)) || !GetString(&in, &f.type) ||
        !GetString(&in, &f.uuid) ||
        !GetString(&in, &f.label) || !GetVarint64(&in, &np) || np > in.size() / 2) {
      return bad("truncated filesystem");
    }
    for (uint64_t j = 0; j < np; ++j) {
      std::string k, v;
      if (!GetString(&in, &k) || !GetString(&in, &v)) return bad("truncated filesystem");
      f.params.emplace_back(std::move(k), std::move(v));
    }
    if (!GetString(&in, &f.mountpoint) || !GetId(&in, &f.tree)) return bad("truncated filesystem");
    d.filesystems.push_back(std::move(f));
  }
  if (!GetVarint64(&in, &n) || n > in.size() / 3) return bad("bad boot area count");
  for (uint64_t i = 0; i < n; ++i) {
    BootArea b;
    if (!GetString(&in, &b.kind) || !GetVarint64(&in, &b.offset) || !GetVarint64(&in, &b.length) ||
        !GetId(&in, &b.content)) {
      return bad("truncated boot area");
    }
    d.boot.push_back(std::move(b));
  }
  if (v2) {
    // Counts are bounded by what the remaining bytes could hold, so damage cannot make the
    // decoder reserve or loop without end.
    // (None only with logical partitions: the canonical check below refuses the rest.)
    if (!GetVarint64(&in, &n) || n > in.size() / 4) return bad("bad volume group count");
    for (uint64_t i = 0; i < n; ++i) {
      VolumeGroup vg;
      uint64_t npv, nlv;
      if (!GetString(&in, &vg.name) || !GetString(&in, &vg.uuid) || !GetVarint64(&in, &vg.extent_size) ||
          !GetVarint64(&in, &npv) || npv > in.size() / 4) {
        return bad("truncated volume group");
      }
      for (uint64_t j = 0; j < npv; ++j) {
        PhysicalVolume pv;
        if (!GetVarint32(&in, &pv.partition) || !GetString(&in, &pv.uuid) || !GetVarint64(&in, &pv.pe_start) ||
            !GetVarint64(&in, &pv.pe_count)) {
          return bad("truncated physical volume");
        }
        vg.pvs.push_back(std::move(pv));
      }
      if (!GetVarint64(&in, &nlv) || nlv > in.size() / 4) return bad("truncated volume group");
      for (uint64_t j = 0; j < nlv; ++j) {
        LogicalVolume lv;
        uint64_t ns;
        if (!GetString(&in, &lv.name) || !GetString(&in, &lv.uuid) || !GetVarint64(&in, &ns) ||
            ns > in.size() / 3) {
          return bad("truncated logical volume");
        }
        for (uint64_t k = 0; k < ns; ++k) {
          LvmSegment sg;
          if (!GetVarint32(&in, &sg.partition) || !GetVarint64(&in, &sg.pe) || !GetVarint64(&in, &sg.extents)) {
            return bad("truncated logical volume");
          }
          lv.segments.push_back(sg);
        }
        if (in.empty()) return bad("truncated logical volume");
        uint8_t content = static_cast<uint8_t>(in[0]);
        in.remove_prefix(1);
        if (content > 2) return bad("unknown logical volume content " + std::to_string(content));
        lv.content = static_cast<VolumeContent>(content);
        if (lv.content == VolumeContent::kRaw && !GetId(&in, &lv.raw)) return bad("truncated logical volume");
        vg.lvs.push_back(std::move(lv));
      }
      d.volume_groups.push_back(std::move(vg));
    }
  }
  if (!GetId(&in, &d.view)) return bad("truncated view");
  if (!in.empty()) return bad("trailing bytes");
  Status s = ValidateDisk(d);
  if (!s.ok()) return bad(s.message());
  // Overlong varints decode but would give one layout two ids.
  if (EncodeDisk(d) != data) return bad("not canonical");
  return d;
}

std::vector<ObjectId> DiskTrees(const Disk& d) {
  std::vector<ObjectId> out;
  for (const auto& f : d.filesystems) {
    if (!f.tree.IsZero()) out.push_back(f.tree);
  }
  out.push_back(d.view);
  return out;
}

std::vector<ObjectId> DiskContents(const Disk& d) {
  std::vector<ObjectId> out;
  for (const auto& p : d.partitions) {
    if (p.content == PartitionContent::kRaw) out.push_back(p.raw);
  }
  for (const auto& vg : d.volume_groups) {
    for (const auto& lv : vg.lvs) {
      if (lv.content == VolumeContent::kRaw) out.push_back(lv.raw);
    }
  }
  for (const auto& b : d.boot) out.push_back(b.content);
  return out;
}

}  // namespace cairn::cas
