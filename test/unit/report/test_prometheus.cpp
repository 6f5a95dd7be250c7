#include "vmsync/report/prometheus.hpp"

#include "ci_sample.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace vmsync;

namespace {

std::string metrics(const model::DriftReport &r, bool completed = true, bool sample_timestamps = false) {
  report::MetricsOptions o;
  o.timestamp = std::chrono::system_clock::time_point(std::chrono::milliseconds(1767225600123));
  o.completed = completed;
  o.sample_timestamps = sample_timestamps;
  std::ostringstream out;
  report::render_prometheus(r, o, out);
  return out.str();
}

} // namespace

TEST_CASE("render_prometheus: every family once, samples per cluster and role") {
  CHECK(
      metrics(test::ci_sample()) ==
      R"x(# HELP vmsync_check_success Whether the last check read every VictoriaMetrics cluster in scope without error.
# TYPE vmsync_check_success gauge
vmsync_check_success 0
# HELP vmsync_check_timestamp_seconds When the last check ran, in seconds since the Unix epoch.
# TYPE vmsync_check_timestamp_seconds gauge
vmsync_check_timestamp_seconds 1767225600.123
# HELP vmsync_cluster_status 1 for the cluster's status (InSync, Drift, Unknown, Error), 0 for the other statuses.
# TYPE vmsync_cluster_status gauge
vmsync_cluster_status{namespace="apps",cluster="metrics",status="InSync"} 1
vmsync_cluster_status{namespace="apps",cluster="metrics",status="Drift"} 0
vmsync_cluster_status{namespace="apps",cluster="metrics",status="Unknown"} 0
vmsync_cluster_status{namespace="apps",cluster="metrics",status="Error"} 0
vmsync_cluster_status{namespace="mon",cluster="vm",status="InSync"} 0
vmsync_cluster_status{namespace="mon",cluster="vm",status="Drift"} 1
vmsync_cluster_status{namespace="mon",cluster="vm",status="Unknown"} 0
vmsync_cluster_status{namespace="mon",cluster="vm",status="Error"} 0
vmsync_cluster_status{namespace="team-b",cluster="vmc",status="InSync"} 0
vmsync_cluster_status{namespace="team-b",cluster="vmc",status="Drift"} 0
vmsync_cluster_status{namespace="team-b",cluster="vmc",status="Unknown"} 0
vmsync_cluster_status{namespace="team-b",cluster="vmc",status="Error"} 1
# HELP vmsync_storage_replicas_declared vmstorage replicas declared (spec.replicas).
# TYPE vmsync_storage_replicas_declared gauge
vmsync_storage_replicas_declared{namespace="apps",cluster="metrics"} 1
vmsync_storage_replicas_declared{namespace="mon",cluster="vm"} 3
vmsync_storage_replicas_declared{namespace="team-b",cluster="vmc"} 2
# HELP vmsync_storage_replicas_ready vmstorage pods Ready.
# TYPE vmsync_storage_replicas_ready gauge
vmsync_storage_replicas_ready{namespace="apps",cluster="metrics"} 1
vmsync_storage_replicas_ready{namespace="mon",cluster="vm"} 2
vmsync_storage_replicas_ready{namespace="team-b",cluster="vmc"} 0
# HELP vmsync_pods vminsert or vmselect pods checked.
# TYPE vmsync_pods gauge
vmsync_pods{namespace="apps",cluster="metrics",role="vminsert"} 1
vmsync_pods{namespace="mon",cluster="vm",role="vminsert"} 3
vmsync_pods{namespace="mon",cluster="vm",role="vmselect"} 1
# HELP vmsync_stale_pods Pods running with a vmstorage list that differs from the nodes.
# TYPE vmsync_stale_pods gauge
vmsync_stale_pods{namespace="apps",cluster="metrics",role="vminsert"} 0
vmsync_stale_pods{namespace="mon",cluster="vm",role="vminsert"} 2
vmsync_stale_pods{namespace="mon",cluster="vm",role="vmselect"} 0
# HELP vmsync_unknown_pods Pods whose vmstorage list could not be proven.
# TYPE vmsync_unknown_pods gauge
vmsync_unknown_pods{namespace="apps",cluster="metrics",role="vminsert"} 0
vmsync_unknown_pods{namespace="mon",cluster="vm",role="vminsert"} 1
vmsync_unknown_pods{namespace="mon",cluster="vm",role="vmselect"} 0
# HELP vmsync_missing_nodes Distinct vmstorage nodes missing from the lists of the role's pods.
# TYPE vmsync_missing_nodes gauge
vmsync_missing_nodes{namespace="apps",cluster="metrics",role="vminsert"} 0
vmsync_missing_nodes{namespace="mon",cluster="vm",role="vminsert"} 2
vmsync_missing_nodes{namespace="mon",cluster="vm",role="vmselect"} 0
# HELP vmsync_unexpected_nodes Distinct entries in the lists of the role's pods that are not vmstorage nodes.
# TYPE vmsync_unexpected_nodes gauge
vmsync_unexpected_nodes{namespace="apps",cluster="metrics",role="vminsert"} 0
vmsync_unexpected_nodes{namespace="mon",cluster="vm",role="vminsert"} 1
vmsync_unexpected_nodes{namespace="mon",cluster="vm",role="vmselect"} 0
# HELP vmsync_source_drift 1 when the source of the role's list (pod template or ConfigMap) is wrong, else 0.
# TYPE vmsync_source_drift gauge
vmsync_source_drift{namespace="apps",cluster="metrics",role="vminsert"} 0
vmsync_source_drift{namespace="mon",cluster="vm",role="vminsert"} 1
vmsync_source_drift{namespace="mon",cluster="vm",role="vmselect"} 0
)x");
}

