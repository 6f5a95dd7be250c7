#include "cli_tree.hpp"

namespace vmsync::cli::tree {

std::vector<CLI::App *> visible_subcommands(CLI::App &app) {
  return app.get_subcommands([](CLI::App *sub) { return !sub->get_name().empty() && !sub->get_group().empty(); });
}

std::vector<CLI::Option *> visible_options(CLI::App &app) {
  std::vector<CLI::Option *> named, positional;
  for (CLI::Option *opt : app.get_options()) {
    if (opt->get_group().empty()) continue;
    (opt->nonpositional() ? named : positional).push_back(opt);
  }
  named.insert(named.end(), positional.begin(), positional.end());
  return named;
}

// A flag is an option that expects 0 values (CLI11 keeps its type size at 1).
bool takes_value(const CLI::Option &opt) { return opt.get_items_expected_max() > 0; }

std::vector<std::string> choices(CLI::Option &opt) {
  // CLI11 describes a member set as "{a,b,c}" and a mapping as "{a->1,b->2}" (CheckedTransformer adds
  // " OR {1,2}", the mapped values, which users do not type). Only the first braces count.
  std::string desc;
  for (int i = 0;; ++i) {
    CLI::Validator *v = nullptr;
    try {
      v = opt.get_validator(i);
    } catch (const CLI::OptionNotFound &) {
      break;
    }
    desc = v->get_description();
    if (desc.find('{') != std::string::npos) break;
    desc.clear();
  }
  const auto open = desc.find('{');
  const auto close = desc.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  std::vector<std::string> out;
  const std::string body = desc.substr(open + 1, close - open - 1);
  std::size_t pos = 0;
  while (pos <= body.size()) {
    auto comma = body.find(',', pos);
    if (comma == std::string::npos) comma = body.size();
    std::string item = body.substr(pos, comma - pos);
    if (auto arrow = item.find("->"); arrow != std::string::npos) item.resize(arrow);
    if (!item.empty()) out.push_back(item);
    pos = comma + 1;
  }
  return out;
}

std::string optional_value(CLI::Option &opt) {
  if (takes_value(opt) || opt.get_fnames().empty()) return {};
  const auto c = choices(opt);
  if (c.empty()) return "[=VALUE]";
  std::string out = "[=";
  for (std::size_t i = 0; i < c.size(); ++i)
    out += (i == 0 ? "" : "|") + c[i];
  return out + "]";
}

std::vector<std::string> spellings(const CLI::Option &opt) {
  std::vector<std::string> out;
  for (const auto &s : opt.get_snames())
    out.push_back("-" + s);
  for (const auto &l : opt.get_lnames())
    out.push_back("--" + l);
  if (out.empty()) out.push_back(opt.get_name(true));
  return out;
}

CLI::Option *find_option(CLI::App &app, const std::string &name) {
  for (CLI::App *a = &app; a != nullptr; a = a->get_parent()) {
    if (auto *opt = a->get_option_no_throw(name); opt != nullptr && opt->nonpositional()) return opt;
    if (!a->get_fallthrough()) break;
  }
  return nullptr;
}

} // namespace vmsync::cli::tree
