#include "cas/tree_reader.h"

#include <algorithm>

#include "base/sha256.h"
#include "cas/content_reader.h"

namespace cairn::cas {

Result<Tree> LoadTree(ObjectStore* store, const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(id, ObjectType::kTree));
  return DecodeTree(id, data);
}

Result<std::shared_ptr<const Tree>> TreeCache::Get(const ObjectId& id) {
  if (auto it = trees_.find(id); it != trees_.end()) return it->second;
  CAIRN_ASSIGN_OR_RETURN(Tree t, LoadTree(store_, id));
  auto tree = std::make_shared<const Tree>(std::move(t));
  trees_.emplace(id, tree);
  return tree;
}

namespace {

// The entry `name` of `t`; NotFound naming `path` (the whole path looked up).
Result<TreeEntry> Find(const Tree& t, std::string_view name, std::string_view path) {
  auto it = std::lower_bound(t.entries.begin(), t.entries.end(), name,
                             [](const TreeEntry& e, std::string_view n) { return e.name < n; });
  if (it == t.entries.end() || it->name != name) {
    return Status::NotFound("path " + std::string(path) + ": no such file or directory");
  }
  return *it;
}

// The entry `name` of the directory Tree `dir`, from `cache` when given.
Result<TreeEntry> Child(ObjectStore* store, const ObjectId& dir, std::string_view name,
                        std::string_view path, TreeCache* cache = nullptr) {
  if (cache != nullptr) {
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const Tree> t, cache->Get(dir));
    return Find(*t, name, path);
  }
  CAIRN_ASSIGN_OR_RETURN(Tree t, LoadTree(store, dir));
  return Find(t, name, path);
}

}  // namespace

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
    CAIRN_ASSIGN_OR_RETURN(cur, Child(store, cur.id, comp, path));
    walked += (walked.empty() ? "" : "/") + std::string(comp);
  }
  return cur;
}

Result<TreeEntry> ResolvePath(ObjectStore* store, const ObjectId& root, std::string_view path,
                              bool follow_last, std::string* resolved, TreeCache* cache) {
  constexpr int kMaxLinks = 40;
  // Components still to walk, the next one last; and the entries walked, the root first.
  std::vector<std::string> todo;
  auto push_front = [&todo](std::string_view p) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= p.size()) {
      size_t slash = std::min(p.find('/', start), p.size());
      parts.emplace_back(p.substr(start, slash - start));
      start = slash + 1;
    }
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  push_front(path);
  TreeEntry top;
  top.type = EntryType::kDirectory;
  top.id = root;
  std::vector<TreeEntry> walked = {top};
  std::vector<std::string> names;
  int links = 0;
  auto here = [&] {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : "/") + n;
    return out;
  };
  while (!todo.empty()) {
    std::string comp = std::move(todo.back());
    todo.pop_back();
    // Every component needs a directory before it, also "", "." and "..": "file/", "file/."
    // and "file/.." name nothing (path_resolution(7): ENOTDIR), a link to a file either.
    if (walked.back().type != EntryType::kDirectory) {
      return Status::NotFound("path " + std::string(path) + ": " + here() + " is not a directory");
    }
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (walked.size() > 1) walked.pop_back(), names.pop_back();
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(TreeEntry e, Child(store, walked.back().id, comp, path, cache));
    // A trailing '/' leaves an empty component behind: the link is resolved, as the kernel does.
    if (e.type == EntryType::kSymlink && (follow_last || !todo.empty())) {
      if (++links > kMaxLinks) {
        return Status::NotFound("path " + std::string(path) +
                                ": too many levels of symbolic links");
      }
      if (e.target.empty()) {
        return Status::NotFound("path " + std::string(path) + ": " + here() +
                                (names.empty() ? "" : "/") + comp + " is a link to nothing");
      }
      if (e.target.starts_with('/')) walked.resize(1), names.clear();
      push_front(e.target);
      continue;
    }
    walked.push_back(std::move(e));
    names.push_back(std::move(comp));
  }
  if (resolved) *resolved = here();
  return walked.back();
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

