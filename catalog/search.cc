#include "catalog/search.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <unordered_map>

#include "cas/chunk_index.h"
#include "cas/tree_reader.h"
#include "catalog/inspect.h"
#include "catalog/keys.h"

namespace cairn::catalog {
namespace {

struct Matches {
  std::set<std::string> paths;
  std::vector<Package> packages;
};
using ByVersion = std::map<ObjectId, Matches>;

Status ValidateGlob(const std::string& glob) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("path glob '" + glob + "': " + why);
  };
  if (glob.empty()) return bad("empty");
  if (glob.back() == '/') return bad("ends with '/', and no path does");
  int depth = 0;
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '\\') ++i;
    else if (glob[i] == '[') depth = 1;
    else if (glob[i] == ']') depth = 0;
  }
  if (depth) return bad("unclosed '['");
  return Status();
}

// Where Trees sit: from a Tree up its links to the roots, and from the roots to the versions.
// Memoised: in a library of similar versions most lookups share their upper directories.
class Locator {
 public:
  explicit Locator(cas::ObjectStore* store) : store_(store) {}

  // Every (root Tree, path of `tree` under it) pair; "" for a root itself.
  Result<const std::vector<std::pair<ObjectId, std::string>>*> Places(const ObjectId& tree) {
    if (auto it = places_.find(tree); it != places_.end()) return &it->second;
    std::vector<std::pair<ObjectId, std::string>> out;
    bool is_root = false;
    CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kCatalog, keys::RootPrefix(tree),
                                       [&](std::string_view, std::string_view) {
                                         is_root = true;
                                         return false;
                                       }));
    if (is_root) out.emplace_back(tree, "");
    std::vector<std::pair<ObjectId, std::string>> ups;
    std::string prefix = keys::UpPrefix(tree);
    CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kCatalog, prefix, [&](std::string_view k, std::string_view) {
      std::string_view rest = k.substr(prefix.size());
      if (rest.size() <= ObjectId::kSize) return true;
      ups.emplace_back(*ObjectId::FromBytes(rest.substr(0, ObjectId::kSize)),
                       std::string(rest.substr(ObjectId::kSize)));
      return true;
    }));
    for (const auto& [parent, name] : ups) {
      CAIRN_ASSIGN_OR_RETURN(auto above, Places(parent));
      for (const auto& [root, path] : *above) {
        out.emplace_back(root, path.empty() ? name : path + "/" + name);
      }
    }
    return &places_.emplace(tree, std::move(out)).first->second;
  }

  Result<const std::vector<ObjectId>*> VersionsOf(const ObjectId& root) {
    if (auto it = versions_.find(root); it != versions_.end()) return &it->second;
    std::vector<ObjectId> out;
    std::string prefix = keys::RootPrefix(root);
    CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kCatalog, prefix, [&](std::string_view k, std::string_view) {
      auto id = ObjectId::FromBytes(k.substr(prefix.size()));
      if (id) out.push_back(*id);
      return true;
    }));
    return &versions_.emplace(root, std::move(out)).first->second;
  }

  // Adds every path at which entry `name` of `tree` appears, to the versions holding it, if
  // `keep(path)`.
  Status AddHits(const ObjectId& tree, std::string_view name,
                 const std::function<bool(const std::string&)>& keep, ByVersion* out) {
    CAIRN_ASSIGN_OR_RETURN(auto places, Places(tree));
    for (const auto& [root, dir] : *places) {
      std::string path = dir.empty() ? std::string(name) : dir + "/" + std::string(name);
      if (!keep(path)) continue;
      CAIRN_ASSIGN_OR_RETURN(auto versions, VersionsOf(root));
      for (const auto& v : *versions) (*out)[v].paths.insert(path);
    }
    return Status();
  }

 private:
  cas::ObjectStore* store_;
  std::unordered_map<ObjectId, std::vector<std::pair<ObjectId, std::string>>> places_;
  std::unordered_map<ObjectId, std::vector<ObjectId>> versions_;
};

