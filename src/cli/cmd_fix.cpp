// vmsync fix: connect, read, plan, show the plan (--dry-run; with --dry-run=server the API server checks every
// request), confirm, apply under a Lease per cluster with progress, verify with a fresh check, exit by the
// verified state (0 healed or nothing to do, 1 drift remains, 2 error).
#include "app.hpp"
#include "session.hpp"

#include "vmsync/check/check.hpp"
#include "vmsync/check/selector.hpp"
#include "vmsync/error.hpp"
#include "vmsync/exit_code.hpp"
#include "vmsync/fix/apply.hpp"
#include "vmsync/fix/plan.hpp"
#include "vmsync/fix/render.hpp"
#include "vmsync/report/render.hpp"
#include "vmsync/util/duration.hpp"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <string>
#include <unistd.h>

namespace vmsync::cli {

namespace {

struct FixCliOptions {
  std::vector<std::string> clusters;
  bool all_namespaces = false;
  std::string selector;
  std::vector<std::string> relations;
  std::string cluster_domain = "cluster.local";
  std::string dry_run = "none"; // --dry-run[=none|client|server], as kubectl
  std::string output = "text";
  bool yes = false;
  bool force = false;
  bool force_owned = false;
  bool unify_spellings = false;
  std::string restart = "auto";
  std::string timeout = "10m";
  std::string lock_wait = "0";
  ProbeCli probe;
};

// Progress on stderr: one line rewritten in place on a terminal, plain lines (only when something changed)
// otherwise, so logs of a CronJob stay readable.
class StderrReporter final : public fix::Reporter {
public:
  StderrReporter() : tty_(isatty(STDERR_FILENO) != 0) {}
  ~StderrReporter() override { end_line(); }
  StderrReporter(const StderrReporter &) = delete;
  StderrReporter &operator=(const StderrReporter &) = delete;

