#include "cas/version.h"

#include "base/coding.h"
#include "cas/disk.h"
#include "cas/object_store.h"

namespace cairn::cas {
namespace {
constexpr std::string_view kMagic = "cairn-version-1\n";
}

std::string EncodeVersion(const Version& v) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(v.root_type));
  out.append(v.root.AsBytes());
  PutVarint64(&out, v.parents.size());
  for (const auto& p : v.parents) out.append(p.AsBytes());
  PutLengthPrefixed(&out, v.image);
  PutLengthPrefixed(&out, v.author);
  PutVarsint64(&out, v.time_ns);
  PutLengthPrefixed(&out, v.message);
  PutLengthPrefixed(&out, v.summary);
  return out;
}

Result<Version> DecodeVersion(const ObjectId& id, std::string_view in) {
  auto bad = [&] { return Status::Corruption("decode version " + id.Short() + ": malformed"); };
  if (!in.starts_with(kMagic)) return bad();
  in.remove_prefix(kMagic.size());
  Version v;
  std::string_view raw, s;
  uint64_t n;
  if (in.empty() || (in[0] != 1 && in[0] != 2)) return bad();
  v.root_type = static_cast<Version::RootType>(in[0]);
  in.remove_prefix(1);
  if (!GetBytes(&in, ObjectId::kSize, &raw)) return bad();
  v.root = *ObjectId::FromBytes(raw);
  if (!GetVarint64(&in, &n) || n > in.size() / ObjectId::kSize) return bad();
  for (uint64_t i = 0; i < n; ++i) {
    if (!GetBytes(&in, ObjectId::kSize, &raw)) return bad();
    v.parents.push_back(*ObjectId::FromBytes(raw));
  }
  if (!GetLengthPrefixed(&in, &s)) return bad();
  v.image.assign(s);
  if (!GetLengthPrefixed(&in, &s)) return bad();
  v.author.assign(s);
  if (!GetVarsint64(&in, &v.time_ns)) return bad();
  if (!GetLengthPrefixed(&in, &s)) return bad();
  v.message.assign(s);
  if (!GetLengthPrefixed(&in, &s)) return bad();
  v.summary.assign(s);
  if (!in.empty()) return bad();
  return v;
}

Result<ObjectId> RootTreeOf(ObjectStore* store, const Version& v) {
  if (v.root_type == Version::RootType::kTree) return v.root;
  CAIRN_ASSIGN_OR_RETURN(std::string data, store->ReadTyped(v.root, ObjectType::kDisk));
  CAIRN_ASSIGN_OR_RETURN(Disk disk, DecodeDisk(v.root, data));
  return disk.view;
}

}  // namespace cairn::cas
