// vmsync check: load config, read (API or manifests), compute drift, render, exit by the worst finding.
#include "app.hpp"
#include "session.hpp"

#include "vmsync/check/check.hpp"
#include "vmsync/check/selector.hpp"
#include "vmsync/error.hpp"
#include "vmsync/exit_code.hpp"
#include "vmsync/report/junit.hpp"
#include "vmsync/report/prometheus.hpp"
#include "vmsync/report/push.hpp"
#include "vmsync/report/render.hpp"
#include "vmsync/report/sarif.hpp"
#include "vmsync/util/duration.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <optional>
#include <sstream>

namespace vmsync::cli {

namespace {

struct CheckOptions {
  std::vector<std::string> clusters;
  bool all_namespaces = false;
  std::string selector;
  std::string output = "table";
  bool summary = false;
  bool no_headers = false;
  bool quiet = false;
  bool exit_zero = false;
  bool allow_empty = false; // -f: manifests with objects but no cluster are not an error
  std::vector<std::string> files;
  bool recursive = false; // -R: directories given to -f with their subdirectories
  std::vector<std::string> relations;
  std::string cluster_domain = "cluster.local";
  std::string timeout = "2m";
  std::optional<int> chunk_size; // both page sizes of check::Scope; unset: their defaults
  std::string pushgateway;
  std::string push_url;
  std::string push_bearer_token_file, push_basic_auth_file;
  ProbeCli probe;
};

// Where the metrics go (--pushgateway, --push-url), each with the credentials of --push-*-file or, without
// those, of $VMSYNC_PUSH_BEARER_TOKEN / $VMSYNC_PUSH_BASIC_AUTH (user:password in the URL still works, but shows
// in process lists: the files and variables are for Secrets).
std::vector<report::PushTarget> push_targets(const CheckOptions &o) {
  std::vector<report::PushTarget> out;
  if (!o.pushgateway.empty()) out.push_back(report::parse_push_url(o.pushgateway));
  if (!o.push_url.empty()) out.push_back(report::parse_import_url(o.push_url));
  if (out.empty()) return out;
  if (!o.push_bearer_token_file.empty() && !o.push_basic_auth_file.empty())
    throw UsageError("--push-bearer-token-file and --push-basic-auth-file: give one of them");
  std::string authorization;
  if (!o.push_bearer_token_file.empty())
    authorization = report::bearer_authorization(
        report::read_secret_file(o.push_bearer_token_file, "--push-bearer-token-file"), o.push_bearer_token_file);
  else if (!o.push_basic_auth_file.empty())
    authorization = report::basic_authorization(
        report::read_secret_file(o.push_basic_auth_file, "--push-basic-auth-file"), o.push_basic_auth_file);
  else if (const char *token = std::getenv("VMSYNC_PUSH_BEARER_TOKEN"); token != nullptr && *token != '\0')
    authorization = report::bearer_authorization(token, "$VMSYNC_PUSH_BEARER_TOKEN");
  else if (const char *basic = std::getenv("VMSYNC_PUSH_BASIC_AUTH"); basic != nullptr && *basic != '\0')
    authorization = report::basic_authorization(basic, "$VMSYNC_PUSH_BASIC_AUTH");
  if (!authorization.empty())
    for (auto &t : out)
      t.authorization = authorization;
  return out;
}

report::Format parse_format(const std::string &o, bool &wide) {
  wide = false;
  if (o == "table") return report::Format::Table;
  if (o == "wide") {
    wide = true;
    return report::Format::Table;
  }
  if (o == "json") return report::Format::Json;
  if (o == "yaml") return report::Format::Yaml;
  throw UsageError(fmt::format("-o {}: unknown output format (table, wide, json, yaml)", o));
}

// Formats for machines that render() does not know: CI results and metrics.
enum class CiFormat { None, Junit, Prometheus, Sarif };

CiFormat ci_format(const std::string &o) {
  if (o == "junit") return CiFormat::Junit;
  if (o == "prometheus") return CiFormat::Prometheus;
  if (o == "sarif") return CiFormat::Sarif;
  return CiFormat::None;
}

// `when`: the check's time, the same on the printed page and in every push of one run.
std::string metrics_text(const model::DriftReport &r, bool completed, std::chrono::system_clock::time_point when,
                         bool sample_timestamps = false) {
  report::MetricsOptions mo;
  mo.timestamp = when;
  mo.completed = completed;
  mo.sample_timestamps = sample_timestamps;
  std::ostringstream text;
  report::render_prometheus(r, mo, text);
  return text.str();
}

// What the command wrote to stdout: an error after the report (a failed push) must not print a second document.
struct Progress {
  bool rendered = false;
};

void render(const model::DriftReport &report, CiFormat ci, const report::RenderOptions &ro, bool completed,
            std::chrono::system_clock::time_point when) {
  switch (ci) {
  case CiFormat::Junit: report::render_junit(report, std::cout); break;
  case CiFormat::Prometheus: std::cout << metrics_text(report, completed, when); break;
  case CiFormat::Sarif: report::render_sarif(report, std::cout); break;
  case CiFormat::None: report::render(report, ro, std::cout); break;
  }
  std::cout.flush();
}

int run_check(const GlobalOptions &g, const CheckOptions &o, Progress &progress) {
  const CiFormat ci = ci_format(o.output);
  report::RenderOptions ro;
  if (ci == CiFormat::None) ro.format = parse_format(o.output, ro.wide);
  const auto push = push_targets(o);
  ro.summary = o.summary;
  ro.no_headers = o.no_headers;
  ro.color = use_color(g.color);

  check::Scope scope;
  scope.all_namespaces = o.all_namespaces;
  scope.label_selector = o.selector;
  const auto selector = check::parse_label_selector(o.selector); // refused before anything is read
  if (o.chunk_size) scope.chunk_size = scope.selected_chunk_size = *o.chunk_size;
  scope.clusters = o.clusters;
  for (const auto &r : o.relations)
    scope.relations.push_back(check::parse_relation(r));
  scope.cluster_domain = o.cluster_domain;
  scope.probe = probe_options(o.probe);
  if (scope.probe.mode != check::ProbeMode::Off && !o.files.empty())
    throw UsageError("--probe reads running pods: it cannot be used with -f");

  // Step 1-2: read the inventory, from manifests or from the API.
  check::Inventory inv;
  if (!o.files.empty()) {
    scope.namespace_ = effective_namespace(g, nullptr);
    inv = check::read_manifests(o.files, scope.namespace_,
                                o.recursive ? check::Recursion::Recursive : check::Recursion::OneLevel);
    check::keep_selected(inv, selector); // what -l lists from the API server
  } else {
    const auto timeout = util::parse_duration(o.timeout, "--timeout");
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (timeout.count() > 0) deadline = std::chrono::steady_clock::now() + timeout;
    auto session = connect(g, deadline);
    scope.namespace_ = effective_namespace(g, &session);
    inv = check::read_inventory(*session.client, scope);
    if (g.verbosity >= 1) {
      auto st = session.client->stats();
      log_stderr(fmt::format("vmsync: {} requests, {} bytes received, {} connection(s)", st.requests,
                             st.bytes_received, st.connections));
    }
  }

  // Step 3: compute drift (pure).
  // The objects read are freed as the report is computed, a namespace at a time (the report owns its strings),
  // and what is left of them before rendering.
  auto report = check::compute_report(std::move(inv), scope);
  inv = check::Inventory{};
  if (!o.clusters.empty()) {
    for (const auto &name : o.clusters) {
      bool found = std::any_of(report.clusters.begin(), report.clusters.end(),
                               [&](const model::ClusterDrift &c) { return c.name == name; });
      if (found) continue;
      if (!o.files.empty())
        throw Error(fmt::format("no VictoriaMetrics cluster \"{}\" in {} (`vmsync check -f` without a name lists "
                                "them)",
                                name, check::inputs_text(o.files)));
      throw Error(fmt::format("no VictoriaMetrics cluster \"{}\" in {} (try -A, or `vmsync check` to list them)",
                              name,
                              o.all_namespaces ? "any namespace" : "namespace \"" + scope.namespace_ + "\""));
    }
  }
  // Manifests that hold objects but no cluster are most likely the wrong ones (a chart rendered with other values,
  // a wrong directory): a gate that reads them as "0 clusters, all in sync" would pass anything.
  if (!o.files.empty() && report.clusters.empty() && !o.allow_empty)
    throw Error(
        fmt::format("no VictoriaMetrics cluster in {} (--allow-empty accepts that)", check::inputs_text(o.files)));

  // Step 4: render (and push the metrics).
  const auto checked_at = std::chrono::system_clock::now(); // one time for the page and every push
  if (!o.quiet) render(report, ci, ro, true, checked_at);
  progress.rendered = true;
  bool push_failed = false;
  for (const auto &target : push) {
    try {
      report::push_metrics(
          target, metrics_text(report, true, checked_at, target.kind == report::PushTarget::Kind::Import));
      if (g.verbosity >= 1) log_stderr(fmt::format("vmsync: pushed metrics to {}", target.display));
    } catch (const Error &e) {
      log_stderr(fmt::format("vmsync: error: {}", e.what())); // once: the report itself is fine
      push_failed = true;
    }
  }

  for (const auto &w : report.warnings)
    log_stderr(fmt::format("vmsync: warning: {}", w));
  // Errors also go to stderr, one line each, so they are seen whatever the output format.
  for (const auto &e : report.errors)
    log_stderr(fmt::format("vmsync: error: {}", e));
  for (const auto &c : report.clusters)
    for (const auto &e : c.errors)
      log_stderr(fmt::format("vmsync: error: {}/{}: {}", c.namespace_, c.name, e));

  // Step 5: exit by the worst finding.
  const auto &s = report.summary;
  if (s.errors > 0 || push_failed) return to_int(ExitCode::Error);
  if (o.exit_zero) return to_int(ExitCode::Ok);
  if (s.drifted > 0 || s.unknown > 0) return to_int(ExitCode::Drift);
  return to_int(ExitCode::Ok);
}

// A check that fails is a report too: a CI's report file must hold the error (a JSON report with it in
// `errors`, a JUnit error case, a SARIF run that did not complete), never nothing; monitoring must see
// vmsync_check_success 0, not silence. The error also leaves as the usual one line on stderr, exit 2.
int run_check_reporting_failure(const GlobalOptions &g, const CheckOptions &o) {
  Progress progress;
  try {
    return run_check(g, o, progress);
  } catch (const UsageError &) {
    throw;
  } catch (const Error &e) {
    const auto failed_at = std::chrono::system_clock::now();
    if (!o.quiet && !progress.rendered && o.output != "table" && o.output != "wide") {
      model::DriftReport failed;
      failed.errors.push_back(e.what());
      model::sort_report(failed);
      report::RenderOptions ro;
      ro.format = o.output == "yaml" ? report::Format::Yaml : report::Format::Json;
      render(failed, ci_format(o.output), ro, false, failed_at);
    }
    try {
      for (const auto &target : push_targets(o))
        try {
          report::push_metrics(
              target, metrics_text({}, false, failed_at, target.kind == report::PushTarget::Kind::Import));
        } catch (const Error &push_error) {
          log_stderr(fmt::format("vmsync: warning: {}", push_error.what()));
        }
    } catch (const Error &push_error) {
      log_stderr(fmt::format("vmsync: warning: {}", push_error.what()));
    }
    throw;
  }
}

} // namespace

void register_check(CLI::App &app, GlobalOptions &g, Action &action) {
  auto opts = std::make_shared<CheckOptions>();
  auto *cmd = app.add_subcommand("check", "Report, per vminsert/vmselect pod, drift of its vmstorage list");
  cmd->footer(
      "Each vminsert/vmselect pod is InSync, Stale (nodes missing or unexpected), Unknown (the list it runs "
      "with cannot be read, e.g. it started before its ConfigMap changed) or Discovery (it finds its nodes "
      "by srv+ or file: discovery and cannot drift). Exit status: 0 every pod known to be in sync, 1 drift "
      "(a Stale pod, a wrong list in the template or ConfigMap, or an Unknown pod), 2 error.");
  cmd->add_option("CLUSTER", opts->clusters, "Names of the VictoriaMetrics clusters to check (default: all)");
  cmd->add_flag("-A,--all-namespaces", opts->all_namespaces, "Check clusters in every namespace (ignores -n)");
  cmd->add_option(
         "-l,--selector", opts->selector,
         "Label selector for the clusters' workloads and custom resources, e.g. app.kubernetes.io/instance=x")
      ->type_name("SELECTOR");
  cmd->add_option("-o,--output", opts->output,
                  "Output format: table, wide, json, yaml, junit (CI test results), prometheus (metrics) or sarif")
      ->check(one_of({"table", "wide", "json", "yaml", "junit", "prometheus", "sarif"}));
  cmd->add_flag("--summary", opts->summary, "One row per vminsert/vmselect workload instead of one per pod");
  cmd->add_flag("--no-headers", opts->no_headers, "Print tables without their header lines");
  cmd->add_flag("-q,--quiet", opts->quiet, "Print nothing; report only by exit status");
  cmd->add_flag("--exit-zero", opts->exit_zero, "Exit 0 even when drift is found (for cron jobs); errors still exit 2");
  cmd->add_option(
         "-f,--filename", opts->files,
         "Check rendered manifests instead of the cluster: a file, a directory (its .yaml, .yml and .json "
         "files; with -R its subdirectories' too) or - for stdin; one per -f, repeatable")
      ->type_name("FILE")
      ->allow_extra_args(false);
  cmd->add_flag("-R,--recursive", opts->recursive,
                "Read the directories given to -f and all their subdirectories (default: their own files only)");
  cmd->add_flag("--allow-empty", opts->allow_empty,
                "With -f: manifests that hold no VictoriaMetrics cluster are not an error (exit 0 with 0 clusters); "
                "input with no objects at all still is");
  cmd->add_option("--relation", opts->relations, std::string(kRelationHelp))
      ->type_name("RELATION")
      ->allow_extra_args(false);
  cmd->add_option("--cluster-domain", opts->cluster_domain, std::string(kClusterDomainHelp))
      ->type_name("DOMAIN")
      ->capture_default_str();
  cmd->add_option(
         "--pushgateway", opts->pushgateway,
         "Also push the metrics (those -o prometheus prints) to this Prometheus Pushgateway, e.g. "
         "http://pushgateway:9091; into group job=vmsync unless the URL ends in /metrics/job/<job>[/<l>/<v>]")
      ->type_name("URL");
  cmd->add_option(
         "--push-url", opts->push_url,
         "Also write the metrics into VictoriaMetrics through its import API: single-node "
         "http://victoria-metrics:8428, cluster http://vminsert:8480/insert/<accountID>/prometheus; each "
         "sample at the check's time, labelled job=vmsync unless the URL's query sets extra_label=job=...")
      ->type_name("URL");
  cmd->add_option("--push-bearer-token-file", opts->push_bearer_token_file,
                  "Authenticate pushes with the bearer token in this file (default: $VMSYNC_PUSH_BEARER_TOKEN)")
      ->type_name("FILE");
  cmd->add_option("--push-basic-auth-file", opts->push_basic_auth_file,
                  "Authenticate pushes with user:password from this file (default: $VMSYNC_PUSH_BASIC_AUTH)")
      ->type_name("FILE");
  cmd->add_option("--chunk-size", opts->chunk_size,
                  "Objects per list page (0: no paging). Default: 500, as kubectl, for lists of every object of a "
                  "kind; 5000 for lists by label selector, since each further page of those makes the API server "
                  "read the kind's unrelated objects again")
      ->check(non_negative_number())
      ->type_name("N");
  cmd->add_option("--timeout", opts->timeout,
                  "Give up after this long: the whole command, every request and retry included, e.g. 30s, 2m "
                  "(0: no limit)")
      ->check(duration_value())
      ->type_name("DURATION")
      ->capture_default_str();
  add_probe_options(*cmd, opts->probe, "Also ask the pods");
  cmd->callback([&g, &action, opts] { action = [&g, opts] { return run_check_reporting_failure(g, *opts); }; });
}

} // namespace vmsync::cli
