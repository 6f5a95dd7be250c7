#pragma once
// What a pod runs with, and what a consumer's source says, from object specs alone. A pod's environment is
// resolved as the kubelet resolved it when the container started; where a ConfigMap changed after that, the
// current value is not what the pod has, and we say so instead of guessing.
#include "discover.hpp"
#include "vmsync/model/drift.hpp"

#include <map>
#include <memory>
#include <optional>
#include <utility>

namespace vmsync::check {

// The list as the consumer's source holds it now (template args/env, or the ConfigMap key they reference).
model::ListSource read_source(const ConsumerSpec &consumer, const Inventory &inv);

// Where a consumer pod's VictoriaMetrics process serves /flags and /metrics (check --probe).
struct ProbeTarget {
  const Pod *pod = nullptr;
  std::string container; // the container that carries -storageNode
  int port = 0;          // its -httpListenAddr's port, else the role's default: 8480 vminsert, 8481 vmselect
};

// Pods' observations. A pod spec's list (its containers' args and env, resolved against the inventory's
// ConfigMaps) is read once per spec and namespace: the pods of one template share their spec (PodInterner), so
// a fleet's pods are read as a few specs each. Holds references into the inventory, which must outlive it.
class PodObserver {
public:
  explicit PodObserver(const Inventory &inv);
  ~PodObserver();
  PodObserver(const PodObserver &) = delete;
  PodObserver &operator=(const PodObserver &) = delete;
  PodObserver(PodObserver &&) = delete;
  PodObserver &operator=(PodObserver &&) = delete;

  model::PodObservation observe(const Pod &pod);

  // The pod's probe target; nullopt when there is nothing to probe: not running, terminating, no IP yet, or no
  // container with a -storageNode list.
  std::optional<ProbeTarget> probe_target(const Pod &pod, model::Role role);

private:
  struct SpecList;
  const SpecList &spec_list(const Pod &pod);

  const Inventory &inv_;
  std::map<std::pair<const nlohmann::json *, std::string>, std::unique_ptr<const SpecList>> memo_;
};

// Folds what the probe read from the pod's pages into its observation: observation wins over inference. With
// the list observed, `running` is what the process has, the evidence says where and when it was read, and where
// the spec suggested something else (or could not tell) it says that too; a discovery pod (srv+, file:) whose
// /metrics were read is judged by the nodes it really uses. A failed probe leaves the inferred observation as it
// is, with one evidence line saying why.
void apply_probe(model::PodObservation &obs, const PodProbe &probe);

} // namespace vmsync::check
