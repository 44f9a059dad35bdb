#include "catalog/catalog.h"

#include <algorithm>
#include <charconv>

#include "base/coding.h"
#include "catalog/keys.h"

namespace cairn::catalog {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string NameValue(const std::string& image, uint64_t n) {
  std::string v = image;
  v.push_back('\0');
  PutFixed64(&v, n);
  return v;
}

}  // namespace

Status ValidateImageName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 128 && name[0] != '.' && name[0] != '-';
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
                c == '+');
  }
  if (!ok) {
    return Status::InvalidArgument("name '" + std::string(name) +
                                   "': use 1-128 of A-Z a-z 0-9 . _ + -, not starting with . or -");
  }
  return Status();
}

Result<VersionSpec> ParseVersionSpec(std::string_view text) {
  VersionSpec spec;
  size_t at = text.find('@');
  size_t colon = text.rfind(':');
  size_t cut = at != std::string_view::npos ? at : colon;
  spec.image = std::string(text.substr(0, cut));
  CAIRN_RETURN_IF_ERROR(ValidateImageName(spec.image).WithContext("version '" + std::string(text) + "'"));
  if (at != std::string_view::npos) {
    spec.tag = std::string(text.substr(at + 1));
    CAIRN_RETURN_IF_ERROR(ValidateImageName(*spec.tag).WithContext("version '" + std::string(text) + "'"));
  } else if (colon != std::string_view::npos) {
    std::string_view num = text.substr(colon + 1);
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size() || n == 0) {
      return Status::InvalidArgument("version '" + std::string(text) +
                                     "': expected NAME, NAME:N (N >= 1) or NAME@TAG");
    }
    spec.number = n;
  }
  return spec;
}

Result<VersionIndexData> BuildVersionIndex(cas::ObjectStore* store, const ObjectId& tree,
                                           uint64_t one_chunk_below, KeySink* sink,
                                           const ObjectId& base) {
  VersionIndexData d;
  d.tree = tree;
  CAIRN_ASSIGN_OR_RETURN(d.inspection, InspectTree(store, tree));
  CAIRN_ASSIGN_OR_RETURN(d.trees, IndexTrees(store, tree, one_chunk_below, sink, base));
  d.inspection.files = d.trees.counts.files;
  d.inspection.dirs = d.trees.counts.dirs;
  d.inspection.symlinks = d.trees.counts.symlinks;
  d.inspection.others = d.trees.counts.others;
  d.inspection.bytes = d.trees.counts.bytes;
  return d;
}

Result<std::optional<uint64_t>> Catalog::Latest(const std::string& image, bool active_only) {
  std::optional<uint64_t> last;
  Status inner;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, keys::VersionPrefix(image),
                                     [&](std::string_view key, std::string_view value) {
                                       if (active_only) {
                                         auto id = ObjectId::FromBytes(value);
                                         auto st = id ? StateOf(*id) : Result<VersionState>(id.error());
                                         if (!st) {
                                           inner = st.error();
                                           return false;
                                         }
                                         if (*st != VersionState::kActive) return true;
                                       }
                                       last = keys::VersionNumber(key);
                                       return true;
                                     }));
  CAIRN_RETURN_IF_ERROR(inner);
  return last;
}

Result<VersionRef> Catalog::AddVersion(cas::Version v, const VersionIndexData& index) {
  CAIRN_ASSIGN_OR_RETURN(PreparedVersion p, PrepareVersion(std::move(v), index));
  CAIRN_RETURN_IF_ERROR(store_->Write(p.batch, cas::WriteOptions{.sync = true}));
  return std::move(p.ref);
}