// Splits an entry key "E\0NAME\0TREE" into the name and the Tree.
bool ParseEntryKey(std::string_view key, std::string_view* name, ObjectId* tree) {
  if (key.size() < 3 + ObjectId::kSize) return false;
  *name = key.substr(2, key.size() - 3 - ObjectId::kSize);
  auto id = ObjectId::FromBytes(key.substr(key.size() - ObjectId::kSize));
  if (!id) return false;
  *tree = *id;
  return true;
}

Result<ByVersion> ByPath(cas::ObjectStore* store, const std::string& asked) {
  // Checked as typed, so that an error names what the user wrote: "/" ends with '/' (the glob
  // left once it was stripped, '', was named before).
  CAIRN_RETURN_IF_ERROR(ValidateGlob(asked));
  // A glob with a '/' matches paths from the root, a leading '/' too ("/bin" is the root's bin
  // alone; it matched every file named bin). Indexed paths are written without the '/'.
  std::string glob = asked;
  while (glob.starts_with("/")) glob.erase(0, 1);
  bool full = asked.find('/') != std::string::npos;
  // Which entry names can end a matching path. A glob without '/' matches names: seek to its
  // literal prefix. With '/', '*' may cross directories, so only the glob's literal tail is
  // sure: the name must equal the tail's last component when the tail holds a '/', else end
  // with the tail.
  std::string seek;
  std::function<bool(std::string_view)> name_ok;
  if (!full) {
    seek = glob.substr(0, glob.find_first_of("*?[\\"));
    name_ok = [&](std::string_view n) { return fnmatch(glob.c_str(), std::string(n).c_str(), 0) == 0; };
  } else {
    size_t w = glob.find_last_of("*?[]\\");
    std::string tail = w == std::string::npos ? glob : glob.substr(w + 1);
    // A glob without wildcards is one path: the name is its last component ("/bin": bin).
    if (size_t slash = tail.rfind('/'); slash != std::string::npos || w == std::string::npos) {
      std::string exact = slash == std::string::npos ? tail : tail.substr(slash + 1);
      seek = exact;
      name_ok = [exact](std::string_view n) { return n == exact; };
    } else {
      name_ok = [tail](std::string_view n) { return n.ends_with(tail); };
    }
  }
  std::vector<std::pair<ObjectId, std::string>> entries;
  std::string prefix = keys::EntryPrefix(seek);
  CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, prefix, [&](std::string_view key, std::string_view) {
    std::string_view name;
    ObjectId tree;
    if (ParseEntryKey(key, &name, &tree) && name_ok(name)) entries.emplace_back(tree, name);
    return true;
  }));
  Locator locator(store);
  ByVersion out;
  auto keep = [&](const std::string& path) {
    return !full || fnmatch(glob.c_str(), path.c_str(), 0) == 0;
  };
  for (const auto& [tree, name] : entries) {
    CAIRN_RETURN_IF_ERROR(locator.AddHits(tree, name, keep, &out));
  }
  return out;
}

// Whether entry `name` of Tree `tree` is a regular file whose whole content has SHA-256 `sha`:
// a short digest key ("d") names candidates, which this confirms. Trees are read once each. A
// Tree that is gone (gc) holds nothing.
class DigestCheck {
 public:
  DigestCheck(cas::ObjectStore* store, const ObjectId& sha) : store_(store), sha_(sha) {}

