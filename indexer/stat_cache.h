// The stat cache of incremental checkin (DESIGN.md, flow of data; docs/format/catalog.md).
//
// An incremental checkin (a parent given) takes a file unread when it is unchanged since the
// parent was checked in. The parent's Trees already hold each file's size, mtime and content, so
// the cache keeps only what Trees lack and must lack (a Tree's id depends only on what the image
// holds): the inode and ctime of each directory and of each of its entries, with the id of the
// Tree the directory was stored as. A cached directory is used only when that Tree is the
// parent's directory at the same path, so its entries line up with the Tree's one to one. A
// directory whose own and whose entries' inodes and ctimes are all as recorded is the
// parent's Tree (unless a subdirectory changed), and is not even read from the store.
//
// Inode numbers mean nothing on another host, so the cache is host state, not repository
// state: one file per source root in a cache directory (as borg's files cache), never in the
// repository, which is copied and shared. It names no content, so it cannot point at anything
// gc removed: contents come from the parent's Trees, which the parent version keeps alive. A
// missing, stale, foreign or corrupt cache costs only time (the files are read).
//
// Thread-safety: a StatCache is not shared between threads while it is being changed; Find
// may be called concurrently on a cache no one changes.
#ifndef CAIRN_INDEXER_STAT_CACHE_H_
#define CAIRN_INDEXER_STAT_CACHE_H_

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/object_id.h"
#include "indexer/watch.h"

namespace cairn::indexer {

struct FileStat {
  uint64_t ino = 0;
  int64_t ctime_ns = 0;
  // A regular file with fewer blocks than its size needs (holes, or data inline in the inode):
  // st_blocks + 1; else 0. On tmpfs a read through a mapping fills a hole with a page and moves
  // neither ctime nor mtime: the hole map changed, and the block count may say so. Where it may
  // not (a page fallocate(2) reserved, filled the same way), a file recorded with holes on a
  // file system that does not settle them (HolesSettle) is recorded with kUnsettledHoles, which
  // no file matches: it is read again by every checkin.
  uint64_t sparse_blocks = 0;
  static constexpr uint64_t kUnsettledHoles = UINT64_MAX;
  bool operator==(const FileStat&) const = default;
};
FileStat FileStatOf(const struct stat& st);

// Whether an inode whose ctime is `ctime_ns` may still change without its ctime changing, seen
// from a checkin that started at `start_ns` (wall clock): a ctime comes from the kernel's coarse
// clock, one tick behind at most, so a change within the same tick as the one the walk saw
// leaves it as it was (git's "racily clean" entries). Such a ctime is recorded as 0 and the file
// is read again next time. Filesystems that keep whole seconds (FAT, 128-byte ext inodes) get
// two seconds of doubt, the others 20 ms.
bool RacyCtime(int64_t ctime_ns, int64_t start_ns);

// What a directory and everything beneath it held when it was checked in: a checkin that takes
// the subtree as recorded (the tree watcher saw no change in it, indexer/watch.h) counts these.
struct SubtreeCounts {
  uint64_t files = 0;       // regular files stored
  uint64_t dirs = 0;        // directories, the directory itself included
  uint64_t bytes = 0;       // the regular files' sizes
  // Names of non-directories with more than one name (regular files, and fifos, devices,
  // sockets and symlinks, which a Tree stores once per name).
  uint64_t links = 0;
  // Of `links`, the names of files that have a name outside this directory's subtree, or one
  // the walk did not meet (outside the tree), and every name of a non-regular one: a write or
  // chmod through such a name raises no event here (indexer/watch.h). (Names skipped as
  // unreadable are not counted: their directory is incomplete, which keeps the subtree walked.)
  uint64_t links_out = 0;
  uint64_t incomplete = 0;  // directories that left entries out (unreadable files skipped)
  // Regular files recorded with sparse_blocks (FileStat; kUnsettledHoles too): a hole filled
  // without an event (a read through a mapping on tmpfs) is seen only by looking.
  uint64_t sparse = 0;
  bool operator==(const SubtreeCounts&) const = default;
  SubtreeCounts& operator+=(const SubtreeCounts& c) {
    files += c.files;
    dirs += c.dirs;
    bytes += c.bytes;
    links += c.links;
    links_out += c.links_out;
    incomplete += c.incomplete;
    sparse += c.sparse;
    return *this;
  }
};

// One directory as it was checked in: the Tree it was stored as, its own inode and ctime, and
// the name, inode and ctime of each entry of that Tree, in the Tree's order. A ctime of 0 never
// matches: it marks an inode that changed too close to the checkin to be trusted (see
// RacyCtime).
struct StatCacheDir {
  ObjectId tree;
  FileStat self;
  std::vector<FileStat> files;
  std::vector<std::string> names;  // as many as files
  SubtreeCounts below;
  bool operator==(const StatCacheDir&) const = default;
};

class StatCache {
 public:
  // The cache directory: $CAIRN_CACHE_DIR, else $XDG_CACHE_HOME/cairn, else $HOME/.cache/cairn;
  // "" when none of them is set (no stat cache).
  static std::string DefaultDir();
  // The file that holds the cache of source root `root` (an absolute path) under `dir`.
  static std::string FileFor(const std::string& dir, const std::string& root);
  // What a cache is written for: `root`, a NUL, and the file system holding it (its device and
  // statfs id, which ext4 and btrfs derive from the file system's UUID; for a loop device, the
  // image file behind it and the offset). Inodes and ctimes mean nothing on another file
  // system: two images mounted in turn at one path, made by one build in the same second, or
  // copies of one image, hold the same inodes and ctimes for files that differ. Then who reads
  // it (effective user and group, groups, capabilities): what a checkin may list and read
  // depends on them, and the cache is trusted for that.
  static std::string SourceOf(const std::string& root);

