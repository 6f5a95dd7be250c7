#pragma once
// A fix plan for people (text) and as data (JSON, kind FixPlan). Writers only: the caller decides exit codes.
#include "vmsync/fix/plan.hpp"

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace vmsync::fix {

inline constexpr const char *kPlanKind = "FixPlan";

// "strategic", "merge" or "json" (kubectl patch --type), for the plan's patchType.
std::string_view to_string(kube::PatchType t) noexcept;

nlohmann::ordered_json step_to_json(const Step &s);
// {apiVersion: vmsync.io/v1, kind: FixPlan, clusters: [{namespace, name, layout, refusals, warnings, errors,
// steps: [{action, target{apiVersion, kind, namespace, name}, patchType, body, reason, role, canary, ...}]}]}
nlohmann::ordered_json plan_to_json(const Plan &p);

// One line per step, then its reason, grouped per cluster; with `bodies`, each request's body (or precondition)
// too, else one closing line saying where to see them.
void render_plan_text(const Plan &p, std::ostream &out, bool bodies);

// "patch-template Deployment mon/vminsert" for progress lines and failure reports.
std::string describe(const Step &s);

} // namespace vmsync::fix
