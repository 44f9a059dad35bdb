// The --json outputs. Names, paths, link targets, messages and what an image's files say may
// be any bytes; JSON text is UTF-8. A string that is not valid UTF-8, or that begins with "hex:",
// is printed as "hex:" and its bytes in hex (docs/cli.md), so that every output is valid JSON and
// every string can be read back.
#ifndef CAIRN_TOOLS_JSON_OUT_H_
#define CAIRN_TOOLS_JSON_OUT_H_

#include <nlohmann/json.hpp>
#include <string>

namespace cairn::tools {

// `s` if it is valid UTF-8 and does not begin with "hex:", else "hex:" and its bytes in hex.
std::string JsonText(const std::string& s);
// Prints `j` (dump(2)) and a newline on stdout, every string and object key passed through
// JsonText.
void PrintJson(nlohmann::json j);

}  // namespace cairn::tools

#endif  // CAIRN_TOOLS_JSON_OUT_H_