  // The cache of `root` saved under `dir`; empty when there is none or it cannot be used (an
  // unreadable, truncated or corrupt file, or one written for another root or file system):
  // never an error, since a missing cache only costs time. Either way it remembers the
  // SourceOf(root) it was loaded for.
  static StatCache Load(Env* env, const std::string& dir, const std::string& root);
  // Writes the cache of `root` under `dir` (creating `dir`), atomically: a reader sees the old
  // file or the new one. Not synced: losing it costs time, not data. It is written for the
  // source() it was given (the one the checkin that made it started from; SourceOf(root) if
  // none). IOError naming the file.
  Status Save(Env* env, const std::string& dir, const std::string& root) const;
  const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

  // The directory `rel` (relative to the root, "" for the root itself), or null.
  const StatCacheDir* Find(const std::string& rel) const;
  StatCacheDir* Find(const std::string& rel);
  void Put(std::string rel, StatCacheDir dir) { dirs_[std::move(rel)] = std::move(dir); }
  size_t size() const { return dirs_.size(); }
  const std::map<std::string, StatCacheDir>& dirs() const { return dirs_; }
  // Copies the records of directory `rel` and of every directory beneath it from `from`.
  void CopySubtree(const StatCache& from, const std::string& rel);

  // The tree watcher's token of the checkin that wrote the cache (empty: no watcher answered).
  const WatchToken& watch_token() const { return watch_token_; }
  void set_watch_token(WatchToken t) { watch_token_ = std::move(t); }

  // `source`: SourceOf(root), or the root alone.
  std::string Encode(const std::string& source) const;
  // The same bytes, given to `write` in pieces of about 1 MiB (a cache of a million names would
  // otherwise be held whole, and twice while its string grows); stops at `write`'s first error.
  Status EncodeTo(const std::string& source,
                  const std::function<Status(std::string_view)>& write) const;
  // nullopt when `data` is not a whole, intact cache of `source`.
  static std::optional<StatCache> Decode(std::string_view data, const std::string& source);

 private:
  std::map<std::string, StatCacheDir> dirs_;
  WatchToken watch_token_;
  std::string source_;  // SourceOf(root) when loaded (Load)
  bool older_format_ = false;  // decoded from a format before 9 (no kUnsettledHoles)
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_STAT_CACHE_H_
