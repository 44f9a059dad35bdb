// The fixture of the TarSource and TarSink tests (tar_test.cc, tar_source_test.cc): a temporary
// directory, an in-memory store, checkin and checkout of tarballs and directories, and
// listings of what a checkin stored.
#ifndef CAIRN_TESTS_INDEXER_TAR_FIXTURE_H_
#define CAIRN_TESTS_INDEXER_TAR_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>

#include "base/sha256.h"
#include "cas/content_reader.h"
#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "cas/tree_reader.h"
#include "indexer/dir_source.h"
#include "indexer/tar_sink.h"
#include "indexer/tar_source.h"
#include "tests/indexer/tree_fixture.h"

namespace cairn::indexer::testing {

namespace fs = std::filesystem;

inline int Sh(const std::string& cmd) { return std::system(("set -e; " + cmd).c_str()); }

inline std::string Q(const std::string& s) { return "'" + s + "'"; }

class TarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-tar-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    store_ = std::make_unique<cas::MemoryStore>();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  // The fixture tree: every kind of entry and metadata that Fidelity names and tar can hold.
  void MakeFixture(const std::string& d) {
    ASSERT_EQ(::geteuid(), 0u) << "tar tests need root (device nodes, owners, security xattrs)";
    std::string cmd = "mkdir -p " + Q(d) + " && cd " + Q(d) +
                      " && mkdir -p etc/deep/er usr/bin var/empty-dir"
                      " && printf 'hello\\n' > etc/hosts"
                      " && head -c 3000000 /dev/urandom > usr/bin/big"  // several chunks
                      " && : > etc/empty"
                      " && truncate -s 8M var/sparse"
                      " && dd if=/dev/urandom of=var/sparse bs=4096 seek=700 count=3 "
                      "conv=notrunc status=none"
                      " && truncate -s 1M var/all-hole"
                      " && ln -s ../etc/hosts usr/hosts-link"
                      " && ln etc/hosts usr/bin/hosts-hard && ln etc/hosts var/hosts-hard2"
                      " && printf 'x' > usr/bin/suid && chmod 4755 usr/bin/suid"
                      " && mkdir etc/sticky && chmod 3777 etc/sticky"
                      " && mkfifo var/fifo && mknod var/null c 1 3 && mknod var/loop b 7 0"
                      " && setfattr -n user.comment -v 'a b' etc/hosts"
                      " && setfattr -n user.bin -v 0x00ff00 usr/bin/big"
                      " && setfattr -n user.dir -v yes etc/deep"
                      // cap_net_raw+ep, as setcap writes it.
                      " && setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= "
                      "usr/bin/suid"
                      " && setfacl -m u:1000:r,g:27:rw etc/hosts && setfacl -d -m u:7:rx etc/deep"
                      " && printf 'raw' > $'etc/name-\\xff\\xfe-not-utf8'"
                      " && chown 1234:5678 etc/empty && chown -h 42:43 usr/hosts-link"
                      " && touch -h -d '2001-02-03 04:05:06.123456789' usr/hosts-link"
                      " && find . -depth ! -type l -exec touch -d '2020-01-01 00:00:00.987654321' "
                      "{} + && touch -d '1999-12-31 23:59:59.000000001' etc/hosts etc/deep";
    std::string script = tmp_ + "/fixture.sh";
    std::ofstream(script) << "set -e\n" << cmd << "\n";
    ASSERT_EQ(Sh("bash " + Q(script)), 0) << "building the fixture failed";
  }

  Result<CheckinResult> CheckinDir(const std::string& dir) {
    cas::Ingestor ingestor(store_.get(), cas::IngestOptions{});
    DirSource source(dir, 2);
    CheckinOptions options;
    options.update_stat_cache = false;
    auto r = source.Checkin(&ingestor, options);
    if (r) {
      Status s = ingestor.Finish();
      if (!s.ok()) return s;
    }
    return r;
  }

  Result<CheckinResult> CheckinTar(const std::string& tarball,
                                   TarSource::Memory memory = TarSource::Memory::kBounded) {
    cas::Ingestor ingestor(store_.get(), cas::IngestOptions{});
    TarSource source(tarball, memory);
    auto r = source.Checkin(&ingestor, CheckinOptions{});
    if (r) {
      Status s = ingestor.Finish();
      if (!s.ok()) return s;
    }
    return r;
  }

