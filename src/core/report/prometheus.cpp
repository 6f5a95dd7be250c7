// Metrics in the text exposition format. Every family is written whole (HELP, TYPE, then all its samples), as
// the format requires; samples follow the report's order (namespace, cluster, role), so output is stable.
#include "vmsync/report/prometheus.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

namespace vmsync::report {

const char *const kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

namespace {

using model::PodStatus;

// Label values: backslash, double quote and line feed escaped.
std::string label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string labels_text(const Labels &labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (const auto &[k, v] : labels)
    out += fmt::format("{}{}=\"{}\"", out.size() > 1 ? "," : "", k, label_value(v));
  return out + "}";
}

struct Family {
  std::string name;
  std::string help;
  std::vector<std::pair<Labels, std::string>> samples;
};

// What a role's consumers add up to in one cluster.
struct RoleTotals {
  long pods = 0, stale = 0, unknown = 0;
  long probed = 0; // pods whose own pages were read (check --probe)
  std::set<std::string> missing, unexpected, unreachable;
  bool source_drift = false;
};

std::map<model::Role, RoleTotals> role_totals(const model::ClusterDrift &c) {
  std::map<model::Role, RoleTotals> out;
  for (const auto &consumer : c.consumers) {
    auto &t = out[consumer.role];
    t.source_drift = t.source_drift || consumer.source_drift;
    for (const auto &p : consumer.pods) {
      ++t.pods;
      t.stale += p.status == PodStatus::Stale ? 1 : 0;
      t.unknown += p.status == PodStatus::Unknown ? 1 : 0;
      t.missing.insert(p.missing.begin(), p.missing.end());
      t.unexpected.insert(p.unexpected.begin(), p.unexpected.end());
      t.probed += p.observed ? 1 : 0;
      t.unreachable.insert(p.unreachable.begin(), p.unreachable.end());
    }
  }
  return out;
}

} // namespace

void render_prometheus(const model::DriftReport &r, const MetricsOptions &o, std::ostream &out) {
  const bool success = o.completed && r.summary.errors == 0 && r.errors.empty() &&
                       std::none_of(r.clusters.begin(), r.clusters.end(), [](const model::ClusterDrift &c) {
                         return c.status == model::ClusterStatus::Error;
                       });
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.timestamp.time_since_epoch()).count();

  std::deque<Family> f; // a deque: references to earlier families stay valid as more are added
  auto family = [&f](std::string name, std::string help) -> Family & {
    f.push_back(Family{std::move(name), std::move(help), {}});
    return f.back();
  };
  family("vmsync_check_success",
         "Whether the last check read every VictoriaMetrics cluster in scope without error.")
      .samples.push_back({{}, success ? "1" : "0"});
  family("vmsync_check_timestamp_seconds", "When the last check ran, in seconds since the Unix epoch.")
      .samples.push_back({{}, fmt::format("{}.{:03}", ms / 1000, ms % 1000)});

  Family &status = family("vmsync_cluster_status", "1 for the cluster's status (InSync, Drift, Unknown, Error), "
                                                   "0 for the other statuses.");
  Family &declared = family("vmsync_storage_replicas_declared", "vmstorage replicas declared (spec.replicas).");
  Family &ready = family("vmsync_storage_replicas_ready", "vmstorage pods Ready.");
  Family &pods = family("vmsync_pods", "vminsert or vmselect pods checked.");
  Family &stale = family("vmsync_stale_pods", "Pods running with a vmstorage list that differs from the nodes.");
  Family &unknown = family("vmsync_unknown_pods", "Pods whose vmstorage list could not be proven.");
  Family &missing =
      family("vmsync_missing_nodes", "Distinct vmstorage nodes missing from the lists of the role's pods.");
  Family &unexpected = family("vmsync_unexpected_nodes",
                              "Distinct entries in the lists of the role's pods that are not vmstorage nodes.");
  Family &source = family("vmsync_source_drift",
                          "1 when the source of the role's list (pod template or ConfigMap) is wrong, else 0.");
  // With check --probe only (no samples otherwise, so the families are left out).
  Family &probed = family("vmsync_probed_pods", "Pods whose own /flags or /metrics were read (check --probe).");
  Family &unreachable =
      family("vmsync_unreachable_nodes", "Distinct vmstorage nodes the role's probed pods use but cannot reach.");

  for (const auto &c : r.clusters) {
    const Labels cl{{"namespace", c.namespace_}, {"cluster", c.name}};
    for (auto s : {model::ClusterStatus::InSync, model::ClusterStatus::Drift, model::ClusterStatus::Unknown,
                   model::ClusterStatus::Error}) {
      Labels l = cl;
      l.emplace_back("status", std::string(model::to_string(s)));
      status.samples.push_back({l, c.status == s ? "1" : "0"});
    }
    declared.samples.push_back({cl, std::to_string(c.storage.declared_replicas)});
    if (c.pods_known) ready.samples.push_back({cl, std::to_string(c.storage.ready_pods)});
    for (const auto &[role, t] : role_totals(c)) {
      Labels l = cl;
      l.emplace_back("role", std::string(model::to_string(role)));
      pods.samples.push_back({l, std::to_string(t.pods)});
      stale.samples.push_back({l, std::to_string(t.stale)});
      unknown.samples.push_back({l, std::to_string(t.unknown)});
      missing.samples.push_back({l, std::to_string(t.missing.size())});
      unexpected.samples.push_back({l, std::to_string(t.unexpected.size())});
      source.samples.push_back({l, t.source_drift ? "1" : "0"});
      if (t.probed > 0) {
        probed.samples.push_back({l, std::to_string(t.probed)});
        unreachable.samples.push_back({l, std::to_string(t.unreachable.size())});
      }
    }
  }

  for (const auto &fam : f) {
    if (fam.samples.empty()) continue;
    out << "# HELP " << fam.name << ' ' << fam.help << '\n' << "# TYPE " << fam.name << " gauge\n";
    for (const auto &[labels, value] : fam.samples) {
      out << fam.name << labels_text(labels) << ' ' << value;
      if (o.sample_timestamps) out << ' ' << ms;
      out << '\n';
    }
  }
}

} // namespace vmsync::report
