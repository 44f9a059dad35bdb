#include "catalog/inspect.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <sstream>

#include "cas/tree_reader.h"

namespace cairn::catalog {
namespace {

void Sanitize(std::string* v) {
  for (char& c : *v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
}

std::string Unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  return v;
}

void ParseOsRelease(const std::string& text, Inspection* out) {
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = Unquote(line.substr(eq + 1));
    if (k == "ID") out->distro = v;
    else if (k == "VERSION_ID") out->version = v;
    else if (k == "PRETTY_NAME") out->pretty_name = v;
  }
}

// dpkg's Status field is "WANT FLAG STATE". Every state but not-installed and config-files
// leaves the package's files on disk, as `dpkg -l` lists it (ii, it, iW, iF, iU, iH): one whose
// triggers are pending, or unpacked and not yet configured, is shipped in the image all the same.
bool HasFilesOnDisk(std::string_view status) {
  static constexpr std::string_view kStates[] = {"installed",        "triggers-pending",
                                                 "triggers-awaited", "half-configured",
                                                 "unpacked",         "half-installed"};
  size_t space = status.rfind(' ');
  if (space == std::string_view::npos) return false;
  return std::find(std::begin(kStates), std::end(kStates), status.substr(space + 1)) !=
         std::end(kStates);
}

// One package stanza of dpkg's database.
struct Stanza {
  Package p;
  bool installed = false;  // its files on disk (HasFilesOnDisk)
  bool same = false;       // Multi-Arch: same
};

std::vector<Stanza> ParseStanzas(const std::string& text) {
  std::vector<Stanza> out;
  std::stringstream ss(text);
  std::string line;
  Stanza s;
  auto flush = [&] {
    if (!s.p.name.empty()) out.push_back(std::move(s));
    s = Stanza();
  };
  while (std::getline(ss, line)) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line.starts_with("Package: "))
      s.p.name = line.substr(9);
    else if (line.starts_with("Version: "))
      s.p.version = line.substr(9);
    else if (line.starts_with("Architecture: "))
      s.p.arch = line.substr(14);
    else if (line.starts_with("Status: "))
      s.installed = HasFilesOnDisk(line.substr(8));
    else if (line.starts_with("Multi-Arch: "))
      s.same = line.substr(12) == "same";
  }
  flush();
  return out;
}

// dpkg's database as dpkg reads it: the status file, one slot per package name and
// architecture, then each file of its journal (`journal`, in order) over it, as its stanzas
// replace the slots of their packages (libdpkg's parse_find_pkg_slot): where a name has one
// instance installed, an entry replaces that instance whatever its architecture (a crossgrade
// from amd64 to all), unless both are Multi-Arch: same (another architecture's instance beside
// it); else the slot of its architecture.
void ParseDpkgDatabase(const std::string& status, const std::vector<std::string>& journal,
                       Inspection* out) {
  std::map<std::pair<std::string, std::string>, Stanza> db;  // by name, then architecture
  for (Stanza& s : ParseStanzas(status)) {
    auto key = std::pair(s.p.name, s.p.arch);
    db[key] = std::move(s);
  }
  for (const std::string& entry : journal) {
    for (Stanza& s : ParseStanzas(entry)) {
      auto key = std::pair(s.p.name, s.p.arch);
      auto first = db.lower_bound(std::pair(s.p.name, std::string()));
      auto installed = db.end();
      int n = 0;
      for (auto it = first; it != db.end() && it->first.first == s.p.name; ++it) {
        if (it->second.installed && n++ == 0) installed = it;
      }
      if (n == 1 && !(installed->second.same && s.same)) db.erase(installed);
      db[key] = std::move(s);
    }
  }
  std::map<std::string, int> arches;
  for (auto& [key, s] : db) {
    if (!s.installed) continue;
    if (s.p.arch != "all") arches[s.p.arch]++;
    out->packages.push_back(std::move(s.p));  // by name, then architecture
  }
  // dpkg's own architecture is the native one (`dpkg --print-architecture`), whatever the
  // count: a multiarch image (wine32, steam) may hold more i386 packages than amd64 ones, and
  // naming it i386 keyed its native packages as foreign ("dpkg:amd64") and its foreign ones
  // bare. Without a dpkg package, the most frequent architecture.
  auto dpkg = std::find_if(out->packages.begin(), out->packages.end(), [](const Package& p) {
    return p.name == "dpkg" && !p.arch.empty() && p.arch != "all";
  });
  if (dpkg != out->packages.end()) {
    out->arch = dpkg->arch;
    return;
  }
  int best = 0;
  for (const auto& [a, n] : arches) {
    if (n > best) {
      best = n;
      out->arch = a;
    }
  }
}

