// Small Debian-like image trees for the catalog tests: a spec (tests/indexer/tree_fixture.h)
// with etc/os-release as a symlink to ../usr/lib/os-release, /etc/hostname, a dpkg status
// database, a small and a multi-chunk file, and helpers to vary it between versions.
#ifndef CAIRN_TESTS_CATALOG_CATALOG_FIXTURE_H_
#define CAIRN_TESTS_CATALOG_CATALOG_FIXTURE_H_

#include <string>
#include <vector>

#include "tests/indexer/tree_fixture.h"

namespace cairn::catalog::testing {

using indexer::testing::Node;
using indexer::testing::TreeSpec;

struct DpkgPackage {
  std::string name, version, arch;
  std::string status = "install ok installed";
};
// The text of /var/lib/dpkg/status for `packages`.
std::string DpkgStatus(const std::vector<DpkgPackage>& packages);

// The packages of BaseSpec: libc6 2.36-9+deb12u4, libssl3 3.0.20-1~deb12u2, bash, tzdata (all),
// and "oldpkg" removed with its config files left (not installed).
std::vector<DpkgPackage> BasePackages();

// The 3 MiB pseudo-random content of srv/data/big.bin (several chunks).
std::string BigContent();
// usr/bin/tool's content in BaseSpec.
std::string ToolContent();

// A Debian 12 root, amd64, hostname web01. Every node has fixed metadata, so that building the
// same spec twice gives the same root Tree.
TreeSpec BaseSpec();

Node FileNode(std::string path, std::string data, uint32_t mode = 0644);
Node DirNode(std::string path, uint32_t mode = 0755);
Node LinkNode(std::string path, std::string target);
// The node at `path` (fails the test and aborts when absent).
Node& At(TreeSpec& spec, const std::string& path);
// Removes `path` and everything beneath it.
void Remove(TreeSpec& spec, const std::string& path);
// Replaces the dpkg status file's content.
void SetPackages(TreeSpec& spec, const std::vector<DpkgPackage>& packages);

}  // namespace cairn::catalog::testing

#endif  // CAIRN_TESTS_CATALOG_CATALOG_FIXTURE_H_
