// vmsync __complete WORDS...: the candidates for the last word of a command line, answered from the live CLI11
// tree so that the shell scripts in completions/ stay thin and cannot drift from the real options.
//
// WORDS are the words after `vmsync`; the last one is the word being completed (empty after a space). Output:
// one candidate per line as `value<TAB>description` (the description may be missing), then one directive line:
// `:files` when the shell should offer file names instead, `:nofiles` otherwise.
//
// The walk mirrors how CLI11 will parse the line: options of a subcommand and of the parents it falls through to,
// one value per value-taking option (`--opt value`, `--opt=value`, `-ovalue`), `--` ends options, a word naming a
// subcommand enters it. Values come from, in order: the kubeconfig and the API for contexts, namespaces and
// VictoriaMetrics cluster names (bounded by a short deadline, silently empty on any failure: a shell must never
// hang or print errors on Tab), the option's fixed choices (CLI::IsMember), else file names.
#include "app.hpp"
#include "cli_tree.hpp"

#include "vmsync/check/check.hpp"
#include "vmsync/kube/client.hpp"
#include "vmsync/kube/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace vmsync::cli {

namespace {

using namespace std::chrono_literals;

// Completion runs on every Tab: the API gets this long, in all, before we answer with what we have.
constexpr auto kApiBudget = 2000ms;
constexpr auto kConnectTimeout = 1000ms;

struct Candidate {
  std::string value;
  std::string description;
};

struct Answer {
  std::vector<Candidate> items;
  bool files = false;
};

// Where the walk over the finished words ended.
struct Position {
  CLI::App *app = nullptr;          // innermost subcommand
  CLI::Option *pending = nullptr;   // the option whose value the current word is
  std::size_t positionals = 0;      // positional words already given to `app`
  bool options_ended = false;       // after "--"
  std::vector<std::string> settled; // the finished words, minus a trailing option still waiting for its value
};

CLI::App *subcommand_named(CLI::App &app, const std::string &word) {
  auto subs = app.get_subcommands([&](CLI::App *s) { return !s->get_name().empty() && s->check_name(word); });
  return subs.empty() ? nullptr : subs.front();
}

Position walk(CLI::App &root, const std::vector<std::string> &done) {
  Position p;
  p.app = &root;
  for (const auto &w : done) {
    p.settled.push_back(w);
    if (p.pending != nullptr) {
      p.pending = nullptr;
      continue;
    }
    if (p.options_ended) {
      ++p.positionals;
      continue;
    }
    if (w == "--") {
      p.options_ended = true;
      continue;
    }
    if (w.starts_with("--")) {
      auto *opt = tree::find_option(*p.app, w.substr(0, w.find('=')));
      if (opt != nullptr && tree::takes_value(*opt) && w.find('=') == std::string::npos) p.pending = opt;
      continue;
    }
    if (w.size() > 1 && w[0] == '-') {
      // A cluster of short flags: -vvv, -A, or -n NS / -nNS (a value-taking letter ends the cluster).
      for (std::size_t i = 1; i < w.size(); ++i) {
        auto *opt = tree::find_option(*p.app, std::string("-") + w[i]);
        if (opt != nullptr && tree::takes_value(*opt)) {
          if (i + 1 == w.size()) p.pending = opt;
          break;
        }
      }
      continue;
    }
    if (auto *sub = subcommand_named(*p.app, w); sub != nullptr) {
      p.app = sub;
      p.positionals = 0;
      continue;
    }
    ++p.positionals;
  }
  if (p.pending != nullptr) p.settled.pop_back();
  return p;
}

// The kubectl flags typed so far, read by the same definitions the real parse uses (add_global_flags), so that
// `--kubeconfig`, `--context`, `-n` and friends steer the dynamic candidates exactly as they steer the command.
GlobalOptions typed_globals(const std::vector<std::string> &settled) {
  GlobalOptions g;
  CLI::App app;
  add_global_flags(app, g);
  app.allow_extras();
  std::vector<std::string> args(settled.rbegin(), settled.rend()); // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError &) {
    // Half-typed lines are normal here; use what parsed.
  }
  return g;
}

std::unique_ptr<kube::Client> quick_client(const GlobalOptions &g, kube::ClientConfig &config) {
  config = kube::load_client_config(g.kube, kube::Environment::system());
  config.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kApiBudget);
  kube::ClientOptions opts;
  opts.deadline = std::chrono::steady_clock::now() + kApiBudget;
  opts.connect_timeout = kConnectTimeout;
  opts.max_retries = 0;
  opts.max_transport_retries = 0;
  return kube::Client::connect(config, std::move(opts));
}

std::vector<Candidate> contexts(const GlobalOptions &g) {
  std::vector<Candidate> out;
  try {
    for (auto &name : kube::list_contexts(g.kube, kube::Environment::system()))
      out.push_back({std::move(name), {}});
  } catch (const std::exception &) {
  }
  return out;
}

std::vector<Candidate> namespaces(const GlobalOptions &g) {
  std::set<std::string> names;
  try {
    kube::ClientConfig config;
    auto client = quick_client(g, config);
    if (config.namespace_from_config) names.insert(config.namespace_);
    kube::ListQuery q;
    q.resource = kube::resources::namespaces;
    for (const auto &item : client->list(q).items)
      if (auto meta = item.find("metadata"); meta != item.end() && meta->is_object())
        names.insert(meta->value("name", ""));
  } catch (const std::exception &) {
  }
  names.erase("");
  std::vector<Candidate> out;
  out.reserve(names.size());
  for (const auto &n : names)
    out.push_back({n, {}});
  return out;
}