  Result<bool> Holds(const ObjectId& tree, const std::string& name) {
    auto it = trees_.find(tree);
    if (it == trees_.end()) {
      Result<cas::Tree> t = cas::LoadTree(store_, tree);
      if (!t && !t.error().IsNotFound()) return t.error();
      it = trees_.emplace(tree, t ? std::move(*t) : cas::Tree()).first;
    }
    const auto& es = it->second.entries;
    auto e = std::lower_bound(es.begin(), es.end(), name,
                              [](const cas::TreeEntry& x, const std::string& n) { return x.name < n; });
    if (e == es.end() || e->name != name || e->type != cas::EntryType::kRegular) return false;
    if (e->sparse) {
      // The content is the data alone: the digest of the file's bytes is in its index entry
      // (written from index format 5; before, a sparse file's digest was its data's).
      CAIRN_ASSIGN_OR_RETURN(auto v, store_->Get(cas::Space::kCatalog, keys::Entry(name, tree)));
      if (!v) return false;
      CAIRN_ASSIGN_OR_RETURN(EntryValue ev, DecodeEntryValue(*v));
      return ev.sha256.IsZero() ? e->id == sha_ : ev.sha256 == sha_;
    }
    CAIRN_ASSIGN_OR_RETURN(cas::ObjectInfo info, store_->Info(e->id));
    if (info.type == cas::ObjectType::kBlob) return e->id == sha_;  // a Blob's id is its SHA-256
    if (info.type != cas::ObjectType::kChunkIndex) return false;
    CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(e->id, cas::ObjectType::kChunkIndex));
    CAIRN_ASSIGN_OR_RETURN(cas::ChunkIndex index, cas::DecodeChunkIndex(e->id, data));
    return index.content_sha256 == sha_;
  }

 private:
  cas::ObjectStore* store_;
  ObjectId sha_;
  std::unordered_map<ObjectId, cas::Tree> trees_;
};

Result<ByVersion> BySha(cas::ObjectStore* store, const ObjectId& sha) {
  std::set<std::pair<ObjectId, std::string>> entries;
  // Format 3: candidates by the digest's first bytes, each confirmed against its Tree.
  DigestCheck check(store, sha);
  std::vector<std::pair<ObjectId, std::string>> candidates;
  std::string prefix = keys::ShortDigestPrefix(sha);
  CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, prefix, [&](std::string_view key, std::string_view) {
    if (key.size() <= prefix.size() + ObjectId::kSize) return true;
    auto tree = ObjectId::FromBytes(key.substr(prefix.size(), ObjectId::kSize));
    if (tree) candidates.emplace_back(*tree, std::string(key.substr(prefix.size() + ObjectId::kSize)));
    return true;
  }));
  for (auto& [tree, name] : candidates) {
    CAIRN_ASSIGN_OR_RETURN(bool holds, check.Holds(tree, name));
    if (holds) entries.emplace(tree, std::move(name));
  }
  // Format 2: the whole digest in the key.
  prefix = keys::DigestPrefix(sha);
  CAIRN_RETURN_IF_ERROR(store->Scan(cas::Space::kCatalog, prefix, [&](std::string_view key, std::string_view) {
    if (key.size() <= prefix.size() + ObjectId::kSize) return true;
    auto tree = ObjectId::FromBytes(key.substr(prefix.size(), ObjectId::kSize));
    if (tree) entries.emplace(*tree, std::string(key.substr(prefix.size() + ObjectId::kSize)));
    return true;
  }));
  Locator locator(store);
  ByVersion out;
  for (const auto& [tree, name] : entries) {
    CAIRN_RETURN_IF_ERROR(locator.AddHits(tree, name, [](const std::string&) { return true; }, &out));
  }
  return out;
}

