#include "indexer/stat_cache.h"

#include <linux/capability.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "base/coding.h"
#include "base/sha256.h"
#include "indexer/fs_meta.h"

namespace cairn::indexer {
namespace {

constexpr std::string_view kMagic = "cairn-stat-cache-9\n";
// Format 8 is format 9 without FileStat::kUnsettledHoles: on a file system that does not settle
// holes it may trust a file whose hole was filled, and is ignored there (read once).
constexpr std::string_view kMagic8 = "cairn-stat-cache-8\n";
// Format 7 lacks FileStat::sparse_blocks and SubtreeCounts::sparse: its files are read as if
// none was sparse (a sparse one no longer matches its record and is read once) and every
// directory as if it held a sparse file (a watched checkin walks it once).
constexpr std::string_view kMagic7 = "cairn-stat-cache-7\n";
// Format 5 lacks SubtreeCounts::links_out, and format 6's did not count the names of fifos,
// devices, sockets and symlinks with several names: both are read as if every multiply-linked
// file had a name outside the subtree, as format 5's checkins assumed.
constexpr std::string_view kMagic5 = "cairn-stat-cache-5\n";
constexpr std::string_view kMagic6 = "cairn-stat-cache-6\n";

std::string EnvVar(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

// Who is looking: the effective user and group, the supplementary groups, and the effective
// capabilities (root's CAP_DAC_READ_SEARCH reads what its owner cannot).
std::string Credentials() {
  std::string key = " as " + std::to_string(::geteuid()) + ":" + std::to_string(::getegid());
  const int n = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<size_t>(std::max(n, 0)));
  if (n > 0 && ::getgroups(n, groups.data()) == n) {
    std::sort(groups.begin(), groups.end());
    for (gid_t g : groups) key += "," + std::to_string(g);
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) == 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " caps %08x%08x", data[1].effective, data[0].effective);
    key += buf;
  }
  return key;
}

}  // namespace

FileStat FileStatOf(const struct stat& st) {
  const bool sparse = S_ISREG(st.st_mode) && st.st_blocks * 512 < st.st_size;
  return {static_cast<uint64_t>(st.st_ino), st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec,
          sparse ? static_cast<uint64_t>(st.st_blocks) + 1 : 0};
}

bool RacyCtime(int64_t ctime_ns, int64_t start_ns) {
  constexpr int64_t kSecond = 1000000000;
  const int64_t doubt = ctime_ns % kSecond == 0 ? 2 * kSecond : 20000000;
  return ctime_ns >= start_ns - doubt;
}

std::string StatCache::DefaultDir() {
  if (std::string d = EnvVar("CAIRN_CACHE_DIR"); !d.empty()) return d;
  if (std::string d = EnvVar("XDG_CACHE_HOME"); !d.empty()) return d + "/cairn";
  if (std::string d = EnvVar("HOME"); !d.empty()) return d + "/.cache/cairn";
  return "";
}

std::string StatCache::SourceOf(const std::string& root) {
  std::string key = root;
  key.push_back('\0');
  struct stat st;
  struct statfs fs;
  if (::stat(root.c_str(), &st) != 0 || ::statfs(root.c_str(), &fs) != 0) return key;
  char buf[96];
  std::snprintf(buf, sizeof buf, "dev %u:%u fsid %08x%08x", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned>(fs.f_fsid.__val[0]),
                static_cast<unsigned>(fs.f_fsid.__val[1]));
  key += buf;
  // A loop device, or a partition of one: the file behind it and where in it, and the device's
  // disk sequence number, which the kernel draws anew each time a file is attached (never the
  // same twice in a boot): an image rebuilt in place (mkfs.ext4 -d into the same file, with a
  // fixed UUID, from a tree made in the same second: the same inodes and ctimes over other
  // contents) and attached again is another file system. Its cost: one full read after each
  // new attachment of an image (a remount), not after its edits.
  const std::string sys =
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  for (const std::string& disk : {sys + "/", sys + "/../"}) {
    Result<std::string> file = ReadFileToString(Env::Default(), disk + "loop/backing_file");
    if (!file) continue;
    auto line = [&](const char* name) {
      Result<std::string> v = ReadFileToString(Env::Default(), disk + name);
      return v ? v->substr(0, v->find('\n')) : std::string();
    };
    while (!file->empty() && file->back() == '\n') file->pop_back();
    key += " loop " + *file + " offset " + line("loop/offset") + " diskseq " + line("diskseq");
    struct stat image;
    if (::stat(file->c_str(), &image) == 0) {
      std::snprintf(buf, sizeof buf, " inode %u:%u:%llu", major(image.st_dev), minor(image.st_dev),
                    static_cast<unsigned long long>(image.st_ino));
      key += buf;
    }
    break;
  }
  // Whether a name can be looked up or listed depends on who asks, and an incremental checkin
  // trusts that of what it takes unread: a user who left a group that could list a directory
  // (nothing on disk changes) got the directory recorded as empty with --skip-unreadable,
  // where a full checkin leaves it out; and without it, files it can no longer read checked in
  // from the parent, where a full checkin fails. Another user's cache is another source.
  key += Credentials();
  return key;
}