Result<Catalog::PreparedVersion> Catalog::PrepareVersion(cas::Version v, const VersionIndexData& index) {
  CAIRN_RETURN_IF_ERROR(ValidateImageName(v.image));
  CAIRN_ASSIGN_OR_RETURN(auto last, Latest(v.image, /*active_only=*/false));
  // Numbers are never reused, even after purge: a name such as web:3 means one version forever.
  CAIRN_ASSIGN_OR_RETURN(auto used, store_->Get(cas::Space::kRefs, keys::Counter(v.image)));
  uint64_t highest = last.value_or(0);
  std::string_view in = used ? std::string_view(*used) : std::string_view();
  uint64_t counted = 0;
  if (used && GetFixed64(&in, &counted)) highest = std::max(highest, counted);
  uint64_t n = highest + 1;
  std::string counter;
  PutFixed64(&counter, n);
  v.summary = EncodeInspection(index.inspection);
  cas::EncodedObject obj = cas::EncodeObject(cas::ObjectType::kVersion, cas::EncodeVersion(v), 3);
  ObjectId id = obj.id;
  cas::WriteBatch batch;
  batch.PutObject(std::move(obj));
  batch.Put(cas::Space::kRefs, keys::Version(v.image, n), id.AsBytes());
  batch.Put(cas::Space::kRefs, keys::Counter(v.image), counter);
  batch.Put(cas::Space::kCatalog, keys::Name(id), NameValue(v.image, n));
  for (const auto& p : v.parents) batch.Put(cas::Space::kCatalog, keys::Child(p, id), "");
  for (const auto& [k, value] : index.trees.puts) batch.Put(cas::Space::kCatalog, k, value);
  AddVersionKeys(&batch, id, index.tree, index.inspection);
  std::string image = v.image;
  return PreparedVersion{std::move(batch), VersionRef{std::move(image), n, id, std::move(v), VersionState::kActive}};
}

Result<cas::Version> Catalog::ReadVersion(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(id, cas::ObjectType::kVersion));
  return cas::DecodeVersion(id, data);
}

Result<VersionState> Catalog::StateOf(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto v, store_->Get(cas::Space::kCatalog, keys::State(id)));
  if (!v || v->empty()) return VersionState::kActive;
  return static_cast<VersionState>((*v)[0]);
}

Status Catalog::NotFoundImage(const std::string& image) {
  std::string msg = "image '" + image + "': no such image";
  auto images = Images();
  if (images && !images->empty()) {
    std::vector<std::pair<size_t, std::string>> close;
    for (const auto& name : *images) {
      size_t d = EditDistance(image, name);
      if (d <= std::max<size_t>(2, image.size() / 3)) close.emplace_back(d, name);
    }
    std::sort(close.begin(), close.end());
    if (!close.empty()) {
      msg += "; did you mean";
      for (size_t i = 0; i < close.size() && i < 3; ++i) msg += (i ? ", " : " ") + close[i].second;
      msg += "?";
    }
  }
  return Status::NotFound(msg);
}

Result<std::string> Catalog::NameOf(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto name, store_->Get(cas::Space::kCatalog, keys::Name(id)));
  if (!name) return Status::NotFound("version " + id.Short() + ": not in the catalog");
  std::string_view in(*name);
  size_t nul = in.find('\0');
  uint64_t n = 0;
  std::string_view rest = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  if (nul == std::string_view::npos || !GetFixed64(&rest, &n)) {
    return Status::Corruption("catalog name of " + id.Short() + ": malformed");
  }
  return std::string(in.substr(0, nul)) + ":" + std::to_string(n);
}

Result<VersionRef> Catalog::ResolveId(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(auto name, store_->Get(cas::Space::kCatalog, keys::Name(id)));
  if (!name) return Status::NotFound("version " + id.Short() + ": not in the catalog");
  std::string_view in(*name);
  size_t nul = in.find('\0');
  uint64_t n = 0;
  std::string_view rest = in.substr(nul + 1);
  if (nul == std::string_view::npos || !GetFixed64(&rest, &n)) {
    return Status::Corruption("catalog name of " + id.Short() + ": malformed");
  }
  CAIRN_ASSIGN_OR_RETURN(cas::Version v, ReadVersion(id));
  CAIRN_ASSIGN_OR_RETURN(VersionState st, StateOf(id));
  return VersionRef{std::string(in.substr(0, nul)), n, id, std::move(v), st};
}

