#include "cas/memory_store.h"

#include <vector>

namespace cairn::cas {

Status MemoryStore::WriteRaw(std::span<const RawOp> ops, const WriteOptions&) {
  std::lock_guard lock(mu_);
  for (const auto& op : ops) {
    auto& m = spaces_[static_cast<int>(op.space)];
    if (op.put) {
      m.insert_or_assign(std::string(op.key), std::string(op.value));
    } else {
      m.erase(std::string(op.key));
    }
  }
  return Status();
}

Result<std::optional<std::string>> MemoryStore::LastKey(Space space) {
  std::lock_guard lock(mu_);
  const auto& m = spaces_[static_cast<int>(space)];
  if (m.empty()) return std::optional<std::string>();
  return std::optional<std::string>(m.rbegin()->first);
}

Result<std::optional<std::string>> MemoryStore::Get(Space space, std::string_view key) {
  std::lock_guard lock(mu_);
  const auto& m = spaces_[static_cast<int>(space)];
  auto it = m.find(key);
  if (it == m.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryStore::Scan(Space space, std::string_view prefix,
                         const std::function<bool(std::string_view, std::string_view)>& fn) {
  // Copy the range first so that fn may call back into the store.
  std::vector<std::pair<std::string, std::string>> items;
  {
    std::lock_guard lock(mu_);
    const auto& m = spaces_[static_cast<int>(space)];
    for (auto it = m.lower_bound(prefix); it != m.end() && it->first.starts_with(prefix); ++it) {
      items.emplace_back(it->first, it->second);
    }
  }
  for (const auto& [k, v] : items) {
    if (!fn(k, v)) break;
  }
  return Status();
}

}  // namespace cairn::cas
