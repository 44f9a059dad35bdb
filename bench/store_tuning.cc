// cairn_store_tuning: ingests one input file, then modified copies of it, through cas::Ingestor
// into fresh RocksStores under several configurations, and prints for each: ingest MB/s, write
// amplification, bytes on disk per logical byte and the compression ratio (db_bench style).
//
//   cairn_store_tuning --input FILE [--dir DIR] [--copies N] [--repeat R]
//                      [--configs plain-z3,blob4k-z3,...] [--threads T]
//
// A config is `plain` (object records inline in the SST files) or `blob<N>k` (records of at
// least N KiB in RocksDB's blob files), then `-z<level>` (zstd level per object, 0 = raw).
// Copy 0 is the file as it is; copy k > 0 is the file with every byte XORed with a constant:
// every chunk is new (nothing deduplicates) but compresses exactly as well, so the store grows
// to (copies x file) and compaction has real work. Every other RocksStoreOptions field
// (write_buffer_size in particular) keeps its default.
//
// Timings on a shared 2-core machine are noisy: the runs of one invocation alternate the order
// of the configs (A B C, C B A, ...) and the summary reports ratios against the first config.
#include <fmt/core.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/env.h"
#include "cas/ingestor.h"
#include "cas/rocks_store.h"

namespace cairn::bench {
namespace {

struct Config {
  std::string name;
  bool blob_files = false;
  uint64_t blob_min_size = 0;
  int zstd_level = 3;
};

std::optional<Config> ParseConfig(const std::string& name) {
  Config c;
  c.name = name;
  size_t dash = name.find("-z");
  if (dash == std::string::npos) return std::nullopt;
  std::string store = name.substr(0, dash);
  c.zstd_level = std::atoi(name.c_str() + dash + 2);
  if (store == "plain") {
    c.blob_files = false;
  } else if (store.starts_with("blob") && store.ends_with("k")) {
    c.blob_files = true;
    c.blob_min_size = std::strtoull(store.c_str() + 4, nullptr, 10) << 10;
  } else {
    return std::nullopt;
  }
  return c;
}

// The input with every byte XORed with `mask` (0: unchanged).
class XorFile : public SequentialFile {
 public:
  XorFile(std::unique_ptr<SequentialFile> base, uint8_t mask)
      : base_(std::move(base)), mask_(mask) {}
  Result<size_t> Read(char* buf, size_t n) override {
    CAIRN_ASSIGN_OR_RETURN(size_t got, base_->Read(buf, n));
    if (mask_ != 0) {
      for (size_t i = 0; i < got; ++i) buf[i] = static_cast<char>(buf[i] ^ mask_);
    }
    return got;
  }
  uint64_t Size() const override { return base_->Size(); }

