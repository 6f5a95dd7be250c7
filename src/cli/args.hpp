#pragma once
// Pure helpers of the command line, kept apart from CLI11 so they are unit-tested: the "did you mean" of kubectl
// (and cobra), pflag's `-n=value` spelling of short options, and text wrapped to the terminal.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::cli::args {

// The candidate closest to `word` as cobra suggests ("did you mean check?"): a Levenshtein distance of at most 2,
// or a candidate that starts with `word`; the closest first, ties in the candidates' order. Empty when none is
// close. Case is ignored.
std::string closest(std::string_view word, const std::vector<std::string> &candidates);

// pflag reads `-n=monitoring` as `-n monitoring`; CLI11 would take "=monitoring" as the value. Rewrites every
// `-X=value` whose X is a short option that takes a value (`takes_value('n')`) into `-X`, `value`; words after
// "--" are left alone.
std::vector<std::string> split_short_equals(const std::vector<std::string> &words,
                                            const std::function<bool(char)> &takes_value);

// `text` broken at spaces into lines of at most `width` characters (a longer word stands alone on its line);
// every line but the first starts with `indent` spaces, which count in the width.
std::string wrap(std::string_view text, std::size_t width, std::size_t indent);

// The width help text is wrapped to: the terminal's when stdout is one, else 80 (as kubectl and man do).
std::size_t terminal_width();

} // namespace vmsync::cli::args
