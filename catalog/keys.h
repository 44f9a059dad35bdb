// Key layout of the catalog in the store's refs and catalog spaces (docs/format/catalog.md).
// One place, so that writers, readers, purge and gc agree.
#ifndef CAIRN_CATALOG_KEYS_H_
#define CAIRN_CATALOG_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/object_id.h"

namespace cairn::catalog::keys {

// refs space
std::string VersionPrefix(std::string_view image);          // "v\0IMAGE\0"
std::string Version(std::string_view image, uint64_t n);      // + 8-byte big-endian number
uint64_t VersionNumber(std::string_view key);
std::string TagPrefix(std::string_view image);              // "t\0IMAGE\0"
std::string Counter(std::string_view image);                // "N\0IMAGE" -> highest number used
std::string Tag(std::string_view image, std::string_view tag);

// catalog space
std::string State(const ObjectId& v);                       // "s" + vid -> state byte
std::string Name(const ObjectId& v);                        // "n" + vid -> IMAGE \0 number(8)
std::string ChildPrefix(const ObjectId& parent);            // "c" + parent
std::string Child(const ObjectId& parent, const ObjectId& child);
std::string ChildrenPrefix();  // "c": the whole children index
// The parent and the child a Child key links; nullopt unless `key` is one.
std::optional<std::pair<ObjectId, ObjectId>> ParseChildKey(std::string_view key);
// Search index over Trees (docs/format/catalog.md): written once per distinct Tree and shared
// by every version that holds it, so a checkin indexes only the directories it changed.
std::string TreeIndexed(const ObjectId& tree);              // "T" + tree -> counts, digests
std::string EntryPrefix(std::string_view name_prefix);      // "E\0" + prefix of an entry name
std::string Entry(std::string_view name, const ObjectId& tree);  // "E\0NAME\0" + tree -> type [+ content]
std::string UpPrefix(const ObjectId& child);                // "U" + child tree
std::string Up(const ObjectId& child, const ObjectId& parent, std::string_view name);  // -> ""
// Format 3: "d" + the first kShortDigest bytes of the SHA-256 + tree + name -> "".
inline constexpr size_t kShortDigest = 8;
std::string ShortDigestPrefix(const ObjectId& sha256);
std::string ShortDigest(const ObjectId& sha256, const ObjectId& tree, std::string_view name);
// Format 2 (read and deleted, no longer written): "D" + sha + tree + name -> "".
std::string DigestPrefix(const ObjectId& sha256);
std::string Digest(const ObjectId& sha256, const ObjectId& tree, std::string_view name);
std::string RootPrefix(const ObjectId& tree);               // "R" + root tree
std::string Root(const ObjectId& tree, const ObjectId& v);  // -> "": version v has this root
std::string PackagePrefix(std::string_view name);           // "K\0NAME\0"
// The keys of NAME's foreign architectures: "K\0NAME:" (dpkg names them NAME:ARCH).
std::string ForeignPackagesPrefix(std::string_view name);
// The package name of a key of PackagePrefix or ForeignPackagesPrefix, and its version id;
// nullopt unless `key` is one.
std::optional<std::pair<std::string_view, ObjectId>> ParsePackageKey(std::string_view key);
std::string Package(std::string_view name, const ObjectId& v);  // -> version string

}  // namespace cairn::catalog::keys

#endif  // CAIRN_CATALOG_KEYS_H_
