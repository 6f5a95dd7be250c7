#pragma once
// One consumer as the planner sees it, for apply's waits: which pods exist, which are Ready, which run the list
// the source holds now (exact strings, as VictoriaMetrics routes by them), and whether its controller is rolling.
#include "vmsync/fix/plan.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vmsync::fix {

struct PodState {
  std::string name;
  std::string uid;
  std::string hash; // the pod's vmsync.io/storage-nodes-hash annotation (from the template it was made from)
  bool ready = false;
  bool in_sync = false;
};

struct ConsumerState {
  bool found = false;
  nlohmann::json workload;
  int replicas = 0;
  std::vector<PodState> pods; // not terminating
  std::vector<std::string> want;
  bool source_drift = false;          // the source (ConfigMap, template) does not hold the expected list
  std::optional<std::string> rollout; // why the controller is still rolling, if it is
};

ConsumerState observe_consumer(const check::Inventory &inv, const check::Scope &scope, const Target &workload);

} // namespace vmsync::fix
