// cairn_fuzz_seeds DIR: writes the fuzz targets' seeds to DIR/seeds/TARGET/ (valid encodings
// made by cairn's own encoders, so that the fuzzer starts inside each format rather than having
// to find its magic and layout) and empties DIR/work/TARGET/, where a run keeps what it finds.
// Run by ctest before the fuzz targets (fuzz/CMakeLists.txt).
#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "cas/chunk_index.h"
#include "cas/disk.h"
#include "cas/object.h"
#include "cas/tree.h"
#include "cas/version.h"
#include "cas/write_batch.h"
#include "indexer/disk_lvm.h"
#include "indexer/disk_probe.h"
#include "indexer/stat_cache.h"
#include "vmount/journal.h"

namespace cairn::fuzz {
namespace {

namespace fs = std::filesystem;

using Seeds = std::vector<std::string>;

ObjectId Id(std::string_view what) { return Sha256::Of(what); }

cas::Metadata Meta(uint32_t mode, std::vector<std::pair<std::string, std::string>> xattrs = {}) {
  cas::Metadata m;
  m.mode = mode;
  m.uid = 1000;
  m.gid = 100;
  m.mtime_sec = 1700000000;
  m.mtime_nsec = 123456789;
  m.xattrs = std::move(xattrs);
  return m;
}

cas::TreeEntry Entry(std::string name, cas::EntryType type, uint32_t mode = 0644) {
  cas::TreeEntry e;
  e.name = std::move(name);
  e.type = type;
  e.meta = Meta(mode);
  return e;
}

// Trees: every entry type, xattrs, a sparse file, non-UTF-8 names, a hardlink table.
Seeds TreeSeeds() {
  Seeds out;
  cas::Tree empty;
  empty.meta = Meta(0755);
  out.push_back(cas::EncodeTree(empty));

  cas::Tree t;
  t.meta = Meta(01777, {{"security.selinux", std::string("system_u:object_r:tmp_t:s0\0", 27)},
                        {"user.note", "x"}});
  auto file = Entry("bin", cas::EntryType::kRegular, 04755);
  file.id = Id("bin");
  file.size = 5000;
  file.meta.xattrs = {{"security.capability", std::string("\1\0\0\2\0\x20\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20)}};
  t.entries.push_back(file);
  auto sparse = Entry("disk.img", cas::EntryType::kRegular);
  sparse.id = Id("data");
  sparse.size = 1 << 20;
  sparse.sparse = true;
  sparse.extents = {{4096, 4096}, {65536, 100}};
  t.entries.push_back(sparse);
  auto hole = Entry("hole", cas::EntryType::kRegular);
  hole.id = Id("");
  hole.size = 8192;
  hole.sparse = true;
  t.entries.push_back(hole);
  auto dir = Entry("etc", cas::EntryType::kDirectory);
  dir.id = Id("etc");
  t.entries.push_back(dir);
  auto link = Entry("lib", cas::EntryType::kSymlink, 0777);
  link.target = "usr/lib";
  t.entries.push_back(link);
  auto chr = Entry("null", cas::EntryType::kCharDevice, 0666);
  chr.rdev_major = 1;
  chr.rdev_minor = 3;
  t.entries.push_back(chr);
  auto blk = Entry("sda", cas::EntryType::kBlockDevice, 0660);
  blk.rdev_major = 8;
  t.entries.push_back(blk);
  t.entries.push_back(Entry("fifo", cas::EntryType::kFifo));
  t.entries.push_back(Entry("sock", cas::EntryType::kSocket, 0755));
  t.entries.push_back(Entry("caf\xe9-\xff", cas::EntryType::kFifo));
  auto twin = Entry("twin", cas::EntryType::kRegular);
  twin.id = Id("twin");
  twin.size = 4;
  t.entries.push_back(twin);
  t.hardlinks = {{"etc/twin", "twin"}};
  if (cas::CanonicalizeTree(&t).ok()) out.push_back(cas::EncodeTree(t));
  t.hardlinks.clear();
  out.push_back(cas::EncodeTree(t));
  return out;
}

Seeds VersionSeeds() {
  cas::Version v;
  v.root = Id("root");
  v.image = "web";
  v.author = "root@host";
  v.time_ns = 1700000000123456789;
  v.message = "first";
  Seeds out{cas::EncodeVersion(v)};
  v.root_type = cas::Version::RootType::kDisk;
  v.parents = {Id("p1"), Id("p2")};
  v.message = "caf\xe9\n\x01";
  v.summary = R"({"os":"linux","distro":"debian","packages":3})";
  v.time_ns = -5;
  out.push_back(cas::EncodeVersion(v));
  return out;
}

Seeds ChunkIndexSeeds() {
  cas::ChunkIndex index;
  index.content_sha256 = Id("whole");
  for (uint64_t size : {16384u, 65536u, 262144u, 1u}) {
    index.chunks.push_back({Id(std::to_string(size)), size});
    index.total_size += size;
  }
  Seeds out{cas::EncodeChunkIndex(index)};
  index.chunks.resize(2);
  index.total_size = index.chunks[0].size + index.chunks[1].size;
  out.push_back(cas::EncodeChunkIndex(index));
  return out;
}

// A GPT disk with a BIOS boot partition, an ext4 root and swap; with LVM, the swap partition
// a physical volume of a group holding three logical volumes (two segments for one); an MBR
// disk with an extended partition.
Seeds DiskSeeds() {
  cas::Disk d;
  d.size = 64 << 20;
  d.table = cas::PartitionTable::kGpt;
  d.disk_id = "0F8A1E2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B";
  d.first_lba = 34;
  d.entries = 128;
  d.partitions.push_back({1, 1 << 20, 1 << 20, "21686148-6449-6E6F-744E-656564454649",
                          "11111111-2222-3333-4444-555555555555", "bios", 0, cas::PartitionContent::kRaw,
                          Id("bios")});
  d.partitions.push_back({2, 2 << 20, 30 << 20, "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                          "22222222-2222-3333-4444-555555555555", "root", 4, cas::PartitionContent::kFilesystem,
                          ObjectId()});
  d.partitions.push_back({3, 32 << 20, 8 << 20, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
                          "33333333-2222-3333-4444-555555555555", "swap", 0, cas::PartitionContent::kFilesystem,
                          ObjectId()});
  cas::DiskFilesystem root;
  root.partition = 2;
  root.type = "ext4";
  root.uuid = "aaaaaaaa-2222-3333-4444-555555555555";
  root.label = "root";
  root.params = {{"block_size", "4096"}, {"features", "has_journal extent"}, {"inode_size", "256"}};
  root.mountpoint = "/";
  root.tree = Id("tree");
  d.filesystems.push_back(root);
  cas::DiskFilesystem swap;
  swap.partition = 3;
  swap.type = "swap";
  swap.uuid = "bbbbbbbb-2222-3333-4444-555555555555";
  d.filesystems.push_back(swap);
  d.boot.push_back({"mbr-code", 0, 440, Id("code")});
  d.boot.push_back({"gap", 17408, 1031168, Id("gap")});
  d.view = Id("tree");
  Seeds out;
  auto add = [&](const cas::Disk& disk) {
    Status valid = cas::ValidateDisk(disk);
    if (valid.ok()) {
      out.push_back(cas::EncodeDisk(disk));
    } else {
      std::cerr << "cairn_fuzz_seeds: a disk seed is invalid: " << valid.ToString() << "\n";
    }
  };
  add(d);

  cas::Disk lvm = d;
  lvm.partitions[2].size = 24 << 20;
  lvm.partitions[2].content = cas::PartitionContent::kLvmPv;
  lvm.filesystems.pop_back();
  cas::VolumeGroup vg;
  vg.name = "vg0";
  vg.uuid = "hd2dsj-aeAQ-MrKR-DyXy-34sW-VG0G-qaZx7V";
  vg.extent_size = 4 << 20;
  vg.pvs.push_back({3, "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000000", 1 << 20, 5});
  vg.lvs.push_back({"data", "DDDDDD-bbbb-cccc-dddd-eeee-ffff-000000", {{3, 4, 1}}, cas::VolumeContent::kRaw, Id("lv")});
  vg.lvs.push_back({"root", "RRRRRR-bbbb-cccc-dddd-eeee-ffff-000000", {{3, 0, 2}, {3, 3, 1}},
                    cas::VolumeContent::kFilesystem, ObjectId()});
  vg.lvs.push_back({"swap", "SSSSSS-bbbb-cccc-dddd-eeee-ffff-000000", {{3, 2, 1}}, cas::VolumeContent::kFilesystem,
                    ObjectId()});
  lvm.volume_groups.push_back(vg);
  cas::DiskFilesystem lvroot;
  lvroot.volume = "vg0/root";
  lvroot.type = "ext4";
  lvroot.uuid = "cccccccc-2222-3333-4444-555555555555";
  lvroot.mountpoint = "/srv";
  lvroot.tree = Id("srv");
  lvm.filesystems.push_back(lvroot);
  cas::DiskFilesystem lvswap;
  lvswap.volume = "vg0/swap";
  lvswap.type = "swap";
  lvswap.uuid = "dddddddd-2222-3333-4444-555555555555";
  lvm.filesystems.push_back(lvswap);
  add(lvm);

  cas::Disk mbr;
  mbr.size = 32 << 20;
  mbr.table = cas::PartitionTable::kMbr;
  mbr.disk_id = "1234abcd";
  mbr.partitions.push_back({1, 1 << 20, 8 << 20, "83", "", "", 0x80, cas::PartitionContent::kFilesystem, ObjectId()});
  mbr.partitions.push_back({2, 9 << 20, 20 << 20, "05", "", "", 0, cas::PartitionContent::kNothing, ObjectId()});
  mbr.partitions.push_back({5, 10 << 20, 4 << 20, "83", "", "", 0, cas::PartitionContent::kRaw, Id("logical")});
  cas::DiskFilesystem boot;
  boot.partition = 1;
  boot.type = "ext2";
  boot.uuid = "eeeeeeee-2222-3333-4444-555555555555";
  boot.mountpoint = "/";
  boot.tree = Id("boot");
  mbr.filesystems.push_back(boot);
  mbr.view = Id("boot");
  add(mbr);
  return out;
}

// Records of every codec (raw, zstd, zstd after the x86 filter), object infos, index values.
Seeds ObjectSeeds() {
  Seeds out;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i % 7) + " of a small file\n";
  std::string code;
  for (int i = 0; i < 300; ++i) code += std::string("\xe8\x10\x20\x00\x00\x48\x89\xc7", 8);
  out.push_back(cas::EncodeObject(cas::ObjectType::kBlob, "tiny", 4).record);
  out.push_back(cas::EncodeObject(cas::ObjectType::kBlob, text, 0).record);
  out.push_back(cas::EncodeObject(cas::ObjectType::kBlob, text, 4).record);
  out.push_back(cas::EncodeObject(cas::ObjectType::kBlob, code, 4, /*x86_code=*/true).record);
  out.push_back(cas::EncodeObject(cas::ObjectType::kTree, TreeSeeds().back(), 4).record);
  out.push_back(cas::EncodeObjectInfo({cas::ObjectType::kBlob, 4096, 1234, 77}));
  return out;
}

// A volume group's text metadata as vgcfgbackup writes it: comments, lists, a volume of two
// segments out of order.
const char kVgText[] = R"(# Generated by LVM2
contents = "Text Format Volume Group"
version = 1
vg0 {
	id = "hd2dsj-aeAQ-MrKR-DyXy-34sW-VG0G-qaZx7V"
	seqno = 3
	status = ["RESIZEABLE", "READ", "WRITE"]
	flags = []
	extent_size = 8192
	physical_volumes {
		pv0 {
			id = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000000"
			device = "/dev/sda2"
			pe_start = 2048
			pe_count = 13
		}
	}
	logical_volumes {
		root {
			id = "RRRRRR-bbbb-cccc-dddd-eeee-ffff-000000"
			status = ["READ", "WRITE", "VISIBLE"]
			creation_host = "vm \"q\""
			segment_count = 2
			segment2 {
				start_extent = 3
				extent_count = 2
				type = "striped"
				stripe_count = 1
				stripes = ["pv0", 6]
			}
			segment1 {
				start_extent = 0
				extent_count = 3
				type = "striped"
				stripe_count = 1
				stripes = ["pv0", 0]
			}
		}
	}
}
)";

void PutLe(std::string* b, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*b)[at + i] = static_cast<char>(v >> (8 * i));
}

// The text on its own, and a physical volume (label in sector 1, one metadata area of 8 KiB
// at 4 KiB holding the text) as pvcreate and vgcreate lay it out.
Seeds LvmSeeds() {
  const std::string text = kVgText;
  constexpr size_t kMda = 4096, kMdaSize = 8192;
  std::string pv(kMda + kMdaSize, '\0');
  std::string label(512, '\0');
  label.replace(0, 8, "LABELONE");
  PutLe(&label, 8, 1, 8);
  PutLe(&label, 20, 32, 4);
  label.replace(24, 8, "LVM2 001");
  label.replace(32, 32, "aaaaaabbbbccccddddeeeeffff000000");
  PutLe(&label, 64, 64 << 20, 8);   // device size
  PutLe(&label, 72, 1 << 20, 8);    // data area at 1 MiB, then the end of the list
  PutLe(&label, 104, kMda, 8);      // metadata area
  PutLe(&label, 112, kMdaSize, 8);  // then the end of the list
  pv.replace(512, 512, label);
  std::string h(512, '\0');
  h.replace(4, 16, " LVM2 x[5A%r0N*>");
  PutLe(&h, 20, 1, 4);
  PutLe(&h, 24, kMda, 8);
  PutLe(&h, 32, kMdaSize, 8);
  PutLe(&h, 40, 512, 8);
  PutLe(&h, 48, text.size(), 8);
  PutLe(&h, 56, indexer::LvmChecksum(text), 4);
  PutLe(&h, 0, indexer::LvmChecksum(std::string_view(h).substr(4)), 4);
  pv.replace(kMda, 512, h);
  pv.replace(kMda + 512, text.size(), text);
  return {text, pv};
}

Seeds StatCacheSeeds() {
  indexer::StatCache cache;
  indexer::StatCacheDir root;
  root.tree = Id("root");
  root.self = {2, 1700000000123456789};
  root.names = {"bin", "etc", "caf\xe9"};
  root.files = {{11, 1700000000000000001}, {12, 0}, {13, 1700000000999999999}};
  cache.Put("", root);
  indexer::StatCacheDir etc;
  etc.tree = Id("etc");
  etc.self = {12, 1700000001000000000};
  etc.names = {"passwd"};
  etc.files = {{99, 1700000002000000000}};
  cache.Put("etc", etc);
  return {cache.Encode("/srv/golden"), indexer::StatCache().Encode("/srv/golden")};
}

Seeds DebversionSeeds() {
  return {std::string("1:3.0.11-1~deb12u2\0") + "3.0.11-1~deb12u1" + '\0' + "3.0.11-1",
          std::string("2.36-9+deb12u4\0") + "2.36-9" + '\0' + "2.36~rc1",
          std::string("libssl3<3.0.13\0") + "3.0.13-1~deb12u1",
          std::string("libc6 >= 2.36\0") + "2.36-9+deb12u7",
          std::string("1.0+dfsg.1-2ubuntu0.1\0") + "1.0a" + '\0' + "1.0~~a",
          "web:3", "web@prod", "db_01.x+y"};
}

// Every kind of record, replayable onto fuzz/journal_fuzzer.cc's base tree.
Seeds JournalSeeds() {
  using vmount::JournalOp;
  vmount::Timestamp now{1700000000, 5};
  auto rec = [&](JournalOp op, std::string path, std::string name = "", std::string path2 = "",
                 std::string name2 = "") {
    vmount::JournalRecord r;
    r.op = op;
    r.path = std::move(path);
    r.name = std::move(name);
    r.path2 = std::move(path2);
    r.name2 = std::move(name2);
    r.now = now;
    return r;
  };
  std::string all;
  auto make = rec(JournalOp::kMake, "etc", "motd");
  make.entry.mode = 0600;
  all += vmount::EncodeJournalRecord(make);
  auto write = rec(JournalOp::kWrite, "etc/motd");
  write.data = "hello\n";
  all += vmount::EncodeJournalRecord(write);
  auto truncate = rec(JournalOp::kTruncate, "etc/motd");
  truncate.number = 3;
  all += vmount::EncodeJournalRecord(truncate);
  auto dir = rec(JournalOp::kMake, "", "srv");
  dir.entry.type = cas::EntryType::kDirectory;
  dir.entry.mode = 0755;
  all += vmount::EncodeJournalRecord(dir);
  auto link = rec(JournalOp::kMake, "srv", "l");
  link.entry.type = cas::EntryType::kSymlink;
  link.entry.target = "../etc/motd";
  all += vmount::EncodeJournalRecord(link);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kRename, "etc", "motd", "srv", "motd"));
  all += vmount::EncodeJournalRecord(rec(JournalOp::kLink, "etc/passwd", "", "srv", "pw"));
  auto meta = rec(JournalOp::kMeta, "etc/passwd");
  meta.meta.mode = 0640;
  meta.meta.uid = 1;
  meta.meta.xattrs = {{"user.k", "v"}};
  all += vmount::EncodeJournalRecord(meta);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "etc", "hosts"));
  auto fifo = rec(JournalOp::kMake, "srv", "fifo");
  fifo.entry.type = cas::EntryType::kFifo;
  all += vmount::EncodeJournalRecord(fifo);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "fifo"));
  const std::string before_rmdir = all;
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "l"));
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "pw"));
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "motd"));
  all += vmount::EncodeJournalRecord(rec(JournalOp::kRmdir, "", "srv"));
  auto copy = rec(JournalOp::kCopyUp, "etc/passwd");
  copy.number = 7;
  return {before_rmdir, all, all.substr(0, all.size() - 3), vmount::EncodeJournalRecord(copy)};
}

