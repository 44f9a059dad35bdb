// TarSource on what a tarball may hold: names made relative or refused, hard links, duplicate
// entries, owners, times before 1970, the largest sizes, links without targets, and damaged
// or truncated input, each refused naming the tarball and the entry, or neutralised as
// tar_source.cc documents. Shares TarTest with tar_test.cc (tests/indexer/tar_fixture.h).
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "cas/tree_reader.h"
#include "indexer/dir_sink.h"
#include "tests/indexer/tar_fixture.h"

namespace cairn::indexer {
namespace {

namespace fs = std::filesystem;
using testing::kGnuTarCreate;
using testing::Q;
using testing::Sh;
using testing::TarTest;

// For PyTar scripts: acl(entries...) is a system.posix_acl_* value (version `v`, each entry a
// (tag, permissions, id) tuple) as a pax header value; N is no id.
constexpr const char* kPyAcl =
    "    import struct\n"
    "    def acl(*es, v=2):\n"
    "        b = struct.pack('<I', v) + b''.join(struct.pack('<HHI', *e) for e in es)\n"
    "        return b.decode('utf-8', 'surrogateescape')\n"
    "    N = 0xffffffff\n";

TEST_F(TarTest, AbsoluteNamesAreMadeRelative) {
  std::string abs = PyTar("abs.tar", "    reg(t, '/etc/x', b'1')\n    reg(t, '//y', b'2')\n");
  std::string rel = PyTar("rel.tar", "    reg(t, 'etc/x', b'1')\n    reg(t, 'y', b'2')\n");
  auto ra = CheckinTar(abs);
  auto rr = CheckinTar(rel);
  ASSERT_TRUE(ra) << ra.error().ToString();
  ASSERT_TRUE(rr) << rr.error().ToString();
  EXPECT_EQ(ra->root, rr->root);
}

TEST_F(TarTest, ANameWithADotDotComponentIsRefusedNamingTheEntry) {
  std::string t = PyTar("dotdot.tar", "    reg(t, 'a/../../evil', b'1')\n");
  auto r = CheckinTar(t);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("a/../../evil"), std::string::npos) << r.error().ToString();
  std::string l = PyTar("dotdot-link.tar",
                        "    reg(t, 'x', b'1')\n"
                        "    reg(t, 'y', type=tarfile.LNKTYPE, linkname='../x')\n");
  EXPECT_FALSE(CheckinTar(l));
}

TEST_F(TarTest, AHardLinkToAnEntryNotReadBeforeIsRefused) {
  std::string t = PyTar("link.tar",
                        "    reg(t, 'y', type=tarfile.LNKTYPE, linkname='x')\n"
                        "    reg(t, 'x', b'1')\n");
  auto r = CheckinTar(t);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("hard link 'y'"), std::string::npos) << r.error().ToString();
  std::string outside =
      PyTar("outside.tar", "    reg(t, 'y', type=tarfile.LNKTYPE, linkname='/etc/passwd')\n");
  EXPECT_FALSE(CheckinTar(outside));
}

TEST_F(TarTest, ALaterDuplicateEntryReplacesTheEarlier) {
  std::string dup = PyTar("dup.tar",
                          "    reg(t, 'a', b'old')\n"
                          "    reg(t, 'b/c', b'child')\n"
                          "    reg(t, 'a', b'new')\n"
                          "    reg(t, 'b', b'file now')\n");
  std::string want = PyTar("want.tar", "    reg(t, 'a', b'new')\n    reg(t, 'b', b'file now')\n");
  auto rd = CheckinTar(dup);
  auto rw = CheckinTar(want);
  ASSERT_TRUE(rd) << rd.error().ToString();
  ASSERT_TRUE(rw) << rw.error().ToString();
  EXPECT_EQ(rd->root, rw->root);
}

