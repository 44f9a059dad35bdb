// cairn: the command-line interface. Dispatches to one subcommand per file (tools/cmd_*.cc).
#include <fmt/core.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>
#include <system_error>

#include "base/interrupt.h"
#include "base/large_stack.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace {

struct Entry {
  const char* name;
  const char* summary;
  int (*run)(const cairn::tools::Args&);
};

constexpr Entry kCommands[] = {
    {"init", "create a repository", cairn::tools::RunInit},
    {"checkin", "store a directory or tarball as a new version of an image", cairn::tools::RunCheckin},
    {"checkout", "write a version out as a directory or tarball", cairn::tools::RunCheckout},
    {"watch", "follow a directory so that incremental checkins of it stat only what changed",
     cairn::tools::RunWatch},
    {"images", "list images", cairn::tools::RunImages},
    {"versions", "list the versions of an image", cairn::tools::RunVersions},
    {"ls", "list the files of a version", cairn::tools::RunLs},
    {"cat", "write one file of a version to stdout", cairn::tools::RunCat},
    {"log", "the history of an image", cairn::tools::RunLog},
    {"show", "describe a version: size, OS, packages, parents, tags", cairn::tools::RunShow},
    {"provenance", "where a version came from and what derives from it", cairn::tools::RunProvenance},
    {"diff", "compare two versions, files and packages", cairn::tools::RunDiff},
    {"search", "find versions by path, content sha256 or package", cairn::tools::RunSearch},
    {"tag", "name a version (NAME@TAG)", cairn::tools::RunTag},
    {"clone", "derive a new image from a version without copying", cairn::tools::RunClone},
    {"rm", "mark a version deleted", cairn::tools::RunRm},
    {"restore", "bring back a deleted version", cairn::tools::RunRestore},
    {"purge", "forget deleted versions", cairn::tools::RunPurge},
    {"gc", "free objects no version reaches", cairn::tools::RunGc},
    {"vmount", "mount a version (--rw: writable, edits kept in an overlay)", cairn::tools::RunVmount},
    {"umount", "unmount a cairn mount", cairn::tools::RunUmount},
    {"commit", "store a writable mount's edit as a new version", cairn::tools::RunCommit},
    {"discard", "drop a writable mount's uncommitted edit", cairn::tools::RunDiscard},
    {"mounts", "list mounts and which hold uncommitted edits", cairn::tools::RunMounts},
    {"put", "store files; print one id per file", cairn::tools::RunPut},
    {"get", "write a stored file's content back", cairn::tools::RunGet},
    {"verify", "re-read and re-hash every object", cairn::tools::RunVerify},
    {"stats", "objects, bytes, dedup and compression ratios", cairn::tools::RunStats},
};

void Usage(std::ostream& out) {
  out << "usage: cairn COMMAND [OPTIONS] [ARGS]\n\n"
         "cairn stores virtual-machine images as structured, deduplicated data.\n\n"
         "Commands:\n";
  for (const auto& c : kCommands) out << fmt::format("  {:<10} {}\n", c.name, c.summary);
  out << "\nEvery command takes --help, and all but watch take --repo DIR (default:\n"
         "$CAIRN_REPO, else ~/.local/share/cairn, created on first use).\n\n"
      << cairn::tools::kExitCodeHelp;
}

}  // namespace

#ifdef CAIRN_JEMALLOC
// jemalloc's options, read at its first allocation (CMakeLists.txt, CAIRN_JEMALLOC): one arena,
// as fast here as the default eight (per-thread caches take the small allocations) and with less
// memory held (peak RSS of a 1.5 GiB put: 104-117 MiB; eight arenas took 167-190 MiB).
// Huge pages (2 MiB) for everything jemalloc maps: on this class of VM (a paravirtualised MMU)
// a 4 KiB page costs ~5 us at its first touch even after madvise(MADV_POPULATE_WRITE) has
// faulted it in (the hypervisor maps it only then), so 16 MiB took ~3 ms to populate and 20 ms
// more to touch; a 2 MiB page is populated and mapped at once: 16 MiB in ~1 ms, touched in
// 0.1 ms. Warm checkins of corpus v3, alternated, each right after the last: incremental 124 ->
// 91 ms, full 1,057 -> 935 ms (minor faults 7,100 -> 670 and 17,400 -> 1,400); with memory
// fragmented and no free 2 MiB block left, 152 -> 107 ms, 6 compaction stalls in 8 runs. After
// 4 s idle the host has taken back the freed memory and a first touch costs ~3 ms per 2 MiB page
// (zeroing it faults it in on the host): the incremental is then no faster (146 vs 145 ms), the
// full checkin still is (1,145 -> 1,021 ms) (docs/benchmarks.md, session 18). Session 9 had
// turned them off on an earlier machine, where faults stalled on compaction.
// Any free extent may be split for a smaller request (lg_extent_max_active_fit; jemalloc's
// default refuses extents over 64 times the request): the blocks base/heap_warmer.h faults in
// and frees are such extents, and small allocations went past them to fresh huge pages. Warm
// incremental checkin of corpus v3, alternated rounds: 85.8 -> 83.0 ms, CPU 126.8 -> 122.3 ms
// (20 rounds), 90.2 -> 84.3 ms (16), but 82.8 -> 84.7 ms in one set of 10; a full checkin of v3
// the same (789 vs 791 ms, peak RSS 72 vs 74 MB) (docs/benchmarks.md, session 21).
extern "C" {
const char* malloc_conf = "narenas:1,thp:always,lg_extent_max_active_fit:30";
}
#endif