// A tarball through libarchive: format "pax", "gnu" or "ustar", filter "", "gzip" or "zstd".
class TarWriter {
 public:
  TarWriter(const char* format, const char* filter) : a_(archive_write_new()) {
    archive_write_set_format_by_name(a_, format);
    if (*filter) archive_write_add_filter_by_name(a_, filter);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, &out_, nullptr, &Write, nullptr);
  }
  ~TarWriter() { archive_write_free(a_); }
  // type: AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFBLK, AE_IFIFO; link: a symlink's target
  // or, with hardlink, the path linked to.
  TarWriter& Add(const std::string& path, unsigned type, const std::string& body = "",
                 const std::string& link = "", bool hardlink = false) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_gid(e, 100);
    archive_entry_set_mtime(e, 1700000000, 123456789);
    if (hardlink) {
      archive_entry_set_hardlink(e, link.c_str());
    } else if (type == AE_IFLNK) {
      archive_entry_set_symlink(e, link.c_str());
    }
    if (type == AE_IFCHR || type == AE_IFBLK) archive_entry_set_rdev(e, makedev(8, 1));
    if (type == AE_IFREG && !hardlink)
      archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
    if (path == "xattr") archive_entry_xattr_add_entry(e, "user.note", "hello", 5);
    archive_write_header(a_, e);
    if (!body.empty() && !hardlink) archive_write_data(a_, body.data(), body.size());
    archive_entry_free(e);
    return *this;
  }
  // A sparse file of `size` bytes whose data is `body` at `offset`.
  TarWriter& Sparse(const std::string& path, uint64_t size, uint64_t offset,
                    const std::string& body) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_sparse_add_entry(e, static_cast<la_int64_t>(offset),
                                   static_cast<la_int64_t>(body.size()));
    archive_write_header(a_, e);
    std::string whole(size, '\0');
    whole.replace(offset, body.size(), body);
    archive_write_data(a_, whole.data(), whole.size());
    archive_entry_free(e);
    return *this;
  }
  std::string Finish() {
    archive_write_close(a_);
    return out_;
  }

 private:
  static la_ssize_t Write(archive*, void* self, const void* buf, size_t n) {
    static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  archive* a_;
  std::string out_;
};