// A pax time is the real number of seconds, also before 1970 (POSIX, GNU tar): -1.5 is
// (-2 s, 500000000 ns), which libarchive reads as (-1 s, 500000000 ns). A GNU tar tarball of a
// directory gets the directory's root id. libarchive loses the sign of a time between -1 and 0
// s: -0.25 reads as +0.25 (docs/cli.md).
TEST_F(TarTest, APre1970MtimeWithAFractionReadsAsGnuTarWroteIt) {
  std::string dir = tmp_ + "/old", tarball = tmp_ + "/old.tar";
  ASSERT_EQ(Sh("mkdir -p " + Q(dir) + " && echo a > " + Q(dir + "/f") + " && echo b > " +
               Q(dir + "/g") + " && touch -d @-1.5 " + Q(dir + "/f") + " && touch -d @-86400.25 " +
               Q(dir + "/g") + " && touch -d @1000 " + Q(dir) + " && " + kGnuTarCreate + " -C " +
               Q(dir) + " -cf " + Q(tarball) + " ."),
            0);
  auto from_dir = CheckinDir(dir);
  ASSERT_TRUE(from_dir) << from_dir.error().ToString();
  auto from_tar = CheckinTar(tarball);
  ASSERT_TRUE(from_tar) << from_tar.error().ToString();
  auto f = cas::LookupPath(store_.get(), from_tar->root, "f");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->meta.mtime_sec, -2);
  EXPECT_EQ(f->meta.mtime_nsec, 500000000u);
  auto g = cas::LookupPath(store_.get(), from_tar->root, "g");
  ASSERT_TRUE(g) << g.error().ToString();
  EXPECT_EQ(g->meta.mtime_sec, -86401);
  EXPECT_EQ(g->meta.mtime_nsec, 750000000u);
  EXPECT_EQ(from_tar->root, from_dir->root) << Listing(from_tar->root) << Listing(from_dir->root);
  // TarSink writes the time as GNU tar does, so cairn -> tar -> cairn keeps the root id.
  std::string ours = tmp_ + "/ours.tar";
  auto out = TarSink(ours, "tar").Checkout(store_.get(), from_dir->root, CheckoutOptions{});
  ASSERT_TRUE(out) << out.error().ToString();
  auto back = CheckinTar(ours);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->root, from_dir->root) << Listing(back->root) << Listing(from_dir->root);

  std::string py = PyTar("times.tar",
                         "    reg(t, 'a', b'', mtime=-3)\n"
                         "    reg(t, 'b', b'', mtime=1.5)\n"
                         "    reg(t, 'c', b'', mtime=-0.25)\n");
  auto r = CheckinTar(py);
  ASSERT_TRUE(r) << r.error().ToString();
  for (auto [name, sec, nsec] :
       {std::tuple{"a", -3, 0u}, {"b", 1, 500000000u}, {"c", 0, 250000000u}}) {
    auto e = cas::LookupPath(store_.get(), r->root, name);
    ASSERT_TRUE(e) << e.error().ToString();
    EXPECT_EQ(e->meta.mtime_sec, sec) << name;
    EXPECT_EQ(e->meta.mtime_nsec, nsec) << name;
  }
}

// Linux ids are 32 bits and (uid_t)-1 is no id: a pax uid of 4294967301 was stored as 5, a gid
// of -1 as 4294967295. Each is refused naming the entry.
TEST_F(TarTest, AnOwnerIdLinuxCannotHoldIsRefusedNamingTheEntry) {
  for (auto [field, value] :
       {std::pair{"uid", "4294967301"}, {"gid", "-1"}, {"uid", "4294967295"}}) {
    std::string t =
        PyTar("ids.tar", std::string("    reg(t, 'ok', b'1')\n    reg(t, 'd/f', b'x', ") + field +
                             "=" + value + ")\n");
    auto r = CheckinTar(t);
    ASSERT_FALSE(r) << field << "=" << value;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().ToString();
    EXPECT_EQ(r.error().message(), "read tarball entry " + t + ":d/f: " + field + " " + value +
                                       " is not a Linux id (0 to 4294967294)");
  }
  std::string t = PyTar("max.tar", "    reg(t, 'f', b'1', uid=4294967294, gid=0)\n");
  auto r = CheckinTar(t);
  ASSERT_TRUE(r) << r.error().ToString();
  auto f = cas::LookupPath(store_.get(), r->root, "f");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->meta.uid, 4294967294u);
}

// A hard link named as the root is refused with the names the right way round.
TEST_F(TarTest, AHardLinkAtTheRootIsRefusedNamingBoth) {
  std::string t = PyTar("root-link.tar",
                        "    reg(t, 'f', b'1')\n"
                        "    reg(t, './', type=tarfile.LNKTYPE, linkname='f')\n");
  auto r = CheckinTar(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().ToString();
  EXPECT_EQ(r.error().message(),
            "read tarball " + t + ": entry './' names the root but is a hard link to 'f'");
}

// Linux holds files of up to 2^63 - 1 bytes (tmpfs, XFS, btrfs), the most a tarball can say: a
// sparse file that large, its data at the very end, is read (its region widened to the block
// a file system holds it in: BlockAligned).
TEST_F(TarTest, ASparseFileOfTheLargestSizeLinuxHoldsIsRead) {
  auto r = CheckinTar(PaxSparseTar("max.tar", "9223372036854775807", "9223372036854775804,3"));
  ASSERT_TRUE(r) << r.error().ToString();
  auto f = cas::LookupPath(store_.get(), r->root, "f");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->size, 9223372036854775807u);
  EXPECT_EQ(f->extents, (std::vector<cas::Extent>{{9223372036854771712u, 4095}}));
  EXPECT_EQ(Contents(r->root, "f"), std::string(4092, '\0') + "end");
}