TEST_CASE("render_prometheus: a failed check still says so") {
  CHECK(
      metrics({}, false) ==
      R"(# HELP vmsync_check_success Whether the last check read every VictoriaMetrics cluster in scope without error.
# TYPE vmsync_check_success gauge
vmsync_check_success 0
# HELP vmsync_check_timestamp_seconds When the last check ran, in seconds since the Unix epoch.
# TYPE vmsync_check_timestamp_seconds gauge
vmsync_check_timestamp_seconds 1767225600.123
)");
}

TEST_CASE("render_prometheus: for an import, every sample carries the check's time in milliseconds") {
  CHECK(
      metrics({}, false, true) ==
      R"(# HELP vmsync_check_success Whether the last check read every VictoriaMetrics cluster in scope without error.
# TYPE vmsync_check_success gauge
vmsync_check_success 0 1767225600123
# HELP vmsync_check_timestamp_seconds When the last check ran, in seconds since the Unix epoch.
# TYPE vmsync_check_timestamp_seconds gauge
vmsync_check_timestamp_seconds 1767225600.123 1767225600123
)");
}

TEST_CASE("render_prometheus: label values escaped") {
  model::ClusterDrift c;
  c.namespace_ = "ns";
  c.name = "a\"b\\c\nd";
  c.status = model::ClusterStatus::InSync;
  model::DriftReport r;
  r.clusters = {c};
  r.summary = model::summarize(r.clusters);
  CHECK(metrics(r).find(R"(vmsync_storage_replicas_ready{namespace="ns",cluster="a\"b\\c\nd"} 0)") !=
        std::string::npos);
}

TEST_CASE("render_prometheus: probed pods and the nodes they cannot reach, only with --probe") {
  model::ClusterDrift c;
  c.namespace_ = "ns";
  c.name = "vm";
  c.status = model::ClusterStatus::Drift;
  model::ConsumerDrift cons;
  cons.role = model::Role::Insert;
  model::PodDrift a, b, unprobed;
  a.observed = b.observed = std::make_shared<model::Observed>();
  a.unreachable = {"s-2:8400"};
  b.unreachable = {"s-2:8400", "s-3:8400"};
  cons.pods = {a, b, unprobed};
  c.consumers = {cons};
  model::DriftReport r;
  r.clusters = {c};
  r.summary = model::summarize(r.clusters);
  const auto text = metrics(r);
  CHECK(text.find("# TYPE vmsync_probed_pods gauge\nvmsync_probed_pods{namespace=\"ns\",cluster=\"vm\",role="
                  "\"vminsert\"} 2\n") != std::string::npos);
  CHECK(text.find("vmsync_unreachable_nodes{namespace=\"ns\",cluster=\"vm\",role=\"vminsert\"} 2\n") !=
        std::string::npos);
  r.clusters[0].consumers[0].pods = {unprobed};
  CHECK(metrics(r).find("probed") == std::string::npos);
  CHECK(metrics(r).find("unreachable") == std::string::npos);
}
