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

// How records are framed; the journal's header names it (docs/vmount.md). Version 1 frames a
// record by its length alone; version 2 adds a checksum of the length and one of the payload, so
// damage anywhere is found, never replayed or taken for the journal's end.
enum class JournalFormat : uint8_t { kV1 = 1, kV2 = 2 };

// One framed record. Version 1: fixed32 payload length, payload. Version 2: fixed32 payload
// length, fixed32 CRC-32 of those 4 bytes, fixed32 CRC-32 of the payload, payload.
std::string EncodeJournalRecord(const JournalRecord& r, JournalFormat format = JournalFormat::kV2);

struct DecodedJournal {
  std::vector<JournalRecord> records;
  // The bytes the records take; the rest of the data is a torn last record.
  size_t whole_bytes = 0;
};
// The records framed in `data`, in order. A torn last record (a crash while appending: cut
// short, or, in version 2, its bytes not all written, or zeros to the end) is left out; anything
// else undecodable, or a checksum that does not match, is Corruption naming the record.
Result<DecodedJournal> DecodeJournalRecords(std::string_view data,
                                            JournalFormat format = JournalFormat::kV2);
// Replays one record onto `tree`.
Status ApplyJournalRecord(MutableTree* tree, const JournalRecord& r);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_JOURNAL_H_
