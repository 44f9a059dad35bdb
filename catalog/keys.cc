#include "catalog/keys.h"

namespace cairn::catalog::keys {
namespace {
std::string Tagged(char tag, std::string_view a) {
  std::string k(1, tag);
  k.push_back('\0');
  k.append(a);
  k.push_back('\0');
  return k;
}
std::string BigEndian(uint64_t n) {
  std::string s;
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>(n >> (8 * i)));
  return s;
}
}  // namespace

std::string VersionPrefix(std::string_view image) { return Tagged('v', image); }
std::string Version(std::string_view image, uint64_t n) { return VersionPrefix(image) + BigEndian(n); }
uint64_t VersionNumber(std::string_view key) {
  uint64_t n = 0;
  for (char c : key.substr(key.size() - 8)) n = n << 8 | static_cast<uint8_t>(c);
  return n;
}
std::string TagPrefix(std::string_view image) { return Tagged('t', image); }
std::string Counter(std::string_view image) { return std::string("N\0", 2) + std::string(image); }
std::string Tag(std::string_view image, std::string_view tag) {
  return TagPrefix(image) + std::string(tag);
}
std::string State(const ObjectId& v) { return "s" + std::string(v.AsBytes()); }
std::string Name(const ObjectId& v) { return "n" + std::string(v.AsBytes()); }
std::string ChildPrefix(const ObjectId& parent) { return "c" + std::string(parent.AsBytes()); }
std::string Child(const ObjectId& parent, const ObjectId& child) {
  return ChildPrefix(parent) + std::string(child.AsBytes());
}
std::string ChildrenPrefix() { return "c"; }
std::optional<std::pair<ObjectId, ObjectId>> ParseChildKey(std::string_view key) {
  if (key.size() != 1 + 2 * ObjectId::kSize || key[0] != 'c') return std::nullopt;
  auto parent = ObjectId::FromBytes(key.substr(1, ObjectId::kSize));
  auto child = ObjectId::FromBytes(key.substr(1 + ObjectId::kSize));
  if (!parent || !child) return std::nullopt;
  return std::pair(*parent, *child);
}
std::string TreeIndexed(const ObjectId& tree) { return "T" + std::string(tree.AsBytes()); }
std::string EntryPrefix(std::string_view name_prefix) {
  return std::string("E\0", 2) + std::string(name_prefix);
}
std::string Entry(std::string_view name, const ObjectId& tree) {
  std::string k = EntryPrefix(name);
  k.push_back('\0');
  k.append(tree.AsBytes());
  return k;
}
std::string UpPrefix(const ObjectId& child) { return "U" + std::string(child.AsBytes()); }
std::string Up(const ObjectId& child, const ObjectId& parent, std::string_view name) {
  return UpPrefix(child) + std::string(parent.AsBytes()) + std::string(name);
}
std::string ShortDigestPrefix(const ObjectId& sha) {
  return "d" + std::string(sha.AsBytes().substr(0, kShortDigest));
}
std::string ShortDigest(const ObjectId& sha, const ObjectId& tree, std::string_view name) {
  return ShortDigestPrefix(sha) + std::string(tree.AsBytes()) + std::string(name);
}
std::string DigestPrefix(const ObjectId& sha) { return "D" + std::string(sha.AsBytes()); }
std::string Digest(const ObjectId& sha, const ObjectId& tree, std::string_view name) {
  return DigestPrefix(sha) + std::string(tree.AsBytes()) + std::string(name);
}
std::string RootPrefix(const ObjectId& tree) { return "R" + std::string(tree.AsBytes()); }
std::string Root(const ObjectId& tree, const ObjectId& v) {
  return RootPrefix(tree) + std::string(v.AsBytes());
}
std::string PackagePrefix(std::string_view name) { return Tagged('K', name); }
std::string ForeignPackagesPrefix(std::string_view name) {
  return PackagePrefix(name).substr(0, 2 + name.size()) + ":";
}
std::optional<std::pair<std::string_view, ObjectId>> ParsePackageKey(std::string_view key) {
  if (!key.starts_with(std::string_view("K\0", 2))) return std::nullopt;
  key.remove_prefix(2);
  size_t end = key.find('\0');
  if (end == std::string_view::npos) return std::nullopt;
  auto id = ObjectId::FromBytes(key.substr(end + 1));
  if (!id) return std::nullopt;
  return std::pair(key.substr(0, end), *id);
}
std::string Package(std::string_view name, const ObjectId& v) {
  return PackagePrefix(name) + std::string(v.AsBytes());
}

}  // namespace cairn::catalog::keys
