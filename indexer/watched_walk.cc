#include "indexer/watched_walk.h"

namespace cairn::indexer {

WatchedWalk::WatchedWalk(const std::optional<WatchReport>& report, bool trust,
                         const ObjectId& parent_root, const StatCache& cache, dev_t root_dev)
    : report_(report),
      use_list_(report.has_value() && !report->all && trust && !parent_root.IsZero()),
      cache_of_parent_(cache.Find("") != nullptr && cache.Find("")->tree == parent_root &&
                       !parent_root.IsZero()),
      cache_(cache),
      root_dev_(root_dev) {}

std::optional<WatchToken> WatchedWalk::token() const {
  if (!report_) return std::nullopt;
  return report_->token;
}

const char* WatchedWalk::answer() const {
  if (!report_) return "";
  return report_->all ? "all" : "changes";
}

const StatCacheDir* WatchedWalk::Unwalked(const std::string& rel, const struct stat& st,
                                          const ObjectId& was) const {
  if (!use_list_ || was.IsZero() || st.st_dev != root_dev_ || ChangedAtOrBeneath(*report_, rel)) {
    return nullptr;
  }
  const StatCacheDir* d = cache_.Find(rel);
  if (d == nullptr || d->tree != was || d->self != FileStatOf(st) || d->below.links_out != 0 ||
      (d->below.links != 0 && !cache_of_parent_) || d->below.dirs == 0 ||
      d->below.incomplete != 0 || d->below.sparse != 0) {
    return nullptr;
  }
  return d;
}

}  // namespace cairn::indexer
