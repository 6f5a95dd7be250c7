#pragma once
// check --probe: reading what each consumer pod's VictoriaMetrics process runs with from its own pages. The
// transport is the only I/O; what the answers mean (probe_result) is a pure function, tested on its own.
#include "observe.hpp"
#include "vmsync/check/check.hpp"

#include <optional>
#include <string>
#include <vector>

namespace vmsync::kube {
class Client;
}

namespace vmsync::check {

// How one page read ended: the facts, or why not. `forbidden`/`unreachable` mark the failures a run warns about
// once (RBAC pods/proxy, or an API server that cannot reach pods on that port).
struct PageOutcome {
  std::optional<model::VmPageFacts> facts;
  std::string failure; // one line, e.g. "its /metrics answered 401 Unauthorized (-metricsAuthKey protects it)"
  bool forbidden = false;
  bool unreachable = false;
};

// One pod's two pages into what the report says (see PodProbe). `at` is when they were read (RFC 3339).
PodProbe probe_result(const std::string &via, const std::string &at, const PageOutcome &flags,
                      const PageOutcome &metrics);

// The mode a run uses: Auto is Direct in a pod (the client's in-cluster config), Proxy otherwise.
ProbeMode effective_mode(ProbeMode mode, bool in_cluster);

// Probes every target (its /flags and /metrics), `options.concurrency` pods at a time, each within
// `options.timeout` and the client's deadline; fills inv.probes (by "namespace/name") and, once per run,
// inv.warnings for a forbidden probe or pods the API server could not reach.
void probe_pods(kube::Client &client, const ProbeOptions &options, const std::vector<ProbeTarget> &targets,
                Inventory &inv);

} // namespace vmsync::check
