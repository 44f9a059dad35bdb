// Catalog: tags, states, purge and the roots of gc.
#include "catalog/catalog.h"
#include "catalog/inspect.h"
#include "catalog/keys.h"

namespace cairn::catalog {

Status Catalog::SetTag(const VersionRef& v, const std::string& tag) {
  CAIRN_RETURN_IF_ERROR(ValidateImageName(tag).WithContext("tag"));
  cas::WriteBatch b;
  b.Put(cas::Space::kRefs, keys::Tag(v.image, tag), v.id.AsBytes());
  return store_->Write(b, cas::WriteOptions{.sync = true});
}

Result<std::map<std::string, ObjectId>> Catalog::Tags(const std::string& image) {
  std::map<std::string, ObjectId> out;
  std::string prefix = keys::TagPrefix(image);
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, prefix,
                                     [&](std::string_view key, std::string_view value) {
                                       auto id = ObjectId::FromBytes(value);
                                       if (id) out.emplace(std::string(key.substr(prefix.size())), *id);
                                       return true;
                                     }));
  return out;
}

Result<std::vector<std::string>> Catalog::TagsOf(const VersionRef& v) {
  CAIRN_ASSIGN_OR_RETURN(auto tags, Tags(v.image));
  std::vector<std::string> out;
  for (const auto& [t, id] : tags)
    if (id == v.id) out.push_back(t);
  return out;
}

Status Catalog::SetState(const VersionRef& v, VersionState state) {
  cas::WriteBatch b;
  if (state == VersionState::kActive) {
    b.Delete(cas::Space::kCatalog, keys::State(v.id));
  } else {
    b.Put(cas::Space::kCatalog, keys::State(v.id), std::string(1, static_cast<char>(state)));
  }
  return store_->Write(b, cas::WriteOptions{.sync = true});
}

Result<std::vector<std::string>> Catalog::Purge(const std::set<ObjectId>& keep) {
  CAIRN_ASSIGN_OR_RETURN(auto images, Images(/*include_deleted=*/true));
  // The children index, as it is and as it will be: each purged version's parents are linked to
  // its children (A -> B -> C becomes A -> C), one version after the other, so that a chain of
  // purged versions is bridged too. Its links alone were deleted: its ancestors lost it and
  // every descendant beneath it, and its descendants kept them only through its Version object,
  // until gc took it.
  CAIRN_ASSIGN_OR_RETURN(const auto before, ChildLinks());
  auto after = before;                              // (parent, child)
  std::set<std::pair<ObjectId, ObjectId>> upwards;  // the same links as (child, parent)
  for (const auto& [parent, child] : before) upwards.emplace(child, parent);
  auto linked = [](const std::set<std::pair<ObjectId, ObjectId>>& links, const ObjectId& v) {
    std::vector<ObjectId> out;
    for (auto it = links.lower_bound({v, ObjectId()}); it != links.end() && it->first == v; ++it)
      out.push_back(it->second);
    return out;
  };
  auto bridge = [&](const ObjectId& v) {
    const std::vector<ObjectId> ups = linked(upwards, v), downs = linked(after, v);
    for (const auto& up : ups) {
      after.erase({up, v});
      upwards.erase({v, up});
    }
    for (const auto& down : downs) {
      after.erase({v, down});
      upwards.erase({down, v});
    }
    for (const auto& up : ups) {
      for (const auto& down : downs) {
        after.emplace(up, down);
        upwards.emplace(down, up);
      }
    }
  };
  std::vector<std::string> purged;
  cas::WriteBatch b;
  for (const auto& image : images) {
    CAIRN_ASSIGN_OR_RETURN(auto versions, Versions(image, /*include_deleted=*/true));
    CAIRN_ASSIGN_OR_RETURN(auto tags, Tags(image));
    for (const auto& v : versions) {
      if (v.state != VersionState::kDeleted || keep.contains(v.id)) continue;
      b.Delete(cas::Space::kRefs, keys::Version(v.image, v.number));
      for (const auto& [t, id] : tags)
        if (id == v.id) b.Delete(cas::Space::kRefs, keys::Tag(v.image, t));
      b.Delete(cas::Space::kCatalog, keys::State(v.id));
      b.Delete(cas::Space::kCatalog, keys::Name(v.id));
      bridge(v.id);
      {
        // The version's own index keys; its Trees' keys go when gc removes the Trees.
        CAIRN_ASSIGN_OR_RETURN(ObjectId tree, cas::RootTreeOf(store_, v.version));
        AddVersionKeys(&b, v.id, tree, DecodeInspection(v.version.summary), /*remove=*/true);
      }
      purged.push_back(v.Name());
    }
  }
  for (const auto& [parent, child] : before)
    if (!after.contains({parent, child}))
      b.Delete(cas::Space::kCatalog, keys::Child(parent, child));
  for (const auto& [parent, child] : after)
    if (!before.contains({parent, child}))
      b.Put(cas::Space::kCatalog, keys::Child(parent, child), "");
  if (!b.empty()) CAIRN_RETURN_IF_ERROR(store_->Write(b, cas::WriteOptions{.sync = true}));
  return purged;
}

Result<std::vector<ObjectId>> Catalog::AllVersionIds() {
  std::vector<ObjectId> out;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, std::string("v\0", 2),
                                     [&](std::string_view, std::string_view value) {
                                       auto id = ObjectId::FromBytes(value);
                                       if (id) out.push_back(*id);
                                       return true;
                                     }));
  return out;
}

Result<uint64_t> Catalog::LogicalBytes() {
  CAIRN_ASSIGN_OR_RETURN(std::vector<ObjectId> ids, AllVersionIds());
  uint64_t total = 0;
  for (const ObjectId& id : ids) {
    CAIRN_ASSIGN_OR_RETURN(cas::Version v, ReadVersion(id));
    total += DecodeInspection(v.summary).bytes;
  }
  return total;
}

}  // namespace cairn::catalog
