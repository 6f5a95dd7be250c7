#pragma once
// The command-line layer. Each subcommand lives in its own cmd_<name>.cpp, fills an options struct and calls
// the core; run() parses inside one try/catch so every failure leaves through one exit path.
#include "vmsync/check/check.hpp"
#include "vmsync/kube/config.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::cli {

enum class Color { Auto, Always, Never };

// kubectl's global flags plus vmsync's own.
struct GlobalOptions {
  kube::Overrides kube;
  int verbosity = 0;
  Color color = Color::Auto;
  std::string request_timeout_text;
  std::string cache_dir; // kubectl's --cache-dir: accepted, unused (vmsync keeps no discovery cache)
};

// What a subcommand registers: its CLI11 node and the action run after parsing.
using Action = std::function<int()>;

void add_global_flags(CLI::App &app, GlobalOptions &g);
int run(int argc, char **argv);

// Subcommand registration, one per cmd_*.cpp.
void register_version(CLI::App &app, Action &action);
void register_check(CLI::App &app, GlobalOptions &g, Action &action);
void register_fix(CLI::App &app, GlobalOptions &g, Action &action);
void register_completion(CLI::App &app, Action &action); // hidden: __complete (cmd_completion.cpp)
void register_man(CLI::App &app, Action &action);        // hidden: __man (cmd_man.cpp)

// Shell completion: the candidates for the last of `words` (the words after `vmsync`), printed one per line.
inline constexpr std::string_view kCompleteCommand = "__complete";
int complete(CLI::App &root, const std::vector<std::string> &words);

// The --relation option of check and fix: one syntax (check::parse_relation), one help text.
inline constexpr std::string_view kRelationHelp =
    "A one-off generic relation: consumer=<kind>/<name>,storage=<kind>/<name>[,role=vminsert|vmselect]"
    "[,port=N][,service=NAME][,exclude=1;3] (repeatable)";

// The --cluster-domain option of check and fix.
inline constexpr std::string_view kClusterDomainHelp =
    "The cluster's DNS domain (the kubelet's --cluster-domain): a storage node written "
    "<pod>.<svc>.<ns>.svc.<domain> is that pod only under this domain";

// The --probe options of check and fix: one syntax, one help text (check::ProbeOptions).
struct ProbeCli {
  std::string mode; // --probe[=auto|proxy|direct|require]; empty: off
  int concurrency = 32;
  std::string timeout = "5s";
};
void add_probe_options(CLI::App &cmd, ProbeCli &probe, std::string_view what);
check::ProbeOptions probe_options(const ProbeCli &probe);

// Validators that say what was wrong in our words (CLI11's own print its internals: "bogus not in {...}", a
// 300-digit range). one_of's description is "{a,b,c}", which tree::choices reads for completion and the man page.
CLI::Validator one_of(const std::vector<std::string> &values);
CLI::Validator duration_value();      // util::parse_duration's syntax and rule (never negative); type DURATION
CLI::Validator non_negative_number(); // a whole number >= 0

// Helpers shared by subcommands.
void log_stderr(const std::string &line);
bool stdout_is_terminal();
bool use_color(Color c);

} // namespace vmsync::cli