// The names `vmsync check CLUSTER` accepts: the clusters check finds in scope, with layout and namespace.
std::vector<Candidate> vm_clusters(const GlobalOptions &g, bool all_namespaces) {
  std::vector<Candidate> out;
  try {
    kube::ClientConfig config;
    auto client = quick_client(g, config);
    check::Scope scope;
    scope.all_namespaces = all_namespaces;
    scope.namespace_ = g.kube.namespace_ && !g.kube.namespace_->empty() ? *g.kube.namespace_ : config.namespace_;
    auto report = check::compute_report(check::read_inventory(*client, scope), scope);
    std::set<std::string> seen;
    for (const auto &c : report.clusters)
      if (seen.insert(c.name).second)
        out.push_back({c.name, fmt::format("{} in namespace {}", model::to_string(c.layout), c.namespace_)});
  } catch (const std::exception &) {
  }
  return out;
}

bool has_long_name(const CLI::Option &opt, const std::string &name) {
  const auto &l = opt.get_lnames();
  return std::find(l.begin(), l.end(), name) != l.end();
}

// Values for `opt` (a value-taking option or a positional).
Answer values_of(CLI::Option &opt, const Position &p) {
  Answer a;
  if (has_long_name(opt, "context")) {
    a.items = contexts(typed_globals(p.settled));
    return a;
  }
  if (has_long_name(opt, "namespace")) {
    a.items = namespaces(typed_globals(p.settled));
    return a;
  }
  if (!opt.nonpositional() && opt.get_name(true) == "CLUSTER") {
    const bool all = std::any_of(p.settled.begin(), p.settled.end(), [&](const std::string &w) {
      auto *o = tree::find_option(*p.app, w);
      return o != nullptr && has_long_name(*o, "all-namespaces");
    });
    a.items = vm_clusters(typed_globals(p.settled), all);
    return a;
  }
  for (auto &c : tree::choices(opt))
    a.items.push_back({std::move(c), {}});
  a.files = a.items.empty() && opt.nonpositional();
  return a;
}

// Options of `app` and of the parents it falls through to, every spelling, each once.
Answer options_of(CLI::App &app) {
  Answer a;
  std::set<std::string> seen;
  for (CLI::App *level = &app; level != nullptr; level = level->get_parent()) {
    for (CLI::Option *opt : tree::visible_options(*level)) {
      if (!opt->nonpositional()) continue;
      for (const auto &s : tree::spellings(*opt))
        if (seen.insert(s).second) a.items.push_back({s, opt->get_description()});
    }
    if (!level->get_fallthrough()) break;
  }
  return a;
}

Answer answer(CLI::App &root, const std::vector<std::string> &words) {
  const std::string current = words.empty() ? std::string{} : words.back();
  const std::vector<std::string> done(words.begin(), words.end() - (words.empty() ? 0 : 1));
  Position p = walk(root, done);

  if (p.pending != nullptr) return values_of(*p.pending, p);
  if (!p.options_ended && current.starts_with("--") && current.find('=') != std::string::npos) {
    const auto name = current.substr(0, current.find('='));
    auto *opt = tree::find_option(*p.app, name);
    // A value after '=': of an option, or of a flag whose value is optional (--dry-run=server).
    if (opt == nullptr || (!tree::takes_value(*opt) && tree::optional_value(*opt).empty())) return {};
    Answer a = values_of(*opt, p);
    for (auto &c : a.items)
      c.value = name + "=" + c.value;
    return a;
  }
  if (!p.options_ended && current.starts_with("-")) return options_of(*p.app);

  Answer a;
  if (p.positionals == 0 && !p.options_ended)
    for (CLI::App *sub : tree::visible_subcommands(*p.app))
      a.items.push_back({sub->get_name(), sub->get_description()});
  // The positional this word fills: the first ones take one word each, a vector takes the rest.
  std::size_t index = 0;
  for (CLI::Option *opt : tree::visible_options(*p.app)) {
    if (opt->nonpositional()) continue;
    const bool many = opt->get_expected_max() > 1 || opt->get_items_expected_max() > 1;
    if (index == p.positionals || many) {
      Answer v = values_of(*opt, p);
      a.items.insert(a.items.end(), v.items.begin(), v.items.end());
      a.files = a.files || v.files;
      break;
    }
    ++index;
  }
  return a;
}

} // namespace

int complete(CLI::App &root, const std::vector<std::string> &words) {
  const std::string current = words.empty() ? std::string{} : words.back();
  Answer a = answer(root, words);
  std::set<std::string> printed;
  for (const auto &c : a.items) {
    if (!c.value.starts_with(current) || !printed.insert(c.value).second) continue;
    // A tab or newline inside a description would break the line protocol.
    std::string desc = c.description;
    std::replace_if(
        desc.begin(), desc.end(), [](char ch) { return ch == '\t' || ch == '\n'; }, ' ');
    fmt::print("{}{}{}\n", c.value, desc.empty() ? "" : "\t", desc);
  }
  fmt::print("{}\n", a.files ? ":files" : ":nofiles");
  return 0;
}

void register_completion(CLI::App &app, Action &action) {
  // Hidden (empty group). run() hands the raw words straight to complete(), before CLI11 parses them, because
  // half-typed command lines are not valid ones; this entry keeps the name reserved and in the tree.
  auto *cmd = app.add_subcommand(std::string(kCompleteCommand), "Print shell completion candidates");
  cmd->group("");
  cmd->allow_extras();
  cmd->callback([&app, &action, cmd] { action = [&app, cmd] { return complete(app, cmd->remaining()); }; });
}

} // namespace vmsync::cli
