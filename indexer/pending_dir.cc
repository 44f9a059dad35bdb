#include "indexer/pending_dir.h"

#include "cas/tree_reader.h"
#include "indexer/dir_scan.h"

namespace cairn::indexer {

StatCacheDir RecordOf(PendingDir& pd, const ObjectId& id, int64_t since_ns) {
  StatCacheDir d{id, pd.self, std::move(pd.stats), {}, pd.below};
  auto doubt = [&](FileStat& f) {
    if (RacyCtime(f.ctime_ns, since_ns)) f.ctime_ns = 0;
  };
  doubt(d.self);
  for (FileStat& f : d.files) doubt(f);
  if (pd.complete && d.files.size() == pd.tree.entries.size()) {
    d.names.reserve(d.files.size());
    for (auto& e : pd.tree.entries) d.names.push_back(std::move(e.name));
  }
  return d;
}

namespace {

// The directory's inode and ctime and those of all its entries were as recorded, yet the
// recorded Tree does not hold its entries: the stat cache cannot be trusted here.
Status NotAsRecorded(const PendingDir& pd, const std::string& root) {
  return Status::Corruption("checkin " + root + ": " + (pd.rel.empty() ? "." : pd.rel) +
                            " is not as the stat cache recorded it although its inodes and "
                            "ctimes are; check in with --paranoid");
}

}  // namespace

Result<ObjectId> ReusedTree(const PendingDir& pd, const StatCache& cache, cas::Ingestor* ingestor,
                            const std::string& root) {
  bool same = true;
  for (const auto& e : pd.tree.entries) {
    if (e.type != cas::EntryType::kDirectory) continue;
    const StatCacheDir* d = cache.Find(ChildRel(pd.rel, e.name));
    if (d == nullptr || d->tree != e.id) same = false;
  }
  if (same) return pd.parent_tree;
  CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, cas::LoadTree(ingestor->store(), pd.parent_tree));
  if (tree.entries.size() != pd.tree.entries.size()) return NotAsRecorded(pd, root);
  for (size_t i = 0; i < tree.entries.size(); ++i) {
    const cas::TreeEntry& now = pd.tree.entries[i];
    cas::TreeEntry& was = tree.entries[i];
    if (was.name != now.name || was.type != now.type ||
        (now.type == cas::EntryType::kRegular && was.size != now.size)) {
      return NotAsRecorded(pd, root);
    }
    if (now.type == cas::EntryType::kDirectory) was.id = now.id;
  }
  return ingestor->PutObject(cas::ObjectType::kTree, cas::EncodeTree(tree));
}

}  // namespace cairn::indexer