std::string StatCache::FileFor(const std::string& dir, const std::string& root) {
  return dir + "/stat-" + Sha256::Of(root).ToHex().substr(0, 32);
}

const StatCacheDir* StatCache::Find(const std::string& rel) const {
  auto it = dirs_.find(rel);
  return it == dirs_.end() ? nullptr : &it->second;
}

StatCacheDir* StatCache::Find(const std::string& rel) {
  auto it = dirs_.find(rel);
  return it == dirs_.end() ? nullptr : &it->second;
}

void StatCache::CopySubtree(const StatCache& from, const std::string& rel) {
  if (const StatCacheDir* d = from.Find(rel)) dirs_[rel] = *d;
  // Beneath `rel`: the paths that start with rel + "/" (not contiguous with `rel` itself in
  // the map's order: "a-b" sorts between "a" and "a/b").
  const std::string prefix = rel.empty() ? std::string() : rel + "/";
  for (auto it = from.dirs_.lower_bound(prefix);
       it != from.dirs_.end() && it->first.starts_with(prefix); ++it) {
    if (!it->first.empty()) dirs_[it->first] = it->second;
  }
}

// docs/format/catalog.md. Inodes and ctimes are stored as differences from the previous
// file's: the files of a directory were mostly created together, so both are close.
std::string StatCache::Encode(const std::string& source) const {
  std::string out;
  (void)EncodeTo(source, [&](std::string_view piece) {  // this writer never fails
    out.append(piece);
    return Status();
  });
  return out;
}

Status StatCache::EncodeTo(const std::string& source,
                           const std::function<Status(std::string_view)>& write) const {
  constexpr size_t kPiece = 1 << 20;
  Sha256 sum;
  std::string out(kMagic);
  out.reserve(kPiece + 4096);
  auto flush = [&]() -> Status {
    sum.Update(out);
    Status s = write(out);
    out.clear();
    return s;
  };
  PutLengthPrefixed(&out, source);
  PutLengthPrefixed(&out, watch_token_.instance);
  PutVarint64(&out, watch_token_.epoch);
  PutVarint64(&out, dirs_.size());
  FileStat prev;
  for (const auto& [rel, d] : dirs_) {
    if (out.size() >= kPiece) CAIRN_RETURN_IF_ERROR(flush());
    PutLengthPrefixed(&out, rel);
    out.append(d.tree.AsBytes());
    PutVarint64(&out, d.files.size());
    PutVarint64(&out, d.below.files);
    PutVarint64(&out, d.below.dirs);
    PutVarint64(&out, d.below.bytes);
    PutVarint64(&out, d.below.links);
    PutVarint64(&out, d.below.links_out);
    PutVarint64(&out, d.below.incomplete);
    PutVarint64(&out, d.below.sparse);
    auto put = [&](const FileStat& f) {
      PutVarsint64(&out, static_cast<int64_t>(f.ino - prev.ino));
      PutVarsint64(&out, f.ctime_ns - prev.ctime_ns);
      PutVarint64(&out, f.sparse_blocks);
      prev = f;
    };
    put(d.self);
    for (const FileStat& f : d.files) {
      if (out.size() >= kPiece) CAIRN_RETURN_IF_ERROR(flush());
      put(f);
    }
    // Names in the Tree's (sorted) order, each as the length of the prefix it shares with the
    // one before and the rest; none when they are not known.
    PutVarint64(&out, d.names.size());
    std::string_view prev_name;
    for (const std::string& name : d.names) {
      if (out.size() >= kPiece) CAIRN_RETURN_IF_ERROR(flush());
      size_t shared = 0;
      while (shared < name.size() && shared < prev_name.size() && name[shared] == prev_name[shared]) ++shared;
      PutVarint64(&out, shared);
      PutLengthPrefixed(&out, std::string_view(name).substr(shared));
      prev_name = name;
    }
  }
  sum.Update(out);
  out.append(sum.Finish().AsBytes());
  return write(out);
}