// GNU tar before 1.29, or on a file system without SEEK_HOLE (--hole-detection=raw), maps a
// sparse file by 512-byte zero blocks. Its regions are widened to whole 4 KiB blocks, as a file
// system holds the file once extracted and as a checkin of the directory records it: the
// tarball gets the directory's root id. A file whose widened regions cover it is dense.
TEST_F(TarTest, AGnuTarSparseMapOf512ByteBlocksIsRecordedAsAFileSystemHoldsIt) {
  const std::string dir = tmp_ + "/raw", tarball = tmp_ + "/raw.tar";
  ASSERT_EQ(Sh("mkdir -p " + Q(dir) + " && cd " + Q(dir) +
               " && truncate -s 1M big && printf X | dd of=big bs=1 seek=200000 conv=notrunc "
               "status=none && truncate -s 6000 small && printf A | dd of=small bs=1 conv=notrunc "
               "status=none && printf B | dd of=small bs=1 seek=5000 conv=notrunc status=none && "
               "touch -d '2021-01-02 03:04:05' big small . && tar --sparse --hole-detection=raw "
               "--format=posix -cf " +
               Q(tarball) + " -C " + Q(dir) + " ."),
            0);
  auto from_dir = CheckinDir(dir);
  ASSERT_TRUE(from_dir) << from_dir.error().ToString();
  auto from_tar = CheckinTar(tarball);
  ASSERT_TRUE(from_tar) << from_tar.error().ToString();
  EXPECT_EQ(from_tar->root, from_dir->root);
  auto big = cas::LookupPath(store_.get(), from_tar->root, "big");
  ASSERT_TRUE(big) << big.error().ToString();
  EXPECT_TRUE(big->sparse);
  EXPECT_EQ(big->extents, (std::vector<cas::Extent>{{196608, 4096}}));
  auto small = cas::LookupPath(store_.get(), from_tar->root, "small");
  ASSERT_TRUE(small) << small.error().ToString();
  EXPECT_FALSE(small->sparse) << "[0, 512) and [4608, 5120) widen to the whole file";
  std::string want(6000, '\0');
  want[0] = 'A';
  want[5000] = 'B';
  EXPECT_EQ(Contents(from_tar->root, "small"), want);
}

// libarchive drops, unsaid, a sparse region that ends past the file's size, yet still hands over
// its data at the region's offset: a file of 3 bytes whose map puts them at 1000 was checked in
// as those 3 bytes at 0 (GNU tar extracts 1003 bytes). Data at an offset the map does not say
// is Corruption naming the tarball and the entry.
TEST_F(TarTest, DataOutsideTheSparseMapIsRefused) {
  for (const auto& [name, size, map] : std::vector<std::array<std::string, 3>>{
           {"past-end.tar", "3", "1000,3"}, {"past-end-big.tar", "4096", "4095,3"}}) {
    std::string t = PaxSparseTar(name, size, map);
    auto r = CheckinTar(t);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code(), Code::kCorruption) << r.error().ToString();
    EXPECT_NE(r.error().message().find("read tarball " + t + ": entry 'f' has data at offset"),
              std::string::npos)
        << r.error().ToString();
  }
  // The same file with its map inside it is read, holes and all (here one block: dense).
  auto r = CheckinTar(PaxSparseTar("inside.tar", "5003", "5000,3"));
  ASSERT_TRUE(r) << r.error().ToString();
  auto f = cas::LookupPath(store_.get(), r->root, "f");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->size, 5003u);
  EXPECT_EQ(f->extents, (std::vector<cas::Extent>{{4096, 907}}));
  EXPECT_EQ(Contents(r->root, "f"), std::string(904, '\0') + "end");
}

// A symbolic link with an empty target (which Linux cannot make, and a Tree cannot hold) is
// refused as bad input naming the tarball and the entry.
TEST_F(TarTest, ASymlinkWithoutATargetIsRefusedNamingTheEntry) {
  std::string t = PyTar("empty-link.tar", "    typ(t, 'dir/s', tarfile.SYMTYPE, linkname='')\n");
  auto r = CheckinTar(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().ToString();
  EXPECT_EQ(r.error().message(),
            "read tarball " + t + ": entry 'dir/s' is a symbolic link without a target");
}

// Names Linux cannot make (a component over 255 bytes, a link target of 4096 bytes or more)
// are refused at checkin: every checkout of the version would fail.
TEST_F(TarTest, NamesLinuxCannotHoldAreRefusedNamingTheEntry) {
  std::string t = PyTar("long-name.tar", "    reg(t, 'dir/' + 'n' * 256, b'1')\n");
  auto r = CheckinTar(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().ToString();
  EXPECT_NE(r.error().message().find("component of 256 bytes"), std::string::npos)
      << r.error().ToString();
  EXPECT_TRUE(CheckinTar(PyTar("max-name.tar", "    reg(t, 'dir/' + 'n' * 255, b'1')\n")));
  std::string l =
      PyTar("long-link.tar", "    typ(t, 's', tarfile.SYMTYPE, linkname='x/' * 2048)\n");
  r = CheckinTar(l);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("target is 4096 bytes"), std::string::npos)
      << r.error().ToString();
}

// Linux's dev_t holds a 12-bit major and a 20-bit minor; mknod(2) refuses any other, so a
// device node beyond them (which was stored, its numbers cut to 32 bits) is refused at checkin
// naming the tarball and the entry. The largest Linux holds is stored as it is.
TEST_F(TarTest, ADeviceNumberLinuxCannotHoldIsRefusedNamingTheEntry) {
  // A pax SCHILY.devminor says a number beyond 32 bits (ustar's field holds 21 bits).
  for (auto [type, major, minor] : {std::tuple{"CHRTYPE", "4096", "1"},
                                    {"BLKTYPE", "5000", "0"},
                                    {"CHRTYPE", "1", "1048576"},
                                    {"BLKTYPE", "1", "4294967297"}}) {
    std::string t = PyTar("dev.tar", std::string("    reg(t, 'ok', b'1')\n    typ(t, 'dev/n', "
                                                 "tarfile.") +
                                         type + ", devmajor=" + major +
                                         ", pax_headers={'SCHILY.devminor': '" + minor + "'})\n");
    auto r = CheckinTar(t);
    ASSERT_FALSE(r) << type << " " << major << ":" << minor;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().ToString();
    EXPECT_EQ(r.error().message(), "read tarball " + t + ": entry 'dev/n' is a device node " +
                                       major + ":" + minor +
                                       " (Linux allows majors to 4095 and minors to 1048575)");
  }
  std::string t =
      PyTar("max-dev.tar", "    typ(t, 'c', tarfile.CHRTYPE, devmajor=4095, devminor=1048575)\n");
  auto r = CheckinTar(t);
  ASSERT_TRUE(r) << r.error().ToString();
  auto c = cas::LookupPath(store_.get(), r->root, "c");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->type, cas::EntryType::kCharDevice);
  EXPECT_EQ(c->rdev_major, 4095u);
  EXPECT_EQ(c->rdev_minor, 1048575u);
}

