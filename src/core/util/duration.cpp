#include "vmsync/util/duration.hpp"

#include "vmsync/error.hpp"

#include <cctype>
#include <fmt/format.h>

namespace vmsync::util {

std::chrono::milliseconds parse_duration(std::string_view text, std::string_view flag) {
  auto bad = [&] {
    return UsageError(fmt::format("{} \"{}\": not a duration (use e.g. 30s, 2m, 1h30m, 500ms)", flag, text));
  };
  if (text.empty()) throw bad();
  if (text.front() == '-')
    throw UsageError(fmt::format("{} \"{}\": a duration cannot be negative (0: no limit)", flag, text));
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c)) != 0;
  if (all_digits) {
    if (text.size() > 9) throw bad();
    return std::chrono::seconds(std::stoll(std::string(text)));
  }
  double total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) != 0 || text[j] == '.')) ++j;
    if (j == i) throw bad();
    double value = std::stod(std::string(text.substr(i, j - i)));
    std::size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k])) != 0) ++k;
    auto unit = text.substr(j, k - j);
    if (unit == "ms") total_ms += value;
    else if (unit == "s") total_ms += value * 1000;
    else if (unit == "m") total_ms += value * 60'000;
    else if (unit == "h") total_ms += value * 3'600'000;
    else throw bad();
    i = k;
  }
  if (total_ms > 1e12) throw bad();
  return std::chrono::milliseconds(static_cast<long long>(total_ms));
}

} // namespace vmsync::util