Status ReadFileData(ObjectStore* store, const TreeEntry& e,
                    const std::function<Status(uint64_t offset, std::string_view)>& sink) {
  if (e.type != EntryType::kRegular) {
    return Status::InvalidArgument("read " + e.name + ": not a regular file");
  }
  ContentReader reader(store);
  if (!e.sparse) {
    uint64_t n = 0;
    CAIRN_RETURN_IF_ERROR(reader.Read(e.id, [&](std::string_view piece) {
      uint64_t at = n;
      n += piece.size();
      return n <= e.size ? sink(at, piece) : Status();
    }));
    if (n != e.size) {
      return Status::Corruption("read " + e.name + ": content has " + std::to_string(n) +
                                " bytes, its entry says " + std::to_string(e.size));
    }
    return Status();
  }
  size_t extent = 0;
  uint64_t in_extent = 0;
  CAIRN_RETURN_IF_ERROR(reader.Read(e.id, [&](std::string_view piece) -> Status {
    while (!piece.empty()) {
      if (extent >= e.extents.size()) {
        return Status::Corruption("read " + e.name + ": content longer than its extents");
      }
      const Extent& x = e.extents[extent];
      size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), x.length - in_extent));
      CAIRN_RETURN_IF_ERROR(sink(x.offset + in_extent, piece.substr(0, n)));
      piece.remove_prefix(n);
      in_extent += n;
      if (in_extent == x.length) {
        ++extent;
        in_extent = 0;
      }
    }
    return Status();
  }));
  if (extent != e.extents.size() ||
      (!e.extents.empty() && e.extents.back().offset + e.extents.back().length > e.size)) {
    return Status::Corruption("read " + e.name + ": content shorter than its extents");
  }
  return Status();
}

Status ReadFileEntry(ObjectStore* store, const TreeEntry& e,
                     const std::function<Status(std::string_view)>& sink) {
  static const std::string kZeros(1 << 16, '\0');
  auto zeros = [&](uint64_t n) -> Status {
    while (n > 0) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, kZeros.size()));
      CAIRN_RETURN_IF_ERROR(sink(std::string_view(kZeros.data(), k)));
      n -= k;
    }
    return Status();
  };
  uint64_t pos = 0;  // logical offset passed on so far
  CAIRN_RETURN_IF_ERROR(ReadFileData(store, e, [&](uint64_t offset, std::string_view piece) {
    CAIRN_RETURN_IF_ERROR(zeros(offset - pos));
    pos = offset + piece.size();
    return sink(piece);
  }));
  return zeros(e.size - pos);
}

Result<ObjectId> ZeroRunDigest(ObjectStore* store, const TreeEntry& e) {
  // The stream hashed: the size (8 bytes, big-endian), then for each maximal run of non-zero
  // bytes its offset (8 bytes), its bytes and 0x00 followed by its end (8 bytes). The 0x00
  // after a run's bytes, which are never zero, tells where the run ends: the stream names one
  // file's bytes only.
  Sha256 h;
  auto put = [&](bool mark, uint64_t v) {
    char b[9];
    b[0] = 0;
    for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<char>(v >> (56 - 8 * i));
    h.Update(mark ? std::string_view(b, 9) : std::string_view(b + 1, 8));
  };
  put(false, e.size);
  bool in_run = false;
  uint64_t run_end = 0;  // the offset after the run's last byte so far
  CAIRN_RETURN_IF_ERROR(ReadFileData(store, e, [&](uint64_t offset, std::string_view piece) {
    if (in_run && offset != run_end) {
      put(true, run_end);
      in_run = false;
    }
    size_t i = 0;
    while (i < piece.size()) {
      if (!in_run) {
        while (i < piece.size() && piece[i] == 0) ++i;
        if (i == piece.size()) break;
        put(false, offset + i);
        in_run = true;
      }
      size_t j = i;
      while (j < piece.size() && piece[j] != 0) ++j;
      h.Update(piece.substr(i, j - i));
      run_end = offset + j;
      if (j < piece.size()) {
        put(true, run_end);
        in_run = false;
      }
      i = j;
    }
    return Status();
  }));
  if (in_run) put(true, run_end);
  return h.Finish();
}

}  // namespace cairn::cas
