#include "vmount/journal.h"

#include "base/coding.h"

namespace cairn::vmount {
namespace {

void PutMeta(std::string* out, const cas::Metadata& m) {
  PutVarint64(out, m.mode);
  PutVarint64(out, m.uid);
  PutVarint64(out, m.gid);
  PutVarsint64(out, m.mtime_sec);
  PutVarint64(out, m.mtime_nsec);
  PutVarint64(out, m.xattrs.size());
  for (const auto& [k, v] : m.xattrs) {
    PutLengthPrefixed(out, k);
    PutLengthPrefixed(out, v);
  }
}

bool GetU32(std::string_view* in, uint32_t* v) {
  uint64_t x;
  if (!GetVarint64(in, &x) || x > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(x);
  return true;
}

bool GetMeta(std::string_view* in, cas::Metadata* m) {
  uint64_t n;
  if (!GetU32(in, &m->mode) || !GetU32(in, &m->uid) || !GetU32(in, &m->gid) ||
      !GetVarsint64(in, &m->mtime_sec) || !GetU32(in, &m->mtime_nsec) || !GetVarint64(in, &n)) {
    return false;
  }
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view k, v;
    if (!GetLengthPrefixed(in, &k) || !GetLengthPrefixed(in, &v)) return false;
    m->xattrs.emplace_back(k, v);
  }
  return true;
}

}  // namespace

std::string EncodeJournalRecord(const JournalRecord& r) {
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
  PutMeta(&p, r.meta);
  PutVarint64(&p, r.number);
  PutVarsint64(&p, r.now.sec);
  PutVarint64(&p, r.now.nsec);
  std::string out;
  PutFixed32(&out, static_cast<uint32_t>(p.size()));
  out += p;
  return out;
}

Result<std::vector<JournalRecord>> DecodeJournalRecords(std::string_view data) {
  std::vector<JournalRecord> out;
  while (!data.empty()) {
    uint32_t len;
    std::string_view p;
    if (!GetFixed32(&data, &len) || !GetBytes(&data, len, &p)) break;  // torn tail
    auto bad = [&] {
      return Status::Corruption("read journal: record " + std::to_string(out.size() + 1) +
                                " is malformed");
    };
    JournalRecord r;
    std::string_view s;
    if (p.size() < 1 || p[0] < 1 || p[0] > 7) return bad();
    r.op = static_cast<JournalOp>(p[0]);
    p.remove_prefix(1);
    for (std::string* f : {&r.path, &r.name, &r.path2, &r.name2}) {
      if (!GetLengthPrefixed(&p, &s)) return bad();
      f->assign(s);
    }
    if (p.empty()) return bad();
    r.entry.type = static_cast<cas::EntryType>(p[0]);
    p.remove_prefix(1);
    if (!GetU32(&p, &r.entry.mode) || !GetU32(&p, &r.entry.uid) || !GetU32(&p, &r.entry.gid) ||
        !GetU32(&p, &r.entry.rdev_major) || !GetU32(&p, &r.entry.rdev_minor) ||
        !GetLengthPrefixed(&p, &s)) {
      return bad();
    }
    r.entry.target.assign(s);
    if (!GetMeta(&p, &r.meta) || !GetVarint64(&p, &r.number) || !GetVarsint64(&p, &r.now.sec) ||
        !GetU32(&p, &r.now.nsec) || !p.empty()) {
      return bad();
    }
    out.push_back(std::move(r));
  }
  return out;
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
  }
  return Status::Corruption("replay journal: unknown record");
}

}  // namespace cairn::vmount
