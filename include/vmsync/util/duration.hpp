#pragma once
#include <chrono>
#include <string_view>

namespace vmsync::util {
// Go-style durations as kubectl takes them: "0", "30s", "1m30s", "500ms", "2h"; a bare number means seconds.
// Throws UsageError naming `flag` on anything else.
std::chrono::milliseconds parse_duration(std::string_view text, std::string_view flag);
} // namespace vmsync::util
