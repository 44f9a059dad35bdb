// cairn checkin SOURCE --image NAME [-m MSG] [--parent NAME[:VER]] [--paranoid] [--via
// auto|fast|guestfs]
#include <fmt/core.h>
#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/heap_warmer.h"
#include "base/phase_timer.h"
#include "base/progress.h"
#include "catalog/catalog.h"
#include "catalog/checkin.h"
#include "indexer/dir_prefetch.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {

int RunCheckin(const Args& args) {
  const CommandSpec spec{
      "checkin",
      "checkin SOURCE --image NAME [-m MSG] [--parent NAME[:VER]] [--paranoid] [--via "
      "auto|fast|guestfs]",
      "Store SOURCE (a directory, a tarball: tar, tar.gz, tar.zst, or a disk image: raw, qcow2,\n"
      "vmdk, vdi, vhdx, recognised by content; - is a tarball on standard input) as the next\n"
      "version of image NAME and print it (NAME:N) and its id. With --parent, files of a\n"
      "directory whose inode, size, mtime and ctime are unchanged since the parent was checked\n"
      "in from the same directory on this host are not read again: the parent holds their\n"
      "contents, and the stat cache in $CAIRN_CACHE_DIR (default ~/.cache/cairn) their inodes\n"
      "and ctimes. A disk image is read through a read-only loop mount when it is raw\n"
      "ext2/3/4 and cairn runs as root (fast), else through libguestfs (an appliance under\n"
      "qemu: 15-25 s to start without KVM)."};
  std::string repo;
  catalog::CheckinRequest req;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("image,i", po::value(&req.image)->required()->value_name("NAME"),
                     "image name")("message,m", po::value(&req.message)->value_name("MSG"),
                                   "a message for the version")(
      "parent,p", po::value(&req.parent)->value_name("NAME[:VER]"),
      "the version this one derives from (provenance; enables the stat cache)")(
      "paranoid", po::bool_switch(&req.paranoid), "re-read every file even with --parent")(
      "skip-unreadable", po::bool_switch(&req.options.skip_unreadable),
      "leave out files that cannot be read and directories that cannot be listed\n(each named on "
      "stderr) instead of failing")("author", po::value(&req.author)->value_name("WHO"),
                                    "author (default: $USER@host)")(
      "via",
      po::value(&req.options.disk_path)->value_name("HOW")->notifier([](const std::string& v) {
        if (v != "auto" && v != "fast" && v != "guestfs") {
          throw po::error("--via '" + v + "': expected auto, fast or guestfs");
        }
      }),
      "disk images: auto (default), fast or guestfs")("json", "print the result as JSON")(
      "source", po::value(&req.source)->required(),
      "directory, tarball or disk image; - for a tarball on standard input");
  po::positional_options_description pos;
  pos.add("source", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  // What can be refused without the repository is refused before it is opened: opening it to
  // write makes RocksDB write a new MANIFEST and OPTIONS, and a failed checkin leaves even the
  // repository's files as they were. (CheckinVersion checks the same again.)
  if (Status s = catalog::ValidateImageName(req.image); !s.ok()) {
    return Fail(Status(s.code(), "checkin --image: image " + s.message()));
  }
  if (!req.parent.empty()) {
    if (auto p = catalog::ParseVersionSpec(req.parent); !p) return Fail(p.error());
  }
  if (struct stat st; req.source != "-" && ::stat(req.source.c_str(), &st) != 0) {
    return Fail(ErrnoStatus("checkin", req.source, errno));
  }
  // With CAIRN_TIMING set, opening and closing the repository print their wall time to stderr
  // beside the phases of the checkin itself (catalog/checkin.cc), for benchmarks.
  PhaseTimer timer;
  auto mark = [&](const char* phase) { timer.Mark(phase); };
  // Heap pages faulted in on the core that idles while the repository opens: a checkin's
  // reads, records and batches then take pages touched already (base/heap_warmer.h; 16 MiB:
  // 7,300 -> 4,000 faults and 148 -> 135 ms for a warm incremental checkin of corpus v3,
  // where 24 MiB was slower again; three blocks of 6 MiB since session 22).
  HeapWarmer warmer(3 * HeapWarmer::kBlockBytes);
  // An incremental checkin of a directory loads its stat cache and starts scanning while the
  // repository opens (indexer/dir_prefetch.h): opening takes 10-20 ms on one core.
  if (!req.parent.empty() && !req.paranoid) {
    req.options.prefetch = indexer::DirPrefetch::ForSource(req.source, req.options);
  }
  bool waited = false;
  auto r = OpenRepository(repo, cas::Repository::Mode::kWrite, &waited);
  if (!r) return Fail(r.error());
  // What the prefetch saw (the watcher's answer, the scans ahead) is from before a wait for
  // another writer, which may take a minute: an edit made meanwhile would be missed where the
  // walk takes a scan whose directory did not change (a file written in place). Seen again.
  if (waited && req.options.prefetch) {
    req.options.prefetch.reset();
    req.options.prefetch = indexer::DirPrefetch::ForSource(req.source, req.options);
  }
  if (req.options.prefetch) req.options.prefetch->SetStore((*r)->store());
  mark("open");
  Progress progress("checkin " + req.image, 0);
  req.options.progress = &progress;
  auto out = catalog::CheckinVersion(**r, req);
  progress.Done();
  mark("checkin");
  r->reset();  // closes the store: its flushes and compactions are part of the command's time
  mark("close");
  if (!out) return Fail(out.error());
  for (const auto& s : out->result.skipped) fmt::print(stderr, "cairn: skipped unreadable {}\n", s);
  for (const auto& w : out->result.warnings) fmt::print(stderr, "cairn: warning: {}\n", w);
  const auto& res = out->result;
  if (vm.count("json")) {
    nlohmann::json j = {{"version", out->version.Name()},
                        {"id", out->version.id.ToHex()},
                        {"root", res.root.ToHex()},
                        {"files", res.files},
                        {"dirs", res.dirs},
                        {"bytes", res.bytes},
                        {"bytes_read", res.bytes_read},
                        {"files_cached", res.files_cached},
                        {"dirs_unwalked", res.dirs_unwalked},
                        {"watcher", res.watcher},
                        {"disk", res.disk.IsZero() ? "" : res.disk.ToHex()},
                        {"disk_path", res.disk_path},
                        {"disk_path_reason", res.disk_path_reason},
                        {"objects_new", out->objects_new},
                        {"bytes_new", out->bytes_new},
                        {"bytes_stored", out->bytes_stored},
                        {"skipped", res.skipped},
                        {"warnings", res.warnings}};
    PrintJson(std::move(j));
  } else {
    fmt::print("{} {}\n", out->version.Name(), out->version.id.ToHex());
  }
  return ExitNow(kExitOk);
}

}  // namespace cairn::tools
