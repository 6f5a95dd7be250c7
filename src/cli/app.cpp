#include "app.hpp"
#include "cli_tree.hpp"
#include "program_name.hpp"

#include "vmsync/error.hpp"
#include "vmsync/exit_code.hpp"
#include "vmsync/util/duration.hpp"
#include "vmsync/version.hpp"

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
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

namespace {

// CLI11's help, except that a flag with an optional value reads as kubectl writes it: CLI11 would show the
// default value in braces ("--dry-run{server}"), which no one can type.
class HelpFormatter final : public CLI::Formatter {
public:
  std::string make_option_name(const CLI::Option *opt, bool is_positional) const override {
    if (is_positional || opt->get_fnames().empty()) return CLI::Formatter::make_option_name(opt, is_positional);
    auto names = tree::spellings(*opt);
    // choices() reads the validators through CLI11's non-const accessors; nothing is changed.
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast)
    names.back() += tree::optional_value(const_cast<CLI::Option &>(*opt));
    std::string out;
    for (const auto &n : names)
      out += (out.empty() ? "" : ",") + n;
    return out;
  }
  // The choices are in the name already; CLI11 would repeat them as a type (":{none,client,server}").
  std::string make_option_opts(const CLI::Option *opt) const override {
    if (!opt->nonpositional() || opt->get_fnames().empty()) return CLI::Formatter::make_option_opts(opt);
    return {};
  }
};

} // namespace

void add_global_flags(CLI::App &app, GlobalOptions &g) {
  auto &k = g.kube;
  const std::string group = "Cluster access (as kubectl)";
  app.add_option("--kubeconfig", k.kubeconfig, "Path to the kubeconfig file to use")->group(group);
  app.add_option("--context", k.context, "The kubeconfig context to use")->group(group);
  app.add_option("--cluster", k.cluster, "The kubeconfig cluster to use")->group(group);
  app.add_option("--user", k.user, "The kubeconfig user to use")->group(group);
  app.add_option("-n,--namespace", k.namespace_, "The namespace to look in")->group(group);
  app.add_option("-s,--server", k.server, "The address and port of the Kubernetes API server")->group(group);
  app.add_option("--token", k.token, "Bearer token for authentication to the API server")->group(group);
  app.add_option("--certificate-authority", k.certificate_authority, "Path to a CA certificate file")->group(group);
  app.add_option("--client-certificate", k.client_certificate, "Path to a client certificate file for TLS")
      ->group(group);
  app.add_option("--client-key", k.client_key, "Path to a client key file for TLS")->group(group);
  app.add_flag("--insecure-skip-tls-verify", k.insecure_skip_tls_verify,
               "Do not verify the server's certificate (insecure)")
      ->group(group);
  app.add_option("--tls-server-name", k.tls_server_name, "Server name to use for certificate validation")
      ->group(group);
  app.add_option("--request-timeout", g.request_timeout_text,
                 "Time to wait for one request before giving up, e.g. 10s, 1m (0: no limit)")
      ->group(group);
  app.add_flag("-v,--verbose", g.verbosity, "More output on stderr; repeat for more (-vv logs every request)")
      ->group("Output");
  app.add_option("--color", g.color, "Colour output: auto, always or never")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, Color>{{"auto", Color::Auto}, {"always", Color::Always}, {"never", Color::Never}},
          CLI::ignore_case))
      ->group("Output");
}

int run(int argc, char **argv) {
  set_program_name(argc > 0 ? argv[0] : "vmsync");
  const std::string &name = program_name();
  CLI::App app{"vmsync finds and repairs stale vmstorage lists in VictoriaMetrics clusters on Kubernetes.", name};
  app.require_subcommand(1);
  app.formatter(std::make_shared<HelpFormatter>()); // before the subcommands: they copy it
  app.fallthrough(); // global flags also after the subcommand, as kubectl takes them
  app.set_version_flag("--version", [] { return fmt::format("vmsync {} ({})", version(), git_commit()); });
  GlobalOptions global;
  add_global_flags(app, global);
  Action action;
  register_version(app, action);
  register_check(app, global, action);
  register_fix(app, global, action);
  register_completion(app, action);
  register_man(app, action);

  // A half-typed command line is not a valid one: completion reads the raw words, before CLI11 parses them.
  if (argc >= 2 && argv[1] == kCompleteCommand) return complete(app, std::vector<std::string>(argv + 2, argv + argc));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    fmt::print(stderr, "{0}: error: {1}\nRun '{0} --help' for usage.\n", name, e.what());
    return to_int(ExitCode::Error);
  }
  try {
    return action ? action() : to_int(ExitCode::Error);
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
      ->check(CLI::IsMember({"auto", "proxy", "direct", "require"}));
  cmd.add_option("--probe-concurrency", probe.concurrency, "Pods probed at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--probe-timeout", probe.timeout, "Per pod probe timeout, within --timeout")
      ->capture_default_str();
}

check::ProbeOptions probe_options(const ProbeCli &probe) {
  check::ProbeOptions p;
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
