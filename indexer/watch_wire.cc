#include "indexer/watch_wire.h"

#include <sys/stat.h>

#include <charconv>
#include <vector>

#include "base/hex.h"

namespace cairn::indexer {
namespace {

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t at; (at = s.find(sep)) != std::string_view::npos; s.remove_prefix(at + 1)) {
    out.push_back(s.substr(0, at));
  }
  out.push_back(s);
  return out;
}

}  // namespace

std::string EncodeWatchRequest(const WatchRequest& r) {
  return std::string(kWatchMagic) + "\n" + std::to_string(r.dev) + "\n" + std::to_string(r.ino) +
         "\n" + (r.since.instance.empty() ? "-" : r.since.instance) + "\n" +
         std::to_string(r.since.epoch) + "\n" + std::to_string(r.mnt_ns) + "\n";
}

uint64_t OwnMountNamespace() {
  struct stat st;
  if (::stat("/proc/self/ns/mnt", &st) != 0) return 0;
  return st.st_ino;
}

std::optional<WatchRequest> DecodeWatchRequest(std::string_view s) {
  if (s.empty() || s.back() != '\n') return std::nullopt;
  s.remove_suffix(1);
  auto f = Split(s, '\n');
  WatchRequest r;
  if (f.size() != 6 || f[0] != kWatchMagic || !ParseNumber(f[1], &r.dev) ||
      !ParseNumber(f[2], &r.ino) || !ParseNumber(f[4], &r.since.epoch) ||
      !ParseNumber(f[5], &r.mnt_ns)) {
    return std::nullopt;
  }
  if (f[3] != "-") r.since.instance = std::string(f[3]);
  return r;
}

std::string EncodeWatchAnswer(const WatchReport& r) {
  std::string out = std::string(kWatchMagic) + (r.all ? " all " : " dirty ") + r.token.instance +
                    " " + std::to_string(r.token.epoch);
  if (r.all) return out + "\n";
  out += " " + std::to_string(r.dirty.size()) + "\n";
  for (const auto& d : r.dirty) {
    out += d;
    out.push_back('\0');
  }
  return out;
}

std::optional<WatchReport> DecodeWatchAnswer(std::string_view s, const WatchToken& asked) {
  size_t nl = s.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view header = s.substr(0, nl), body = s.substr(nl + 1);
  auto f = Split(header, ' ');
  if (f.size() < 5 || f[0] != "cairn-watch" || f[1] != "1") return std::nullopt;
  WatchReport r;
  r.all = f[2] == "all";
  if ((r.all ? 5u : 6u) != f.size() || (!r.all && f[2] != "dirty")) return std::nullopt;
  if (f[3].size() != 32 || !IsHexDigits(f[3]) || !ParseNumber(f[4], &r.token.epoch) ||
      r.token.epoch == 0) {
    return std::nullopt;
  }
  r.token.instance = std::string(f[3]);
  if (r.all) return body.empty() ? std::optional(std::move(r)) : std::nullopt;
  // Changes since `asked` can only come from the instance that issued it, in a later epoch.
  if (r.token.instance != asked.instance || r.token.epoch <= asked.epoch) return std::nullopt;
  size_t count = 0;
  if (!ParseNumber(f[5], &count) || count > body.size()) return std::nullopt;
  r.dirty.reserve(count);
  while (!body.empty()) {
    size_t end = body.find('\0');
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view path = body.substr(0, end);
    if (!r.dirty.empty() && !(std::string_view(r.dirty.back()) < path))
      return std::nullopt;  // unsorted or twice
    r.dirty.emplace_back(path);
    body.remove_prefix(end + 1);
  }
  if (r.dirty.size() != count) return std::nullopt;
  return r;
}

}  // namespace cairn::indexer