// The namespaces of xattr(7) are all Linux holds: a macOS tarball's com.apple.quarantine failed
// every directory checkout (EOPNOTSUPP, exit 6). It is stored, as the tarball holds it (a
// tarball checkout keeps it), and a directory checkout writes the file without it and names it
// in left_out, as a non-root checkout leaves out device nodes.
TEST_F(TarTest, AnXattrOutsideLinuxsNamespacesIsKeptButLeftOutOfADirectory) {
  std::string t = PyTar("mac.tar",
                        "    reg(t, 'd/readme.txt', b'hello', pax_headers={"
                        "'SCHILY.xattr.com.apple.quarantine': '0081;5f000000;Safari;', "
                        "'SCHILY.xattr.user.kept': 'yes'})\n");
  auto in = CheckinTar(t);
  ASSERT_TRUE(in) << in.error().ToString();
  auto f = cas::LookupPath(store_.get(), in->root, "d/readme.txt");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->meta.xattrs,
            (cas::Xattrs{{"com.apple.quarantine", "0081;5f000000;Safari;"}, {"user.kept", "yes"}}));

  const std::string dst = tmp_ + "/dst";
  auto out = DirSink(dst).Checkout(store_.get(), in->root, CheckoutOptions{});
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->left_out,
            (std::vector<LeftOut>{
                {"xattr com.apple.quarantine of d/readme.txt",
                 "outside the namespaces Linux holds (user., trusted., security., system.)"}}));
  EXPECT_EQ(Sh("test \"$(cat " + Q(dst + "/d/readme.txt") + ")\" = hello && test \"$(getfattr " +
               "--only-values -n user.kept " + Q(dst + "/d/readme.txt") + ")\" = yes"),
            0);

  // A tarball holds it: tar -> cairn -> tar -> cairn keeps the root id.
  ExpectSameRootThroughATarball(in->root);
}

// No Linux file system holds an xattr name above 255 bytes or a value above 65,536 (ERANGE,
// E2BIG): a tarball made elsewhere with one failed every directory checkout (exit 6, or exit 9
// on ext4 with advice to use file systems that refuse it too). It is stored and kept in a
// tarball, and left out of a directory with a warning, as an xattr outside Linux's namespaces.
TEST_F(TarTest, AnXattrTooLargeForLinuxIsKeptButLeftOutOfADirectory) {
  std::string t = PyTar("big.tar",
                        "    reg(t, 'f', b'x', pax_headers={"
                        "'SCHILY.xattr.user.big': 'v' * 70000, "
                        "'SCHILY.xattr.user.' + 'n' * 295: 'long', "
                        "'SCHILY.xattr.user.kept': 'yes'})\n");
  auto in = CheckinTar(t);
  ASSERT_TRUE(in) << in.error().ToString();
  auto f = cas::LookupPath(store_.get(), in->root, "f");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->meta.xattrs.size(), 3u);
  const std::string dst = tmp_ + "/dst";
  auto out = DirSink(dst).Checkout(store_.get(), in->root, CheckoutOptions{});
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(out->left_out,
            (std::vector<LeftOut>{
                {"xattr user.big of f", "a value larger than the 65,536 bytes Linux holds"},
                {"xattr user." + std::string(295, 'n') + " of f",
                 "a name longer than the 255 bytes Linux holds"}}));
  EXPECT_EQ(Sh("test \"$(getfattr --only-values -n user.kept " + Q(dst + "/f") + ")\" = yes"), 0);
  ExpectSameRootThroughATarball(in->root);
}

