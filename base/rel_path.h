// Paths relative to a tree's root, as Trees, hard-link tables, stat caches and diffs name
// their entries: "a/b/c", components joined by single slashes, "" for the root itself. No
// leading or trailing slash, no "." or "..": callers check untrusted names before
// (cas::IsSafeRelativePath).
#ifndef CAIRN_BASE_REL_PATH_H_
#define CAIRN_BASE_REL_PATH_H_

#include <string>
#include <string_view>

namespace cairn {

// The deepest and the longest paths a checkin takes (beneath the root): the walks recurse once
// per level and hold each level's path, so a deeper tree would take a stack and memory that grow
// with its depth times its paths' length. Linux's PATH_MAX, the longest path one call takes, is
// 4096 bytes; GNU tar stores any.
constexpr size_t kMaxDepth = 4096;       // directories above an entry, the root excluded
constexpr size_t kMaxPathBytes = 32768;  // an entry's path, slashes included

// Why an entry at `rel`, `depth` directories beneath the root, is beyond those limits ("" when
// it is not), naming at most its first 64 bytes.
inline std::string BeyondPathLimits(std::string_view rel, size_t depth) {
  if (depth <= kMaxDepth && rel.size() <= kMaxPathBytes) return "";
  std::string shown(rel.substr(0, 64));
  if (rel.size() > 64) shown += "...";
  return "'" + shown + "' is " +
         (depth > kMaxDepth ? std::to_string(depth) + " directories deep (cairn takes " +
                                  std::to_string(kMaxDepth) + ")"
                            : "a path of " + std::to_string(rel.size()) + " bytes (cairn takes " +
                                  std::to_string(kMaxPathBytes) + ")");
}

// "a/b/c" -> "a/b"; "c" -> "" (the root); "" -> "".
inline std::string_view ParentOf(std::string_view rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
}

// "a/b/c" -> "c"; "c" -> "c".
inline std::string_view BaseName(std::string_view rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string_view::npos ? rel : rel.substr(slash + 1);
}

// Whether `path` lies strictly beneath directory `dir`: "a/b" is beneath "a", "ab" is not.
// Both relative (every non-empty path is beneath the root "") or both absolute ("/" for the
// filesystem root).
inline bool Beneath(std::string_view path, std::string_view dir) {
  if (dir.empty()) return !path.empty();
  if (dir == "/") return path.size() > 1 && path[0] == '/';
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

// Whether directory `dir` holds `path`: `path` is `dir` itself or lies beneath it.
inline bool AtOrBeneath(std::string_view path, std::string_view dir) {
  return path == dir || Beneath(path, dir);
}

}  // namespace cairn

#endif  // CAIRN_BASE_REL_PATH_H_
