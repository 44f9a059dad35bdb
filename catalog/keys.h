// Key layout of the catalog in the store's refs and catalog spaces (docs/format/catalog.md).
// One place, so that writers, readers, purge and gc agree.
#ifndef CAIRN_CATALOG_KEYS_H_
#define CAIRN_CATALOG_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

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
std::string PathPrefix(std::string_view path);              // "P\0PATH\0"
std::string Path(std::string_view path, const ObjectId& v); // -> type byte + content id
std::string BasenamePrefix(std::string_view base_prefix);   // "B\0" + prefix of basename
std::string Basename(std::string_view path);                // "B\0BASENAME\0PATH" -> ""
std::string DigestPrefix(const ObjectId& sha256);           // "H" + sha
std::string Digest(const ObjectId& sha256, const ObjectId& v, std::string_view path);
std::string PackagePrefix(std::string_view name);           // "K\0NAME\0"
std::string Package(std::string_view name, const ObjectId& v);  // -> version string

}  // namespace cairn::catalog::keys

#endif  // CAIRN_CATALOG_KEYS_H_