// Linux holds user.* xattrs on regular files and directories only (xattr(7)): a tarball made
// elsewhere with one on a symbolic link or a fifo failed every directory checkout (EPERM, exit
// 6). It is stored and kept in a tarball, and left out of a directory with a warning.
TEST_F(TarTest, AUserXattrOnALinkOrNodeIsKeptButLeftOutOfADirectory) {
  std::string t =
      PyTar("user-on-link.tar",
            "    reg(t, 'f', b'x', pax_headers={'SCHILY.xattr.user.tag': 'f'})\n"
            "    typ(t, 'l', tarfile.SYMTYPE, linkname='f', "
            "pax_headers={'SCHILY.xattr.user.tag': 'l'})\n"
            "    typ(t, 'p', tarfile.FIFOTYPE, pax_headers={'SCHILY.xattr.user.tag': 'p'})\n");
  auto in = CheckinTar(t);
  ASSERT_TRUE(in) << in.error().ToString();
  for (const char* name : {"f", "l", "p"}) {
    auto e = cas::LookupPath(store_.get(), in->root, name);
    ASSERT_TRUE(e) << e.error().ToString();
    EXPECT_EQ(e->meta.xattrs, (cas::Xattrs{{"user.tag", name}})) << name;
  }

  const std::string dst = tmp_ + "/dst";
  auto out = DirSink(dst).Checkout(store_.get(), in->root, CheckoutOptions{});
  ASSERT_TRUE(out) << out.error().ToString();
  const std::string why = "a user. xattr, which Linux holds on regular files and directories only";
  EXPECT_EQ(out->left_out,
            (std::vector<LeftOut>{{"xattr user.tag of l", why}, {"xattr user.tag of p", why}}));
  EXPECT_EQ(Sh("test \"$(getfattr --only-values -n user.tag " + Q(dst + "/f") + ")\" = f && " +
               "test \"$(readlink " + Q(dst + "/l") + ")\" = f && test -p " + Q(dst + "/p")),
            0);

  ExpectSameRootThroughATarball(in->root);
}

// Linux holds a system.posix_acl_* value only as posix_acl_from_xattr and posix_acl_valid take
// it, a default ACL only on a directory, and no ACL on a symbolic link: each of these was
// stored, and every directory checkout then failed (EINVAL, EACCES, EOPNOTSUPP; exit 6). Each
// is refused naming the tarball, the entry and the xattr.
TEST_F(TarTest, AnAclLinuxCannotHoldIsRefusedNamingTheEntry) {
  const std::string acl = kPyAcl;
  struct Case {
    std::string entry;  // a call of reg or typ, ending in its keyword arguments
    std::string value;  // a Python expression
    std::string xattr;
    std::string fault;
  };
  const std::string access = "system.posix_acl_access", dflt = "system.posix_acl_default";
  const std::string file = "reg(t, 'f', b'1'", dir = "typ(t, 'f', tarfile.DIRTYPE";
  const std::string minimal = "(1, 6, N), (4, 4, N), (0x20, 4, N)";
  for (const Case& c : std::vector<Case>{
           {file, "'\\x02\\x00'", access, "is not a valid ACL: 2 bytes, not 4 and 8 per entry"},
           {file, "acl(" + minimal + ", v=1)", access, "is not a valid ACL: version 1, not 2"},
           {dir, "acl()", dflt, "is not a valid ACL: no entries"},
           {file, "acl((1, 6, N), (2, 4, 1000), (4, 4, N), (0x20, 4, N))", access,
            "is not a valid ACL: named entries but no mask"},
           {file, "acl((1, 6, N), (0x20, 4, N), (4, 4, N))", access,
            "is not a valid ACL: entry 3 is out of order"},
           {dir, "acl((1, 6, N), (1, 6, N), (4, 4, N), (0x20, 4, N))", dflt,
            "is not a valid ACL: entry 2 is out of order"},
           {file, "acl((1, 6, N), (4, 4, N))", access,
            "is not a valid ACL: no owner, owning group or others entry"},
           {file, "acl((1, 8, N), (4, 4, N), (0x20, 4, N))", access,
            "is not a valid ACL: entry 1 has permissions 8 beyond rwx"},
           {file, "acl((1, 6, N), (2, 4, N), (4, 4, N), (0x10, 4, N), (0x20, 4, N))", access,
            "is not a valid ACL: entry 2 names id 4294967295"},
           {file, "acl((1, 6, N), (0x40, 4, N), (4, 4, N), (0x20, 4, N))", access,
            "is not a valid ACL: entry 2 has an unknown tag 64"},
           {file, "acl(" + minimal + ")", dflt,
            "is on a non-directory, where Linux holds no default ACL"},
           {"typ(t, 'f', tarfile.SYMTYPE, linkname='x'", "acl(" + minimal + ")", access,
            "is on a symbolic link, which Linux gives none"},
       }) {
    std::string t =
        PyTar("acl.tar", acl + "    reg(t, 'ok', b'1')\n    " + c.entry +
                             ", pax_headers={'SCHILY.xattr." + c.xattr + "': " + c.value + "})\n");
    auto r = CheckinTar(t);
    ASSERT_FALSE(r) << c.value;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << r.error().ToString();
    EXPECT_EQ(r.error().message(), "read tarball entry " + t + ":f: " + c.xattr + " " + c.fault);
  }
  // A valid ACL of either kind, where Linux holds it, is stored.
  std::string t = PyTar("good.tar", acl + "    " + dir + ", pax_headers={'SCHILY.xattr." + dflt +
                                        "': acl(" + minimal + ")})\n    reg(t, 'f/g', b'1'" +
                                        ", pax_headers={'SCHILY.xattr." + access +
                                        "': acl((1, 6, N), (2, 4, 7), (4, 4, N), (0x10, 4, N), "
                                        "(0x20, 4, N))})\n");
  auto r = CheckinTar(t);
  ASSERT_TRUE(r) << r.error().ToString();
}

