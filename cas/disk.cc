#include "cas/disk.h"

#include "base/coding.h"
#include "cas/tree.h"

namespace cairn::cas {
namespace {

constexpr std::string_view kMagic = "cairn-disk-1\n";

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

Status ValidateDisk(const Disk& d) {
  auto bad = [](const std::string& what) { return Status::InvalidArgument("disk layout: " + what); };
  if (d.sector_size != 512 && d.sector_size != 4096) return bad("sector size must be 512 or 4096");
  if (static_cast<uint8_t>(d.table) > 2) return bad("unknown partition table");
  if (d.table == PartitionTable::kNone && !d.partitions.empty()) return bad("partitions without a table");
  uint32_t max_number = d.table == PartitionTable::kMbr ? 4 : 128;
  for (size_t i = 0; i < d.partitions.size(); ++i) {
    const auto& p = d.partitions[i];
    std::string name = "partition " + std::to_string(p.number);
    if (p.number < 1 || p.number > max_number) return bad(name + ": bad number");
    if (i > 0 && d.partitions[i - 1].number >= p.number) return bad("partitions not in order");
    if (p.start == 0 || p.size == 0 || p.start + p.size < p.start || p.start + p.size > d.size) {
      return bad(name + ": outside the disk");
    }
    if (static_cast<uint8_t>(p.content) > 2) return bad(name + ": unknown content");
    if (p.content != PartitionContent::kRaw && !p.raw.IsZero()) return bad(name + ": stray content id");
    int fs = 0;
    for (const auto& f : d.filesystems) fs += f.partition == p.number;
    if ((p.content == PartitionContent::kFilesystem) != (fs == 1) || fs > 1) {
      return bad(name + ": filesystem records disagree with its content");
    }
  }
  for (size_t i = 0; i < d.filesystems.size(); ++i) {
    const auto& f = d.filesystems[i];
    if (i > 0 && d.filesystems[i - 1].partition >= f.partition) return bad("filesystems not in order");
    if (d.table == PartitionTable::kNone ? f.partition != 0 || d.filesystems.size() != 1
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
  }
  return Status();
}

std::string EncodeDisk(const Disk& d) {
  std::string out(kMagic);
  PutVarint64(&out, d.size);
  PutVarint64(&out, d.sector_size);
  out.push_back(static_cast<char>(d.table));
  PutLengthPrefixed(&out, d.disk_id);
  PutVarint64(&out, d.first_lba);
  PutVarint64(&out, d.entries);
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
  out.append(d.view.AsBytes());
  return out;
}

Result<Disk> DecodeDisk(const ObjectId& id, std::string_view data) {
  std::string_view in = data;
  auto bad = [&](const std::string& what) {
    return Status::Corruption("decode disk " + id.Short() + ": " + what);
  };
  if (!in.starts_with(kMagic)) return bad("bad magic");
  in.remove_prefix(kMagic.size());
  Disk d;
  uint64_t n;
  if (!GetVarint64(&in, &d.size) || !GetVarint32(&in, &d.sector_size) || in.empty()) return bad("truncated header");
  uint8_t table = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (table > 2) return bad("unknown partition table " + std::to_string(table));
  d.table = static_cast<PartitionTable>(table);
  if (!GetString(&in, &d.disk_id) || !GetVarint64(&in, &d.first_lba) || !GetVarint32(&in, &d.entries) ||
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
    if (content > 2) return bad("unknown partition content " + std::to_string(content));
    p.content = static_cast<PartitionContent>(content);
    if (p.content == PartitionContent::kRaw && !GetId(&in, &p.raw)) return bad("truncated partition");
    d.partitions.push_back(std::move(p));
  }
  if (!GetVarint64(&in, &n) || n > 129) return bad("bad filesystem count");
  for (uint64_t i = 0; i < n; ++i) {
    DiskFilesystem f;
    uint64_t np;
    if (!GetVarint32(&in, &f.partition) || !GetString(&in, &f.type) || !GetString(&in, &f.uuid) ||
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
  for (const auto& b : d.boot) out.push_back(b.content);
  return out;
}

}  // namespace cairn::cas