// Tarballs of every kind of entry, in three formats and three compressions, and hostile ones:
// names with "..", absolute names, a file beneath a symlink that points out, hard links out.
Seeds TarSeeds() {
  Seeds out;
  auto rich = [](const char* format, const char* filter) {
    TarWriter w(format, filter);
    w.Add("etc", AE_IFDIR).Add("etc/passwd", AE_IFREG, "root:x:0:0::/root:/bin/sh\n");
    w.Add("etc/hosts", AE_IFREG, "", "etc/passwd", /*hardlink=*/true);
    w.Add("lib", AE_IFLNK, "", "usr/lib")
        .Add("null", AE_IFCHR)
        .Add("sda", AE_IFBLK)
        .Add("fifo", AE_IFIFO);
    w.Add("xattr", AE_IFREG, "x").Add("caf\xe9", AE_IFREG, "latin-1 name");
    w.Add(std::string(120, 'n') + "/" + std::string(120, 'm'), AE_IFREG, "long name");
    if (std::string_view(format) != "ustar") w.Sparse("disk.img", 65536, 8192, "data");
    return w.Finish();
  };
  for (const char* format : {"pax", "gnutar", "ustar"}) out.push_back(rich(format, ""));
  out.push_back(rich("pax", "gzip"));
  out.push_back(rich("pax", "zstd"));
  out.push_back(TarWriter("pax", "").Add("../evil", AE_IFREG, "x").Finish());
  out.push_back(TarWriter("pax", "").Add("/etc/abs", AE_IFREG, "x").Finish());
  out.push_back(TarWriter("pax", "").Add("a", AE_IFDIR).Add("a/../../b", AE_IFREG, "x").Finish());
  out.push_back(
      TarWriter("pax", "").Add("l", AE_IFLNK, "", "/tmp").Add("l/x", AE_IFREG, "x").Finish());
  out.push_back(
      TarWriter("pax", "").Add("up", AE_IFLNK, "", "..").Add("up/x", AE_IFREG, "x").Finish());
  out.push_back(TarWriter("pax", "").Add("h", AE_IFREG, "", "../outside", true).Finish());
  out.push_back(TarWriter("pax", "").Add("f", AE_IFREG, "one").Add("f", AE_IFREG, "two").Finish());
  std::string cut = rich("pax", "");
  out.push_back(cut.substr(0, cut.size() / 2));
  return out;
}

