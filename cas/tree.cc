#include "cas/tree.h"

#include <algorithm>

#include "base/coding.h"

namespace cairn::cas {
namespace {

constexpr std::string_view kMagic = "cairn-tree-1\n";
constexpr uint64_t kFlagHardlinks = 1;

}  // namespace

void PutMetadata(std::string* out, const Metadata& m) {
  PutVarint64(out, m.mode);
  PutVarint64(out, m.uid);
  PutVarint64(out, m.gid);
  PutVarsint64(out, m.mtime_sec);
  PutVarint64(out, m.mtime_nsec);
  PutVarint64(out, m.xattrs.size());
  for (const auto& [k, v] : m.xattrs) {
    PutLengthPrefixed(out, k);
    PutLengthPrefixed(out, v);
  }
}

bool GetMetadata(std::string_view* in, Metadata* m) {
  uint64_t n;
  if (!GetVarint32(in, &m->mode) || m->mode > 07777 || !GetVarint32(in, &m->uid) || !GetVarint32(in, &m->gid) ||
      !GetVarsint64(in, &m->mtime_sec) || !GetVarint32(in, &m->mtime_nsec) ||
      m->mtime_nsec >= 1000000000 || !GetVarint64(in, &n) || n > in->size() / 2) {
    return false;
  }
  m->xattrs.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view k, v;
    if (!GetLengthPrefixed(in, &k) || !GetLengthPrefixed(in, &v) || k.empty()) return false;
    if (!m->xattrs.empty() && m->xattrs.back().first >= k) return false;  // sorted, unique
    m->xattrs.emplace_back(std::string(k), std::string(v));
  }
  return true;
}

std::string_view EntryTypeName(EntryType t) {
  switch (t) {
    case EntryType::kRegular: return "file";
    case EntryType::kDirectory: return "directory";
    case EntryType::kSymlink: return "symlink";
    case EntryType::kCharDevice: return "char-device";
    case EntryType::kBlockDevice: return "block-device";
    case EntryType::kFifo: return "fifo";
    case EntryType::kSocket: return "socket";
  }
  return "unknown";
}

char EntryTypeLetter(EntryType t) {
  switch (t) {
    case EntryType::kRegular: return 'f';
    case EntryType::kDirectory: return 'd';
    case EntryType::kSymlink: return 'l';
    case EntryType::kCharDevice: return 'c';
    case EntryType::kBlockDevice: return 'b';
    case EntryType::kFifo: return 'p';
    case EntryType::kSocket: return 's';
  }
  return '?';
}

bool IsSafeName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

