#include "indexer/stat_cache.h"

#include "base/coding.h"

namespace cairn::indexer {
namespace {
int64_t Ns(const struct timespec& t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
}  // namespace

std::string StatCacheKey(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string k(path.substr(0, slash));
  k.push_back('\0');
  k.append(path.substr(slash + 1));
  return k;
}

std::string StatCacheDirPrefix(std::string_view dir) {
  std::string k(dir == "/" ? "" : dir);
  k.push_back('\0');
  return k;
}

StatCacheEntry StatCacheEntryFromStat(const struct stat& st, const cas::FileContent& content) {
  return {static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size), Ns(st.st_mtim),
          Ns(st.st_ctim), content.id, content.type};
}

bool StatCacheMatches(const StatCacheEntry& e, const struct stat& st) {
  return e.ino == static_cast<uint64_t>(st.st_ino) && e.size == static_cast<uint64_t>(st.st_size) &&
         e.mtime_ns == Ns(st.st_mtim) && e.ctime_ns == Ns(st.st_ctim);
}

std::string EncodeStatCacheEntry(const StatCacheEntry& e) {
  std::string v;
  PutFixed64(&v, e.ino);
  PutFixed64(&v, e.size);
  PutFixed64(&v, static_cast<uint64_t>(e.mtime_ns));
  PutFixed64(&v, static_cast<uint64_t>(e.ctime_ns));
  v.append(e.content.AsBytes());
  v.push_back(static_cast<char>(e.type));
  return v;
}

std::optional<StatCacheEntry> DecodeStatCacheEntry(std::string_view v) {
  StatCacheEntry e;
  uint64_t m, c;
  std::string_view id;
  if (!GetFixed64(&v, &e.ino) || !GetFixed64(&v, &e.size) || !GetFixed64(&v, &m) ||
      !GetFixed64(&v, &c) || !GetBytes(&v, ObjectId::kSize, &id) || v.size() != 1) {
    return std::nullopt;
  }
  e.mtime_ns = static_cast<int64_t>(m);
  e.ctime_ns = static_cast<int64_t>(c);
  e.content = *ObjectId::FromBytes(id);
  e.type = static_cast<cas::ObjectType>(v[0]);
  return e;
}

}  // namespace cairn::indexer
