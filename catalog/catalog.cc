#include "catalog/catalog.h"

#include <algorithm>
#include <charconv>

#include "base/sha256.h"
#include "cas/object.h"

namespace cairn::catalog {
namespace {

// refs space keys (docs/format/catalog.md):
//   "v" 0x00 IMAGE 0x00 NUMBER(8 bytes, big-endian) -> Version id (32 bytes)
std::string VersionKeyPrefix(const std::string& image) {
  std::string k("v");
  k.push_back('\0');
  k += image;
  k.push_back('\0');
  return k;
}
std::string VersionKey(const std::string& image, uint64_t n) {
  std::string k = VersionKeyPrefix(image);
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(n >> (8 * i)));
  return k;
}
uint64_t DecodeNumber(std::string_view key) {
  uint64_t n = 0;
  for (char c : key.substr(key.size() - 8)) n = n << 8 | static_cast<uint8_t>(c);
  return n;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Status ValidateImageName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 128 && name[0] != '.' && name[0] != '-';
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
                c == '+');
  }
  if (!ok) {
    return Status::InvalidArgument("image name '" + std::string(name) +
                                   "': use 1-128 of A-Z a-z 0-9 . _ + -, not starting with . or -");
  }
  return Status();
}

Result<VersionSpec> ParseVersionSpec(std::string_view text) {
  VersionSpec spec;
  size_t colon = text.rfind(':');
  spec.image = std::string(text.substr(0, colon));
  CAIRN_RETURN_IF_ERROR(ValidateImageName(spec.image));
  if (colon != std::string_view::npos) {
    std::string_view num = text.substr(colon + 1);
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size() || n == 0) {
      return Status::InvalidArgument("version '" + std::string(text) +
                                     "': expected NAME or NAME:N with N >= 1");
    }
    spec.number = n;
  }
  return spec;
}

Result<std::optional<uint64_t>> Catalog::Latest(const std::string& image) {
  std::optional<uint64_t> last;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, VersionKeyPrefix(image),
                                     [&](std::string_view key, std::string_view) {
                                       last = DecodeNumber(key);
                                       return true;
                                     }));
  return last;
}

Result<VersionRef> Catalog::AddVersion(cas::Version v) {
  CAIRN_RETURN_IF_ERROR(ValidateImageName(v.image));
  CAIRN_ASSIGN_OR_RETURN(auto last, Latest(v.image));
  uint64_t n = last.value_or(0) + 1;
  std::string data = cas::EncodeVersion(v);
  cas::EncodedObject obj = cas::EncodeObject(cas::ObjectType::kVersion, data, 3);
  cas::WriteBatch batch;
  ObjectId id = obj.id;
  batch.PutObject(std::move(obj));
  batch.Put(cas::Space::kRefs, VersionKey(v.image, n), id.AsBytes());
  CAIRN_RETURN_IF_ERROR(store_->Write(batch, cas::WriteOptions{.sync = true}));
  return VersionRef{v.image, n, id, std::move(v)};
}

Result<cas::Version> Catalog::ReadVersion(const ObjectId& id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, store_->ReadTyped(id, cas::ObjectType::kVersion));
  return cas::DecodeVersion(id, data);
}

Status Catalog::NotFoundImage(const std::string& image) {
  std::string msg = "image '" + image + "': no such image";
  auto images = Images();
  if (images && !images->empty()) {
    std::vector<std::pair<size_t, std::string>> close;
    for (const auto& name : *images) {
      size_t d = EditDistance(image, name);
      if (d <= std::max<size_t>(2, image.size() / 3)) close.emplace_back(d, name);
    }
    std::sort(close.begin(), close.end());
    if (!close.empty()) {
      msg += "; did you mean";
      for (size_t i = 0; i < close.size() && i < 3; ++i) msg += (i ? ", " : " ") + close[i].second;
      msg += "?";
    }
  }
  return Status::NotFound(msg);
}

Result<VersionRef> Catalog::Resolve(const VersionSpec& spec) {
  CAIRN_ASSIGN_OR_RETURN(auto last, Latest(spec.image));
  if (!last) return NotFoundImage(spec.image);
  uint64_t n = spec.number.value_or(*last);
  CAIRN_ASSIGN_OR_RETURN(auto raw, store_->Get(cas::Space::kRefs, VersionKey(spec.image, n)));
  if (!raw) {
    return Status::NotFound("version " + spec.image + ":" + std::to_string(n) +
                            ": no such version (latest is " + spec.image + ":" +
                            std::to_string(*last) + ")");
  }
  CAIRN_ASSIGN_OR_RETURN(ObjectId id, ObjectId::FromBytes(*raw));
  CAIRN_ASSIGN_OR_RETURN(cas::Version v, ReadVersion(id));
  return VersionRef{spec.image, n, id, std::move(v)};
}

Result<VersionRef> Catalog::Resolve(std::string_view text) {
  CAIRN_ASSIGN_OR_RETURN(VersionSpec spec, ParseVersionSpec(text));
  return Resolve(spec);
}

Result<std::vector<std::string>> Catalog::Images() {
  std::vector<std::string> out;
  std::string prefix("v");
  prefix.push_back('\0');
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, prefix, [&](std::string_view key, std::string_view) {
    std::string_view rest = key.substr(2, key.size() - 2 - 9);
    if (out.empty() || out.back() != rest) out.emplace_back(rest);
    return true;
  }));
  return out;
}

Result<std::vector<VersionRef>> Catalog::Versions(const std::string& image) {
  std::vector<std::pair<uint64_t, ObjectId>> refs;
  CAIRN_RETURN_IF_ERROR(store_->Scan(cas::Space::kRefs, VersionKeyPrefix(image),
                                     [&](std::string_view key, std::string_view value) {
                                       auto id = ObjectId::FromBytes(value);
                                       if (id) refs.emplace_back(DecodeNumber(key), *id);
                                       return true;
                                     }));
  if (refs.empty()) return NotFoundImage(image);
  std::vector<VersionRef> out;
  for (const auto& [n, id] : refs) {
    CAIRN_ASSIGN_OR_RETURN(cas::Version v, ReadVersion(id));
    out.push_back({image, n, id, std::move(v)});
  }
  return out;
}

}  // namespace cairn::catalog
