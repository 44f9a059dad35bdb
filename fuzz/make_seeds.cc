// cairn_fuzz_seeds DIR: writes the fuzz targets' seeds to DIR/seeds/TARGET/ (valid encodings
// made by cairn's own encoders, so that the fuzzer starts inside each format rather than having
// to find its magic and layout) and empties DIR/work/TARGET/, where a run keeps what it finds.
// Run by ctest before the fuzz targets (fuzz/CMakeLists.txt).
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "base/coding.h"
#include "base/sha256.h"
#include "cas/chunk_index.h"
#include "cas/disk.h"
#include "cas/object.h"
#include "cas/tree.h"
#include "cas/version.h"
#include "cas/write_batch.h"
#include "fuzz/seeds.h"
#include "indexer/stat_cache.h"
#include "indexer/watch_wire.h"
#include "tests/cas/disk_samples.h"
#include "vmount/journal.h"

namespace cairn::fuzz {
namespace {

namespace fs = std::filesystem;

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
  file.meta.xattrs = {
      {"security.capability", std::string("\1\0\0\2\0\x20\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20)}};
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

// The sample GPT disk and its LVM variant (tests/cas/disk_samples.h), and an MBR disk with an
// extended partition.
Seeds DiskSeeds() {
  Seeds out;
  auto add = [&](const cas::Disk& disk) {
    Status valid = cas::ValidateDisk(disk);
    if (valid.ok()) {
      out.push_back(cas::EncodeDisk(disk));
    } else {
      std::cerr << "cairn_fuzz_seeds: a disk seed is invalid: " << valid.ToString() << "\n";
    }
  };
  add(cas::samples::SampleDisk());
  add(cas::samples::LvmDisk());
  // Version 3: a GPT entry array at LBA 64 with boot code before it, and an ext boot block.
  cas::Disk moved = cas::samples::SampleDisk();
  moved.first_lba = 96;
  moved.entries_lba = 64;
  moved.boot[1] = {"gpt-gap", 1024, 31744, Id("spl")};
  moved.boot.push_back({"fs-boot", 2 << 20, 1024, Id("vbr")});
  add(moved);

  cas::Disk mbr;
  mbr.size = 32 << 20;
  mbr.table = cas::PartitionTable::kMbr;
  mbr.disk_id = "1234abcd";
  mbr.partitions.push_back(
      {1, 1 << 20, 8 << 20, "83", "", "", 0x80, cas::PartitionContent::kFilesystem, ObjectId()});
  mbr.partitions.push_back(
      {2, 9 << 20, 20 << 20, "05", "", "", 0, cas::PartitionContent::kNothing, ObjectId()});
  mbr.partitions.push_back(
      {5, 10 << 20, 4 << 20, "83", "", "", 0, cas::PartitionContent::kRaw, Id("logical")});
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

Seeds StatCacheSeeds() {
  indexer::StatCache cache;
  indexer::StatCacheDir root;
  root.tree = Id("root");
  root.self = {2, 1700000000123456789};
  root.names = {"bin", "caf\xe9", "etc"};  // in the Tree's (byte) order
  root.files = {{11, 1700000000000000001}, {12, 0}, {13, 1700000000999999999}};
  cache.Put("", root);
  indexer::StatCacheDir etc;
  etc.tree = Id("etc");
  etc.self = {12, 1700000001000000000};
  etc.names = {"passwd"};
  etc.files = {{99, 1700000002000000000}};
  cache.Put("etc", etc);
  std::string plain = cache.Encode("/srv/golden");
  cache.set_watch_token({"0123456789abcdef0123456789abcdef", 7});
  root.below = {3, 2, 4096, 2, 1, 0};
  cache.Put("", root);
  // A file of format 5 (no count of the links reaching out), which Decode still reads.
  std::string v5 = "cairn-stat-cache-5\n";
  PutLengthPrefixed(&v5, "/srv/golden");
  PutLengthPrefixed(&v5, "");  // no watcher
  PutVarint64(&v5, 0);
  PutVarint64(&v5, 1);  // one directory, the root
  PutLengthPrefixed(&v5, "");
  v5.append(Id("root").AsBytes());
  PutVarint64(&v5, 0);  // no entries
  for (uint64_t n : {3, 2, 4096, 1, 0}) PutVarint64(&v5, n);
  PutVarsint64(&v5, 2);
  PutVarsint64(&v5, 17);
  PutVarint64(&v5, 0);  // no names
  v5.append(Sha256::Of(v5).AsBytes());
  return {plain, cache.Encode("/srv/golden"), indexer::StatCache().Encode("/srv/golden"), v5};
}

// The first byte picks the decoder (fuzz/watch_wire_fuzzer.cc): even for answers, odd for
// requests; answers to the token {"0123456789abcdef0123456789abcdef", 3}.
Seeds WatchWireSeeds() {
  const std::string instance = "0123456789abcdef0123456789abcdef";
  indexer::WatchReport dirty{{instance, 4}, false, {"", "etc", std::string("a\nb"), "usr/lib"}};
  indexer::WatchReport all{{"fedcba9876543210fedcba9876543210", 1}, true, {}};
  indexer::WatchReport none{{instance, 9}, false, {}};
  const std::string answer(1, '\0'), request(1, '\1');
  return {answer + indexer::EncodeWatchAnswer(dirty), answer + indexer::EncodeWatchAnswer(all),
          answer + indexer::EncodeWatchAnswer(none),
          request + indexer::EncodeWatchRequest({2049, 131073, {instance, 3}}),
          request + indexer::EncodeWatchRequest({1, 2, {}})};
}

Seeds DebversionSeeds() {
  return {std::string("1:3.0.11-1~deb12u2\0") + "3.0.11-1~deb12u1" + '\0' + "3.0.11-1",
          std::string("2.36-9+deb12u4\0") + "2.36-9" + '\0' + "2.36~rc1",
          std::string("libssl3<3.0.13\0") + "3.0.13-1~deb12u1",
          std::string("libc6 >= 2.36\0") + "2.36-9+deb12u7",
          std::string("1.0+dfsg.1-2ubuntu0.1\0") + "1.0a" + '\0' + "1.0~~a",
          "web:3",
          "web@prod",
          "db_01.x+y"};
}

// Every kind of record, framed as `format`.
Seeds JournalSeedsIn(vmount::JournalFormat format) {
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
  all += vmount::EncodeJournalRecord(make, format);
  auto write = rec(JournalOp::kWrite, "etc/motd");
  write.data = "hello\n";
  all += vmount::EncodeJournalRecord(write, format);
  auto truncate = rec(JournalOp::kTruncate, "etc/motd");
  truncate.number = 3;
  all += vmount::EncodeJournalRecord(truncate, format);
  auto dir = rec(JournalOp::kMake, "", "srv");
  dir.entry.type = cas::EntryType::kDirectory;
  dir.entry.mode = 0755;
  all += vmount::EncodeJournalRecord(dir, format);
  auto link = rec(JournalOp::kMake, "srv", "l");
  link.entry.type = cas::EntryType::kSymlink;
  link.entry.target = "../etc/motd";
  all += vmount::EncodeJournalRecord(link, format);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kRename, "etc", "motd", "srv", "motd"), format);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kLink, "etc/passwd", "", "srv", "pw"), format);
  auto meta = rec(JournalOp::kMeta, "etc/passwd");
  meta.meta.mode = 0640;
  meta.meta.uid = 1;
  meta.meta.xattrs = {{"user.k", "v"}};
  all += vmount::EncodeJournalRecord(meta, format);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "etc", "hosts"), format);
  auto fifo = rec(JournalOp::kMake, "srv", "fifo");
  fifo.entry.type = cas::EntryType::kFifo;
  all += vmount::EncodeJournalRecord(fifo, format);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "fifo"), format);
  const std::string before_rmdir = all;
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "l"), format);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "pw"), format);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kUnlink, "srv", "motd"), format);
  all += vmount::EncodeJournalRecord(rec(JournalOp::kRmdir, "", "srv"), format);
  auto copy = rec(JournalOp::kCopyUp, "etc/passwd");
  copy.number = 7;
  return {before_rmdir, all, all.substr(0, all.size() - 3),
          vmount::EncodeJournalRecord(copy, format)};
}

// Every kind of record, replayable onto fuzz/journal_fuzzer.cc's base tree, each seed once in each
// framing (its first byte names it, as the fuzzer reads it).
Seeds JournalSeeds() {
  Seeds out;
  for (auto format : {vmount::JournalFormat::kV1, vmount::JournalFormat::kV2}) {
    for (const std::string& s : JournalSeedsIn(format))
      out.push_back(static_cast<char>(format) + s);
  }
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

const std::map<std::string, std::function<Seeds()>>& Targets() {
  static const std::map<std::string, std::function<Seeds()>> targets = {
      {"tree", TreeSeeds},
      {"version", VersionSeeds},
      {"chunk_index", ChunkIndexSeeds},
      {"disk", DiskSeeds},
      {"object", ObjectSeeds},
      {"lvm", LvmSeeds},
      {"stat_cache", StatCacheSeeds},
      {"watch_wire", WatchWireSeeds},
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
