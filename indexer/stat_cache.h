// The stat cache of incremental checkin (DESIGN.md, flow of data): for each file checked in from
// a directory, its absolute path -> inode, size, mtime, ctime and stored content. Lives in the
// store's kStatCache space, beside the catalog and never in Tree objects, so a Tree's id depends
// only on what the image holds.
#ifndef CAIRN_INDEXER_STAT_CACHE_H_
#define CAIRN_INDEXER_STAT_CACHE_H_

#include <sys/stat.h>

#include <optional>
#include <string>

#include "cas/ingestor.h"

namespace cairn::indexer {

struct StatCacheEntry {
  uint64_t ino = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  ObjectId content;
  cas::ObjectType type = cas::ObjectType::kBlob;
};

// Keys: the directory's absolute path, a NUL, the name. The entries of one directory are
// contiguous, so the walk reads them with one scan (StatCacheDirPrefix).
std::string StatCacheKey(std::string_view path);
std::string StatCacheDirPrefix(std::string_view dir);

StatCacheEntry StatCacheEntryFromStat(const struct stat& st, const cas::FileContent& content);
// Whether `st` still describes the file recorded in `entry`.
bool StatCacheMatches(const StatCacheEntry& entry, const struct stat& st);
std::string EncodeStatCacheEntry(const StatCacheEntry& e);
std::optional<StatCacheEntry> DecodeStatCacheEntry(std::string_view v);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_STAT_CACHE_H_