std::optional<StatCache> StatCache::Decode(std::string_view in, const std::string& source) {
  static_assert(kMagic.size() == kMagic5.size() && kMagic.size() == kMagic6.size() &&
                kMagic.size() == kMagic7.size() && kMagic.size() == kMagic8.size());
  if (in.size() < kMagic.size() + ObjectId::kSize) return std::nullopt;
  const bool v5 = in.starts_with(kMagic5), v6 = in.starts_with(kMagic6),
             v7 = in.starts_with(kMagic7), v8 = in.starts_with(kMagic8);
  if (!v5 && !v6 && !v7 && !v8 && !in.starts_with(kMagic)) return std::nullopt;
  const bool old = v5 || v6 || v7;  // no sparse counts
  std::string_view sum = in.substr(in.size() - ObjectId::kSize);
  in.remove_suffix(ObjectId::kSize);
  if (Sha256::Of(in).AsBytes() != sum) return std::nullopt;
  in.remove_prefix(kMagic.size());
  std::string_view r, instance;
  uint64_t epoch, ndirs;
  if (!GetLengthPrefixed(&in, &r) || r != source || !GetLengthPrefixed(&in, &instance) ||
      !GetVarint64(&in, &epoch) || !GetVarint64(&in, &ndirs)) {
    return std::nullopt;
  }
  StatCache cache;
  cache.watch_token_ = {std::string(instance), epoch};
  cache.older_format_ = v5 || v6 || v7 || v8;
  FileStat prev;
  for (uint64_t i = 0; i < ndirs; ++i) {
    std::string_view rel, tree;
    uint64_t nfiles;
    SubtreeCounts below;
    if (!GetLengthPrefixed(&in, &rel) || !GetBytes(&in, ObjectId::kSize, &tree) ||
        !GetVarint64(&in, &nfiles) || nfiles > in.size() ||  // each file takes 2 bytes or more
        !GetVarint64(&in, &below.files) || !GetVarint64(&in, &below.dirs) ||
        !GetVarint64(&in, &below.bytes) || !GetVarint64(&in, &below.links) ||
        (!v5 && !GetVarint64(&in, &below.links_out)) || !GetVarint64(&in, &below.incomplete) ||
        (!old && !GetVarint64(&in, &below.sparse))) {
      return std::nullopt;
    }
    if (v5 || v6) below.links_out = below.links;
    if (old) below.sparse = 1;
    auto get = [&](FileStat* f) {
      int64_t dino, dctime;
      uint64_t sparse_blocks = 0;
      if (!GetVarsint64(&in, &dino) || !GetVarsint64(&in, &dctime) ||
          (!old && !GetVarint64(&in, &sparse_blocks))) {
        return false;
      }
      prev = *f = {prev.ino + static_cast<uint64_t>(dino), prev.ctime_ns + dctime, sparse_blocks};
      return true;
    };
    StatCacheDir d{*ObjectId::FromBytes(tree), {}, {}, {}, below};
    if (!get(&d.self)) return std::nullopt;
    d.files.resize(nfiles);
    for (FileStat& f : d.files) {
      if (!get(&f)) return std::nullopt;
    }
    uint64_t nnames;
    if (!GetVarint64(&in, &nnames) || (nnames != 0 && nnames != nfiles)) return std::nullopt;
    d.names.resize(nnames);
    for (size_t k = 0; k < nnames; ++k) {
      uint64_t shared;
      std::string_view rest;
      if (!GetVarint64(&in, &shared) || (k == 0 ? shared != 0 : shared > d.names[k - 1].size()) ||
          !GetLengthPrefixed(&in, &rest)) {
        return std::nullopt;
      }
      d.names[k].reserve(shared + rest.size());
      if (k > 0) d.names[k].assign(d.names[k - 1], 0, shared);
      d.names[k].append(rest);
      // The walk looks the names up beneath the root ("rel/name") and puts them in Trees
      // unlisted: each must be one entry's name, in the Tree's order.
      const std::string& name = d.names[k];
      if (name.empty() || name == "." || name == ".." ||
          name.find_first_of(std::string_view("/\0", 2)) != std::string::npos ||
          (k > 0 && !(d.names[k - 1] < name))) {
        return std::nullopt;
      }
    }
    cache.dirs_.emplace(std::string(rel), std::move(d));
  }
  if (!in.empty()) return std::nullopt;
  return cache;
}

StatCache StatCache::Load(Env* env, const std::string& dir, const std::string& root) {
  if (dir.empty()) return {};
  std::string source = SourceOf(root);
  Result<std::string> data = ReadFileToString(env, FileFor(dir, root));
  std::optional<StatCache> cache;
  if (data) cache = Decode(*data, source);
  if (cache && cache->older_format_ && !HolesSettle(root)) cache.reset();
  if (!cache) cache.emplace();
  cache->source_ = std::move(source);
  return std::move(*cache);
}

Status StatCache::Save(Env* env, const std::string& dir, const std::string& root) const {
  CAIRN_RETURN_IF_ERROR(env->CreateDirs(dir));
  std::string path = FileFor(dir, root);
  // A name of its own per process: two checkins of the same root may save at once (the last
  // rename wins, and either file is whole).
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  Status s = [&]() -> Status {
    CAIRN_ASSIGN_OR_RETURN(auto f, env->NewWritableFile(tmp));
    CAIRN_RETURN_IF_ERROR(EncodeTo(source_.empty() ? SourceOf(root) : source_,
                                   [&](std::string_view piece) { return f->Append(piece); }));
    CAIRN_RETURN_IF_ERROR(f->Close());
    return env->RenameFile(tmp, path);
  }();
  if (!s.ok()) (void)env->RemoveFile(tmp);
  return s;
}

}  // namespace cairn::indexer
