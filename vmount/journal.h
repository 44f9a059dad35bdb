// The edit journal of a writable mount: one record per change to the namespace or metadata,
// appended by the mount process as each change is made, replayed onto a fresh MutableTree to
// resume an edit after the mount process died. The bytes of a file copied up live in its upper
// file, whose number a kCopyUp record binds to a path; the bytes of a small new file held in
// memory (MutableTree::WriteInMemory) are journaled with each write (kWrite, kTruncate).
// Format: docs/vmount.md.
#ifndef CAIRN_VMOUNT_JOURNAL_H_
#define CAIRN_VMOUNT_JOURNAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "vmount/mutable_tree.h"

namespace cairn::vmount {

// Stable numbers (on disk).
enum class JournalOp : uint8_t {
  kMake = 1,    // path/name: new entry `entry`
  kUnlink = 2,  // path/name
  kRmdir = 3,   // path/name
  kRename = 4,  // path/name -> path2/name2, flags in `number`
  kLink = 5,    // the file at `path` gets the new name path2/name2
  kMeta = 6,    // the entry at `path` gets metadata `meta`
  kCopyUp = 7,  // the file at `path` reads from upper file `number`
  kWrite = 8,   // the file at `path`, held in memory, gets `data` at offset `number`
  kTruncate = 9,  // the file at `path` is held in memory and cut to `number` bytes
};

struct JournalRecord {
  JournalOp op = JournalOp::kMake;
  std::string path;  // a directory for kMake, kUnlink, kRmdir, kRename; else the entry itself
  std::string name;
  std::string path2, name2;
  NewEntry entry;
  cas::Metadata meta;
  uint64_t number = 0;
  Timestamp now;
  std::string data;  // kWrite only
};

// One framed record: fixed32 payload length, payload.
std::string EncodeJournalRecord(const JournalRecord& r);
// The records framed in `data`, in order. A torn last record (a crash while appending) is
// dropped; anything else undecodable is Corruption.
Result<std::vector<JournalRecord>> DecodeJournalRecords(std::string_view data);
// Replays one record onto `tree`.
Status ApplyJournalRecord(MutableTree* tree, const JournalRecord& r);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_JOURNAL_H_