// Setting an access ACL makes the mode agree with it, as extraction does: a tarball entry of
// mode 0600 whose ACL gave its group and others r-- was stored as 0600 with that ACL, and came
// out of a directory checkout as 0644 without it, and out of a tarball checkout as 0644 (both
// round trips changed the root id). The owner and others bits are taken from the ACL, the group
// bits from its mask (or its owning group without one), and an ACL that says no more than the
// mode is not kept, as the kernel keeps none.
TEST_F(TarTest, AnAccessAclSetsTheModeAsExtractionDoes) {
  ASSERT_EQ(::geteuid(), 0u) << "a directory checkout with owners and ACLs needs root";
  std::string t = PyTar(
      "acl.tar",
      std::string(kPyAcl) +
          "    typ(t, './', tarfile.DIRTYPE)\n"
          "    reg(t, 'minimal', b'1', mode=0o4600, "
          "pax_headers={'SCHILY.xattr.system.posix_acl_access':"
          " acl((1, 6, N), (4, 4, N), (0x20, 4, N))})\n"
          "    reg(t, 'masked', b'2', mode=0o600, "
          "pax_headers={'SCHILY.xattr.system.posix_acl_access':"
          " acl((1, 7, N), (2, 4, 7), (4, 4, N), (0x10, 6, N), (0x20, 1, N))})\n"
          "    typ(t, 'dir', tarfile.DIRTYPE, mode=0o777, pax_headers={"
          "'SCHILY.xattr.system.posix_acl_access': acl((1, 5, N), (4, 0, N), (0x20, 0, N))})\n");
  auto in = CheckinTar(t);
  ASSERT_TRUE(in) << in.error().ToString();
  for (auto [name, mode, xattrs] : {std::tuple{"minimal", 04644u, size_t{0}},
                                    {"masked", 0761u, size_t{1}},
                                    {"dir", 0500u, size_t{0}}}) {
    auto e = cas::LookupPath(store_.get(), in->root, name);
    ASSERT_TRUE(e) << e.error().ToString();
    const cas::Metadata& m =
        e->type == cas::EntryType::kDirectory ? cas::LoadTree(store_.get(), e->id)->meta : e->meta;
    EXPECT_EQ(m.mode, mode) << name;
    EXPECT_EQ(m.xattrs.size(), xattrs) << name;
  }
  // dir -> cairn and tar -> cairn give the root id back.
  const std::string dst = tmp_ + "/dst";
  auto out = DirSink(dst).Checkout(store_.get(), in->root, CheckoutOptions{});
  ASSERT_TRUE(out) << out.error().ToString();
  auto from_dir = CheckinDir(dst);
  ASSERT_TRUE(from_dir) << from_dir.error().ToString();
  EXPECT_EQ(from_dir->root, in->root) << Listing(from_dir->root) << Listing(in->root);
  ExpectSameRootThroughATarball(in->root);
}

