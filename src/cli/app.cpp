#include "app.hpp"
#include "args.hpp"
#include "cli_tree.hpp"
#include "examples.hpp"
#include "program_name.hpp"

#include "vmsync/error.hpp"
#include "vmsync/exit_code.hpp"
#include "vmsync/util/duration.hpp"
#include "vmsync/version.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

namespace vmsync::cli {

// Lines start "vmsync: ..." where they are written; run as kubectl-vmsync they read "kubectl vmsync: ...".
void log_stderr(const std::string &line) {
  constexpr std::string_view prefix = "vmsync: ";
  if (line.starts_with(prefix) && program_name() != "vmsync") {
    fmt::print(stderr, "{}: {}\n", program_name(), std::string_view(line).substr(prefix.size()));
    return;
  }
  fmt::print(stderr, "{}\n", line);
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

bool use_color(Color c) {
  switch (c) {
  case Color::Always: return true;
  case Color::Never: return false;
  case Color::Auto: break;
  }
  const char *no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  return stdout_is_terminal();
}

CLI::Validator one_of(const std::vector<std::string> &values) {
  std::string braces, listed;
  for (const auto &v : values) {
    braces += (braces.empty() ? "" : ",") + v;
    listed += (listed.empty() ? "" : ", ") + v;
  }
  return {[values, listed](std::string &text) -> std::string {
            if (std::find(values.begin(), values.end(), text) != values.end()) return {};
            return fmt::format("\"{}\" is not one of {}", text, listed);
          },
          "{" + braces + "}"};
}

CLI::Validator duration_value() {
  return {[](std::string &text) -> std::string {
            try {
              util::parse_duration(text, "");
            } catch (const UsageError &e) {
              std::string why = e.what();
              return why.substr(why.find_first_not_of(' '));
            }
            return {};
          },
          "DURATION"};
}

CLI::Validator non_negative_number() {
  return {[](std::string &text) -> std::string {
            const bool digits = !text.empty() && text.size() <= 9 &&
                                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
            return digits ? std::string() : fmt::format("\"{}\" is not a whole number >= 0", text);
          },
          "N"};
}

namespace {

constexpr std::size_t kNameColumn = 30;

std::string join(const std::vector<std::string> &v, const std::string &sep) {
  std::string out;
  for (const auto &s : v)
    out += (out.empty() ? "" : sep) + s;
  return out;
}

// Help as kubectl users read it: "-o,--output table|wide|json", the value named by what it is (DURATION, FILE),
// never CLI11's internals ("TEXT:{...}", "ENUM:value in {...} OR {...}"); descriptions wrapped to the terminal's
// width (80 when it is none); each command ending with its examples and where the global flags are.
class HelpFormatter final : public CLI::Formatter {
public:
  std::string make_option(const CLI::Option *opt, bool is_positional) const override {
    // tree:: reads the validators through CLI11's non-const accessors; nothing is changed.
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast)
    auto &o = const_cast<CLI::Option &>(*opt);
    std::string name;
    if (is_positional) {
      name = opt->get_name(true);
    } else {
      name = join(tree::spellings(o), ",") + tree::optional_value(o);
      if (tree::takes_value(o)) name += " " + value_name(o);
    }
    if (opt->get_expected_max() > 1 || opt->get_items_expected_max() > 1) name += " ...";
    std::string desc = opt->get_description();
    if (const auto d = opt->get_default_str(); !d.empty() && tree::takes_value(o)) desc += " (default: " + d + ")";
    std::string out = "  " + name;
    if (out.size() + 2 > kNameColumn)
      out += "\n" + std::string(kNameColumn, ' ');
    else
      out += std::string(kNameColumn - out.size(), ' ');
    return out + args::wrap(desc, args::terminal_width(), kNameColumn) + "\n";
  }
  std::string make_subcommand(const CLI::App *sub) const override {
    std::string out = "  " + sub->get_name();
    out += std::string(out.size() + 2 > kNameColumn ? 2 : kNameColumn - out.size(), ' ');
    return out + args::wrap(sub->get_description(), args::terminal_width(), kNameColumn) + "\n";
  }
  std::string make_description(const CLI::App *app) const override {
    const auto d = app->get_description();
    return d.empty() ? std::string() : args::wrap(d, args::terminal_width(), 0) + "\n";
  }
  std::string make_usage(const CLI::App *app, std::string /*name*/) const override {
    std::string line = "Usage: " + program_name();
    if (app->get_parent() != nullptr) line += " " + app->get_name();
    line += " [flags]";
    if (app->get_parent() == nullptr) line += " COMMAND";
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast)
    for (const CLI::Option *opt : tree::visible_options(const_cast<CLI::App &>(*app)))
      if (!opt->nonpositional())
        line += " [" + opt->get_name(true) + (opt->get_expected_max() > 1 ? " ...]" : "]");
    return line + "\n";
  }
  std::string make_footer(const CLI::App *app) const override {
    const bool root = app->get_parent() == nullptr;
    std::string out;
    if (const auto f = app->get_footer(); !f.empty()) out += args::wrap(f, args::terminal_width(), 0) + "\n\n";
    if (const auto ex = examples_text(root ? "" : app->get_name()); !ex.empty()) out += ex + "\n";
    if (!root)
      out += args::wrap(fmt::format("Global flags (cluster access as in kubectl, -v, --color) are listed by `{} "
                                    "--help`; they go before or after the command.",
                                    program_name()),
                        args::terminal_width(), 0) +
             "\n";
    else
      out +=
          fmt::format("Run '{0} help COMMAND' (or '{0} COMMAND --help') for a command's flags.\n", program_name());
    return out;
  }

private:
  // The placeholder of an option's value: its choices ("table|wide|json"), else its type name ("DURATION").
  static std::string value_name(CLI::Option &opt) {
    if (const auto c = tree::choices(opt); !c.empty()) return join(c, "|");
    const auto t = opt.get_type_name();
    return t.substr(0, t.find(':'));
  }
};

// Every spelling of the options `app` accepts (its own and those of the parents it falls through to).
std::vector<std::string> flag_spellings(CLI::App &app) {
  std::vector<std::string> out;
  for (CLI::App *a = &app; a != nullptr; a = a->get_parent()) {
    for (CLI::Option *opt : tree::visible_options(*a))
      if (opt->nonpositional())
        for (auto &s : tree::spellings(*opt))
          out.push_back(s);
    if (!a->get_fallthrough()) break;
  }
  return out;
}

std::vector<std::string> command_names(CLI::App &root) {
  std::vector<std::string> out;
  for (CLI::App *sub : tree::visible_subcommands(root))
    out.push_back(sub->get_name());
  return out;
}

std::string did_you_mean(const std::string &word, const std::vector<std::string> &candidates) {
  const auto guess = args::closest(word.substr(0, word.find('=')), candidates);
  return guess.empty() ? std::string() : fmt::format(" (did you mean {}?)", guess);
}

// The innermost subcommand CLI11 entered, or the root.
CLI::App *parsed_command(CLI::App &root) {
  CLI::App *at = &root;
  for (bool deeper = true; deeper;) {
    deeper = false;
    for (CLI::App *sub : at->get_subcommands({}))
      if (sub->parsed()) {
        at = sub;
        deeper = true;
        break;
      }
  }
  return at;
}

std::string command_path(CLI::App &app) {
  std::string out =
      app.get_parent() == nullptr ? program_name() : command_path(*app.get_parent()) + " " + app.get_name();
  return out;
}

// One line for a command line CLI11 refused, in kubectl's words and never with CLI11's internals.
std::string parse_error_text(CLI::App &root, const CLI::ParseError &e) {
  std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError *>(&e) != nullptr) {
    CLI::App *at = parsed_command(root);
    std::vector<std::string> extras = at->remaining();
    if (extras.empty()) extras = root.remaining();
    // Else from the message, which CLI11 writes last word first ("not expected: json -o" for `-o json`).
    if (extras.empty())
      if (auto colon = what.rfind(": "); colon != std::string::npos) {
        auto last = what.rfind(' ');
        extras.push_back(what.substr(std::max(colon + 2, last + 1)));
      }
    const std::string word = extras.empty() ? std::string() : extras.front();
    if (word.starts_with("-")) {
      const auto spellings = flag_spellings(*at);
      const std::string bare = word.substr(0, word.find('='));
      if (std::find(spellings.begin(), spellings.end(), bare) != spellings.end())
        return fmt::format("{} is a flag of \"{}\": give it after the command", bare, command_path(*at));
      return fmt::format("unknown flag: {}{}", word, did_you_mean(word, spellings));
    }
    if (at == &root)
      return fmt::format("unknown command \"{}\" for \"{}\"{}", word, program_name(),
                         did_you_mean(word, command_names(root)));
    return fmt::format("\"{}\" takes no arguments, got \"{}\"", command_path(*at), word);
  }
  if (dynamic_cast<const CLI::ArgumentMismatch *>(&e) != nullptr) {
    // "--output: 1 required TEXT:{...} missing": the option that was given no value.
    return fmt::format("flag needs an argument: {}", what.substr(0, what.find(':')));
  }
  if (dynamic_cast<const CLI::ValidationError *>(&e) != nullptr) {
    // "--output: \"bogus\" is not one of ..." (our validators) reads "--output \"bogus\" is not one of ...".
    if (auto colon = what.find(": \""); colon != std::string::npos)
      return what.substr(0, colon) + what.substr(colon + 1);
  }
  return what;
}

