#pragma once
// `vmsync fix`, the half that talks to the server: per cluster take a Lease, re-read and re-plan under it,
// execute the steps in order (waits bounded by a deadline, with progress), re-plan on a 409, stop at the first
// failing step and say exactly what was and was not applied, record Events and the last-fix annotation, and
// verify with a fresh check at the end. Also the server-side dry run: every mutation sent with dryRun=All.
//
// The core never prints: everything a person should see goes through Reporter, which the CLI implements.
#include "vmsync/check/check.hpp"
#include "vmsync/fix/plan.hpp"
#include "vmsync/kube/client.hpp"
#include "vmsync/model/drift.hpp"

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vmsync::fix {

inline constexpr const char *kReasonRepaired = "VmsyncRepairedStorageNodes";
inline constexpr const char *kReasonRestarted = "VmsyncRestarted";

// What a wait sees, per workload: pods running the repaired list ("updated"), Ready pods, declared replicas.
struct WorkloadProgress {
  Target workload;
  int updated = 0;
  int ready = 0;
  int total = 0;
  std::string waiting_for; // the step's condition
};

class Reporter {
public:
  virtual ~Reporter() = default;
  Reporter() = default;
  Reporter(const Reporter &) = delete;
  Reporter &operator=(const Reporter &) = delete;
  // A line for people (the CLI writes it to stderr): steps applied, conflicts, warnings.
  virtual void info(const std::string &line) = 0;
  // A wait's current state; called again on every poll (the CLI rewrites one line on a terminal).
  virtual void progress(const WorkloadProgress &p) = 0;
  // The wait that reported progress is over.
  virtual void progress_done() {}
};

// Everything read for a plan: check's inventory plus the OpsRequests vmsync made.
struct LiveState {
  check::Inventory inventory;
  std::vector<nlohmann::json> opsrequests;
};
LiveState read_state(kube::Client &client, const check::Scope &scope);

struct ApplyOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(10)}; // all waits of the run together (0: no limit)
  std::chrono::milliseconds lock_wait{0};                      // how long to wait for another fixer's Lease
  std::chrono::seconds lease_duration{60};
  std::string holder;         // "<hostname>-<pid>"
  int max_conflicts = 3;      // 409s (and, apart, lost writes read back as not applied) re-planned per cluster
  std::chrono::milliseconds poll{1000};
  // Replaceable for tests; defaults: system_clock::now and std::this_thread::sleep_for.
  std::function<std::chrono::system_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
};

struct AppliedStep {
  Step step;
  std::string detail; // e.g. the OpsRequest's generated name, "already gone"
};

struct ClusterOutcome {
  std::string namespace_;
  std::string name;
  std::vector<AppliedStep> applied;
  std::optional<Step> failed_step;
  std::string error;            // why it failed (or why it could not start: the Lease is held)
  // The failed step is a write that reached the server and got no readable answer (the connection broke or
  // timed out after sending, the answer was cut off, or a 504), and reading its object back to decide failed
  // too: it may have been applied. It is then not in `not_applied`. (A lost answer whose object could be read
  // back is decided: applied, the run goes on; not applied, it is planned again and resent, a bounded number of
  // times; see read_back.hpp.)
  bool outcome_unknown = false;
  std::vector<Step> not_applied; // the failed step (unless its outcome is unknown) and every later step
  std::vector<std::string> refusals, warnings;
  int conflicts = 0;
};

struct ApplyResult {
  std::vector<ClusterOutcome> clusters;
  model::DriftReport verified; // a fresh check of the whole scope after the run
  [[nodiscard]] bool failed() const;
};

// Applies `plan` (clusters without steps are not touched: no Lease, no Event). Steps are re-planned from live
// state under each cluster's Lease, so a plan shown for confirmation that went stale is never executed blindly.
ApplyResult apply(kube::Client &client, const check::Scope &scope, const FixOptions &options, const Plan &plan,
                  const ApplyOptions &apply_options, Reporter &reporter);

// Server-side dry run: each mutation of the plan sent with dryRun=All (waits skipped). One entry per step sent;
// error empty when the server accepted it.
struct DryRunOutcome {
  Step step;
  std::string error;
};
std::vector<DryRunOutcome> server_dry_run(kube::Client &client, const Plan &plan);

// Lease times are RFC 3339 with microseconds ("MicroTime").
std::string micro_time(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string &rfc3339);

} // namespace vmsync::fix
