#include "cas/tree_reader.h"

namespace cairn::cas {

Result<Tree> LoadTree(ObjectStore* store, const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(id, ObjectType::kTree));
  return DecodeTree(id, data);
}

Result<TreeEntry> LookupPath(ObjectStore* store, const ObjectId& root, std::string_view path) {
  TreeEntry cur;
  cur.type = EntryType::kDirectory;
  cur.id = root;
  std::string walked;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    std::string_view comp = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    start = slash == std::string_view::npos ? path.size() : slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (cur.type != EntryType::kDirectory) {
      return Status::NotFound("path " + std::string(path) + ": " + walked + " is not a directory");
    }
    CAIRN_ASSIGN_OR_RETURN(Tree t, LoadTree(store, cur.id));
    auto it = std::lower_bound(t.entries.begin(), t.entries.end(), comp,
                               [](const TreeEntry& e, std::string_view n) { return e.name < n; });
    if (it == t.entries.end() || it->name != comp) {
      return Status::NotFound("path " + std::string(path) + ": no such file or directory");
    }
    walked += (walked.empty() ? "" : "/") + std::string(comp);
    cur = std::move(*it);
  }
  return cur;
}

Status WalkTree(ObjectStore* store, const ObjectId& id, const std::string& prefix,
                const std::function<bool(const std::string&, const TreeEntry&)>& fn) {
  CAIRN_ASSIGN_OR_RETURN(Tree t, LoadTree(store, id));
  for (const auto& e : t.entries) {
    std::string path = prefix.empty() ? e.name : prefix + "/" + e.name;
    bool descend = fn(path, e);
    if (e.type == EntryType::kDirectory && descend) {
      CAIRN_RETURN_IF_ERROR(WalkTree(store, e.id, path, fn));
    }
  }
  return Status();
}

}  // namespace cairn::cas
