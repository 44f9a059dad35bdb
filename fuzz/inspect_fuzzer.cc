// Inspection reads files of images of any origin (catalog/inspect.h): os-release, hostname and
// the dpkg status database. The input holds up to four files separated by NUL bytes: os-release
// (stored at usr/lib/os-release, with etc/os-release a symlink to it, as Debian has them), the
// dpkg status, the hostname, and a version summary as stored. Inspecting must answer; its
// summary (docs/format/catalog.md, one key<TAB>value per line) must decode to the same
// inspection, whatever the image's files hold, since delete, undelete and diff read the
// packages back from it; and any stored summary must decode without a crash.
#include <vector>

#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "cas/tree.h"
#include "catalog/inspect.h"
#include "fuzz/fuzz_check.h"

using namespace cairn;

namespace {

bool Same(const catalog::Inspection& a, const catalog::Inspection& b) {
  return a.os == b.os && a.distro == b.distro && a.version == b.version &&
         a.pretty_name == b.pretty_name && a.arch == b.arch && a.hostname == b.hostname &&
         a.package_format == b.package_format && a.files == b.files && a.dirs == b.dirs &&
         a.symlinks == b.symlinks && a.others == b.others && a.bytes == b.bytes &&
         a.packages == b.packages;
}

cas::TreeEntry Entry(std::string name, cas::EntryType type) {
  cas::TreeEntry e;
  e.name = std::move(name);
  e.type = type;
  e.meta.mode = type == cas::EntryType::kSymlink ? 0777 : 0644;
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::Bytes(data, size);
  const std::vector<std::string_view> part = fuzz::SplitAtNul(in, 4);

  const catalog::Inspection stored = catalog::DecodeInspection(part[3]);
  FUZZ_CHECK(Same(catalog::DecodeInspection(catalog::EncodeInspection(stored)), stored),
             "a decoded summary encodes and decodes to itself");

  cas::MemoryStore store;
  cas::Ingestor ing(&store, fuzz::SmallIngestOptions());
  auto file = [&](std::string name, std::string_view body) {
    cas::TreeEntry e = Entry(std::move(name), cas::EntryType::kRegular);
    auto c = ing.PutBytes(body);
    FUZZ_CHECK(static_cast<bool>(c), "stored");
    e.id = c->id;
    e.size = c->size;
    return e;
  };
  auto dir = [&](std::string name, std::vector<cas::TreeEntry> entries) {
    cas::Tree t;
    t.meta.mode = 0755;
    t.entries = std::move(entries);
    FUZZ_CHECK(cas::CanonicalizeTree(&t).ok(), "canonical");
    cas::TreeEntry e = Entry(std::move(name), cas::EntryType::kDirectory);
    auto id = ing.PutObject(cas::ObjectType::kTree, cas::EncodeTree(t));
    FUZZ_CHECK(static_cast<bool>(id), "stored");
    e.id = *id;
    return e;
  };
  cas::TreeEntry link = Entry("os-release", cas::EntryType::kSymlink);
  link.target = "../usr/lib/os-release";
  cas::TreeEntry etc = dir("etc", {link, file("hostname", part[2])});
  cas::TreeEntry usr = dir("usr", {dir("lib", {file("os-release", part[0])})});
  cas::TreeEntry var = dir("var", {dir("lib", {dir("dpkg", {file("status", part[1])})})});
  cas::Tree root;
  root.meta.mode = 0755;
  root.entries = {etc, usr, var};
  auto root_id = ing.PutObject(cas::ObjectType::kTree, cas::EncodeTree(root));
  FUZZ_CHECK(static_cast<bool>(root_id) && ing.Finish().ok(), "stored");

  auto inspection = catalog::InspectTree(&store, *root_id);
  FUZZ_CHECK(static_cast<bool>(inspection), inspection.status().ToString());
  const std::string summary = catalog::EncodeInspection(*inspection);
  FUZZ_CHECK(Same(catalog::DecodeInspection(summary), *inspection),
             "the summary of an image decodes to its inspection:\n" + summary);
  return 0;
}
