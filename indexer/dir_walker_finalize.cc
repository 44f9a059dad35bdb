#include <algorithm>
#include <chrono>
#include <map>

#include "base/sha256.h"
#include "indexer/dir_walker.h"

namespace cairn::indexer {

Status DirWalker::Harvest(PendingDir& pd) {
  size_t kept = 0;
  for (auto& f : pd.files) {
    if (f.second.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      pd.files[kept++] = std::move(f);
      continue;
    }
    CAIRN_RETURN_IF_ERROR(TakeContent(pd, f.first, f.second.get()));
  }
  pd.files.resize(kept);
  return Status();
}

Status DirWalker::TakeContent(PendingDir& pd, size_t index, const Result<FileOut>& r) {
  if (!r) return r.error();
  if (index >= pd.tree.entries.size()) {
    return Status::Internal("checkin: the content of entry " + std::to_string(index) +
                            " came before the entry");
  }
  cas::TreeEntry& e = pd.tree.entries[index];
  if (r->skipped) {
    pd.dropped.push_back(index);
    return Status();
  }
  e.id = r->content.id;
  e.sparse = r->sparse;
  e.extents = r->extents;
  if (e.sparse && !holes_settle_) pd.stats[index].sparse_blocks = FileStat::kUnsettledHoles;
  result_.files++;
  result_.bytes += e.size;
  pd.below.files++;
  pd.below.bytes += e.size;
  return Status();
}

Status DirWalker::AddPending(std::shared_ptr<PendingDir> pd) {
  pending_entries_ += pd->tree.entries.size();
  pending_.push_back(std::move(pd));
  while (pending_.size() > kMaxPendingDirs || pending_entries_ > kMaxPendingEntries) {
    CAIRN_RETURN_IF_ERROR(FinalizeFront());
  }
  return Status();
}

std::optional<FileOut> DirWalker::FromParent(const DirScan& scan, const ScannedEntry& se) {
  if (se.unchanged == std::string::npos) return std::nullopt;
  const cas::TreeEntry& p = scan.parent.entries[se.unchanged];
  FileOut out;
  out.content = {p.id, cas::ObjectType::kBlob, p.size, ObjectId()};
  out.sparse = p.sparse;
  out.extents = p.extents;
  out.from_cache = true;
  return out;
}

void DirWalker::CountFile(const struct stat& st) {
  if (options_.progress) options_.progress->Add(1, static_cast<uint64_t>(st.st_size));
}

std::shared_future<Result<FileOut>> DirWalker::SubmitFile(const std::string& path,
                                                          const std::string& rel,
                                                          const struct stat& st,
                                                          std::optional<FileOut> cached) {
  if (st.st_nlink > 1) {
    if (const WalkLinks::Content* content = links_.Join(st, rel)) {
      CountFile(st);
      return *content;
    }
  }
  std::shared_future<Result<FileOut>> fut;
  const bool recorded = cached.has_value();
  if (cached) {
    files_cached_++;
    CountFile(st);
    std::promise<Result<FileOut>> ready;
    ready.set_value(std::move(*cached));
    fut = ready.get_future().share();
  } else {
    fut = files_.Submit(path, rel, st);
  }
  if (st.st_nlink > 1) links_.Add(st, rel, fut, recorded);
  return fut;
}

void DirWalker::Done(const struct stat& st, const Result<FileOut>& r) {
  if (r) bytes_read_ += r->bytes_read;  // once per inode: hard links share this job
  if (r && !r->skipped) CountFile(st);
}

Status DirWalker::FinalizeFront() {
  files_.Flush();  // the directory's files may be waiting in it
  std::shared_ptr<PendingDir> pd = std::move(pending_.front());
  pending_.pop_front();
  pending_entries_ -= pd->tree.entries.size();
  for (auto& [index, fut] : pd->files) CAIRN_RETURN_IF_ERROR(TakeContent(*pd, index, fut.get()));
  pd->files.clear();
  std::vector<size_t>& drop = pd->dropped;
  std::sort(drop.begin(), drop.end());
  for (size_t index : drop) {
    // This name, not the result's path: the names of a multiply-linked file share one result.
    result_.skipped.push_back(ChildRel(pd->rel, pd->tree.entries[index].name));
  }
  if (!drop.empty()) pd->complete = false;
  for (auto it = drop.rbegin(); it != drop.rend(); ++it) {
    pd->tree.entries.erase(pd->tree.entries.begin() + static_cast<long>(*it));
    pd->stats.erase(pd->stats.begin() + static_cast<long>(*it));
  }
  if (pd->parent == nullptr) CAIRN_RETURN_IF_ERROR(HardLinks(*pd));
  ObjectId id;
  if (pd->reuse) {
    CountReused(pd.get());
    CAIRN_ASSIGN_OR_RETURN(id, ReusedTree(*pd, prefetch_->cache(), ingestor_, root_));
  } else {
    // A directory unchanged since the parent is the parent's Tree, which the parent version
    // keeps stored: no need to ask the store.
    std::string encoded = cas::EncodeTree(pd->tree);
    id = Sha256::Of(encoded);
    if (id != pd->parent_tree) {
      CAIRN_ASSIGN_OR_RETURN(id, ingestor_->PutObject(cas::ObjectType::kTree, encoded));
    }
  }
  pd->below.dirs += 1;
  if (!pd->complete) pd->below.incomplete++;
  for (const FileStat& f : pd->stats) pd->below.sparse += f.sparse_blocks != 0;
  // From the prefetch's start: it may have looked names up before the walk began.
  if (record_) new_cache_.Put(pd->rel, RecordOf(*pd, id, prefetch_->start_ns()));
  if (pd->parent) {
    pd->parent->below += pd->below;
    pd->parent->tree.entries[pd->index_in_parent].id = id;
  } else {
    result_.root = id;
  }
  return Status();
}

Status DirWalker::HardLinks(PendingDir& root) {
  std::set<std::string> skipped(result_.skipped.begin(), result_.skipped.end());
  std::vector<LinkGroup> groups = links_.Groups(skipped, &root.tree.hardlinks);
  // Without a cache written for the parent version, no subtree holding a file with several
  // names was taken unseen (WatchedWalk::Unwalked): the parent's groups there, if any, are
  // not the tree's.
  if (!unwalked_.empty() && watched_->carries_links()) {
    auto inside = GroupsInside(parent_hardlinks_, unwalked_);
    if (!inside) {  // the cache said no name reached out of those subtrees: walk them all
      redo_ = true;
      return Status::Internal("checkin " + root_ + ": a hard-link group reaches out of a " +
                              "subtree taken unseen");
    }
    for (auto& g : *inside) root.tree.hardlinks.push_back(std::move(g));
  }
  for (auto& g : root.tree.hardlinks) std::sort(g.begin(), g.end());
  std::sort(root.tree.hardlinks.begin(), root.tree.hardlinks.end());
  if (record_) {
    std::map<std::string, uint64_t> out = NamesReachingOut(groups);
    root.below.links_out = out[""];  // recorded next, with the root
    for (const auto& [dir, n] : out) {
      if (StatCacheDir* d = new_cache_.Find(dir)) d->below.links_out = n;
    }
  }
  return Status();
}

void DirWalker::CountReused(PendingDir* pd) {
  for (const auto& e : pd->tree.entries) {
    if (e.type != cas::EntryType::kRegular) continue;
    result_.files++;
    result_.bytes += e.size;
    pd->below.files++;
    pd->below.bytes += e.size;
    files_cached_++;
    if (options_.progress) options_.progress->Add(1, e.size);
  }
}

}  // namespace cairn::indexer