// os-release, dpkg status, hostname and a stored summary, NUL-separated
// (fuzz/inspect_fuzzer.cc).
Seeds InspectSeeds() {
  const std::string os_release =
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian "
      "GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
  const std::string status =
      "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nVersion: "
      "3.0.11-1~deb12u2\n\n"
      "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: "
      "12.4+deb12u5\n\n"
      "Package: tzdata\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: "
      "2024a-0+deb12u1\n";
  const std::string summary =
      "os\tlinux\ndistro\tdebian\nversion\t12\narch\tamd64\nhostname\tweb1\npackage_format\tdeb\n"
      "counts\t10\t3\t2\t1\t4096\npkg\tlibssl3\t3.0.11-1~deb12u2\tamd64\n";
  std::string nul(1, '\0');
  return {os_release + nul + status + nul + "web1\n" + nul + summary, nul + nul + nul,
          "ID='alpine'\nVERSION_ID=3.19\n" + nul + "Package: x\nStatus: install ok installed\n" +
              nul + "h"};
}

// An ext4 superblock (1024 bytes, as it lies 1024 bytes into its filesystem).
std::string ExtSuperblock() {
  std::string sb(1024, '\0');
  PutLe(&sb, 0, 16, 4);  // inodes
  PutLe(&sb, 4, 64, 4);  // blocks
  PutLe(&sb, 24, 0, 4);  // 1 KiB blocks
  PutLe(&sb, 56, 0xEF53, 2);
  PutLe(&sb, 76, 1, 4);                         // dynamic revision
  PutLe(&sb, 88, 256, 2);                       // inode size
  PutLe(&sb, 92, 0x0004 | 0x0020, 4);           // has_journal, dir_index
  PutLe(&sb, 96, 0x0002 | 0x0040 | 0x0080, 4);  // filetype, extent, 64bit
  PutLe(&sb, 100, 0x0001 | 0x0002, 4);          // sparse_super, large_file
  sb.replace(104, 16,
             std::string("\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x00", 16));
  sb.replace(120, 4, "root");
  return sb;
}

