#include "catalog/diff.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/sha256.h"
#include "cas/tree_reader.h"
#include "catalog/debversion.h"

namespace cairn::catalog {
namespace {

std::string Join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "/" + b; }

// Whether `path` is `dir` or beneath it ("" holds everything).
bool Beneath(std::string_view path, std::string_view dir) {
  return dir.empty() || path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

// The order of the walk: component by component, each by its bytes, a directory's entries right
// after it. Plain byte order differs: it puts "a-b" before "a/b".
bool WalkOrder(std::string_view x, std::string_view y) {
  while (true) {
    size_t i = x.find('/'), j = y.find('/');
    std::string_view cx = x.substr(0, i), cy = y.substr(0, j);
    if (cx != cy) return cx < cy;
    if (i == std::string_view::npos || j == std::string_view::npos) {
      return i == std::string_view::npos && j != std::string_view::npos;
    }
    x.remove_prefix(i + 1);
    y.remove_prefix(j + 1);
  }
}

// Each path of a root Tree's hard-link table, with its group (every name of its file).
std::map<std::string_view, const std::vector<std::string>*> GroupsByPath(const cas::Tree& root) {
  std::map<std::string_view, const std::vector<std::string>*> out;
  for (const auto& g : root.hardlinks)
    for (const auto& p : g) out[p] = &g;
  return out;
}

std::vector<std::string> MetadataChanges(const cas::Metadata& a, const cas::Metadata& b) {
  std::vector<std::string> out;
  if (a.mode != b.mode) out.push_back("mode");
  if (a.uid != b.uid) out.push_back("uid");
  if (a.gid != b.gid) out.push_back("gid");
  if (a.mtime_sec != b.mtime_sec || a.mtime_nsec != b.mtime_nsec) out.push_back("mtime");
  if (a.xattrs != b.xattrs) out.push_back("xattrs");
  return out;
}

class Differ {
 public:
  explicit Differ(cas::ObjectStore* store) : store_(store) {}

  // Loads the root Trees, once: for their hard-link tables and for the walk.
  Status LoadRoots(const ObjectId& a, const ObjectId& b) {
    for (const ObjectId& id : {a, b}) {
      if (roots_.contains(id)) continue;
      CAIRN_ASSIGN_OR_RETURN(cas::Tree t, Load(id));
      roots_.emplace(id, std::move(t));
    }
    return Status();
  }

  // The entries of two loaded Trees, merged by name.
  Status Entries(const cas::Tree& ta, const cas::Tree& tb, const std::string& prefix) {
    size_t i = 0, j = 0;
    while (i < ta.entries.size() || j < tb.entries.size()) {
      if (j == tb.entries.size() || (i < ta.entries.size() && ta.entries[i].name < tb.entries[j].name)) {
        const cas::TreeEntry& e = ta.entries[i++];
        CAIRN_RETURN_IF_ERROR(Whole(DiffEntry::Kind::kRemoved, e, Join(prefix, e.name)));
      } else if (i == ta.entries.size() || tb.entries[j].name < ta.entries[i].name) {
        const cas::TreeEntry& e = tb.entries[j++];
        CAIRN_RETURN_IF_ERROR(Whole(DiffEntry::Kind::kAdded, e, Join(prefix, e.name)));
      } else {
        CAIRN_RETURN_IF_ERROR(Both(ta.entries[i++], tb.entries[j++], prefix));
      }
    }
    return Status();
  }

  // Entries at `path` itself in both versions (the diff's starting point); a directory's own
  // metadata too, as for any other directory.
  Status Start(const cas::TreeEntry& a, const cas::TreeEntry& b, const std::string& path) {
    if (a.type == cas::EntryType::kDirectory && b.type == cas::EntryType::kDirectory) {
      return Directories(a.id, b.id, path);
    }
    return Compare(a, b, path);
  }

  // Hard links live only in the root Trees' tables (LoadRoots), so a file that gains or loses a
  // name may change no other Tree: each name whose group differs is a metadata change
  // ("hardlinks"), added to the entry already reported for it, if any (an added or removed name
  // is reported as such). Only names beneath the start, which is `in_a` and `in_b` in the
  // versions (links resolved) and is shown as `shown`. Keeps the entries in walk order.
  Status HardLinks(const ObjectId& root_a, const ObjectId& root_b, const std::string& in_a,
                   const std::string& in_b, const std::string& shown) {
    auto ga = GroupsByPath(roots_.at(root_a)), gb = GroupsByPath(roots_.at(root_b));
    std::map<std::string, std::string> changed;  // as shown -> in B
    auto check = [&](std::string_view p) {
      auto ia = ga.find(p), ib = gb.find(p);
      const auto* x = ia == ga.end() ? nullptr : ia->second;
      const auto* y = ib == gb.end() ? nullptr : ib->second;
      if (x && y && *x == *y) return;
      for (std::string_view start : {in_b, in_a}) {
        if (!Beneath(p, start)) continue;
        std::string_view rest = p.substr(start.size());
        if (rest.starts_with('/')) rest.remove_prefix(1);
        changed.emplace(rest.empty() ? shown : Join(shown, std::string(rest)), std::string(p));
        return;
      }
    };
    for (const auto& [p, g] : ga) check(p);
    for (const auto& [p, g] : gb) check(p);
    if (changed.empty()) return Status();
    for (auto& e : result.entries) {
      auto it = changed.find(e.path);
      if (it == changed.end()) continue;
      if (e.kind == DiffEntry::Kind::kModified || e.kind == DiffEntry::Kind::kMetadata) {
        e.changed.push_back("hardlinks");
      }
      changed.erase(it);
    }
    for (const auto& [path, in_b_path] : changed) {
      result.trees_compared += 1 + std::count(in_b_path.begin(), in_b_path.end(), '/');
      auto e = cas::LookupPath(store_, root_b, in_b_path);
      if (!e && e.error().IsNotFound()) continue;  // a name removed: reported as such
      if (!e) return e.error();
      result.entries.push_back(
          {DiffEntry::Kind::kMetadata, path, e->type, {"hardlinks"}, e->size, e->size});
    }
    std::stable_sort(
        result.entries.begin(), result.entries.end(),
        [](const DiffEntry& x, const DiffEntry& y) { return WalkOrder(x.path, y.path); });
    return Status();
  }

  DiffResult result;

 private:
  Result<cas::Tree> Load(const ObjectId& id) {
    if (auto it = roots_.find(id); it != roots_.end()) return it->second;
    result.trees_compared++;
    return cas::LoadTree(store_, id);
  }

  // An entry present on one side only, with everything beneath it, shown at `path`: not
  // always its parent's path and its name, as the diff's start may be reached through a link.
  Status Whole(DiffEntry::Kind kind, const cas::TreeEntry& e, const std::string& path) {
    DiffEntry d{kind, path, e.type, {}, 0, 0};
    (kind == DiffEntry::Kind::kAdded ? d.size_b : d.size_a) = e.size;
    result.entries.push_back(d);
    if (e.type != cas::EntryType::kDirectory) return Status();
    return cas::WalkTree(store_, e.id, path, [&](const std::string& p, const cas::TreeEntry& c) {
      DiffEntry dc{kind, p, c.type, {}, 0, 0};
      (kind == DiffEntry::Kind::kAdded ? dc.size_b : dc.size_a) = c.size;
      result.entries.push_back(dc);
      return true;
    });
  }

  Status Both(const cas::TreeEntry& a, const cas::TreeEntry& b, const std::string& prefix) {
    std::string path = Join(prefix, a.name);
    if (a.type == cas::EntryType::kDirectory && b.type == cas::EntryType::kDirectory) {
      return Directories(a.id, b.id, path);
    }
    return Compare(a, b, path);
  }

  // Two versions of one directory: its own metadata (in its Tree), then its entries.
  Status Directories(const ObjectId& a, const ObjectId& b, const std::string& path) {
    if (a == b) return Status();
    CAIRN_ASSIGN_OR_RETURN(cas::Tree ta, Load(a));
    CAIRN_ASSIGN_OR_RETURN(cas::Tree tb, Load(b));
    auto changed = MetadataChanges(ta.meta, tb.meta);
    if (!changed.empty()) {
      result.entries.push_back(
          {DiffEntry::Kind::kMetadata, path, cas::EntryType::kDirectory, changed, 0, 0});
    }
    return Entries(ta, tb, path);
  }

  Status Compare(const cas::TreeEntry& a, const cas::TreeEntry& b, const std::string& path) {
    if (a.type != b.type) {
      if (a.type == cas::EntryType::kDirectory || b.type == cas::EntryType::kDirectory) {
        // At `path`, the path asked for at the start: there, with a link followed ("lnk/"),
        // the entries are the targets', named "d" and "f", not "lnk".
        CAIRN_RETURN_IF_ERROR(Whole(DiffEntry::Kind::kRemoved, a, path));
        return Whole(DiffEntry::Kind::kAdded, b, path);
      }
      result.entries.push_back({DiffEntry::Kind::kModified, path, b.type, {"type"}, a.size, b.size});
      return Status();
    }
    std::vector<std::string> changed;
    bool content = false;
    if (a.type == cas::EntryType::kRegular) {
      CAIRN_ASSIGN_OR_RETURN(content, ContentDiffers(a, b));
      if (content) changed.push_back("content");
    }
    // Holes that moved over bytes that did not change (zeros written, or dug out as holes).
    if (a.sparse != b.sparse || (!content && a.extents != b.extents)) changed.push_back("sparse");
    if (a.target != b.target) {
      changed.push_back("target");
      content = true;
    }
    if (a.rdev_major != b.rdev_major || a.rdev_minor != b.rdev_minor) changed.push_back("rdev");
    for (auto& m : MetadataChanges(a.meta, b.meta)) changed.push_back(std::move(m));
    if (changed.empty()) return Status();
    result.entries.push_back({content ? DiffEntry::Kind::kModified : DiffEntry::Kind::kMetadata,
                              path, b.type, changed, a.size, b.size});
    return Status();
  }

  // Whether two regular files differ in their bytes, holes read as zeros. With the same holes
  // the content ids say; otherwise, at equal sizes, both files' data is read (a cost only for
  // files whose holes changed, and only of their data: a hole of terabytes costs nothing).
  Result<bool> ContentDiffers(const cas::TreeEntry& a, const cas::TreeEntry& b) {
    if (a.size != b.size) return true;
    if (a.sparse == b.sparse && a.extents == b.extents) return a.id != b.id;
    CAIRN_ASSIGN_OR_RETURN(ObjectId da, cas::ZeroRunDigest(store_, a));
    CAIRN_ASSIGN_OR_RETURN(ObjectId db, cas::ZeroRunDigest(store_, b));
    return da != db;
  }

  cas::ObjectStore* store_;
  std::map<ObjectId, cas::Tree> roots_;  // LoadRoots
};

std::vector<PackageChange> DiffPackages(const Inspection& a, const Inspection& b) {
  std::map<std::string, std::string> pa, pb;
  for (const auto& p : a.packages) pa[DpkgName(p, a)] = p.version;
  for (const auto& p : b.packages) pb[DpkgName(p, b)] = p.version;
  std::vector<PackageChange> out;
  for (const auto& [name, v] : pa) {
    auto it = pb.find(name);
    if (it == pb.end()) {
      out.push_back({PackageChange::Kind::kRemoved, name, v, ""});
    } else if (it->second != v) {
      int c = CompareDebianVersions(v, it->second);
      if (c == 0) continue;  // another spelling of the same version: 1.0-1 and 0:1.0-1
      out.push_back({c < 0 ? PackageChange::Kind::kUpgraded : PackageChange::Kind::kDowngraded, name, v,
                     it->second});
    }
  }
  for (const auto& [name, v] : pb)
    if (!pa.contains(name)) out.push_back({PackageChange::Kind::kAdded, name, "", v});
  std::sort(out.begin(), out.end(), [](const PackageChange& x, const PackageChange& y) { return x.name < y.name; });
  return out;
}

}  // namespace

std::string_view DiffKindName(DiffEntry::Kind k) {
  switch (k) {
    case DiffEntry::Kind::kAdded: return "added";
    case DiffEntry::Kind::kRemoved: return "removed";
    case DiffEntry::Kind::kModified: return "modified";
    case DiffEntry::Kind::kMetadata: return "metadata";
  }
  return "?";
}

std::string_view PackageChangeName(PackageChange::Kind k) {
  switch (k) {
    case PackageChange::Kind::kAdded: return "added";
    case PackageChange::Kind::kRemoved: return "removed";
    case PackageChange::Kind::kUpgraded: return "upgraded";
    case PackageChange::Kind::kDowngraded: return "downgraded";
  }
  return "?";
}

Result<DiffResult> DiffVersions(cas::ObjectStore* store, const VersionRef& a, const VersionRef& b,
                                const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(ObjectId root_a, cas::RootTreeOf(store, a.version));
  CAIRN_ASSIGN_OR_RETURN(ObjectId root_b, cas::RootTreeOf(store, b.version));
  // "." and empty components name nothing: "." and "/." are the root (packages compared too),
  // "./etc//x" is "etc/x", in what is resolved and in the paths printed; ".." stays, printed
  // as the user named it ("bin/../bin/tool").
  std::string p;
  for (size_t at = 0; at <= path.size();) {
    size_t end = std::min(path.find('/', at), path.size());
    std::string_view comp = std::string_view(path).substr(at, end - at);
    if (!comp.empty() && comp != ".") p += std::string(p.empty() ? "" : "/") + std::string(comp);
    at = end + 1;
  }
  // Links in the path are followed in each version as in a chroot (cas::ResolvePath), the last
  // one only when the path ends in '/' (or "/."), as `ls` does: "lib/x86_64-linux-gnu" on a
  // merged-/usr root compares usr/lib/x86_64-linux-gnu, "bin" the link itself, "bin/" what it
  // names. What it names may be a file in one version (ResolvePath takes no '/' after a file):
  // the file is compared, as the directory of the other version is.
  const bool follow_last = !p.empty() && (path.ends_with('/') || path.ends_with("/."));
  std::string in_a, in_b;  // where the links lead
  auto ea = cas::ResolvePath(store, root_a, p, follow_last, &in_a);
  auto eb = cas::ResolvePath(store, root_b, p, follow_last, &in_b);
  Differ d(store);
  const std::string both = "diff " + a.Name() + " " + b.Name();
  if (!ea && !eb) return ea.error().WithContext(both);
  // Absent on one side is a difference; any other failure (a damaged Tree) is an error.
  if (!ea && ea.error().code() != Code::kNotFound) return ea.error().WithContext(both);
  if (!eb && eb.error().code() != Code::kNotFound) return eb.error().WithContext(both);
  if (ea && eb) {
    if (root_a != root_b) CAIRN_RETURN_IF_ERROR(d.LoadRoots(root_a, root_b));
    CAIRN_RETURN_IF_ERROR(d.Start(*ea, *eb, p));
    if (root_a != root_b) CAIRN_RETURN_IF_ERROR(d.HardLinks(root_a, root_b, in_a, in_b, p));
  } else {
    // Present on one side only: everything beneath it is added or removed.
    const cas::TreeEntry& e = ea ? *ea : *eb;
    DiffEntry top{ea ? DiffEntry::Kind::kRemoved : DiffEntry::Kind::kAdded, p, e.type, {}, 0, 0};
    d.result.entries.push_back(top);
    if (e.type == cas::EntryType::kDirectory) {
      CAIRN_RETURN_IF_ERROR(cas::WalkTree(store, e.id, p, [&](const std::string& sub, const cas::TreeEntry& c) {
        d.result.entries.push_back({top.kind, sub, c.type, {}, ea ? c.size : 0, ea ? 0 : c.size});
        return true;
      }));
    }
  }
  if (ea && eb && in_a.empty() && in_b.empty()) {  // the whole tree ("", "etc/.."): its packages
    d.result.packages =
        DiffPackages(DecodeInspection(a.version.summary), DecodeInspection(b.version.summary));
  }
  return std::move(d.result);
}

}  // namespace cairn::catalog