Result<VersionRef> Catalog::Resolve(const VersionSpec& spec) {
  ObjectId id;
  if (spec.tag) {
    CAIRN_ASSIGN_OR_RETURN(auto raw, store_->Get(cas::Space::kRefs, keys::Tag(spec.image, *spec.tag)));
    if (!raw) {
      CAIRN_ASSIGN_OR_RETURN(auto any, Latest(spec.image, false));
      if (!any) return NotFoundImage(spec.image);
      return Status::NotFound("tag " + spec.image + "@" + *spec.tag + ": no such tag");
    }
    CAIRN_ASSIGN_OR_RETURN(id, ObjectId::FromBytes(*raw));
    return ResolveId(id);
  }
  CAIRN_ASSIGN_OR_RETURN(auto last_any, Latest(spec.image, false));
  if (!last_any) return NotFoundImage(spec.image);
  uint64_t n;
  if (spec.number) {
    n = *spec.number;
  } else {
    CAIRN_ASSIGN_OR_RETURN(auto last, Latest(spec.image, true));
    if (!last) return Status::NotFound("image '" + spec.image + "': every version is deleted");
    n = *last;
  }
  CAIRN_ASSIGN_OR_RETURN(auto raw, store_->Get(cas::Space::kRefs, keys::Version(spec.image, n)));
  if (!raw) {
    return Status::NotFound("version " + spec.image + ":" + std::to_string(n) +
                            ": no such version (latest is " + spec.image + ":" +
                            std::to_string(*last_any) + ")");
  }
  CAIRN_ASSIGN_OR_RETURN(id, ObjectId::FromBytes(*raw));
  return ResolveId(id);
}

Result<VersionRef> Catalog::Resolve(std::string_view text) {
  CAIRN_ASSIGN_OR_RETURN(VersionSpec spec, ParseVersionSpec(text));
  return Resolve(spec);
}

Result<std::vector<std::string>> Catalog::Images(bool include_deleted) {
  std::vector<std::string> names;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, std::string("v\0", 2),
                                     [&](std::string_view key, std::string_view) {
                                       std::string_view name = key.substr(2, key.size() - 2 - 9);
                                       if (names.empty() || names.back() != name) names.emplace_back(name);
                                       return true;
                                     }));
  if (include_deleted) return names;
  std::vector<std::string> out;
  for (auto& n : names) {
    CAIRN_ASSIGN_OR_RETURN(auto last, Latest(n, true));
    if (last) out.push_back(std::move(n));
  }
  return out;
}

Result<std::vector<ObjectId>> Catalog::VersionIds(const std::string& image) {
  std::vector<ObjectId> ids;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, keys::VersionPrefix(image),
                                     [&](std::string_view, std::string_view value) {
                                       auto id = ObjectId::FromBytes(value);
                                       if (id) ids.push_back(*id);
                                       return true;
                                     }));
  if (ids.empty()) return NotFoundImage(image);
  return ids;
}

Result<size_t> Catalog::CountVersions(const std::string& image) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<ObjectId> ids, VersionIds(image));
  size_t n = 0;
  for (const auto& id : ids) {
    CAIRN_ASSIGN_OR_RETURN(VersionState st, StateOf(id));
    n += st == VersionState::kActive;
  }
  return n;
}

Result<std::vector<VersionRef>> Catalog::Versions(const std::string& image, bool include_deleted) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<ObjectId> ids, VersionIds(image));
  std::vector<VersionRef> out;
  for (const auto& id : ids) {
    CAIRN_ASSIGN_OR_RETURN(VersionRef ref, ResolveId(id));
    if (include_deleted || ref.state == VersionState::kActive) out.push_back(std::move(ref));
  }
  return out;
}

Result<std::set<std::pair<ObjectId, ObjectId>>> Catalog::ChildLinks() {
  std::set<std::pair<ObjectId, ObjectId>> out;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kCatalog, keys::ChildrenPrefix(),
                                     [&](std::string_view key, std::string_view) {
                                       if (auto link = keys::ParseChildKey(key)) out.insert(*link);
                                       return true;
                                     }));
  return out;
}

Result<std::vector<ObjectId>> Catalog::Children(const ObjectId& id) {
  std::vector<ObjectId> out;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kCatalog, keys::ChildPrefix(id),
                                     [&](std::string_view key, std::string_view) {
                                       auto c = ObjectId::FromBytes(key.substr(1 + ObjectId::kSize));
                                       if (c) out.push_back(*c);
                                       return true;
                                     }));
  return out;
}

}  // namespace cairn::catalog