bool IsSafeRelativePath(std::string_view path) {
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view comp =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!IsSafeName(comp)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

Status CanonicalizeTree(Tree* tree) {
  auto& e = tree->entries;
  std::sort(e.begin(), e.end(), [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
  for (auto& entry : e) std::sort(entry.meta.xattrs.begin(), entry.meta.xattrs.end());
  std::sort(tree->meta.xattrs.begin(), tree->meta.xattrs.end());
  for (auto& g : tree->hardlinks) std::sort(g.begin(), g.end());
  std::sort(tree->hardlinks.begin(), tree->hardlinks.end());
  return ValidateTree(*tree);
}

namespace {

// What GetMetadata accepts, of metadata whose xattrs are sorted.
Status ValidateMetadata(const Metadata& m, const std::string& what) {
  auto bad = [&](const std::string& why) { return Status::InvalidArgument(what + ": " + why); };
  if (m.mode > 07777) return bad("mode " + std::to_string(m.mode) + " beyond 07777");
  if (m.mtime_nsec >= 1000000000) return bad("mtime nanoseconds beyond a second");
  for (size_t i = 0; i < m.xattrs.size(); ++i) {
    if (m.xattrs[i].first.empty()) return bad("xattr without a name");
    if (i > 0 && m.xattrs[i - 1].first == m.xattrs[i].first) {
      return bad("xattr '" + m.xattrs[i].first + "' given twice");
    }
  }
  return Status();
}

}  // namespace

Status ValidateTree(const Tree& tree) {
  CAIRN_RETURN_IF_ERROR(ValidateMetadata(tree.meta, "tree metadata"));
  const auto& e = tree.entries;
  for (size_t i = 0; i < e.size(); ++i) {
    const std::string what = "tree entry '" + e[i].name + "'";
    auto bad = [&](const std::string& why) { return Status::InvalidArgument(what + ": " + why); };
    if (!IsSafeName(e[i].name)) return bad("unsafe name");
    if (i > 0 && e[i - 1].name == e[i].name) return bad("duplicate name");
    if (i > 0 && e[i - 1].name > e[i].name) return bad("entries not sorted");
    if (e[i].type == EntryType::kDirectory) continue;
    CAIRN_RETURN_IF_ERROR(ValidateMetadata(e[i].meta, what));
    switch (e[i].type) {
      case EntryType::kRegular: {
        uint64_t end = 0;
        for (const Extent& x : e[i].extents) {
          if (x.offset < end || x.length == 0 || x.offset + x.length < x.offset ||
              x.offset + x.length > e[i].size) {
            return bad("bad extents");
          }
          end = x.offset + x.length;
        }
        if (!e[i].sparse && !e[i].extents.empty()) return bad("extents of a dense file");
        break;
      }
      case EntryType::kSymlink:
        if (e[i].target.empty()) return bad("symbolic link without a target");
        if (e[i].target.find('\0') != std::string::npos)
          return bad("symbolic link target with a NUL");
        break;
      case EntryType::kCharDevice:
      case EntryType::kBlockDevice:
      case EntryType::kFifo:
      case EntryType::kSocket:
        break;
      default:
        return bad("unknown type " + std::to_string(static_cast<int>(e[i].type)));
    }
  }
  for (size_t g = 0; g < tree.hardlinks.size(); ++g) {
    const auto& group = tree.hardlinks[g];
    if (group.size() < 2)
      return Status::InvalidArgument("tree hardlink group of fewer than two names");
    for (size_t j = 0; j < group.size(); ++j) {
      if (!IsSafeRelativePath(group[j])) {
        return Status::InvalidArgument("tree hardlink path '" + group[j] + "': unsafe");
      }
      if (j > 0 && group[j - 1] >= group[j]) {
        return Status::InvalidArgument("tree hardlink path '" + group[j] +
                                       "': not sorted or given twice");
      }
    }
    if (g > 0 && tree.hardlinks[g - 1] >= group) {
      return Status::InvalidArgument("tree hardlink groups not sorted or given twice");
    }
  }
  return Status();
}

namespace {

void PutEntry(std::string* out, const TreeEntry& e) {
  PutLengthPrefixed(out, e.name);
  out->push_back(static_cast<char>(e.type));
  if (e.type == EntryType::kDirectory) {
    out->append(e.id.AsBytes());
    return;
  }
  PutMetadata(out, e.meta);
  switch (e.type) {
    case EntryType::kRegular:
      PutVarint64(out, e.size);
      out->append(e.id.AsBytes());
      // 0: dense; n+1: sparse with n data regions
      PutVarint64(out, e.sparse ? e.extents.size() + 1 : 0);
      for (const auto& x : e.extents) {
        PutVarint64(out, x.offset);
        PutVarint64(out, x.length);
      }
      break;
    case EntryType::kSymlink:
      PutLengthPrefixed(out, e.target);
      break;
    case EntryType::kCharDevice:
    case EntryType::kBlockDevice:
      PutVarint64(out, e.rdev_major);
      PutVarint64(out, e.rdev_minor);
      break;
    default:
      break;
  }
}

// Trees of more entries than this are measured before they are encoded, so that the encoding
// takes exactly its size: grown by doubling, a huge directory's held up to twice its size, and
// half as much again while it moved.
constexpr size_t kMeasuredAbove = 4096;

}  // namespace

std::string EncodeTree(const Tree& tree) {
  std::string out(kMagic);
  PutVarint64(&out, tree.hardlinks.empty() ? 0 : kFlagHardlinks);
  PutMetadata(&out, tree.meta);
  PutVarint64(&out, tree.entries.size());
  std::string links;  // the root's hard-link table, last
  if (!tree.hardlinks.empty()) {
    PutVarint64(&links, tree.hardlinks.size());
    for (const auto& g : tree.hardlinks) {
      PutVarint64(&links, g.size());
      for (const auto& p : g) PutLengthPrefixed(&links, p);
    }
  }
  if (tree.entries.size() > kMeasuredAbove) {
    size_t size = out.size() + links.size();
    std::string entry;
    for (const auto& e : tree.entries) {
      entry.clear();
      PutEntry(&entry, e);
      size += entry.size();
    }
    out.reserve(size);
  }
  for (const auto& e : tree.entries) PutEntry(&out, e);
  out.append(links);
  return out;
}

Result<Tree> DecodeTree(const ObjectId& id, std::string_view in) {
  auto bad = [&](const std::string& what) {
    return Status::Corruption("decode tree " + id.Short() + ": " + what);
  };
  if (!in.starts_with(kMagic)) return bad("bad magic");
  in.remove_prefix(kMagic.size());
  Tree t;
  uint64_t flags, count;
  if (!GetVarint64(&in, &flags) || flags > kFlagHardlinks) return bad("bad flags");
  if (!GetMetadata(&in, &t.meta)) return bad("bad directory metadata");
  if (!GetVarint64(&in, &count) || count > in.size() / 3) return bad("bad entry count");
  t.entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    TreeEntry e;
    std::string_view name, raw;
    if (!GetLengthPrefixed(&in, &name) || in.empty()) return bad("truncated entry");
    e.name.assign(name);
    if (!IsSafeName(e.name)) return bad("unsafe entry name");
    if (!t.entries.empty() && t.entries.back().name >= e.name) return bad("entries not sorted");
    auto type = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (type < 1 || type > 7) return bad("unknown entry type " + std::to_string(type));
    e.type = static_cast<EntryType>(type);
    if (e.type == EntryType::kDirectory) {
      if (!GetBytes(&in, ObjectId::kSize, &raw)) return bad("truncated entry");
      e.id = *ObjectId::FromBytes(raw);
      t.entries.push_back(std::move(e));
      continue;
    }
    if (!GetMetadata(&in, &e.meta)) return bad("bad metadata of '" + e.name + "'");
    bool ok = true;
    switch (e.type) {
      case EntryType::kRegular: {
        uint64_t n;
        ok = GetVarint64(&in, &e.size) && GetBytes(&in, ObjectId::kSize, &raw) &&
             GetVarint64(&in, &n) && (n == 0 || n - 1 <= in.size() / 2);
        if (!ok) break;
        e.id = *ObjectId::FromBytes(raw);
        e.sparse = n > 0;
        uint64_t end = 0;
        for (uint64_t j = 1; j < n && ok; ++j) {
          Extent x;
          ok = GetVarint64(&in, &x.offset) && GetVarint64(&in, &x.length) && x.offset >= end &&
               x.length > 0 && x.offset + x.length >= x.offset && x.offset + x.length <= e.size;
          end = x.offset + x.length;
          e.extents.push_back(x);
        }
        break;
      }
      case EntryType::kSymlink: {
        std::string_view target;
        ok = GetLengthPrefixed(&in, &target) && !target.empty() &&
             target.find('\0') == std::string_view::npos;
        e.target.assign(target);
        break;
      }
      case EntryType::kCharDevice:
      case EntryType::kBlockDevice:
        ok = GetVarint32(&in, &e.rdev_major) && GetVarint32(&in, &e.rdev_minor);
        break;
      default: break;
    }
    if (!ok) return bad("bad entry '" + e.name + "'");
    t.entries.push_back(std::move(e));
  }
  if (flags & kFlagHardlinks) {
    uint64_t groups;
    if (!GetVarint64(&in, &groups) || groups == 0 || groups > in.size()) return bad("bad hardlinks");
    for (uint64_t g = 0; g < groups; ++g) {
      uint64_t n;
      if (!GetVarint64(&in, &n) || n < 2 || n > in.size()) return bad("bad hardlink group");
      std::vector<std::string> group;
      for (uint64_t j = 0; j < n; ++j) {
        std::string_view p;
        if (!GetLengthPrefixed(&in, &p) || !IsSafeRelativePath(p)) {
          return bad("bad hardlink path");
        }
        if (!group.empty() && group.back() >= p) return bad("hardlink group not sorted");
        group.emplace_back(p);
      }
      if (!t.hardlinks.empty() && t.hardlinks.back() >= group) return bad("hardlinks not sorted");
      t.hardlinks.push_back(std::move(group));
    }
  }
  if (!in.empty()) return bad("trailing bytes");
  return t;
}

}  // namespace cairn::cas