// dpkg's journal, var/lib/dpkg/updates: entries not yet merged into status (a dpkg run
// interrupted, or an image captured during one), which dpkg and dpkg-query read over it. Its
// files are named by number and applied in numeric order; other names (tmp.i, being written)
// are not entries. Without it a package upgraded by the run showed its old version. `read`
// reads a file of the tree, empty when absent; `trees` are the Trees `read` decodes.
Result<std::vector<std::string>> ReadDpkgJournal(
    cas::ObjectStore* store, const ObjectId& root,
    const std::function<Result<std::string>(const std::string&)>& read, cas::TreeCache* trees) {
  std::vector<std::string> journal;
  auto dir = cas::ResolvePath(store, root, "var/lib/dpkg/updates", /*follow_last=*/true,
                              /*resolved=*/nullptr, trees);
  if (!dir && (dir.error().IsNotFound() || dir.error().code() == Code::kInvalidArgument)) {
    return journal;
  }
  if (!dir) return dir.error();
  if (dir->type != cas::EntryType::kDirectory) return journal;
  CAIRN_ASSIGN_OR_RETURN(cas::Tree tree, cas::LoadTree(store, dir->id));
  std::vector<std::string_view> names;
  for (const auto& e : tree.entries) {
    if (!e.name.empty() && e.name.find_first_not_of("0123456789") == std::string::npos) {
      names.push_back(e.name);
    }
  }
  auto digits = [](std::string_view n) {
    return n.substr(std::min(n.find_first_not_of('0'), n.size()));
  };
  std::sort(names.begin(), names.end(), [&](std::string_view x, std::string_view y) {
    std::string_view a = digits(x), b = digits(y);
    if (a.size() != b.size()) return a.size() < b.size();
    return a != b ? a < b : x < y;
  });
  for (std::string_view name : names) {
    CAIRN_ASSIGN_OR_RETURN(std::string entry, read("var/lib/dpkg/updates/" + std::string(name)));
    journal.push_back(std::move(entry));
  }
  return journal;
}

}  // namespace

Result<std::string> ReadTreeFile(cas::ObjectStore* store, const ObjectId& root, std::string path,
                                 cas::TreeCache* cache) {
  CAIRN_ASSIGN_OR_RETURN(cas::TreeEntry e, cas::ResolvePath(store, root, path, /*follow_last=*/true,
                                                            /*resolved=*/nullptr, cache));
  std::string out;
  CAIRN_RETURN_IF_ERROR(cas::ReadFileEntry(store, e, [&](std::string_view piece) {
    out.append(piece);
    return Status();
  }));
  return out;
}