// The first bytes of disks: MBR with an ext4 partition and an LVM physical volume, MBR with an
// extended partition, GPT with a BIOS boot partition and ext4, a whole-disk ext4, the heads of
// qcow2 and vmdk images.
Seeds ProbeSeeds() {
  auto mbr_entry = [](std::string* d, int i, uint8_t type, uint32_t lba, uint32_t sectors) {
    const size_t at = 446 + 16 * i;
    (*d)[at + 4] = static_cast<char>(type);
    PutLe(d, at + 8, lba, 4);
    PutLe(d, at + 12, sectors, 4);
  };
  Seeds out;
  std::string mbr(64 << 10, '\0');
  PutLe(&mbr, 440, 0x1234abcd, 4);
  PutLe(&mbr, 510, 0xAA55, 2);
  mbr_entry(&mbr, 0, 0x83, 8, 64);        // 4 KiB: ext4 of 32 KiB
  mbr_entry(&mbr, 1, 0x8e, 128, 120000);  // 64 KiB: an LVM physical volume of ~58 MiB
  mbr.replace(4096 + 1024, 1024, ExtSuperblock());
  const std::string pv = LvmSeeds()[1];
  std::string with_pv = mbr;
  with_pv.resize(128 * 512 + pv.size(), '\0');
  with_pv.replace(128 * 512, pv.size(), pv);
  out.push_back(with_pv);

  std::string ext = mbr;
  mbr_entry(&ext, 1, 0x05, 128, 4096);  // extended, one logical partition
  std::string ebr(512, '\0');
  PutLe(&ebr, 510, 0xAA55, 2);
  ebr[446 + 4] = static_cast<char>(0x83);
  PutLe(&ebr, 446 + 8, 8, 4);
  PutLe(&ebr, 446 + 12, 64, 4);
  ext.replace(128 * 512, 512, ebr);
  out.push_back(ext);

  std::string gpt(64 << 10, '\0');
  PutLe(&gpt, 510, 0xAA55, 2);
  mbr_entry(&gpt, 0, 0xEE, 1, 0xFFFFFFFF);
  std::string h(92, '\0');
  h.replace(0, 8, "EFI PART");
  PutLe(&h, 8, 0x00010000, 4);
  PutLe(&h, 12, 92, 4);
  PutLe(&h, 24, 1, 8);
  PutLe(&h, 32, (64 << 11) - 1, 8);
  PutLe(&h, 40, 34, 8);
  PutLe(&h, 48, (64 << 11) - 34, 8);
  h.replace(56, 16, "\x2b\x1e\x8a\x0f\x4d\x3c\x5f\x4e\x8a\x9b\x0c\x1d\x2e\x3f\x4a\x5b");
  PutLe(&h, 72, 2, 8);
  PutLe(&h, 80, 128, 4);
  PutLe(&h, 84, 128, 4);
  gpt.replace(512, h.size(), h);
  auto gpt_entry = [&](int i, std::string_view type, uint64_t first, uint64_t last,
                       std::string_view name) {
    std::string e(128, '\0');
    e.replace(0, 16, type);
    e.replace(16, 16, std::string(16, static_cast<char>(0x40 + i)));
    PutLe(&e, 32, first, 8);
    PutLe(&e, 40, last, 8);
    for (size_t c = 0; c < name.size(); ++c) e[56 + 2 * c] = name[c];
    gpt.replace(1024 + 128 * i, 128, e);
  };
  gpt_entry(0, "\x48\x61\x68\x21\x49\x64\x6f\x6e\x74\x4e\x65\x65\x64\x45\x46\x49", 34, 81, "bios");
  gpt_entry(1, "\xaf\x3d\xc6\x0f\x83\x84\x72\x47\x8e\x79\x3d\x69\xd8\x47\x7d\xe4", 96, 159, "root");
  PutLe(&gpt, 512 + 88, ~indexer::Crc32Update(~0u, std::string_view(gpt).substr(1024, 128 * 128)),
        4);
  PutLe(&gpt, 512 + 16, ~indexer::Crc32Update(~0u, std::string_view(gpt).substr(512, 92)), 4);
  gpt.replace(96 * 512 + 1024, 1024, ExtSuperblock());
  out.push_back(gpt);

  std::string whole(4096, '\0');
  whole.replace(1024, 1024, ExtSuperblock());
  out.push_back(whole);
  out.push_back(std::string("QFI\xfb\0\0\0\3", 8) + std::string(504, '\0'));
  out.push_back("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n");
  return out;
}

