// A writable mount's journal (docs/vmount.md) is replayed after its process died: whatever the
// file holds (a torn tail, damage), decoding must give records that encode back to the bytes
// they came from, or Corruption; the input's first byte picks the framing (odd: version 2, with
// checksums; even: version 1, whose lack of them lets the fuzzer reach the payload decoder);
// replaying them onto a tree must apply or refuse each; and the commit that follows must store only
// Trees that decode, so that no journal can make a version a checkout would refuse or be led astray
// by.
#include <unistd.h>

#include <filesystem>

#include "cas/ingestor.h"
#include "cas/memory_store.h"
#include "cas/tree.h"
#include "cas/tree_reader.h"
#include "fuzz/fuzz_check.h"
#include "vmount/journal.h"
#include "vmount/mutable_tree.h"

using namespace cairn;

namespace {

cas::TreeEntry Entry(std::string name, cas::EntryType type, ObjectId id = ObjectId(),
                     uint64_t size = 0) {
  cas::TreeEntry e;
  e.name = std::move(name);
  e.type = type;
  e.id = id;
  e.size = size;
  e.meta.mode = 0644;
  e.meta.mtime_sec = 1600000000;
  return e;
}

// A store holding etc/passwd, etc/hosts (a hard link of passwd), bin -> usr/bin, and the root.
struct Base {
  cas::MemoryStore store;
  ObjectId root;
  std::string upper;
  Base() {
    upper = std::filesystem::temp_directory_path() /
            ("cairn-fuzz-journal-" + std::to_string(::getpid()));
    std::filesystem::create_directories(upper);
    cas::Ingestor ing(&store, fuzz::SmallIngestOptions());
    auto passwd = ing.PutBytes("root:x:0:0::/root:/bin/sh\n");
    cas::Tree etc;
    etc.meta.mode = 0755;
    etc.entries = {Entry("hosts", cas::EntryType::kRegular, passwd->id, passwd->size),
                   Entry("passwd", cas::EntryType::kRegular, passwd->id, passwd->size)};
    auto etc_id = ing.PutObject(cas::ObjectType::kTree, cas::EncodeTree(etc));
    cas::Tree top;
    top.meta.mode = 0755;
    auto bin = Entry("bin", cas::EntryType::kSymlink);
    bin.target = "usr/bin";
    top.entries = {bin, Entry("etc", cas::EntryType::kDirectory, *etc_id)};
    top.hardlinks = {{"etc/hosts", "etc/passwd"}};
    root = *ing.PutObject(cas::ObjectType::kTree, cas::EncodeTree(top));
    FUZZ_CHECK(ing.Finish().ok(), "the base tree is stored");
  }
  ~Base() {
    std::error_code ec;
    std::filesystem::remove_all(upper, ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Base base_;
  Base* base = &base_;
  if (size == 0) return 0;
  const auto format = data[0] & 1 ? vmount::JournalFormat::kV2 : vmount::JournalFormat::kV1;
  const std::string_view in = fuzz::Bytes(data + 1, size - 1);
  auto decoded = vmount::DecodeJournalRecords(in, format);
  if (!decoded) {
    FUZZ_CHECK(decoded.error().IsCorruption(), decoded.error().ToString());
    return 0;
  }
  const auto& records = decoded->records;
  std::string again;
  for (const auto& r : records) again += vmount::EncodeJournalRecord(r, format);
  FUZZ_CHECK(in.starts_with(again), fuzz::FirstDifference(again, in));
  FUZZ_CHECK(again.size() == decoded->whole_bytes, "the records' bytes are counted");

  auto tree = vmount::MutableTree::Open(&base->store, base->root, base->upper);
  FUZZ_CHECK(static_cast<bool>(tree), "the base opens");
  for (const auto& r : records) (void)vmount::ApplyJournalRecord(tree->get(), r);
  cas::Ingestor ing(&base->store, fuzz::SmallIngestOptions());
  auto committed = (*tree)->Commit(&ing);
  Status finished = ing.Finish();
  if (!committed || !finished.ok()) return 0;
  Status walked = cas::WalkTree(&base->store, *committed, "",
                                [](const std::string&, const cas::TreeEntry&) { return true; });
  FUZZ_CHECK(walked.ok(),
             "a replayed journal committed a tree that does not read back: " + walked.ToString());
  return 0;
}
