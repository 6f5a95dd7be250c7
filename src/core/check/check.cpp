// compute_report: the pure half of check. Discover clusters, observe each consumer's source and pods, hand the
// observations to the drift model, and attach storage health and errors.
#include "vmsync/check/check.hpp"

#include "discover.hpp"
#include "observe.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace vmsync::check {

namespace {

model::StorageHealth storage_health(const ClusterSpec &c) {
  model::StorageHealth h;
  if (c.storage == nullptr) return h;
  h.workload = {c.storage_kind, meta_name(*c.storage), c.namespace_};
  h.declared_replicas = c.declared_replicas;
  h.existing_pods = static_cast<int>(c.storage_pods.size());
  h.ready_pods = static_cast<int>(
      std::count_if(c.storage_pods.begin(), c.storage_pods.end(), [](const Pod *p) { return p->ready; }));
  for (int i = 0; i < c.declared_replicas; ++i) h.nodes.push_back(fmt::format("{}-{}", meta_name(*c.storage), i));
  return h;
}

// The namespaces clusters may be found in: those of the objects discovery starts from, in order.
std::set<std::string> cluster_namespaces(const Inventory &inv) {
  std::set<std::string> out;
  for (const auto *list : {&inv.statefulsets, &inv.deployments, &inv.instancesets, &inv.vmclusters})
    for (const auto &o : *list)
      out.insert(meta_namespace(o));
  return out;
}

// Clusters are found and computed a namespace at a time: no lookup leaves a cluster's namespace (every reference
// its objects make, by owner, name or selector, is namespaced), so only one namespace's discovery is held at a
// time, and with `release` (the same Inventory as `inv`, owned by the caller's rvalue) each namespace's objects
// are freed once its clusters are computed: a fleet's report grows into the memory its objects leave.
model::DriftReport compute(const Inventory &inv, const Scope &scope, Inventory *release) {
  model::DriftReport report;
  for (const auto &ns : cluster_namespaces(inv)) {
    auto specs = discover_clusters(inv, scope, &ns);
    for (auto &spec : specs) {
      model::ClusterDrift cd;
      cd.namespace_ = spec.namespace_;
      cd.name = spec.name;
      cd.layout = spec.layout;
      cd.storage = storage_health(spec);
      cd.pods_known = !inv.offline;
      cd.errors = spec.errors;
      cd.warnings = spec.warnings;
      if (auto it = inv.namespace_errors.find(spec.namespace_); it != inv.namespace_errors.end())
        cd.errors.push_back(it->second);
      if (!inv.offline && spec.storage != nullptr && cd.storage.ready_pods < cd.storage.declared_replicas)
        cd.warnings.push_back(fmt::format("vmstorage {} has {} of {} declared pods Ready",
                                          cd.storage.workload.name, cd.storage.ready_pods,
                                          cd.storage.declared_replicas));
      cd.consumers.reserve(spec.consumers.size());
      for (auto &cons : spec.consumers) {
        model::ConsumerInput in;
        in.role = cons.role;
        in.workload = {cons.kind, meta_name(*cons.workload), spec.namespace_};
        in.source = read_source(cons, inv);
        in.names = std::move(cons.names); // the spec is done with once its consumers are
        in.expected = std::move(cons.expected);
        PodObserver observer(inv); // its pods share a few specs
        in.pods.reserve(cons.pods.size());
        for (const auto *pod : cons.pods) {
          auto obs = observer.observe(*pod);
          if (cons.discovery_mode) obs.discovery = true;
          if (scope.probe.mode != ProbeMode::Off) {
            const auto probe = inv.probes.find(pod->namespace_ + "/" + pod->name);
            if (probe != inv.probes.end())
              apply_probe(obs, probe->second);
            else
              obs.evidence.emplace_back("probe: not probed (the pod is not running or has no IP yet)");
            if (scope.probe.required && !obs.observed)
              cd.errors.push_back(fmt::format(
                  "pod {} ({}) could not be probed and --probe=require was given: {}", pod->name, in.workload.name,
                  probe != inv.probes.end() ? probe->second.failure : "it is not running or has no IP yet"));
          }
          in.pods.push_back(std::move(obs));
        }
        cd.consumers.push_back(model::compute_consumer(in));
      }
      cd.spelling_splits = model::spelling_splits(cd.consumers);
      cd.status = model::cluster_status(cd);
      report.clusters.push_back(std::move(cd));
      spec = {}; // what was read of one cluster goes as it is done
    }
    if (release != nullptr) release->release_namespace(ns);
  }
  // Namespaces we could not read at all still appear, as the report's errors (they belong to no cluster), so a
  // 403 is never mistaken for "nothing here".
  for (const auto &entry : inv.namespace_errors) {
    // Not a structured binding: clang before 16 (the fuzz and clang-tidy builds) cannot capture one.
    const std::string &ns = entry.first;
    const std::string &err = entry.second;
    bool covered = std::any_of(report.clusters.begin(), report.clusters.end(),
                               [&](const model::ClusterDrift &c) { return c.namespace_ == ns; });
    if (!covered) report.errors.push_back(err);
  }
  report.warnings = inv.warnings;
  report.errors.insert(report.errors.end(), inv.errors.begin(), inv.errors.end());
  model::sort_report(report);
  return report;
}

} // namespace

model::DriftReport compute_report(const Inventory &inv, const Scope &scope) {
  return compute(inv, scope, nullptr);
}

model::DriftReport compute_report(Inventory &&inv, const Scope &scope) { return compute(inv, scope, &inv); }

} // namespace vmsync::check
