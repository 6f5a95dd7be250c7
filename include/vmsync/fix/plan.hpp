#pragma once
// `vmsync fix`, the pure half: from what check read (an Inventory), an ordered plan of steps per cluster, each
// with the exact request it will send and why. No I/O here, so every rule below is unit-tested on in-memory
// inventories; apply.hpp executes a plan (recomputing it from live state whenever the cluster moved).
//
// The rules, per cluster:
//   - repair the source where it is wrong (a ConfigMap key, a template's args or env), keeping the existing
//     spelling and order: entries naming an expected node stay as written, the missing ones are appended in the
//     expected spelling, duplicates, empty entries and unexpected nodes go (KubeBlocks' lists are sorted);
//   - restart the pods that run with another list: a rolling workload through the pod-template annotation
//     vmsync.io/storage-nodes-hash (equal already: nothing to roll), an OnDelete StatefulSet or a KubeBlocks
//     InstanceSet by deleting pods one at a time (KubeBlocks with --restart=opsrequest: one Restart OpsRequest
//     for the component instead, no separate canary, because the OpsRequest restarts every pod, a canary too);
//   - order: nodes added -> vmselect before vminsert; only removed -> vminsert first; per role a canary first;
//   - refuse (unless --force) when vmstorage is not all Ready or a consumer is paused or mid-rollout; never edit
//     what a controller owns and would revert (unless --force-owned); nothing to do -> no steps at all.
#include "vmsync/check/check.hpp"
#include "vmsync/check/inventory.hpp"
#include "vmsync/kube/client.hpp"
#include "vmsync/model/drift.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::fix {

inline constexpr const char *kHashAnnotation = "vmsync.io/storage-nodes-hash";
inline constexpr const char *kLastFixAnnotation = "vmsync.io/last-fix";

// How KubeBlocks components restart. Auto and DeletePods: the stale pods one at a time, a canary first (each
// stale pod restarts once); OpsRequest: a KubeBlocks Restart OpsRequest for the whole component.
enum class RestartMode { Auto, DeletePods, OpsRequest };

struct FixOptions {
  bool force = false;       // act although vmstorage is not all Ready or a consumer is paused / mid-rollout
  bool force_owned = false; // edit objects a controller owns (it may revert them)
  RestartMode restart = RestartMode::Auto;
  // Rewrite the spelling of nodes that vminsert workloads spell differently to the one most of them use (a
  // spelling change moves series between vmstorage nodes once, so it is never done without this).
  bool unify_spellings = false;
};

enum class Action { PatchConfigMap, PatchTemplate, RestartRollout, DeletePod, CreateOpsRequest, Wait };
std::string_view to_string(Action a) noexcept; // "patch-configmap", ..., "wait"

// What a wait step waits for.
enum class WaitFor {
  None,
  Canary,      // the first pod on the new template (annotation hash) Ready, and running the repaired list
  Rollout,     // every pod of the workload Ready and running the repaired list, the controller done
  PodReplaced, // the deleted pod (uid) replaced by a Ready pod (canary: which runs the repaired list)
  OpsRequest,  // the OpsRequest Succeed, then as Rollout
};
std::string_view to_string(WaitFor w) noexcept; // "canary", "rollout", "pod-replaced", "opsrequest"

struct Target {
  std::string api_version;
  std::string kind;
  std::string namespace_;
  std::string name;
  friend bool operator==(const Target &, const Target &) = default;
};

struct Step {
  Action action = Action::Wait;
  Target target;
  std::optional<kube::PatchType> patch_type;
  nlohmann::json body; // the exact request body; null for delete-pod and wait
  std::string reason;
  model::Role role = model::Role::Insert;
  bool canary = false;
  std::string uid_precondition; // delete-pod: the pod's uid

  // For wait steps and for the bookkeeping after a step (events, the last-fix annotation).
  WaitFor wait = WaitFor::None;
  Target workload;                  // the consumer workload this step serves
  std::string hash;                 // the repaired list's hash
  std::string pod;                  // PodReplaced: the pod deleted (with uid_precondition)
  std::vector<std::string> prior_pod_uids; // PodReplaced: pods that existed when it was planned
  std::vector<std::string> added, removed; // nodes the source repair adds / removes (for events)
  std::string until;                // wait: human text of the condition
  // Restart steps of a ConfigMap-fed consumer: not before the second after the ConfigMap last changed (RFC 3339),
  // because a pod started within that second cannot be proven to have the new value (check reports it Unknown).
  std::string not_before;
};

struct ClusterPlan {
  std::string namespace_;
  std::string name;
  model::Layout layout = model::Layout::Generic;
  std::vector<std::string> refusals; // why (part of) the cluster is left alone
  std::vector<std::string> warnings;
  std::vector<std::string> errors;   // the cluster could not be read or understood
  std::vector<Step> steps;
  [[nodiscard]] bool nothing_to_do() const { return steps.empty() && refusals.empty() && errors.empty(); }
};

struct Plan {
  std::vector<ClusterPlan> clusters;
  [[nodiscard]] std::size_t step_count() const;
};

// Plans every cluster check finds in `inv` within `scope`. `opsrequests`: KubeBlocks OpsRequests vmsync made
// (label app.kubernetes.io/managed-by=vmsync), so that one still running is waited for, not made twice.
Plan make_plan(const check::Inventory &inv, const check::Scope &scope, const FixOptions &options,
               const std::vector<nlohmann::json> &opsrequests = {});

// ---- the pieces, exposed for tests --------------------------------------------------------------------------

// The repaired list: entries of `current` that name an expected node, in their order and spelling (the first of
// duplicates; empty and unexpected entries dropped), then the expected nodes still missing, in the expected
// spelling. `sort_as_strings`: KubeBlocks' order.
std::vector<std::string> repair_list(const std::vector<std::string> &current, const std::vector<std::string> &expected,
                                     const model::NameContext &names, bool sort_as_strings);

// First 16 hex digits of the SHA-256 of the comma-joined list.
std::string list_hash(const std::vector<std::string> &entries);

// A template's argv rewritten to carry `entries` in the style it had: "-"/"--", "=value"/separate value, one
// flag per node (when it had several, or one with a single node and `one_per_node_default`) or one comma list,
// at the position of the first -storageNode; other -storageNode occurrences removed.
std::vector<std::string> rewrite_args(const std::vector<std::string> &argv, const std::vector<std::size_t> &arg_indexes,
                                      const std::vector<std::size_t> &value_indexes, bool comma_joined,
                                      const std::vector<std::string> &entries, bool one_per_node_default);

// The controller that owns `obj` and would revert an edit ("VMCluster vm", "Component vm-vminsert",
// "KubeBlocks"); nullopt when none.
std::optional<std::string> controller_of(const nlohmann::json &obj);

// "/a/b~1c" from {"a", "b/c"} (RFC 6901 escaping).
std::string json_pointer(std::initializer_list<std::string_view> tokens);

} // namespace vmsync::fix