const std::map<std::string, std::function<Seeds()>>& Targets() {
  static const std::map<std::string, std::function<Seeds()>> targets = {
      {"tree", TreeSeeds},
      {"version", VersionSeeds},
      {"chunk_index", ChunkIndexSeeds},
      {"disk", DiskSeeds},
      {"object", ObjectSeeds},
      {"lvm", LvmSeeds},
      {"stat_cache", StatCacheSeeds},
      {"debversion", DebversionSeeds},
      {"journal", JournalSeeds},
      {"tar", TarSeeds},
      {"inspect", InspectSeeds},
      {"probe", ProbeSeeds},
  };
  return targets;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: cairn_fuzz_seeds DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  for (const auto& [name, make] : Targets()) {
    fs::remove_all(dir / "seeds" / name);
    fs::remove_all(dir / "work" / name);
    fs::create_directories(dir / "seeds" / name);
    fs::create_directories(dir / "work" / name);
    Seeds seeds = make();
    if (seeds.empty()) {
      std::cerr << "cairn_fuzz_seeds: no seeds for " << name << "\n";
      return 1;
    }
    for (size_t i = 0; i < seeds.size(); ++i) {
      std::ofstream(dir / "seeds" / name / std::to_string(i), std::ios::binary) << seeds[i];
    }
    std::cout << name << ": " << seeds.size() << " seeds\n";
  }
  return 0;
}

}  // namespace
}  // namespace cairn::fuzz

int main(int argc, char** argv) { return cairn::fuzz::Main(argc, argv); }
