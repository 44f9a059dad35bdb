// Tarballs come from anywhere (issue 3: hostile names, symlinks, hard links pointing out). The
// input is any bytes (tar or cpio, plain or compressed, are taken; other formats refused). Checked
// in, it must be stored or refused with InvalidArgument, Corruption or NotSupported; stored, its
// checkout to a directory must write nothing outside the target, whatever the names, and its
// checkout to a tarball must check in again to the same root id (the tar round trip keeps
// everything).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "fuzz/fuzz_check.h"
#include "indexer/dir_sink.h"
#include "indexer/tar_sink.h"
#include "indexer/tar_source.h"

using namespace cairn;
namespace fs = std::filesystem;

namespace {

Result<indexer::CheckinResult> CheckIn(
    cas::MemoryStore* store, const std::string& path,
    indexer::TarSource::Memory memory = indexer::TarSource::Memory::kBounded) {
  cas::Ingestor ing(store, fuzz::SmallIngestOptions());
  indexer::CheckinOptions co;
  co.stat_cache_dir = "";
  indexer::TarSource src(path, memory);
  auto r = src.Checkin(&ing, co);
  Status s = r ? ing.Finish() : ing.Abort();
  if (!s.ok() && r) return s;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // In memory (tmpfs) when there is one: thousands of small checkouts a minute.
  struct Sandbox {
    fs::path path =
        (fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path()) /
        ("cairn-fuzz-tar-" + std::to_string(::getpid()));
    ~Sandbox() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  static const Sandbox box;
  const fs::path& sandbox = box.path;
  fs::remove_all(sandbox);
  fs::create_directories(sandbox / "OUTSIDE");
  const std::string in = (sandbox / "in.tar").string();
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));

  cas::MemoryStore store;
  auto r = CheckIn(&store, in);
  // Directories sealed as the entries leave them, and held again when entries come back,
  // give the Trees of a reader that holds every entry to the end.
  cas::MemoryStore whole_store;
  auto whole = CheckIn(&whole_store, in, indexer::TarSource::Memory::kWholeTree);
  FUZZ_CHECK(r.has_value() == whole.has_value(),
             std::string("bounded and whole-tree readers disagree: ") +
                 (r ? whole.error().ToString() : r.error().ToString()));
  if (!r) {
    const Code c = r.error().code();
    FUZZ_CHECK(c == Code::kInvalidArgument || c == Code::kCorruption || c == Code::kNotSupported,
               r.error().ToString());
    return 0;
  }
  FUZZ_CHECK(r->root == whole->root && r->files == whole->files && r->dirs == whole->dirs &&
                 r->bytes == whole->bytes,
             "bounded and whole-tree readers store different trees: " + r->root.ToHex() + " vs " +
                 whole->root.ToHex());

  indexer::DirSink dir((sandbox / "target").string(), 1);
  (void)dir.Checkout(&store, r->root, indexer::CheckoutOptions{});
  for (const auto& e : fs::directory_iterator(sandbox)) {
    const std::string name = e.path().filename().string();
    FUZZ_CHECK(name == "OUTSIDE" || name == "target" || name == "in.tar",
               "checkout wrote " + name + " beside its target");
  }
  FUZZ_CHECK(fs::is_empty(sandbox / "OUTSIDE"),
             "checkout wrote into a directory beside its target");

  const std::string out = (sandbox / "out.tar").string();
  indexer::TarSink tar(out, "tar");
  auto written = tar.Checkout(&store, r->root, indexer::CheckoutOptions{});
  FUZZ_CHECK(static_cast<bool>(written),
             "a stored tree checks out as a tarball: " + written.status().ToString());
  if (written->left_out.empty()) {
    cas::MemoryStore again;
    auto back = CheckIn(&again, out);
    FUZZ_CHECK(static_cast<bool>(back),
               "cairn's own tarball checks in: " + back.status().ToString());
    FUZZ_CHECK(back->root == r->root, "the tar round trip changed the root id");
  }
  return 0;
}
