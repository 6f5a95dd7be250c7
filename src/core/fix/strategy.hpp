#pragma once
// Each layout's repair in its own place. plan.cpp reads the state (analyse: what a consumer's source must hold and
// which pods run another list), decides health and order, and hands each consumer to the strategy of its cluster's
// layout, which appends the steps that repair it (or says why not). A new layout is a new strategy_<layout>.cpp
// and a case in strategy_for; the pieces every layout shares (repairing a ConfigMap key or a template, rolling or
// deleting pods) are free functions below, in strategy_common.cpp.
#include "../check/discover.hpp"
#include "vmsync/check/check.hpp"
#include "vmsync/check/inventory.hpp"
#include "vmsync/fix/plan.hpp"
#include "vmsync/model/drift.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vmsync::fix {

class LayoutStrategy;

// How the controller of a consumer workload replaces its pods.
enum class UpdateStrategy { Rolling, OnDelete, InstanceSet };

// One consumer as analysed for repair.
struct Work {
  const check::ConsumerSpec *spec = nullptr;
  model::ConsumerDrift drift;
  model::ListSource source;
  std::vector<std::string> new_list;
  bool repair = false;
  std::string hash;
  std::vector<const check::Pod *> restart; // pods running with another list
  std::vector<std::string> added, removed;
  Target workload;
  UpdateStrategy strategy = UpdateStrategy::Rolling;
  bool unknown_order = false; // a pod's list is unknown, so whether nodes were added cannot be told from it
  // For such pods, what the ages say: a vmstorage pod created after the consumer pod and no more than 10 s before
  // its ConfigMap last changed means nodes were added since it started; none means (most likely) removed.
  bool inferred_added = false, inferred_removed = false;
  bool unreadable = false; // pods drift but the source's list cannot be read
  std::string not_before;  // restarts wait until a second after this (the ConfigMap's last change)
  [[nodiscard]] bool needs_action() const { return repair || unreadable || !restart.empty(); }
};

// One cluster being planned.
struct Context {
  const check::Inventory &inv;
  const FixOptions &opt;
  const check::ClusterSpec &cluster;
  const std::vector<nlohmann::json> &opsrequests;
  ClusterPlan &plan;
  const LayoutStrategy &layout;
  std::set<std::pair<std::string, std::string>> patched_configmaps; // (configmap, key) already in the plan
  bool helm_warned = false;
};

// The repair of one layout.
class LayoutStrategy {
public:
  LayoutStrategy() = default;
  LayoutStrategy(const LayoutStrategy &) = delete;
  LayoutStrategy &operator=(const LayoutStrategy &) = delete;
  LayoutStrategy(LayoutStrategy &&) = delete;
  LayoutStrategy &operator=(LayoutStrategy &&) = delete;
  virtual ~LayoutStrategy() = default;

  // Appends to ctx.plan.steps what repairs `w` (its source, then its pods); returns a refusal instead when it
  // must be left alone (the caller then drops whatever this consumer appended).
  virtual std::optional<std::string> plan_consumer(Context &ctx, const Work &w) const = 0;
  // What to change instead of an object this layout's controller owns and would revert.
  [[nodiscard]] virtual std::string instead(const std::string &cluster) const = 0;
  // Whether the layout writes its lists sorted as strings (KubeBlocks' VMSTORAGE_ADDR).
  [[nodiscard]] virtual bool sorted_lists() const { return false; }
  // Whether a template with a single -storageNode flag gets one flag per node (the Helm chart's style).
  [[nodiscard]] virtual bool one_flag_per_node() const { return false; }
};

const LayoutStrategy &strategy_for(model::Layout layout);

// The strategies, one per layout (strategy_<layout>.cpp).
const LayoutStrategy &generic_strategy();
const LayoutStrategy &helm_strategy();
const LayoutStrategy &operator_strategy();
const LayoutStrategy &kubeblocks_strategy();

// ---- shared by the strategies (strategy_common.cpp) ---------------------------------------------------------

std::string join(const std::vector<std::string> &v, std::string_view sep = ",");
std::string workload_text(const Target &t); // "Deployment mon/vm-vminsert"
bool is_helm(const nlohmann::json &obj);
std::string template_hash(const nlohmann::json &workload);
// Why a consumer is mid-rollout, or nullopt.
std::optional<std::string> rollout_in_progress(const nlohmann::json &w, const std::string &kind, UpdateStrategy s);

Step make_wait(const Work &w, WaitFor what, std::string until);
// A delete-pod step and its wait for each of `pods`, in order, the first a canary when `first_is_canary`.
void add_pod_deletions(Context &ctx, const Work &w, const std::vector<const check::Pod *> &pods,
                       bool first_is_canary, const std::string &why);

// Source repair of one consumer: a merge patch of its ConfigMap key, or a JSON patch of its template's args or
// env (which also starts its rollout: template_patched). Returns a refusal, or nullopt with the step appended (or
// nothing to repair).
std::optional<std::string> repair_source(Context &ctx, const Work &w, bool &template_patched);
// Restart of one consumer's stale pods as its controller replaces them: the template annotation for a rolling
// workload, pod deletions one at a time for an OnDelete StatefulSet or an InstanceSet. Returns a refusal or
// nullopt.
std::optional<std::string> restart_pods(Context &ctx, const Work &w, bool template_patched);

} // namespace vmsync::fix
