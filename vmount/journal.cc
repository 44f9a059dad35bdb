#include "vmount/journal.h"

#include <algorithm>
#include <optional>

#include "base/coding.h"
#include "base/crc32.h"
#include "cas/tree.h"

namespace cairn::vmount {
namespace {

constexpr size_t kV2FrameSize = 12;  // length, its CRC, the payload's CRC

bool AllZero(std::string_view data) {
  return std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
}

Status BadRecord(size_t number, std::string_view what) {
  return Status::Corruption("read journal: record " + std::to_string(number) + " " +
                            std::string(what));
}

// The payload of the next record of `data` (advanced past it), or none when the rest is a torn
// last record. Version 2's checksums are checked here.
using Payload = std::optional<std::string_view>;
Result<Payload> NextPayload(std::string_view* data, JournalFormat format, size_t number) {
  if (format == JournalFormat::kV1) {
    std::string_view rest = *data;
    uint32_t len;
    std::string_view p;
    if (!GetFixed32(&rest, &len) || !GetBytes(&rest, len, &p)) return Payload();
    *data = rest;
    return Payload(p);
  }
  // Version 2. What a crash of the machine leaves at the end: a record cut short, or one whose
  // length reached the disk before all its bytes (those read as zeros, or whatever the blocks
  // held).
  if (data->size() < kV2FrameSize) return Payload();
  const uint64_t len = DecodeLittleEndian(*data, 0, 4);
  if (Crc32(data->substr(0, 4)) != DecodeLittleEndian(*data, 4, 4)) {
    if (AllZero(*data)) return Payload();
    return BadRecord(number, "is damaged: its length does not match its checksum");
  }
  if (data->size() - kV2FrameSize < len) return Payload();
  std::string_view p = data->substr(kV2FrameSize, len);
  if (Crc32(p) != DecodeLittleEndian(*data, 8, 4)) {
    if (data->size() == kV2FrameSize + len) return Payload();  // the last, not all written
    return BadRecord(number, "is damaged: its bytes do not match their checksum");
  }
  data->remove_prefix(kV2FrameSize + len);
  return Payload(p);
}

}  // namespace

std::string EncodeJournalRecord(const JournalRecord& r, JournalFormat format) {
  std::string p;
  p.push_back(static_cast<char>(r.op));
  PutLengthPrefixed(&p, r.path);
  PutLengthPrefixed(&p, r.name);
  PutLengthPrefixed(&p, r.path2);
  PutLengthPrefixed(&p, r.name2);
  p.push_back(static_cast<char>(r.entry.type));
  PutVarint64(&p, r.entry.mode);
  PutVarint64(&p, r.entry.uid);
  PutVarint64(&p, r.entry.gid);
  PutVarint64(&p, r.entry.rdev_major);
  PutVarint64(&p, r.entry.rdev_minor);
  PutLengthPrefixed(&p, r.entry.target);
  cas::PutMetadata(&p, r.meta);
  PutVarint64(&p, r.number);
  PutVarsint64(&p, r.now.sec);
  PutVarint64(&p, r.now.nsec);
  if (r.op == JournalOp::kWrite) PutLengthPrefixed(&p, r.data);
  std::string out;
  PutFixed32(&out, static_cast<uint32_t>(p.size()));
  if (format == JournalFormat::kV2) {
    PutFixed32(&out, Crc32(out));
    PutFixed32(&out, Crc32(p));
  }
  out += p;
  return out;
}

Result<DecodedJournal> DecodeJournalRecords(std::string_view data, JournalFormat format) {
  DecodedJournal decoded;
  std::vector<JournalRecord>& out = decoded.records;
  const size_t total = data.size();
  while (!data.empty()) {
    CAIRN_ASSIGN_OR_RETURN(Payload payload, NextPayload(&data, format, out.size() + 1));
    if (!payload) break;  // torn tail
    std::string_view p = *payload;
    auto bad = [&] { return BadRecord(out.size() + 1, "is malformed"); };
    JournalRecord r;
    std::string_view s;
    if (p.size() < 1 || p[0] < 1 || p[0] > 9) return bad();
    r.op = static_cast<JournalOp>(p[0]);
    p.remove_prefix(1);
    for (std::string* f : {&r.path, &r.name, &r.path2, &r.name2}) {
      if (!GetLengthPrefixed(&p, &s)) return bad();
      f->assign(s);
    }
    if (p.empty()) return bad();
    r.entry.type = static_cast<cas::EntryType>(p[0]);
    p.remove_prefix(1);
    if (!GetVarint32(&p, &r.entry.mode) || !GetVarint32(&p, &r.entry.uid) || !GetVarint32(&p, &r.entry.gid) ||
        !GetVarint32(&p, &r.entry.rdev_major) || !GetVarint32(&p, &r.entry.rdev_minor) ||
        !GetLengthPrefixed(&p, &s)) {
      return bad();
    }
    r.entry.target.assign(s);
    if (!cas::GetMetadata(&p, &r.meta) || !GetVarint64(&p, &r.number) || !GetVarsint64(&p, &r.now.sec) ||
        !GetVarint32(&p, &r.now.nsec)) {
      return bad();
    }
    if (r.op == JournalOp::kWrite) {
      if (!GetLengthPrefixed(&p, &s)) return bad();
      r.data.assign(s);
    }
    if (!p.empty()) return bad();
    // What the mount process journals comes from the kernel and the clock, always in range: a
    // record out of it is damage, and replayed it would commit Trees no reader accepts (found
    // by fuzz/journal_fuzzer.cc: a timestamp of 10^9 ns and more became a directory's mtime).
    if (r.now.nsec >= 1'000'000'000 || r.entry.type < cas::EntryType::kRegular ||
        r.entry.type > cas::EntryType::kSocket) {
      return bad();
    }
    out.push_back(std::move(r));
    decoded.whole_bytes = total - data.size();
  }
  return decoded;
}

Status ApplyJournalRecord(MutableTree* tree, const JournalRecord& r) {
  switch (r.op) {
    case JournalOp::kMake: {
      CAIRN_ASSIGN_OR_RETURN(Ino dir, tree->LookupPath(r.path));
      return tree->Make(dir, r.name, r.entry, r.now).status();
    }
    case JournalOp::kUnlink: {
      CAIRN_ASSIGN_OR_RETURN(Ino dir, tree->LookupPath(r.path));
      return tree->Unlink(dir, r.name, r.now);
    }
    case JournalOp::kRmdir: {
      CAIRN_ASSIGN_OR_RETURN(Ino dir, tree->LookupPath(r.path));
      return tree->Rmdir(dir, r.name, r.now);
    }
    case JournalOp::kRename: {
      CAIRN_ASSIGN_OR_RETURN(Ino from, tree->LookupPath(r.path));
      CAIRN_ASSIGN_OR_RETURN(Ino to, tree->LookupPath(r.path2));
      return tree->Rename(from, r.name, to, r.name2, static_cast<uint32_t>(r.number), r.now);
    }
    case JournalOp::kLink: {
      CAIRN_ASSIGN_OR_RETURN(Ino file, tree->LookupPath(r.path));
      CAIRN_ASSIGN_OR_RETURN(Ino to, tree->LookupPath(r.path2));
      return tree->Link(file, to, r.name2, r.now);
    }
    case JournalOp::kMeta: {
      CAIRN_ASSIGN_OR_RETURN(Ino ino, tree->LookupPath(r.path));
      return tree->SetMetadata(ino, r.meta);
    }
    case JournalOp::kCopyUp: {
      CAIRN_ASSIGN_OR_RETURN(Ino ino, tree->LookupPath(r.path));
      return tree->AttachUpper(ino, r.number);
    }
    case JournalOp::kWrite: {
      CAIRN_ASSIGN_OR_RETURN(Ino ino, tree->LookupPath(r.path));
      return tree->WriteInMemory(ino, r.number, r.data, r.now).status();
    }
    case JournalOp::kTruncate: {
      CAIRN_ASSIGN_OR_RETURN(Ino ino, tree->LookupPath(r.path));
      return tree->TruncateInMemory(ino, r.number, r.now);
    }
  }
  return Status::Corruption("replay journal: unknown record");
}

}  // namespace cairn::vmount
