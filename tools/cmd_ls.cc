// cairn ls NAME[:VER] [PATH] [-l] [-R] [--json]; cairn cat NAME[:VER] PATH
#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "cas/tree_reader.h"
#include "catalog/catalog.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {
namespace {

std::string ModeString(const cas::TreeEntry& e, const cas::Metadata& m) {
  std::string s(10, '-');
  s[0] = e.type == cas::EntryType::kRegular ? '-' : cas::EntryTypeLetter(e.type);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (m.mode & (0400 >> i)) s[1 + i] = rwx[i];
  if (m.mode & 04000) s[3] = (m.mode & 0100) ? 's' : 'S';
  if (m.mode & 02000) s[6] = (m.mode & 0010) ? 's' : 'S';
  if (m.mode & 01000) s[9] = (m.mode & 0001) ? 't' : 'T';
  return s;
}

// Prints a JSON array one element at a time, exactly as dump(2) of the whole array would, so
// that `ls -R --json` of a million-file version never holds a million-element document (about
// 2 KB an entry). On an error the array is still closed (valid JSON) and the command fails.
class JsonArrayPrinter {
 public:
  void Add(const nlohmann::json& element) {
    std::string out = first_ ? "[\n  " : ",\n  ";
    first_ = false;
    for (char c : element.dump(2)) {  // a dumped string holds no raw newline
      out.push_back(c);
      if (c == '\n') out += "  ";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  void Finish() { std::fputs(first_ ? "[]\n" : "\n]\n", stdout); }

 private:
  bool first_ = true;
};

// An mtime as the decimal seconds it stands for, to the nanosecond: (-2 s, +0.5 s) is
// "-1.500000000", not its two fields side by side.
std::string MtimeSeconds(const cas::Metadata& m) {
  if (m.mtime_sec >= 0 || m.mtime_nsec == 0) {
    return fmt::format("{}.{:09d}", m.mtime_sec, m.mtime_nsec);
  }
  // -(sec + 1) cannot overflow, even for INT64_MIN.
  return fmt::format("-{}.{:09d}", -(m.mtime_sec + 1), 1000000000 - m.mtime_nsec);
}

nlohmann::json EntryJson(const std::string& path, const cas::TreeEntry& e, const cas::Metadata& m) {
  nlohmann::json j = {{"path", JsonText(path)},
                      {"type", cas::EntryTypeName(e.type)},
                      {"mode", fmt::format("{:04o}", m.mode)},
                      {"uid", m.uid},
                      {"gid", m.gid},
                      {"mtime", MtimeSeconds(m)}};
  if (e.type == cas::EntryType::kRegular) {
    j["size"] = e.size;
    j["content"] = e.id.ToHex();
    if (e.sparse) {
      j["sparse"] = true;
      j["extents"] = nlohmann::json::array();  // data regions: [offset, length]
      for (const auto& x : e.extents) j["extents"].push_back({x.offset, x.length});
    }
  }
  if (e.type == cas::EntryType::kDirectory) j["tree"] = e.id.ToHex();
  if (e.type == cas::EntryType::kSymlink) j["target"] = JsonText(e.target);
  if (e.type == cas::EntryType::kCharDevice || e.type == cas::EntryType::kBlockDevice) {
    j["rdev"] = fmt::format("{},{}", e.rdev_major, e.rdev_minor);
  }
  if (!m.xattrs.empty()) {
    nlohmann::json x;
    for (const auto& [k, v] : m.xattrs) x[JsonText(k)] = "hex:" + HexEncode(v);
    j["xattrs"] = x;
  }
  return j;
}

// The repository (read-only), a version and the entry at `path` in it: what ls and cat start from.
struct FoundEntry {
  std::unique_ptr<cas::Repository> repo;
  catalog::VersionRef version;
  cas::TreeEntry entry;
  // The path as typed, without '/' at either end or "." components, as diff and search name
  // entries; links in it stay as typed, as ls(1) shows them. A path with ".." is named as
  // ResolvePath found it (after a link, ".." climbs from where the link led).
  std::string path;
};

std::string CleanPath(const std::string& typed, bool* has_dot_dot) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= typed.size()) {
    size_t slash = std::min(typed.find('/', start), typed.size());
    std::string comp = typed.substr(start, slash - start);
    start = slash + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      *has_dot_dot = true;
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(comp));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// "web:3 etc/passwd", for errors.
std::string Where(const FoundEntry& f) {
  return f.path.empty() ? f.version.Name() : f.version.Name() + " " + f.path;
}

// Symbolic links are followed inside the version (cas::ResolvePath), the last one when
// `follow_last`.
Result<FoundEntry> OpenEntry(const std::string& repo_flag, const std::string& version,
                             const std::string& path, bool follow_last) {
  FoundEntry f;
  CAIRN_ASSIGN_OR_RETURN(f.repo, OpenRepository(repo_flag, cas::Repository::Mode::kRead));
  CAIRN_ASSIGN_OR_RETURN(f.version, catalog::Catalog(f.repo->store()).Resolve(version));
  CAIRN_ASSIGN_OR_RETURN(ObjectId tree, cas::RootTreeOf(f.repo->store(), f.version.version));
  std::string resolved;
  auto entry = cas::ResolvePath(f.repo->store(), tree, path, follow_last, &resolved);
  bool has_dot_dot = false;
  f.path = CleanPath(path, &has_dot_dot);
  if (!entry) return entry.error().WithContext(f.version.Name());
  // ".." after a link climbs from where the link led, not from the link's name: with a ".."
  // in it, the path is named as found (no link in it).
  if (has_dot_dot) f.path = resolved;
  f.entry = std::move(*entry);
  return f;
}

}  // namespace

int RunLs(const Args& args) {
  const CommandSpec spec{"ls", "ls NAME[:VER] [PATH] [-l] [-R] [--json]",
                         "List a directory of a version (or one entry)."};
  std::string repo, version, path;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("long,l", "long format: mode, owner, size, mtime")(
      "recursive,R", "list subdirectories too")("json", "print as JSON")(
      "version", po::value(&version)->required(), "NAME[:VER]")(
      "path", po::value(&path)->default_value(""), "path inside the version");
  po::positional_options_description pos;
  pos.add("version", 1).add("path", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  bool json = vm.count("json"), lng = vm.count("long"), rec = vm.count("recursive");
  // As ls(1): a link named last is listed as a link in the long format (and JSON), else followed.
  auto found = OpenEntry(repo, version, path, !lng && !json);
  if (!found && !lng && !json && found.error().code() == Code::kNotFound) {
    // A link whose target is missing is listed itself, as ls(1) lists it.
    auto link = OpenEntry(repo, version, path, /*follow_last=*/false);
    if (link && link->entry.type == cas::EntryType::kSymlink) found = std::move(link);
  }
  if (!found) return Fail(found.error());
  cas::ObjectStore* store = found->repo->store();
  const cas::TreeEntry* entry = &found->entry;
  JsonArrayPrinter out;
  auto show = [&](const std::string& p, const cas::TreeEntry& e, const cas::Metadata& m) {
    if (json) {
      out.Add(EntryJson(p, e, m));
      return;
    }
    if (!lng) {
      fmt::print("{}\n", p);
      return;
    }
    std::string when = FormatSeconds(m.mtime_sec, "%Y-%m-%d %H:%M");
    std::string size = e.type == cas::EntryType::kCharDevice || e.type == cas::EntryType::kBlockDevice
                           ? fmt::format("{},{}", e.rdev_major, e.rdev_minor)
                           : std::to_string(e.size);
    fmt::print("{} {:>5} {:>5} {:>10} {} {}{}\n", ModeString(e, m), m.uid, m.gid, size, when, p,
               e.type == cas::EntryType::kSymlink ? " -> " + e.target : "");
  };
  Status s, damaged;
  if (entry->type != cas::EntryType::kDirectory) {
    show(found->path, *entry, entry->meta);
  } else {
    s = cas::WalkTree(store, entry->id, found->path,
                      [&](const std::string& p, const cas::TreeEntry& e) {
                        if (e.type != cas::EntryType::kDirectory) {
                          show(p, e, e.meta);
                          return rec;
                        }
                        // A directory's metadata lives in its own Tree: one that cannot be read is
                        // left out (as ls(1) leaves out what it cannot stat), and the command fails
                        // at the end.
                        auto t = cas::LoadTree(store, e.id);
                        if (!t) {
                          if (damaged.ok())
                            damaged = t.error().WithContext(found->version.Name() + " " + p);
                          return false;
                        }
                        show(p, e, t->meta);
                        return rec;
                      });
  }
  if (json) out.Finish();
  if (!damaged.ok()) return Fail(damaged);
  if (!s.ok()) return Fail(s.WithContext(Where(*found)));
  return kExitOk;
}

int RunCat(const Args& args) {
  const CommandSpec spec{
      "cat", "cat NAME[:VER] PATH",
      "Write one file of a version to stdout (symbolic links followed inside the version)."};
  std::string repo, version, path;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("version", po::value(&version)->required(), "NAME[:VER]")(
      "path", po::value(&path)->required(), "path inside the version");
  po::positional_options_description pos;
  pos.add("version", 1).add("path", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  auto found = OpenEntry(repo, version, path, /*follow_last=*/true);
  if (!found) return Fail(found.error());
  cas::ObjectStore* store = found->repo->store();
  const catalog::VersionRef* ref = &found->version;
  const cas::TreeEntry* entry = &found->entry;
  if (entry->type != cas::EntryType::kRegular) {
    return Fail(Status::InvalidArgument("cat " + ref->Name() + " " + path + ": is a " +
                                        std::string(cas::EntryTypeName(entry->type))));
  }
  Status s = cas::ReadFileEntry(store, *entry, [](std::string_view piece) -> Status {
    if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size()) {
      return ErrnoStatus("write", "stdout", errno);
    }
    return Status();
  });
  if (!s.ok()) return Fail(s.WithContext("cat " + Where(*found)));
  return kExitOk;
}

}  // namespace cairn::tools
