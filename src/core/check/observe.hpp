#pragma once
// What a pod runs with, and what a consumer's source says, from object specs alone. A pod's environment is
// resolved as the kubelet resolved it when the container started; where a ConfigMap changed after that, the
// current value is not what the pod has, and we say so instead of guessing.
#include "discover.hpp"
#include "vmsync/model/drift.hpp"

#include <map>
#include <memory>
#include <utility>

namespace vmsync::check {

// The list as the consumer's source holds it now (template args/env, or the ConfigMap key they reference).
model::ListSource read_source(const ConsumerSpec &consumer, const Inventory &inv);

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

private:
  struct SpecList;
  const SpecList &spec_list(const Pod &pod);

  const Inventory &inv_;
  std::map<std::pair<const nlohmann::json *, std::string>, std::unique_ptr<const SpecList>> memo_;
};

} // namespace vmsync::check
