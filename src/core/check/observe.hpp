#pragma once
// What a pod runs with, and what a consumer's source says, from object specs alone. A pod's environment is
// resolved as the kubelet resolved it when the container started; where a ConfigMap changed after that, the
// current value is not what the pod has, and we say so instead of guessing.
#include "discover.hpp"
#include "vmsync/model/drift.hpp"

namespace vmsync::check {

// The list as the consumer's source holds it now (template args/env, or the ConfigMap key they reference).
model::ListSource read_source(const ConsumerSpec &consumer, const Inventory &inv);

// One pod's observation.
model::PodObservation observe_pod(const Pod &pod, const Inventory &inv);

} // namespace vmsync::check