// A time beyond what the target file system holds (ext4: 1901 to 2446) fails the checkout
// naming the file, where the file system clamped it without an error; one that holds it
// (tmpfs, btrfs) gets it exactly.
TEST_F(TarTest, ACheckoutFailsWhereTheFileSystemCannotHoldAnMtime) {
  std::string t = PyTar("far.tar", "    reg(t, 'far', b'1', mtime=100000000000)\n");
  auto in = CheckinTar(t);
  ASSERT_TRUE(in) << in.error().ToString();
  const std::string dst = tmp_ + "/dst";
  auto out = DirSink(dst).Checkout(store_.get(), in->root, CheckoutOptions{});
  struct stat st;
  if (out) {
    ASSERT_EQ(::stat((dst + "/far").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 100000000000) << "clamped, and no error said so";
  } else {
    EXPECT_EQ(out.error().code(), Code::kNotSupported) << out.error().ToString();
    EXPECT_NE(out.error().message().find(dst + "/far"), std::string::npos)
        << out.error().ToString();
  }
}

TEST_F(TarTest, AnEntryBeneathAFileIsRefused) {
  std::string t = PyTar("beneath.tar", "    reg(t, 'a', b'1')\n    reg(t, 'a/b', b'2')\n");
  auto r = CheckinTar(t);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not a directory"), std::string::npos) << r.error().ToString();
}

// A header that fails its checksum (libarchive's ARCHIVE_RETRY, which a reader may skip) is
// damage, said so: taken for a warning, the cleared entry failed as "entry without a name". A
// tarball cut right after a pax header, where libarchive gives no reason, is named damaged or
// cut short, not "unknown libarchive error".
TEST_F(TarTest, DamagedHeadersAreNamedSo) {
  std::string dir = tmp_ + "/tree", ok = tmp_ + "/ok.tar", pax = tmp_ + "/pax.tar";
  ASSERT_EQ(Sh("mkdir -p " + Q(dir) + " && echo one > " + Q(dir) + "/a && echo two > " + Q(dir) +
               "/b && tar -cf " + Q(ok) + " --format=ustar -C " + Q(dir) + " a b && tar -cf " +
               Q(pax) + " --format=posix --pax-option=comment=xxxxxxxx -C " + Q(dir) + " a"),
            0);
  std::string bytes = ReadBytes(ok);
  const std::string pax_bytes = ReadBytes(pax);
  bytes[1024 + 148] ^= 1;  // the checksum field of the second header
  const std::string bad = WriteFile("badsum.tar", bytes);
  auto r = CheckinTar(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kCorruption) << r.error().ToString();
  EXPECT_EQ(r.error().message(), "read tarball " + bad + ": Damaged tar archive");
  const std::string cut = WriteFile("cut.tar", pax_bytes.substr(0, 512));
  auto c = CheckinTar(cut);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), Code::kCorruption) << c.error().ToString();
  EXPECT_EQ(c.error().message(),
            "read tarball " + cut + ": damaged or cut short (the archive reader gave no reason)");
}

// A tarball damaged inside a file above 1 MiB (stored as a stream) is refused with the archive's
// own error, as one damaged inside a small file is: "entry 'big' holds 0 bytes of data,
// expected 3000000" named neither the damage nor the compression.
TEST_F(TarTest, DamageInsideALargeFileIsNamedAsTheArchiveSaysIt) {
  std::string dir = tmp_ + "/tree", plain = tmp_ + "/good.tar", gz = tmp_ + "/good.tar.gz";
  ASSERT_EQ(Sh("mkdir -p " + Q(dir) + " && head -c 3000000 /dev/urandom > " + Q(dir) + "/big" +
               " && tar -C " + Q(dir) + " -cf " + Q(plain) + " big && gzip -1 -c " + Q(plain) +
               " > " + Q(gz)),
            0);
  const std::string tar_bytes = ReadBytes(plain), gz_bytes = ReadBytes(gz);
  const std::string cut = WriteFile("cut.tar", tar_bytes.substr(0, 2000000));
  auto c = CheckinTar(cut);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), Code::kCorruption) << c.error().ToString();
  EXPECT_EQ(c.error().message(), "read tarball " + cut + " at 'big': Truncated tar archive");
  std::string flipped = gz_bytes;
  flipped[flipped.size() / 2] ^= 1;
  const std::string bad = WriteFile("bad.tar.gz", flipped);
  auto r = CheckinTar(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kCorruption) << r.error().ToString();
  EXPECT_EQ(r.error().message(),
            "read tarball " + bad + ": damaged gzip data: its CRC-32 does not match the data");
}

// libarchive's gzip reader checks neither the CRC-32 nor the length in a member's trailer, and
// stops reading before the last one: a byte flipped in a stored deflate block (random data,
// gzip -1) was checked in. Such a tarball, or one without its trailer, is Corruption naming it;
// concatenated members and zeros after the last are read as gzip -d reads them.
TEST_F(TarTest, ADamagedGzipTarballIsRefusedByItsChecksum) {
  std::string dir = tmp_ + "/tree", plain = tmp_ + "/good.tar", gz = tmp_ + "/good.tar.gz";
  ASSERT_EQ(Sh("mkdir -p " + Q(dir) + " && head -c 100000 /dev/urandom > " + Q(dir) + "/rand" +
               " && tar -C " + Q(dir) + " -cf " + Q(plain) + " . && gzip -1 -c " + Q(plain) +
               " > " + Q(gz)),
            0);
  auto want = CheckinTar(plain);
  ASSERT_TRUE(want) << want.error().ToString();
  const std::string bytes = ReadBytes(gz);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 1;
  const std::string bad = WriteFile("bad.tar.gz", flipped);
  ASSERT_NE(Sh("gzip -t " + Q(bad) + " 2>/dev/null"), 0) << "gzip -t finds the damage";
  auto r = CheckinTar(bad);
  ASSERT_FALSE(r) << "a damaged gzip tarball was checked in";
  EXPECT_EQ(r.error().code(), Code::kCorruption) << r.error().ToString();
  EXPECT_EQ(r.error().message(),
            "read tarball " + bad + ": damaged gzip data: its CRC-32 does not match the data");

  const std::string cut = WriteFile("cut.tar.gz", bytes.substr(0, bytes.size() - 8));
  auto c = CheckinTar(cut);
  ASSERT_FALSE(c) << "a gzip tarball without its trailer was checked in";
  EXPECT_EQ(c.error().code(), Code::kCorruption) << c.error().ToString();
  EXPECT_EQ(c.error().message(), "read tarball " + cut +
                                     ": gzip data truncated: it ends before the trailer (CRC-32 "
                                     "and length) of its last member");

  const std::string two = tmp_ + "/two.tar.gz";
  ASSERT_EQ(Sh("head -c 50000 " + Q(plain) + " | gzip > " + Q(two) + " && tail -c +50001 " +
               Q(plain) + " | gzip >> " + Q(two) + " && head -c 1000 /dev/zero >> " + Q(two)),
            0);
  auto t = CheckinTar(two);
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->root, want->root);
}

