#include "tests/catalog/catalog_fixture.h"

#include <algorithm>
#include <cstdlib>

namespace cairn::catalog::testing {

std::string DpkgStatus(const std::vector<DpkgPackage>& packages) {
  std::string out;
  for (const auto& p : packages) {
    out += "Package: " + p.name + "\nStatus: " + p.status + "\nPriority: optional\n";
    out += "Architecture: " + p.arch + "\nVersion: " + p.version + "\n";
    out += "Description: the " + p.name + " package\n continued description line\n\n";
  }
  return out;
}

std::vector<DpkgPackage> BasePackages() {
  return {{"bash", "5.2.15-2+b2", "amd64"},
          {"libc6", "2.36-9+deb12u4", "amd64"},
          {"libssl3", "3.0.20-1~deb12u2", "amd64"},
          {"oldpkg", "1.0-1", "amd64", "deinstall ok config-files"},
          {"tzdata", "2024a-0+deb12u1", "all"}};
}

std::string BigContent() { return indexer::testing::RandomBytes(3 << 20, 77); }
std::string ToolContent() { return "#!/bin/sh\necho tool v1\n"; }

Node FileNode(std::string path, std::string data, uint32_t mode) {
  Node n;
  n.path = std::move(path);
  n.data = std::move(data);
  n.mode = mode;
  return n;
}

Node DirNode(std::string path, uint32_t mode) {
  Node n;
  n.path = std::move(path);
  n.kind = Node::Kind::kDir;
  n.mode = mode;
  return n;
}

Node LinkNode(std::string path, std::string target) {
  Node n;
  n.path = std::move(path);
  n.kind = Node::Kind::kSymlink;
  n.target = std::move(target);
  return n;
}

TreeSpec BaseSpec() {
  TreeSpec s;
  s.push_back(DirNode(""));
  s.push_back(DirNode("etc"));
  s.push_back(FileNode("etc/fstab", "# fstab\n"));
  s.push_back(FileNode("etc/group", "root:x:0:\n"));
  s.push_back(FileNode("etc/hostname", "web01\n"));
  s.push_back(FileNode("etc/issue", "Debian GNU/Linux 12 \\n \\l\n"));
  s.push_back(LinkNode("etc/os-release", "../usr/lib/os-release"));
  s.push_back(FileNode("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"));
  s.push_back(DirNode("home"));
  Node user = DirNode("home/user", 0700);
  user.uid = user.gid = 1000;
  s.push_back(user);
  Node notes = FileNode("home/user/notes.txt", "remember the milk\n", 0600);
  notes.uid = notes.gid = 1000;
  s.push_back(notes);
  s.push_back(DirNode("srv"));
  s.push_back(DirNode("srv/data"));
  s.push_back(FileNode("srv/data/big.bin", BigContent()));
  s.push_back(DirNode("usr"));
  s.push_back(DirNode("usr/bin"));
  s.push_back(FileNode("usr/bin/tool", ToolContent(), 0755));
  s.push_back(DirNode("usr/lib"));
  s.push_back(FileNode("usr/lib/os-release",
                       "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
                       "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n"));
  s.push_back(DirNode("var"));
  s.push_back(DirNode("var/lib"));
  s.push_back(DirNode("var/lib/dpkg"));
  s.push_back(FileNode("var/lib/dpkg/status", DpkgStatus(BasePackages())));
  return s;
}

Node& At(TreeSpec& spec, const std::string& path) {
  for (auto& n : spec)
    if (n.path == path) return n;
  ADD_FAILURE() << "no node " << path << " in the spec";
  std::abort();
}

void Remove(TreeSpec& spec, const std::string& path) {
  std::erase_if(spec, [&](const Node& n) { return n.path == path || n.path.starts_with(path + "/"); });
}

void SetPackages(TreeSpec& spec, const std::vector<DpkgPackage>& packages) {
  At(spec, "var/lib/dpkg/status").data = DpkgStatus(packages);
}

}  // namespace cairn::catalog::testing
