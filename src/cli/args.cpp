#include "args.hpp"

#include <algorithm>
#include <cctype>
#include <sys/ioctl.h>
#include <unistd.h>

namespace vmsync::cli::args {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t levenshtein(const std::string &a, const std::string &b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

} // namespace

std::string closest(std::string_view word, const std::vector<std::string> &candidates) {
  // cobra's SuggestionsMinimumDistance is 2; a prefix counts too ("vmsync ch" -> check).
  constexpr std::size_t kMaxDistance = 2;
  const std::string w = lower(word);
  if (w.empty()) return {};
  std::string best;
  std::size_t best_distance = kMaxDistance + 1;
  for (const auto &c : candidates) {
    const std::string lc = lower(c);
    std::size_t d = levenshtein(w, lc);
    if (d > kMaxDistance && lc.starts_with(w)) d = kMaxDistance;
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::vector<std::string> split_short_equals(const std::vector<std::string> &words,
                                            const std::function<bool(char)> &takes_value) {
  std::vector<std::string> out;
  bool options_ended = false;
  for (const auto &w : words) {
    if (w == "--") options_ended = true;
    if (!options_ended && w.size() >= 3 && w[0] == '-' && w[1] != '-' && w[2] == '=' && takes_value(w[1])) {
      out.push_back(w.substr(0, 2));
      out.push_back(w.substr(3));
      continue;
    }
    out.push_back(w);
  }
  return out;
}

std::string wrap(std::string_view text, std::size_t width, std::size_t indent) {
  std::string out, line;
  auto flush = [&] {
    if (!out.empty()) out += '\n' + std::string(indent, ' ');
    out += line;
    line.clear();
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto space = text.find(' ', pos);
    if (space == std::string_view::npos) space = text.size();
    const auto word = text.substr(pos, space - pos);
    pos = space + 1;
    if (word.empty()) continue;
    const std::size_t room = width > indent ? width - indent : 1;
    if (!line.empty() && line.size() + 1 + word.size() > room) flush();
    line += (line.empty() ? "" : " ") + std::string(word);
  }
  if (!line.empty() || out.empty()) flush();
  return out;
}

std::size_t terminal_width() {
  constexpr std::size_t kDefault = 80;
  if (isatty(STDOUT_FILENO) == 0) return kDefault;
  winsize ws{};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): ioctl is the terminal's only interface
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col < 40) return kDefault;
  return ws.ws_col;
}

} // namespace vmsync::cli::args
