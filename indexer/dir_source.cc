#include "indexer/dir_source.h"

#include "indexer/dir_walker.h"

namespace cairn::indexer {

void TakeStatCacheSave(CheckinResult* r) {
  if (!r->stat_cache_saved.valid()) return;
  Status saved = r->stat_cache_saved.get();
  r->stat_cache_saved = {};
  if (saved.ok()) return;
  r->warnings.push_back("stat cache not saved (the next checkin with --parent reads more): " +
                        saved.ToString());
}
Result<CheckinResult> DirSource::Checkin(cas::Ingestor* ingestor, const CheckinOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::string root, WalkRoot(root_));
  {
    DirWalker w(root, threads_, ingestor, options, /*trust_watcher=*/true);
    Result<CheckinResult> r = w.Run();
    if (r || !w.redo()) return r;
  }
  // What the first walk stored stays: the second finds it stored.
  DirWalker w(std::move(root), threads_, ingestor, options, /*trust_watcher=*/false);
  return w.Run();
}

}  // namespace cairn::indexer
