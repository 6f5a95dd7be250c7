#pragma once
// Text helpers shared by the report renderers (internal, not installed).
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::report::text {

// "StatefulSet" -> "statefulset", as kubectl spells kinds in "kind/name".
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline std::string join(const std::vector<std::string> &v, std::string_view sep = ", ") {
  std::string out;
  for (const auto &s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

} // namespace vmsync::report::text
