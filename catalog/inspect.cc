#include "catalog/inspect.h"

#include <algorithm>
#include <charconv>
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

void ParseDpkgStatus(const std::string& text, Inspection* out) {
  std::stringstream ss(text);
  std::string line;
  Package p;
  bool installed = false;
  std::map<std::string, int> arches;
  auto flush = [&] {
    if (!p.name.empty() && installed) {
      if (p.arch != "all") arches[p.arch]++;
      out->packages.push_back(p);
    }
    p = Package();
    installed = false;
  };
  while (std::getline(ss, line)) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line.starts_with("Package: ")) p.name = line.substr(9);
    else if (line.starts_with("Version: ")) p.version = line.substr(9);
    else if (line.starts_with("Architecture: ")) p.arch = line.substr(14);
    else if (line.starts_with("Status: ")) installed = HasFilesOnDisk(line.substr(8));
  }
  flush();
  std::sort(out->packages.begin(), out->packages.end(),
            [](const Package& a, const Package& b) { return a.name < b.name || (a.name == b.name && a.arch < b.arch); });
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

}  // namespace

Result<std::string> ReadTreeFile(cas::ObjectStore* store, const ObjectId& root, std::string path) {
  CAIRN_ASSIGN_OR_RETURN(cas::TreeEntry e,
                         cas::ResolvePath(store, root, path, /*follow_last=*/true));
  std::string out;
  CAIRN_RETURN_IF_ERROR(cas::ReadFileEntry(store, e, [&](std::string_view piece) {
    out.append(piece);
    return Status();
  }));
  return out;
}

Result<Inspection> InspectTree(cas::ObjectStore* store, const ObjectId& root) {
  Inspection out;
  auto read = [&](const char* path) -> Result<std::string> {
    auto r = ReadTreeFile(store, root, path);
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
  if (!status.empty()) {
    out.package_format = "deb";
    ParseDpkgStatus(status, &out);
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