// The other compressions with checksums are read to their end too: an lz4 frame's checksum
// follows its last block, after the tar end marker, so a byte changed in a block was checked in
// (lz4 keeps no block checksums by default). A damaged tarball in any of them is Corruption
// naming it and the compression, also when the damage is in its first bytes (before, a damaged
// zstd header was "not a tarball", exit 2); concatenated frames are read as their tools read
// them.
TEST_F(TarTest, ADamagedTarballInAnyCheckedCompressionIsRefusedByItsChecksum) {
  std::string dir = tmp_ + "/tree", plain = tmp_ + "/good.tar";
  ASSERT_EQ(Sh("mkdir -p " + Q(dir) + " && head -c 300000 /dev/urandom > " + Q(dir) + "/rand" +
               " && tar -C " + Q(dir) + " -cf " + Q(plain) + " ."),
            0);
  auto want = CheckinTar(plain);
  ASSERT_TRUE(want) << want.error().ToString();
  for (auto [tool, name] : {std::pair{"lz4 -q -c", "lz4"},
                            {"zstd -q -c", "zstd"},
                            {"xz -c", "xz"},
                            {"bzip2 -c", "bzip2"}}) {
    const std::string packed = tmp_ + "/good.tar." + name;
    ASSERT_EQ(Sh(std::string(tool) + " " + Q(plain) + " > " + Q(packed)), 0) << tool;
    auto good = CheckinTar(packed);
    ASSERT_TRUE(good) << name << ": " << good.error().ToString();
    EXPECT_EQ(good->root, want->root) << name;
    const std::string bytes = ReadBytes(packed);
    for (size_t at : {bytes.size() / 2, size_t{40}}) {
      std::string damaged = bytes;
      damaged[at] ^= 0x10;
      damaged[at + 1] ^= 0x01;
      const std::string bad =
          WriteFile(std::string("bad-") + std::to_string(at) + "." + name, damaged);
      auto r = CheckinTar(bad);
      ASSERT_FALSE(r) << "a damaged " << name << " tarball (at byte " << at << ") was checked in";
      EXPECT_EQ(r.error().code(), Code::kCorruption) << r.error().ToString();
      EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().ToString();
      EXPECT_NE(r.error().message().find(std::string("damaged ") + name + " data"),
                std::string::npos)
          << r.error().ToString();
    }
    // An empty tarball compressed is an empty tree, as an empty file is.
    const std::string empty = tmp_ + "/empty.tar." + name;
    ASSERT_EQ(Sh(": | " + std::string(tool) + " > " + Q(empty)), 0) << tool;
    auto e = CheckinTar(empty);
    ASSERT_TRUE(e) << name << ": " << e.error().ToString();
    EXPECT_EQ(e->files, 0u) << name;
    EXPECT_EQ(e->dirs, 1u) << name;
  }
  const std::string two = tmp_ + "/two.tar.zst";
  ASSERT_EQ(Sh("head -c 50000 " + Q(plain) + " | zstd -q > " + Q(two) + " && tail -c +50001 " +
               Q(plain) + " | zstd -q >> " + Q(two)),
            0);
  auto t = CheckinTar(two);
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(t->root, want->root);
}

TEST_F(TarTest, ATruncatedOrCorruptTarballIsAnErrorNamingTheTarball) {
  std::string dir = tmp_ + "/tree";
  ASSERT_EQ(Sh("mkdir -p " + Q(dir) + " && head -c 200000 /dev/urandom > " + Q(dir) + "/f"), 0);
  std::string good = tmp_ + "/good.tar.gz";
  ASSERT_EQ(Sh("tar -C " + Q(dir) + " -czf " + Q(good) + " ."), 0);
  std::string cut = tmp_ + "/cut.tar.gz";
  fs::copy_file(good, cut);
  fs::resize_file(cut, fs::file_size(good) / 2);
  auto r = CheckinTar(cut);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(cut), std::string::npos) << r.error().ToString();
  std::string junk = tmp_ + "/junk.tar";
  std::ofstream(junk) << std::string(5000, 'j');
  auto j = CheckinTar(junk);
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message().find(junk), std::string::npos) << j.error().ToString();
  auto m = CheckinTar(tmp_ + "/missing.tar");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("missing.tar"), std::string::npos) << m.error().ToString();
}

}  // namespace
}  // namespace cairn::indexer
