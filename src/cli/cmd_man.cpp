// vmsync __man [--source DIR]: the man page, from one source. The options, their descriptions, defaults and
// choices come from the live CLI11 tree (the same definitions `--help` prints); the prose comes from DIR
// (man/ in the repository): vmsync.1.in is the page with placeholder lines, <command>.in adds paragraphs to
// that command's section. man/vmsync.1 is this output, committed; a test fails when it is stale.
//
// Placeholders, each alone on a line of vmsync.1.in: @SYNOPSIS@, @COMMANDS@, @GLOBAL_OPTIONS@, @EXAMPLES@ (those
// of `--help`, from examples.cpp); and @VERSION@ anywhere.
#include "app.hpp"
#include "cli_tree.hpp"
#include "examples.hpp"

#include "vmsync/error.hpp"
#include "vmsync/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vmsync::cli {

namespace {

// Text as roff reads it: backslashes doubled, a leading '.' or '\'' made literal, and the dashes that start a word
// ("-n", "--exit-zero", "-o json") real hyphen-minus signs, so options in descriptions can be copied.
std::string roff(const std::string &text) {
  std::string out;
  bool option = false; // inside a word that started with '-'
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool word_start = i == 0 || text[i - 1] == ' ' || text[i - 1] == '(';
    if (word_start) option = c == '-';
    if (c == '\\')
      out += "\\e";
    else if (c == '-' && option)
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// Option names and other literal command-line text: every '-' is a real hyphen-minus (\-), so that the page
// can be searched and copied.
std::string literal(const std::string &text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// Text lines of at most 80 bytes, as mandoc -T lint wants, broken at spaces. A long word (a URL, a key=value
// syntax) is cut after ',', '|', '/' and ']' into pieces joined by \: (where the page may break the line) and,
// where the source line is full, by \c at the end of a line (which joins it to the next without a space).
std::string wrap(const std::string &text) {
  constexpr std::size_t kWidth = 80;
  constexpr std::size_t kLongWord = 30;
  std::string out, line;
  auto flush = [&] {
    // A line that starts with '.' or '\'' would be read as a request ("\&" makes it text).
    if (!line.empty()) out += (line[0] == '.' || line[0] == '\'' ? "\\&" : "") + line + '\n';
    line.clear();
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto space = text.find(' ', pos);
    if (space == std::string::npos) space = text.size();
    const std::string word = text.substr(pos, space - pos);
    pos = space + 1;
    if (word.empty()) continue;
    std::vector<std::string> pieces;
    if (word.size() <= kLongWord) {
      pieces.push_back(word);
    } else {
      std::size_t start = 0;
      for (std::size_t i = 0; i < word.size(); ++i)
        if (std::string_view(",|/]").find(word[i]) != std::string_view::npos && i + 1 < word.size()) {
          pieces.push_back(word.substr(start, i + 1 - start));
          start = i + 1;
        }
      pieces.push_back(word.substr(start));
    }
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      std::string glue = i == 0 ? (line.empty() ? "" : " ") : "\\:";
      if (!line.empty() && line.size() + glue.size() + pieces[i].size() + 2 > kWidth) {
        if (i == 0) {
          flush();
        } else {
          out += (line[0] == '.' || line[0] == '\'' ? "\\&" : "") + line + "\\:\\c\n";
          line.clear();
        }
        glue.clear();
      }
      line += glue + pieces[i];
    }
  }
  flush();
  if (!out.empty()) out.pop_back();
  return out;
}

// The placeholder after an option's names: its choices, else CLI11's type name ("TEXT"), as --help shows it.
std::string value_name(CLI::Option &opt) {
  if (!tree::takes_value(opt)) return {};
  auto c = tree::choices(opt);
  if (!c.empty()) return fmt::format("{}", fmt::join(c, "|"));
  auto type = opt.get_type_name();
  return type.substr(0, type.find(':'));
}

bool repeatable(const CLI::Option &opt) { return opt.get_expected_max() > 1 || opt.get_items_expected_max() > 1; }

// One tagged paragraph: the names as typed (with the value placeholder and "..." as --help shows them), then the
// description and default.
void option_item(CLI::Option &opt, std::ostream &out) {
  out << ".TP\n";
  if (opt.nonpositional()) {
    std::vector<std::string> names;
    for (const auto &s : tree::spellings(opt))
      names.push_back("\\fB" + literal(s) + "\\fR");
    out << fmt::format("{}", fmt::join(names, ", "));
    if (auto v = tree::optional_value(opt); !v.empty())
      out << "[=\\fI" << literal(v.substr(2, v.size() - 3)) << "\\fR]";
    if (auto v = value_name(opt); !v.empty())
      out << " \\fI" << literal(v) << "\\fR" << (repeatable(opt) ? " ..." : "");
  } else {
    out << "\\fI" << literal(opt.get_name(true)) << "\\fR" << (repeatable(opt) ? " ..." : "");
  }
  std::string text = opt.get_description();
  if (auto d = opt.get_default_str(); !d.empty()) text += " (default: " + d + ")";
  out << '\n' << wrap(roff(text)) << '\n';
}

// "vmsync check [options] [CLUSTER ...]"
std::string usage(CLI::App &cmd) {
  std::string line = "\\fBvmsync\\fR [\\fIoptions\\fR]";
  if (cmd.get_parent() != nullptr) line += " \\fB" + literal(cmd.get_name()) + "\\fR";
  for (CLI::Option *opt : tree::visible_options(cmd)) {
    if (opt->nonpositional()) continue;
    line += " [\\fI" + literal(opt->get_name(true)) + "\\fR" + (repeatable(*opt) ? " ...]" : "]");
  }
  return line;
}

std::string read_text(const std::filesystem::path &p) {
  std::ifstream in(p);
  if (!in) throw Error(fmt::format("cannot read {}", p.string()));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void synopsis(CLI::App &root, std::ostream &out) {
  bool first = true;
  for (CLI::App *cmd : tree::visible_subcommands(root)) {
    if (!first) out << ".br\n";
    first = false;
    out << usage(*cmd) << '\n';
  }
}

void commands(CLI::App &root, const std::filesystem::path &source, std::ostream &out) {
  for (CLI::App *cmd : tree::visible_subcommands(root)) {
    std::string title = "vmsync " + cmd->get_name();
    for (CLI::Option *opt : tree::visible_options(*cmd))
      if (!opt->nonpositional()) title += " [" + opt->get_name(true) + (repeatable(*opt) ? " ...]" : "]");
    out << ".SS \"" << literal(title) << "\"\n" << wrap(roff(cmd->get_description() + ".")) << "\n";
    const auto prose = source / (cmd->get_name() + ".in");
    if (!source.empty() && std::filesystem::exists(prose)) out << ".PP\n" << read_text(prose);
    // Positionals first, as --help lists them.
    for (CLI::Option *opt : tree::visible_options(*cmd))
      if (!opt->nonpositional()) option_item(*opt, out);
    for (CLI::Option *opt : tree::visible_options(*cmd))
      if (opt->nonpositional()) option_item(*opt, out);
    if (const auto footer = cmd->get_footer(); !footer.empty()) out << ".PP\n" << wrap(roff(footer)) << '\n';
  }
}

void global_options(CLI::App &root, std::ostream &out) {
  std::vector<std::string> groups;
  for (CLI::Option *opt : tree::visible_options(root))
    if (std::find(groups.begin(), groups.end(), opt->get_group()) == groups.end())
      groups.push_back(opt->get_group());
  for (const auto &g : groups) {
    out << ".SS \"" << roff(g) << "\"\n";
    for (CLI::Option *opt : tree::visible_options(root))
      if (opt->get_group() == g) option_item(*opt, out);
  }
}

// The examples of vmsync and of each command, as their --help ends with them.
void examples_section(CLI::App &root, std::ostream &out) {
  std::vector<std::string> names{""};
  for (CLI::App *cmd : tree::visible_subcommands(root))
    names.push_back(cmd->get_name());
  bool first = true;
  for (const auto &name : names)
    for (const auto &e : examples(name)) {
      if (!first) out << ".PP\n";
      first = false;
      out << wrap(roff(std::string(e.what) + ":")) << "\n.PP\n.RS\n.EX\n"
          << literal(std::string(e.command)) << "\n.EE\n.RE\n";
    }
}

std::string replace_all(std::string s, const std::string &from, const std::string &to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

int write_man(CLI::App &root, const std::string &source_dir) {
  const std::filesystem::path source = source_dir;
  std::string page =
      source_dir.empty()
          ? ".TH VMSYNC 1 \"\" \"vmsync @VERSION@\"\n.SH SYNOPSIS\n@SYNOPSIS@\n.SH COMMANDS\n@COMMANDS@\n"
            ".SH GLOBAL OPTIONS\n@GLOBAL_OPTIONS@\n"
          : read_text(source / "vmsync.1.in");
  std::ostringstream out;
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (line == "@SYNOPSIS@")
      synopsis(root, out);
    else if (line == "@COMMANDS@")
      commands(root, source, out);
    else if (line == "@GLOBAL_OPTIONS@")
      global_options(root, out);
    else if (line == "@EXAMPLES@")
      examples_section(root, out);
    else
      out << replace_all(line, "@VERSION@", std::string(version())) << '\n';
  }
  fmt::print("{}", out.str());
  return 0;
}

} // namespace

void register_man(CLI::App &app, Action &action) {
  auto *cmd = app.add_subcommand("__man", "Print the man page (roff) from the CLI definition and man/*.in");
  cmd->group(""); // hidden: a build tool, not a user command
  auto source = std::make_shared<std::string>();
  cmd->add_option("--source", *source, "Folder with vmsync.1.in and <command>.in (default: a bare page)");
  cmd->callback([&app, &action, source] { action = [&app, source] { return write_man(app, *source); }; });
}

} // namespace vmsync::cli