int main(int argc, char** argv) {
#ifndef CAIRN_JEMALLOC
  // Reads and writes pass many 64-256 KiB buffers through short-lived strings. glibc would
  // serve those from fresh mmaps (or trim the heap after each), faulting every page in again:
  // 15% of `cairn get` went to page faults. Keep them on the heap and the heap untrimmed.
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
  // RocksDB keeps up to 512 tables open and a checkin's readers up to 64 files each (they fall
  // back to one at a time when none is free): the soft limit of 1,024 is raised towards the
  // hard one, as any process may. Not past 65,536: children (qemu, mkfs) inherit it, and some
  // close every descriptor up to it.
  if (struct rlimit fds; ::getrlimit(RLIMIT_NOFILE, &fds) == 0) {
    const rlim_t want = std::min<rlim_t>(fds.rlim_max, 65536);
    if (fds.rlim_cur < want) {
      fds.rlim_cur = want;
      ::setrlimit(RLIMIT_NOFILE, &fds);
    }
  }
  if (argc < 2) {
    Usage(std::cerr);
    return cairn::tools::kExitUsage;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    Usage(std::cout);
    return cairn::tools::ExitNow(0);
  }
  if (cmd == "--version") {
    std::cout << "cairn 0.1.0\n";
    return cairn::tools::ExitNow(0);
  }
  cairn::tools::Args args(argv + 2, argv + argc);
  // Each command closes what it opened before it returns; what is left at exit (the static
  // objects' destructors, RocksDB's idle thread pools) is the kernel's to drop: ~2 ms of CPU of
  // `cairn versions` or `cairn ls` here (tools/cli.h, ExitNow).
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    // The commands that undo what they wrote when they fail do so when interrupted too, then
    // end by the signal (base/interrupt.h); the others are ended by it at once, as before.
    const bool undoes = cmd == "checkin" || cmd == "put";
    if (undoes) cairn::InstallInterruptHandlers();
    try {
      // On a stack of its own: the walks of a tree recurse once per directory level, up to
      // kMaxDepth (base/large_stack.h). Not the commands that serve in the foreground and take
      // their own signals (a FUSE mount, the tree watcher).
      int rc = cairn::tools::kExitInternal;
      auto run = [&] { rc = c.run(args); };
      if (cmd == "vmount" || cmd == "watch") {
        run();
      } else {
        cairn::RunWithStack(cairn::kWalkStackBytes, run);
      }
      if (undoes && rc != cairn::tools::kExitOk) cairn::ReraiseInterrupt();
      return cairn::tools::ExitNow(rc);
    } catch (const std::system_error& e) {
      // fmt::print throws when standard output cannot take a listing (a full disk, a closed
      // descriptor): what ExitNow reports for a short one. Anything else is a bug.
      if (std::ferror(stdout)) return cairn::tools::FailOutput(e.code().value());
      fmt::print(stderr, "cairn {}: internal error: {}\n", cmd, e.what());
      return cairn::tools::kExitInternal;
    } catch (const std::exception& e) {  // a bug: say so, never abort with a core dump
      fmt::print(stderr, "cairn {}: internal error: {}\n", cmd, e.what());
      return cairn::tools::kExitInternal;
    }
  }
  fmt::print(stderr, "cairn: unknown command '{}' (see `cairn --help`)\n", cmd);
  return cairn::tools::kExitUsage;
}