std::vector<std::string> words_of(int argc, char **argv, CLI::App &root) {
  std::vector<std::string> words(argv + 1, argv + argc);
  std::string value_shorts;
  std::vector<CLI::App *> apps{&root};
  for (CLI::App *sub : root.get_subcommands({}))
    apps.push_back(sub);
  for (CLI::App *a : apps)
    for (CLI::Option *opt : a->get_options())
      if (tree::takes_value(*opt))
        for (const auto &s : opt->get_snames())
          value_shorts += s;
  return args::split_short_equals(words, [&](char c) { return value_shorts.find(c) != std::string::npos; });
}

void register_help(CLI::App &app, Action &action) {
  auto *cmd = app.add_subcommand("help", "Help about a command (the same as vmsync COMMAND --help)");
  auto name = std::make_shared<std::string>();
  cmd->add_option("COMMAND", *name, "The command to explain (default: vmsync itself)");
  cmd->callback([&app, &action, name] {
    action = [&app, name] {
      // App::help() of a parent would show the help of the subcommand it parsed, `help` itself.
      if (name->empty()) {
        std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
        return to_int(ExitCode::Ok);
      }
      for (CLI::App *sub : tree::visible_subcommands(app))
        if (sub->get_name() == *name) {
          std::cout << sub->get_formatter()->make_help(sub, sub->get_name(), CLI::AppFormatMode::Normal);
          return to_int(ExitCode::Ok);
        }
      throw UsageError(fmt::format("unknown command \"{}\" for \"{} help\"{}", *name, program_name(),
                                   did_you_mean(*name, command_names(app))));
    };
  });
}

} // namespace