 private:
  std::unique_ptr<SequentialFile> base_;
  uint8_t mask_;
};

struct ProcIo {
  uint64_t write_bytes = 0;
  uint64_t cancelled_write_bytes = 0;
};
ProcIo ReadProcIo() {
  ProcIo r;
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t v;
  while (in >> key >> v) {
    if (key == "write_bytes:") r.write_bytes = v;
    if (key == "cancelled_write_bytes:") r.cancelled_write_bytes = v;
  }
  return r;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](timeval t) { return t.tv_sec + t.tv_usec / 1e6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

// Bytes allocated on disk under `dir` (as `du -s --block-size=1`).
uint64_t DiskUsage(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0) total += uint64_t(st.st_blocks) * 512;
  }
  return total;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

struct Figures {
  double ingest_s = 0;   // first byte to Finish() returned (all memtables flushed)
  double settled_s = 0;  // ... and background compactions finished
  double cpu_s = 0;      // process CPU (user + sys) over settled_s
  uint64_t logical = 0;  // bytes given to the ingestor
  uint64_t bytes_new = 0, bytes_stored = 0;
  cas::RocksIoStats io;
  uint64_t disk_writes = 0;  // /proc/self/io write_bytes - cancelled_write_bytes
  uint64_t du = 0;           // allocated bytes of the db directory after close
};

// Write amplification as RocksDB counts it: every byte written to the WAL and by flushes and
// compactions. In RocksDB 7.8 FLUSH_WRITE_BYTES and COMPACT_WRITE_BYTES already include the blob
// files those jobs write (measured: flush + compaction = blob + SST bytes = /proc/self/io), so
// BLOB_DB_BLOB_FILE_BYTES_WRITTEN is the part of them that went to blob files, not an addend.
double WriteAmp(const Figures& f) {
  return double(f.io.wal_bytes + f.io.flush_write_bytes + f.io.compact_write_bytes) / f.logical;
}

Result<Figures> RunOne(const Config& c, const std::string& input, const std::string& dir,
                       int copies, int threads) {
  std::filesystem::remove_all(dir);
  cas::RocksStoreOptions so;  // defaults, except what the config varies
  so.create_if_missing = true;
  so.statistics = true;
  so.blob_files = c.blob_files;
  if (c.blob_files) so.blob_min_size = c.blob_min_size;
  CAIRN_ASSIGN_OR_RETURN(auto store, cas::RocksStore::Open(dir, so));
  cas::IngestOptions io;
  io.zstd_level = c.zstd_level;
  if (threads > 0) io.threads = threads;

  Figures f;
  ProcIo io0 = ReadProcIo();
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  {
    cas::Ingestor ingestor(store.get(), io);
    for (int k = 0; k < copies; ++k) {
      CAIRN_ASSIGN_OR_RETURN(auto base, Env::Default()->NewSequentialFile(input));
      XorFile file(std::move(base), k == 0 ? 0 : static_cast<uint8_t>(0x5A + k));
      CAIRN_ASSIGN_OR_RETURN(auto content, ingestor.PutStream(&file, input));
      (void)content;
    }
    CAIRN_RETURN_IF_ERROR(ingestor.Finish());
    f.logical = ingestor.stats().bytes_in;
    f.bytes_new = ingestor.stats().bytes_new;
    f.bytes_stored = ingestor.stats().bytes_stored;
  }
  auto t1 = std::chrono::steady_clock::now();
  CAIRN_RETURN_IF_ERROR(store->WaitForCompactions());
  auto t2 = std::chrono::steady_clock::now();
  f.cpu_s = CpuSeconds() - cpu0;
  f.io = store->IoStats();
  store.reset();  // close: obsolete files are deleted
  ProcIo io1 = ReadProcIo();
  f.ingest_s = std::chrono::duration<double>(t1 - t0).count();
  f.settled_s = std::chrono::duration<double>(t2 - t0).count();
  f.disk_writes = (io1.write_bytes - io0.write_bytes) -
                  (io1.cancelled_write_bytes - io0.cancelled_write_bytes);
  f.du = DiskUsage(dir);
  std::filesystem::remove_all(dir);
  return f;
}

constexpr double kMB = 1e6;
constexpr double kGB = 1e9;

void PrintRow(const std::string& name, const Figures& f) {
  fmt::print("{:<12} {:>7.1f} {:>7.1f} {:>6.2f} | {:>5.2f} {:>5.2f} {:>5.2f} {:>5.2f} {:>5.2f} | "
             "{:>5.2f} {:>5.2f} | {:>6.3f} {:>6.3f}\n",
             name, f.logical / kMB / f.ingest_s, f.logical / kMB / f.settled_s,
             f.cpu_s / (f.logical / kGB), f.io.wal_bytes / kGB, f.io.flush_write_bytes / kGB,
             f.io.compact_write_bytes / kGB, f.io.blob_write_bytes / kGB,
             f.disk_writes / kGB, WriteAmp(f), double(f.disk_writes) / f.logical,
             double(f.du) / f.logical, double(f.bytes_stored) / f.bytes_new);
}

void PrintTableHead() {
  fmt::print("{:<12} {:>7} {:>7} {:>6} | {:>5} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} | {:>6} {:>6}\n",
             "config", "ingest", "settled", "cpu", "wal", "flush", "compac", "blob", "disk",
             "WA", "WAdisk", "space", "zratio");
  fmt::print("{:<12} {:>7} {:>7} {:>6} | {:>5} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} | {:>6} {:>6}\n",
             "", "MB/s", "MB/s", "s/GB", "GB", "GB", "GB", "GB", "GB", "", "", "du/log",
             "st/raw");
}

int Main(int argc, char** argv) {
  std::string input, dir = "/tmp/cairn-bench/tuning";
  std::string configs = "plain-z3,blob4k-z3,blob64k-z3,blob4k-z0,blob4k-z1,blob4k-z6";
  int copies = 2, repeat = 2, threads = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "cairn_store_tuning: {} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--input") input = value();
    else if (a == "--dir") dir = value();
    else if (a == "--configs") configs = value();
    else if (a == "--copies") copies = std::atoi(value().c_str());
    else if (a == "--repeat") repeat = std::atoi(value().c_str());
    else if (a == "--threads") threads = std::atoi(value().c_str());
    else {
      fmt::print(stderr,
                 "usage: cairn_store_tuning --input FILE [--dir DIR] [--copies N] [--repeat R]\n"
                 "       [--configs plain-z3,blob4k-z3,...] [--threads T]\n");
      return 2;
    }
  }
  if (input.empty() || copies < 1 || repeat < 1) {
    fmt::print(stderr, "cairn_store_tuning: --input FILE is required (see --help)\n");
    return 2;
  }
  std::vector<Config> list;
  for (size_t pos = 0; pos <= configs.size();) {
    size_t comma = std::min(configs.find(',', pos), configs.size());
    auto c = ParseConfig(configs.substr(pos, comma - pos));
    if (!c) {
      fmt::print(stderr, "cairn_store_tuning: bad config '{}' (plain-zN or blobNk-zN)\n",
                 configs.substr(pos, comma - pos));
      return 2;
    }
    list.push_back(*c);
    pos = comma + 1;
  }