  // Checks that `root` comes back through a tarball (cairn -> tar -> cairn) with the same id,
  // and that the tarball left nothing out.
  void ExpectSameRootThroughATarball(const ObjectId& root) {
    const std::string back = tmp_ + "/back.tar";
    auto tar = TarSink(back, "tar").Checkout(store_.get(), root, CheckoutOptions{});
    ASSERT_TRUE(tar) << tar.error().ToString();
    EXPECT_TRUE(tar->left_out.empty());
    auto again = CheckinTar(back);
    ASSERT_TRUE(again) << again.error().ToString();
    EXPECT_EQ(again->root, root) << Listing(again->root) << Listing(root);
  }

  // One line per entry (metadata, content, extents; directories' own metadata), so that a
  // root id mismatch shows which entry differs.
  std::string Listing(const ObjectId& root) {
    std::string out;
    auto meta = [](const cas::Metadata& m) {
      std::string s = std::to_string(m.mode) + " " + std::to_string(m.uid) + ":" +
                      std::to_string(m.gid) + " " + std::to_string(m.mtime_sec) + "." +
                      std::to_string(m.mtime_nsec);
      for (const auto& [k, v] : m.xattrs)
        s += " " + k + "=" + std::to_string(std::hash<std::string>()(v));
      return s;
    };
    auto tree = cas::LoadTree(store_.get(), root);
    if (!tree) return tree.error().ToString();
    out += "/ " + meta(tree->meta) + "\n";
    for (const auto& g : tree->hardlinks) {
      out += "links";
      for (const auto& p : g) out += " " + p;
      out += "\n";
    }
    Status s = cas::WalkTree(
        store_.get(), root, "", [&](const std::string& path, const cas::TreeEntry& e) {
          out += path + " " + cas::EntryTypeLetter(e.type) + " ";
          if (e.type == cas::EntryType::kDirectory) {
            auto sub = cas::LoadTree(store_.get(), e.id);
            out += sub ? meta(sub->meta) : sub.error().ToString();
          } else {
            out += meta(e.meta) + " size " + std::to_string(e.size) + " " +
                   e.id.ToHex().substr(0, 12) + " -> " + e.target + (e.sparse ? " sparse" : "");
            for (const auto& x : e.extents)
              out += " " + std::to_string(x.offset) + "+" + std::to_string(x.length);
          }
          out += "\n";
          return true;
        });
    if (!s.ok()) out += s.ToString();
    return out;
  }

  // The tarball `name` in the test's directory, written by indexer::testing::PyTar from `script`.
  std::string PyTar(const std::string& name, const std::string& script) {
    std::string path = tmp_ + "/" + name;
    EXPECT_EQ(indexer::testing::PyTar(path, script), 0) << script;
    return path;
  }

  // A tarball `name` holding one GNU sparse file 'f' (pax format 0.1) of `size` bytes whose map
  // is `map` ("OFFSET,LENGTH,..."), its data the 3 bytes "end".
  std::string PaxSparseTar(const std::string& name, const std::string& size,
                           const std::string& map) {
    return PyTar(name,
                 "    i = tarfile.TarInfo('GNUSparseFile.0/f'); i.size = 3\n"
                 "    i.pax_headers = {'GNU.sparse.size': '" +
                     size + "', 'GNU.sparse.numblocks': '1', 'GNU.sparse.name': 'f', " +
                     "'GNU.sparse.map': '" + map + "'}\n" +
                     "    t.addfile(i, io.BytesIO(b'end'))\n");
  }

  // Writes `bytes` to the file `name` in the test's directory; returns its path.
  // The bytes of the file at `path` (a tarball made for the test).
  static std::string ReadBytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::string WriteFile(const std::string& name, const std::string& bytes) {
    std::string path = tmp_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // The bytes of the regular file at `path` of the tree `root`, from the store.
  std::string Contents(const ObjectId& root, const std::string& path) {
    auto e = cas::LookupPath(store_.get(), root, path);
    if (!e) return e.error().ToString();
    std::string out;
    cas::ContentReader reader(store_.get(), 1);
    Status s = reader.Read(e->id, [&](std::string_view b) {
      out.append(b);
      return Status();
    });
    return s.ok() ? out : s.ToString();
  }

  std::string tmp_;
  std::unique_ptr<cas::MemoryStore> store_;
};

// GNU tar needs --format=posix for nanosecond mtimes and xattrs, --sparse to record holes,
// --acls is harmless (--xattrs-include='*' already stores system.posix_acl_* as xattrs) and
// --numeric-owner keeps names out of the headers.
inline constexpr const char* kGnuTarCreate =
    "tar --format=posix --xattrs --xattrs-include='*' --acls --sparse --numeric-owner";

}  // namespace cairn::indexer::testing

#endif  // CAIRN_TESTS_INDEXER_TAR_FIXTURE_H_