// Packages are keyed by dpkg's name (DpkgName): a bare name finds the package of every
// architecture ("libc6", "libc6:i386"); NAME:ARCH only that architecture's.
Result<ByVersion> ByPackage(cas::ObjectStore* store, const PackageConstraint& c) {
  ByVersion out;
  auto scan = [&](const std::string& prefix, ByVersion* into) {
    return store->Scan(
        cas::Space::kCatalog, prefix, [&](std::string_view key, std::string_view value) {
          auto k = keys::ParsePackageKey(key);
          if (k && c.Matches(value))
            (*into)[k->second].packages.push_back({std::string(k->first), std::string(value), ""});
          return true;
        });
  };
  CAIRN_RETURN_IF_ERROR(scan(keys::PackagePrefix(c.name), &out));
  size_t colon = c.name.rfind(':');
  if (colon == std::string::npos) {
    CAIRN_RETURN_IF_ERROR(scan(keys::ForeignPackagesPrefix(c.name), &out));
    return out;
  }
  // NAME:ARCH names the image's own architecture's package, and an "all" one, too: dpkg prints
  // "libc6:amd64" in `dpkg -l` and finds it so (`dpkg-query -W libc6:amd64`), but keys it bare,
  // as the index does. Each version's own architecture, and so whether its bare key is this
  // one, is in its summary: the library holds amd64 and i386 images alike. Only the qualified
  // key was looked up, which finds foreign packages alone.
  const std::string bare = c.name.substr(0, colon), arch = c.name.substr(colon + 1);
  ByVersion candidates;
  CAIRN_RETURN_IF_ERROR(scan(keys::PackagePrefix(bare), &candidates));
  Catalog catalog(store);
  for (auto& [id, m] : candidates) {
    Result<cas::Version> v = catalog.ReadVersion(id);
    if (!v) {
      if (v.error().IsNotFound()) continue;  // purged meanwhile
      return v.error();
    }
    Inspection in = DecodeInspection(v->summary);
    bool same = std::any_of(in.packages.begin(), in.packages.end(), [&](const Package& p) {
      return p.name == bare && p.arch == arch && DpkgName(p, in) == bare;
    });
    if (same) out.emplace(id, std::move(m));
  }
  return out;
}

void Intersect(std::optional<ByVersion>* acc, ByVersion next) {
  if (!*acc) {
    *acc = std::move(next);
    return;
  }
  ByVersion merged;
  for (auto& [id, m] : **acc) {
    auto it = next.find(id);
    if (it == next.end()) continue;
    Matches both = std::move(m);
    if (!both.paths.empty() && !it->second.paths.empty()) {
      // Path and content criteria both name files: the same file must match both.
      std::erase_if(both.paths, [&](const std::string& p) { return !it->second.paths.contains(p); });
      if (both.paths.empty()) continue;
    } else {
      both.paths.insert(it->second.paths.begin(), it->second.paths.end());
    }
    both.packages.insert(both.packages.end(), it->second.packages.begin(), it->second.packages.end());
    merged.emplace(id, std::move(both));
  }
  *acc = std::move(merged);
}

}  // namespace

Result<std::vector<SearchHit>> Search(cas::ObjectStore* store, const SearchQuery& q) {
  if (!q.path_glob && !q.sha256 && !q.package) {
    return Status::InvalidArgument("search: give --path, --sha256 or --package");
  }
  std::optional<ByVersion> acc;
  if (q.path_glob) {
    CAIRN_ASSIGN_OR_RETURN(ByVersion m, ByPath(store, *q.path_glob));
    Intersect(&acc, std::move(m));
  }
  if (q.sha256) {
    CAIRN_ASSIGN_OR_RETURN(ByVersion m, BySha(store, *q.sha256));
    Intersect(&acc, std::move(m));
  }
  if (q.package) {
    CAIRN_ASSIGN_OR_RETURN(ByVersion m, ByPackage(store, *q.package));
    Intersect(&acc, std::move(m));
  }
  Catalog catalog(store);
  std::vector<SearchHit> out;
  for (auto& [id, m] : *acc) {
    CAIRN_ASSIGN_OR_RETURN(VersionState st, catalog.StateOf(id));
    if (st != VersionState::kActive) continue;
    auto name = catalog.NameOf(id);  // the name only: no Version object is read
    if (!name) {
      if (name.error().IsNotFound()) continue;  // purged meanwhile
      return name.error();
    }
    out.push_back({*name, id, {m.paths.begin(), m.paths.end()}, std::move(m.packages)});
  }
  // By image, then by number: web:2 before web:10.
  auto key = [](const SearchHit& h) {
    size_t colon = h.version.rfind(':');
    std::string_view image(h.version.data(), colon == std::string::npos ? h.version.size() : colon);
    uint64_t n = 0;
    if (colon != std::string::npos) {
      std::from_chars(h.version.data() + colon + 1, h.version.data() + h.version.size(), n);
    }
    return std::pair(image, n);
  };
  std::sort(out.begin(), out.end(),
            [&](const SearchHit& a, const SearchHit& b) { return key(a) < key(b); });
  return out;
}

}  // namespace cairn::catalog
