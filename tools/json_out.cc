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

void Clean(nlohmann::json& j) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (!ValidUtf8(s)) j = "hex:" + HexEncode(s);
  } else if (j.is_array()) {
    for (auto& e : j) Clean(e);
  } else if (j.is_object()) {
    bool keys_ok = true;
    for (auto& [k, v] : j.items()) {
      Clean(v);
      if (!ValidUtf8(k)) keys_ok = false;
    }
    if (keys_ok) return;
    nlohmann::json out = nlohmann::json::object();
    for (auto& [k, v] : j.items()) out[JsonText(k)] = std::move(v);
    j = std::move(out);
  }
}

}  // namespace

std::string JsonText(const std::string& s) { return ValidUtf8(s) ? s : "hex:" + HexEncode(s); }

void PrintJson(nlohmann::json j) {
  std::string out;
  try {  // almost always all UTF-8: cleaned only when the dump refuses
    out = j.dump(2);
  } catch (const nlohmann::json::exception&) {
    Clean(j);
    out = j.dump(2);
  }
  fmt::print("{}\n", out);
}

}  // namespace cairn::tools
