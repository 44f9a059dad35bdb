#include "tools/json_out.h"

#include <fmt/core.h>

#include "base/hex.h"

namespace cairn::tools {
namespace {

bool ValidUtf8(const std::string& s) {
  try {  // the library's own judgment: what dump() accepts
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

constexpr std::string_view kHex = "hex:";

// A name that begins with "hex:" is encoded too, or it could not be told from an encoded one.
bool NeedsHex(const std::string& s) { return s.starts_with(kHex) || !ValidUtf8(s); }

void Clean(nlohmann::json& j) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (NeedsHex(s)) j = std::string(kHex) + HexEncode(s);
  } else if (j.is_array()) {
    for (auto& e : j) Clean(e);
  } else if (j.is_object()) {
    bool keys_ok = true;
    for (auto& [k, v] : j.items()) {
      Clean(v);
      if (NeedsHex(k)) keys_ok = false;
    }
    if (keys_ok) return;
    nlohmann::json out = nlohmann::json::object();
    for (auto& [k, v] : j.items()) out[JsonText(k)] = std::move(v);
    j = std::move(out);
  }
}

}  // namespace

std::string JsonText(const std::string& s) {
  return NeedsHex(s) ? std::string(kHex) + HexEncode(s) : s;
}

void PrintJson(nlohmann::json j) {
  std::string out;
  try {  // almost always all UTF-8 and no "hex:": cleaned only when the dump says otherwise
    out = j.dump(2);
    if (out.find("\"hex:") != std::string::npos) {
      Clean(j);
      out = j.dump(2);
    }
  } catch (const nlohmann::json::exception&) {
    Clean(j);
    out = j.dump(2);
  }
  fmt::print("{}\n", out);
}

}  // namespace cairn::tools
