#pragma once
// Metrics in the Prometheus text exposition format (version 0.0.4), for a Pushgateway (--pushgateway), the
// node_exporter textfile collector, or any scraper. Families, all gauges:
//   vmsync_check_success                              1 when the check read every cluster in scope without error
//   vmsync_check_timestamp_seconds                    when the check ran (Unix time)
//   vmsync_cluster_status{namespace,cluster,status}   1 for the cluster's status (InSync, Drift, Unknown, Error)
//   vmsync_storage_replicas_declared{namespace,cluster}, vmsync_storage_replicas_ready{namespace,cluster}
//   vmsync_pods, vmsync_stale_pods, vmsync_unknown_pods{namespace,cluster,role}
//   vmsync_missing_nodes, vmsync_unexpected_nodes{namespace,cluster,role}: distinct nodes missing from, or
//     unexpected in, the lists of the role's pods
//   vmsync_source_drift{namespace,cluster,role}     1 when the source of the role's list (template or ConfigMap)
//     is wrong
// Per-role values add up over the role's consumer workloads (usually one).
#include "vmsync/model/drift.hpp"

#include <chrono>
#include <ostream>

namespace vmsync::report {

struct MetricsOptions {
  std::chrono::system_clock::time_point timestamp; // when the check ran
  bool completed = true; // false: the check failed before it had a report (`r` is then empty)
  // Every sample carries `timestamp` (milliseconds), as VictoriaMetrics' import API stores it; a Pushgateway
  // refuses timestamps, and a scraper sets its own.
  bool sample_timestamps = false;
};

void render_prometheus(const model::DriftReport &r, const MetricsOptions &o, std::ostream &out);

// "text/plain; version=0.0.4; charset=utf-8"
extern const char *const kPrometheusContentType;

} // namespace vmsync::report