Result<Inspection> InspectTree(cas::ObjectStore* store, const ObjectId& root) {
  Inspection out;
  cas::TreeCache trees(store);  // the root and etc/ are on the way of several files
  auto read = [&](const std::string& path) -> Result<std::string> {
    auto r = ReadTreeFile(store, root, path, &trees);
    if (!r && (r.error().IsNotFound() || r.error().code() == Code::kInvalidArgument)) {
      return std::string();
    }
    return r;
  };
  CAIRN_ASSIGN_OR_RETURN(std::string os_release, read("etc/os-release"));
  if (os_release.empty()) {
    CAIRN_ASSIGN_OR_RETURN(os_release, read("usr/lib/os-release"));
  }
  ParseOsRelease(os_release, &out);
  CAIRN_ASSIGN_OR_RETURN(std::string hostname, read("etc/hostname"));
  while (!hostname.empty() && std::isspace(static_cast<unsigned char>(hostname.back()))) hostname.pop_back();
  out.hostname = hostname;
  CAIRN_ASSIGN_OR_RETURN(std::string status, read("var/lib/dpkg/status"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> journal,
                         ReadDpkgJournal(store, root, read, &trees));
  if (!status.empty() || !journal.empty()) {
    out.package_format = "deb";
    ParseDpkgDatabase(status, journal, &out);
  }
  if (!out.distro.empty() || !out.packages.empty()) out.os = "linux";
  // The summary is one key<TAB>value per line: a tab or a line break in an image's files must
  // not become a field or a line of its own (a hostname "h\npkg\tlibssl3\t9" gave the version a
  // package it does not have: found by fuzz/inspect_fuzzer.cc). No control character belongs in
  // these fields; each becomes '?'.
  for (std::string* f : {&out.distro, &out.version, &out.pretty_name, &out.arch, &out.hostname})
    Sanitize(f);
  for (auto& p : out.packages) {
    Sanitize(&p.name);
    Sanitize(&p.version);
    Sanitize(&p.arch);
  }
  return out;
}

std::string DpkgName(const Package& p, const Inspection& in) {
  return p.name + (p.arch.empty() || p.arch == in.arch || p.arch == "all" ? "" : ":" + p.arch);
}

std::string EncodeInspection(const Inspection& in) {
  std::ostringstream o;
  auto kv = [&](const char* k, const std::string& v) {
    if (!v.empty()) o << k << '\t' << v << '\n';
  };
  kv("os", in.os);
  kv("distro", in.distro);
  kv("version", in.version);
  kv("pretty_name", in.pretty_name);
  kv("arch", in.arch);
  kv("hostname", in.hostname);
  kv("package_format", in.package_format);
  o << "counts\t" << in.files << '\t' << in.dirs << '\t' << in.symlinks << '\t' << in.others
    << '\t' << in.bytes << '\n';
  for (const auto& p : in.packages) o << "pkg\t" << p.name << '\t' << p.version << '\t' << p.arch << '\n';
  return o.str();
}

Inspection DecodeInspection(std::string_view text) {
  Inspection in;
  std::stringstream ss{std::string(text)};
  std::string line;
  while (std::getline(ss, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string field;
    while (std::getline(ls, field, '\t')) f.push_back(field);
    if (f.size() < 2) continue;
    if (f[0] == "os") in.os = f[1];
    else if (f[0] == "distro") in.distro = f[1];
    else if (f[0] == "version") in.version = f[1];
    else if (f[0] == "pretty_name") in.pretty_name = f[1];
    else if (f[0] == "arch") in.arch = f[1];
    else if (f[0] == "hostname") in.hostname = f[1];
    else if (f[0] == "package_format") in.package_format = f[1];
    else if (f[0] == "counts" && f.size() == 6) {
      // A count that does not parse reads as 0 (std::stoull threw on it, out of every command
      // that read the summary).
      uint64_t* counts[] = {&in.files, &in.dirs, &in.symlinks, &in.others, &in.bytes};
      for (int i = 0; i < 5; ++i) {
        const std::string& t = f[i + 1];
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        *counts[i] = ec == std::errc() && end == t.data() + t.size() ? v : 0;
      }
    } else if (f[0] == "pkg" && f.size() >= 3) {
      in.packages.push_back({f[1], f[2], f.size() > 3 ? f[3] : ""});
    }
  }
  return in;
}

}  // namespace cairn::catalog