void add_global_flags(CLI::App &app, GlobalOptions &g) {
  auto &k = g.kube;
  const std::string group = "Cluster access (as kubectl)";
  app.add_option("--kubeconfig", k.kubeconfig, "Path to the kubeconfig file to use")
      ->group(group)
      ->type_name("FILE");
  app.add_option("--context", k.context, "The kubeconfig context to use")->group(group)->type_name("NAME");
  app.add_option("--cluster", k.cluster, "The kubeconfig cluster to use")->group(group)->type_name("NAME");
  app.add_option("--user", k.user, "The kubeconfig user to use")->group(group)->type_name("NAME");
  app.add_option("-n,--namespace", k.namespace_, "The namespace to look in")->group(group)->type_name("NAME");
  app.add_option("-s,--server", k.server, "The address and port of the Kubernetes API server")
      ->group(group)
      ->type_name("URL");
  app.add_option("--token", k.token, "Bearer token for authentication to the API server")
      ->group(group)
      ->type_name("TOKEN");
  app.add_option("--certificate-authority", k.certificate_authority, "Path to a CA certificate file")
      ->group(group)
      ->type_name("FILE");
  app.add_option("--client-certificate", k.client_certificate, "Path to a client certificate file for TLS")
      ->group(group)
      ->type_name("FILE");
  app.add_option("--client-key", k.client_key, "Path to a client key file for TLS")
      ->group(group)
      ->type_name("FILE");
  app.add_flag("--insecure-skip-tls-verify", k.insecure_skip_tls_verify,
               "Do not verify the server's certificate (insecure)")
      ->group(group);
  app.add_option("--tls-server-name", k.tls_server_name, "Server name to use for certificate validation")
      ->group(group)
      ->type_name("NAME");
  app.add_option("--as", k.impersonate_user,
                 "Username to impersonate for every request, e.g. system:serviceaccount:monitoring:vmsync-fix "
                 "(needs the impersonate permission)")
      ->group(group)
      ->type_name("USER");
  app.add_option("--as-group", k.impersonate_groups, "Group to impersonate, with --as; repeat for more")
      ->group(group)
      ->type_name("GROUP")
      ->allow_extra_args(false);
  app.add_option("--as-uid", k.impersonate_uid, "UID to impersonate, with --as")->group(group)->type_name("UID");
  app.add_flag("--disable-compression", k.disable_compression,
               "Ask the server for uncompressed responses (as the kubeconfig's disable-compression)")
      ->group(group);
  app.add_option("--cache-dir", g.cache_dir,
                 "Accepted for kubectl's sake and ignored: vmsync keeps no discovery or HTTP cache")
      ->group(group)
      ->type_name("DIR");
  app.add_option("--request-timeout", g.request_timeout_text,
                 "How long one request (one attempt, not its retries) may take, e.g. 10s, 1m (0: no limit); the "
                 "command's --timeout bounds the whole command, retries included")
      ->group(group)
      ->check(duration_value())
      ->type_name("DURATION");
  app.add_flag("-v,--verbose", g.verbosity, "More output on stderr; repeat for more (-vv logs every request)")
      ->group("Output");
  app.add_option_function<std::string>(
         "--color",
         [&g](const std::string &v) {
           g.color = v == "always" ? Color::Always : v == "never" ? Color::Never : Color::Auto;
         },
         "Colour output: auto (when stdout is a terminal and NO_COLOR is unset), always or never")
      ->check(one_of({"auto", "always", "never"}))
      ->group("Output");
}