  void info(const std::string &line) override {
    end_line();
    fmt::print(stderr, "{}\n", line);
  }
  void progress(const fix::WorkloadProgress &p) override {
    const auto text = fmt::format("waiting: {} {}/{}: {}/{} updated, {}/{} ready ({})", p.workload.kind,
                                  p.workload.namespace_, p.workload.name, p.updated, p.total, p.ready, p.total,
                                  p.waiting_for);
    if (tty_) {
      fmt::print(stderr, "\r\033[K{}", text);
      std::fflush(stderr);
      live_ = true;
    } else if (text != last_) {
      fmt::print(stderr, "{}\n", text);
    }
    last_ = text;
  }
  void progress_done() override {
    end_line();
    last_.clear();
  }

private:
  void end_line() {
    if (!live_) return;
    fmt::print(stderr, "\n");
    live_ = false;
  }
  bool tty_;
  bool live_ = false;
  std::string last_;
};

std::string holder_identity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  return fmt::format("{}-{}", host, getpid());
}

// --dry-run as kubectl spells it: none applies; client prints the plan and sends nothing; server also sends every
// request with dryRun=All, so admission and RBAC judge it. `--dry-run` alone is server (issue 5: a runbook's
// dry run should be the server's verdict); kubectl's bare --dry-run means client, hence the explicit help text.
enum class DryRun { None, Client, Server };

DryRun parse_dry_run(const std::string &text) {
  if (text == "none") return DryRun::None;
  if (text == "client") return DryRun::Client;
  if (text == "server") return DryRun::Server;
  throw UsageError(fmt::format("--dry-run={}: must be none, client or server", text));
}

// Asks on the terminal that stdin is: the question goes to /dev/tty (stdout may be a pipe into `tee`, stderr a
// log), the answer comes from stdin.
bool confirm(std::size_t steps, std::size_t clusters) {
  const auto question = fmt::format("Apply these {} step{} to {} cluster{}? [y/N] ", steps, steps == 1 ? "" : "s",
                                    clusters, clusters == 1 ? "" : "s");
  if (std::FILE *tty = std::fopen("/dev/tty", "w"); tty != nullptr) {
    fmt::print(tty, "{}", question);
    std::fclose(tty);
  } else {
    fmt::print(stderr, "{}", question);
    std::fflush(stderr);
  }
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

int exit_for(const model::Summary &s) {
  if (s.errors > 0) return to_int(ExitCode::Error);
  if (s.drifted > 0 || s.unknown > 0) return to_int(ExitCode::Drift);
  return to_int(ExitCode::Ok);
}

bool plan_has_errors(const fix::Plan &p) {
  for (const auto &c : p.clusters)
    if (!c.errors.empty()) return true;
  return false;
}

bool plan_has_refusals(const fix::Plan &p) {
  for (const auto &c : p.clusters)
    if (!c.refusals.empty()) return true;
  return false;
}

void print_step_list(const char *title, const std::vector<fix::Step> &steps) {
  if (steps.empty()) return;
  fmt::print(stderr, "  {}:\n", title);
  for (const auto &s : steps) fmt::print(stderr, "    - {}\n", fix::describe(s));
}

int run_fix(const GlobalOptions &g, const FixCliOptions &o) {
  if (o.output != "text" && o.output != "json") throw UsageError(fmt::format("-o {}: unknown output format (text, json)", o.output));
  const DryRun dry_run = parse_dry_run(o.dry_run);
  fix::FixOptions fo;
  fo.force = o.force;
  fo.force_owned = o.force_owned;
  fo.unify_spellings = o.unify_spellings;
  if (o.restart == "delete-pods") fo.restart = fix::RestartMode::DeletePods;
  else if (o.restart == "opsrequest")
    fo.restart = fix::RestartMode::OpsRequest;
  else if (o.restart != "auto")
    throw UsageError(fmt::format("--restart={}: must be auto, delete-pods or opsrequest", o.restart));
  check::parse_label_selector(o.selector); // a selector the server would refuse needs no server either
  std::vector<check::Relation> relations; // parsed before connecting: a typo needs no server
  for (const auto &r : o.relations)
    relations.push_back(check::parse_relation(r));
  fix::ApplyOptions ao;
  ao.timeout = util::parse_duration(o.timeout, "--timeout");
  ao.lock_wait = util::parse_duration(o.lock_wait, "--lock-wait");
  ao.holder = holder_identity();
  const bool json_out = o.output == "json";

  // Step 1: connect. --timeout bounds the whole command, as check's does: every request and retry, the wait for
  // another fix's Lease and for the pods; --request-timeout bounds one request.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (ao.timeout.count() > 0) deadline = std::chrono::steady_clock::now() + ao.timeout;
  auto session = connect(g, deadline);
  check::Scope scope;
  scope.namespace_ = effective_namespace(g, &session);
  scope.all_namespaces = o.all_namespaces;
  scope.label_selector = o.selector;
  scope.clusters = o.clusters;
  scope.relations = relations;
  scope.cluster_domain = o.cluster_domain;
  scope.probe = probe_options(o.probe); // the reads to plan and to verify

  // Step 2: read and plan.
  auto state = fix::read_state(*session.client, scope);
  auto plan = fix::make_plan(state.inventory, scope, fo, state.opsrequests);
  for (const auto &name : o.clusters) {
    bool found = std::any_of(plan.clusters.begin(), plan.clusters.end(),
                             [&](const fix::ClusterPlan &c) { return c.name == name; });
    if (!found)
      throw Error(fmt::format("no VictoriaMetrics cluster \"{}\" in {} (try -A, or `vmsync check` to list them)", name,
                              o.all_namespaces ? "any namespace" : "namespace \"" + scope.namespace_ + "\""));
  }

  // Step 3: dry run: show the plan; on the server, every request with dryRun=All.
  if (dry_run != DryRun::None) {
    std::vector<fix::DryRunOutcome> server;
    if (dry_run == DryRun::Server) server = fix::server_dry_run(*session.client, plan);
    std::size_t refused = 0;
    for (const auto &r : server)
      if (!r.error.empty()) ++refused;
    if (json_out) {
      auto doc = fix::plan_to_json(plan);
      if (dry_run == DryRun::Server) {
        // Attach each server verdict to its step (steps are unique by action and target within a cluster run).
        std::size_t k = 0;
        for (auto &c : doc["clusters"])
          for (auto &s : c["steps"]) {
            if (s["action"] == "wait") continue;
            if (k < server.size()) {
              s["serverDryRun"] = server[k].error.empty()
                                      ? nlohmann::ordered_json{{"accepted", true}}
                                      : nlohmann::ordered_json{{"accepted", false}, {"error", server[k].error}};
            }
            ++k;
          }
      }
      std::cout << doc.dump(2) << "\n";
    } else {
      fix::render_plan_text(plan, std::cout, g.verbosity > 0);
      if (dry_run == DryRun::Server)
        std::cout << fmt::format("server dry run (dryRun=All): {} of {} request{} accepted\n", server.size() - refused,
                                 server.size(), server.size() == 1 ? "" : "s");
      else
        std::cout << "client dry run: nothing was sent to the server\n";
    }
    std::cout.flush();
    for (const auto &r : server)
      if (!r.error.empty())
        log_stderr(fmt::format("vmsync: error: the server would refuse {}: {}", fix::describe(r.step), r.error));
    if (refused > 0 || plan_has_errors(plan)) return to_int(ExitCode::Error);
    if (plan.step_count() > 0 || plan_has_refusals(plan)) return to_int(ExitCode::Drift);
    return exit_for(check::compute_report(state.inventory, scope).summary);
  }

  // Step 4: nothing to do touches nothing.
  if (!json_out) fix::render_plan_text(plan, std::cout, g.verbosity > 0);
  std::cout.flush();
  if (plan.step_count() == 0) {
    if (json_out) std::cout << fix::plan_to_json(plan).dump(2) << "\n";
    for (const auto &c : plan.clusters)
      for (const auto &r : c.refusals) log_stderr(fmt::format("vmsync: refused: {}/{}: {}", c.namespace_, c.name, r));
    if (plan_has_errors(plan)) return to_int(ExitCode::Error);
    return exit_for(check::compute_report(state.inventory, scope).summary);
  }

  // Step 5: confirm. Whenever stdin is a terminal (`vmsync fix | tee log` still asks); with none there is no one
  // to ask, and changing a cluster unasked is not ours to decide: --yes says so.
  std::size_t clusters = 0;
  for (const auto &c : plan.clusters)
    if (!c.steps.empty()) ++clusters;
  if (!o.yes && isatty(STDIN_FILENO) == 0)
    throw UsageError(fmt::format("{} step{} to apply to {} cluster{} and no terminal to confirm on: pass --yes to "
                                 "apply them (--dry-run to only see them)",
                                 plan.step_count(), plan.step_count() == 1 ? "" : "s", clusters,
                                 clusters == 1 ? "" : "s"));
  if (!o.yes) {
    if (!confirm(plan.step_count(), clusters)) {
      log_stderr("vmsync: nothing applied");
      return to_int(ExitCode::Drift);
    }
  }

  // Step 6: apply, then verify, in what is left of --timeout.
  if (deadline) {
    using std::chrono::milliseconds;
    const auto left = std::max(
        milliseconds(1), std::chrono::duration_cast<milliseconds>(*deadline - std::chrono::steady_clock::now()));
    ao.timeout = left;
    ao.lock_wait = std::min(ao.lock_wait, left);
  }
  StderrReporter reporter;
  auto result = fix::apply(*session.client, scope, fo, plan, ao, reporter);

  // Step 7: report what happened.
  for (const auto &c : result.clusters) {
    for (const auto &r : c.refusals) log_stderr(fmt::format("vmsync: refused: {}/{}: {}", c.namespace_, c.name, r));
    if (c.error.empty()) continue;
    if (c.failed_step)
      log_stderr(fmt::format("vmsync: error: {}/{}: {} failed: {}", c.namespace_, c.name, fix::describe(*c.failed_step),
                             c.error));
    else
      log_stderr(fmt::format("vmsync: error: {}/{}: {}", c.namespace_, c.name, c.error));
    std::vector<fix::Step> applied;
    for (const auto &a : c.applied) applied.push_back(a.step);
    print_step_list("applied", applied);
    if (c.outcome_unknown && c.failed_step)
      print_step_list("outcome unknown (it reached the server, whose answer was lost: it may have been applied)",
                      {*c.failed_step});
    print_step_list("not applied", c.not_applied);
    if (!applied.empty() || c.outcome_unknown) log_stderr("  running `vmsync fix` again resumes from the live state");
  }
  if (json_out) {
    nlohmann::ordered_json doc;
    doc["apiVersion"] = report::kApiVersion;
    doc["kind"] = "FixResult";
    doc["plan"] = fix::plan_to_json(plan)["clusters"];
    doc["clusters"] = nlohmann::ordered_json::array();
    for (const auto &c : result.clusters) {
      nlohmann::ordered_json cj;
      cj["namespace"] = c.namespace_;
      cj["name"] = c.name;
      cj["applied"] = nlohmann::ordered_json::array();
      for (const auto &a : c.applied) {
        auto step = fix::step_to_json(a.step);
        if (!a.detail.empty()) step["detail"] = a.detail; // e.g. the OpsRequest made, a lost answer read back
        cj["applied"].push_back(std::move(step));
      }
      cj["notApplied"] = nlohmann::ordered_json::array();
      for (const auto &s : c.not_applied) cj["notApplied"].push_back(fix::step_to_json(s));
      cj["outcomeUnknown"] = c.outcome_unknown && c.failed_step ? nlohmann::ordered_json(fix::step_to_json(*c.failed_step))
                                                                : nlohmann::ordered_json(nullptr);
      cj["error"] = c.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(c.error);
      cj["conflicts"] = c.conflicts;
      cj["refusals"] = c.refusals;
      cj["warnings"] = c.warnings;
      doc["clusters"].push_back(std::move(cj));
    }
    doc["verified"] = report::to_json(result.verified);
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << "verify: " << report::summary_line(result.verified.summary) << "\n";
  }
  std::cout.flush();
  if (result.failed()) return to_int(ExitCode::Error);
  return exit_for(result.verified.summary);
}

} // namespace

void register_fix(CLI::App &app, GlobalOptions &g, Action &action) {
  auto opts = std::make_shared<FixCliOptions>();
  auto *cmd = app.add_subcommand("fix", "Repair stale vmstorage lists and restart vmselect/vminsert in the safe order");
  cmd->footer("Exit status: 0 healed (or nothing to do), 1 drift remains (or, with --dry-run, the plan has steps), "
              "2 error.");
  cmd->add_option("CLUSTER", opts->clusters, "Names of the VictoriaMetrics clusters to fix (default: all)");
  cmd->add_flag("-A,--all-namespaces", opts->all_namespaces, "Fix clusters in every namespace (ignores -n)");
  cmd->add_option(
         "-l,--selector", opts->selector,
         "Label selector for the clusters' workloads and custom resources, e.g. app.kubernetes.io/instance=x")
      ->type_name("SELECTOR");
  cmd->add_option("--relation", opts->relations, std::string(kRelationHelp))
      ->type_name("RELATION")
      ->allow_extra_args(false);
  cmd->add_option("--cluster-domain", opts->cluster_domain, std::string(kClusterDomainHelp))
      ->type_name("DOMAIN")
      ->capture_default_str();
  cmd->add_flag(
         "--dry-run{server}", opts->dry_run,
         "Print the plan and change nothing: server (--dry-run alone) also sends every request with dryRun=All, "
         "so admission and RBAC are checked; client sends nothing; none applies the plan")
      ->check(one_of({"none", "client", "server"}));
  cmd->add_option("-o,--output", opts->output, "Output format: text or json")->check(one_of({"text", "json"}));
  cmd->add_flag(
      "-y,--yes", opts->yes,
      "Apply without asking. Without it fix asks on the terminal when stdin is one, and refuses (exit 2) "
      "when it is not, as in a script or CronJob");
  cmd->add_flag(
      "--force", opts->force,
      "Act although vmstorage is not all Ready or a vminsert/vmselect workload is paused or mid-rollout");
  cmd->add_flag("--force-owned", opts->force_owned,
                "Edit objects a controller owns (VMCluster, KubeBlocks), although it may revert them");
  cmd->add_flag(
      "--unify-spellings", opts->unify_spellings,
      "Where vminsert workloads spell a vmstorage node differently, rewrite it to the spelling most of them "
      "use: the series of the workloads that change move between nodes once (see the check section of the man "
      "page)");
  cmd->add_option("--restart", opts->restart,
                  "How KubeBlocks components restart: auto or delete-pods (the stale pods one at a time, a canary "
                  "first, each restarted once) or opsrequest (a KubeBlocks Restart OpsRequest: every pod of the "
                  "component, in KubeBlocks' order, no separate canary). On KubeBlocks 0.9 a stale env ConfigMap "
                  "is always repaired by a Restart OpsRequest")
      ->check(one_of({"auto", "delete-pods", "opsrequest"}))
      ->capture_default_str();
  cmd->add_option("--timeout", opts->timeout,
                  "Give up after this long: the whole command (reads, the wait for another fix's lock, restarts, "
                  "verification), every request and retry included, e.g. 10m (0: no limit)")
      ->check(duration_value())
      ->type_name("DURATION")
      ->capture_default_str();
  add_probe_options(*cmd, opts->probe, "Plan and verify by asking the pods");
  cmd->add_option(
         "--lock-wait", opts->lock_wait,
         "Wait this long for another vmsync fix of the same cluster to finish (0: exit at once naming it)")
      ->check(duration_value())
      ->type_name("DURATION")
      ->capture_default_str();
  cmd->callback([&g, &action, opts] { action = [&g, opts] { return run_fix(g, *opts); }; });
}

} // namespace vmsync::cli