  utsname un{};
  uname(&un);
  std::error_code ec;
  uint64_t input_size = std::filesystem::file_size(input, ec);
  fmt::print("cairn_store_tuning  cairn {}  build {}  {} {}\n", CAIRN_VERSION, CAIRN_BUILD_TYPE,
             un.sysname, un.release);
  fmt::print("CPU: {} x {}\n", std::thread::hardware_concurrency(), CpuModel());
  fmt::print("input: {} ({:.0f} MB) x {} copies = {:.0f} MB per config; db in {}\n", input,
             input_size / kMB, copies, copies * input_size / kMB, dir);
  cas::RocksStoreOptions defaults;
  fmt::print("store defaults: write_buffer_size {} MiB, blob_files {}, blob_min_size {}\n",
             defaults.write_buffer_size >> 20, defaults.blob_files, defaults.blob_min_size);
#ifndef NDEBUG
  fmt::print("WARNING: assertions are enabled: figures are not representative\n");
#endif
#ifndef __OPTIMIZE__
  fmt::print("WARNING: built without optimisation: figures are not representative\n");
#endif
  fmt::print(
      "columns: ingest = logical MB / time to Finish(); settled = ... until compactions end;\n"
      "  cpu = process CPU seconds per logical GB; wal/flush/compac/blob = RocksDB statistics;\n"
      "  disk = bytes this process sent to storage (/proc/self/io);\n"
      "  WA = (wal + flush + compac) / logical (blob = the part of flush + compac that went to\n"
      "  blob files); WAdisk = disk / logical;\n"
      "  space = du of the db / logical; zratio = stored record bytes / raw bytes of new objects\n\n");
  PrintTableHead();

  std::map<std::string, std::vector<Figures>> all;
  for (int r = 0; r < repeat; ++r) {
    std::vector<Config> order = list;
    if (r % 2 == 1) std::reverse(order.begin(), order.end());
    for (const auto& c : order) {
      auto f = RunOne(c, input, dir, copies, threads);
      if (!f) {
        fmt::print(stderr, "cairn_store_tuning: {}: {}\n", c.name, f.error().ToString());
        return 1;
      }
      PrintRow(c.name, *f);
      std::fflush(stdout);
      all[c.name].push_back(*f);
    }
  }

  // Summary: the mean of the repeats, and ratios against the first config.
  auto mean = [&](const std::string& name, auto get) {
    double s = 0;
    for (const auto& f : all[name]) s += get(f);
    return s / all[name].size();
  };
  const std::string& base = list[0].name;
  auto ingest = [](const Figures& f) { return f.logical / kMB / f.ingest_s; };
  auto settled = [](const Figures& f) { return f.logical / kMB / f.settled_s; };
  auto cpu = [](const Figures& f) { return f.cpu_s / (f.logical / kGB); };
  auto wa = [](const Figures& f) { return WriteAmp(f); };
  auto wadisk = [](const Figures& f) { return double(f.disk_writes) / f.logical; };
  auto space = [](const Figures& f) { return double(f.du) / f.logical; };
  fmt::print("\nsummary: mean of {} run(s); (x) = ratio to {}\n", repeat, base);
  fmt::print("{:<12} {:>15} {:>15} {:>13} {:>13} {:>13} {:>15}\n", "config", "ingest MB/s",
             "settled MB/s", "cpu s/GB", "WA", "WAdisk", "space du/log");
  for (const auto& c : list) {
    auto cell = [&](auto get) {
      return fmt::format("{:.2f} ({:.2f})", mean(c.name, get), mean(c.name, get) / mean(base, get));
    };
    fmt::print("{:<12} {:>15} {:>15} {:>13} {:>13} {:>13} {:>15}\n", c.name, cell(ingest),
               cell(settled), cell(cpu), cell(wa), cell(wadisk), cell(space));
  }
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