int run(int argc, char **argv) {
  set_program_name(argc > 0 ? argv[0] : "vmsync");
  const std::string &name = program_name();
  CLI::App app{"vmsync finds and repairs stale vmstorage lists in VictoriaMetrics clusters on Kubernetes.", name};
  app.formatter(std::make_shared<HelpFormatter>()); // before the subcommands: they copy it
  app.require_subcommand(0, 1); // `vmsync help fix`: fix is help's argument, not a second command
  app.fallthrough(); // global flags also after the subcommand, as kubectl takes them
  app.set_version_flag("--version", [] { return fmt::format("vmsync {} ({})", version(), git_commit()); });
  app.set_help_flag("-h,--help", "Print this help and exit");
  GlobalOptions global;
  add_global_flags(app, global);
  Action action;
  register_version(app, action);
  register_check(app, global, action);
  register_fix(app, global, action);
  register_help(app, action);
  register_completion(app, action);
  register_man(app, action);

  // A half-typed command line is not a valid one: completion reads the raw words, before CLI11 parses them.
  if (argc >= 2 && argv[1] == kCompleteCommand) return complete(app, std::vector<std::string>(argv + 2, argv + argc));

  try {
    auto words = words_of(argc, argv, app);
    std::reverse(words.begin(), words.end()); // CLI11 takes them last first
    app.parse(words);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    fmt::print(stderr, "{0}: error: {1}\nRun '{0} --help' for usage.\n", name, parse_error_text(app, e));
    return to_int(ExitCode::Error);
  }
  if (!action) {
    // Plain `vmsync` (or only global flags): the help, on stderr since no command ran.
    fmt::print(stderr, "{}", app.help());
    return to_int(ExitCode::Error);
  }
  try {
    return action();
  } catch (const Error &e) {
    fmt::print(stderr, "{}: error: {}\n", name, e.what());
  } catch (const std::exception &e) {
    fmt::print(stderr, "{}: error: internal: {}\n", name, e.what());
  }
  return to_int(ExitCode::Error);
}

void add_probe_options(CLI::App &cmd, ProbeCli &probe, std::string_view what) {
  // A flag that takes its value only as --probe=MODE, so `--probe CLUSTER` keeps CLUSTER positional.
  cmd.add_flag(
         "--probe{auto}", probe.mode,
         fmt::format("{}: what each vminsert/vmselect pod really runs with, from its own /flags and "
                     "/metrics. proxy (through the API server, RBAC pods/proxy get), direct (the pod's IP, "
                     "in-cluster), auto (direct in a pod, else proxy; the default), require (auto, and a pod "
                     "that cannot be read is an error)",
                     what))
      ->check(one_of({"auto", "proxy", "direct", "require"}))
      ->type_name("MODE");
  cmd.add_option("--probe-concurrency", probe.concurrency, "Pods probed at once (at least 1)")
      ->capture_default_str()
      ->check(non_negative_number())
      ->type_name("N");
  cmd.add_option("--probe-timeout", probe.timeout, "Per pod probe timeout, within --timeout")
      ->capture_default_str()
      ->check(duration_value())
      ->type_name("DURATION");
}

check::ProbeOptions probe_options(const ProbeCli &probe) {
  check::ProbeOptions p;
  if (probe.concurrency < 1) throw UsageError("--probe-concurrency must be at least 1");
  p.concurrency = probe.concurrency;
  p.timeout = util::parse_duration(probe.timeout, "--probe-timeout");
  if (p.timeout.count() <= 0) throw UsageError("--probe-timeout must be more than 0");
  if (probe.mode == "auto" || probe.mode == "require") p.mode = check::ProbeMode::Auto;
  if (probe.mode == "proxy") p.mode = check::ProbeMode::Proxy;
  if (probe.mode == "direct") p.mode = check::ProbeMode::Direct;
  p.required = probe.mode == "require";
  return p;
}

} // namespace vmsync::cli
