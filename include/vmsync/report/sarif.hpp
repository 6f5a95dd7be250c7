#pragma once
// SARIF 2.1.0 (the static-analysis results format of GitHub code scanning, GitLab and most CI dashboards).
// Each finding is a result with a rule id and a logical location naming the Kubernetes object
// ("<namespace>/<kind>/<name>"): stale-pod, unproven-pod, source-drift, mixed-spellings, check-error.
#include "vmsync/model/drift.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

namespace vmsync::report {

nlohmann::ordered_json to_sarif(const model::DriftReport &r);
void render_sarif(const model::DriftReport &r, std::ostream &out); // 2-space indent, trailing newline

} // namespace vmsync::report
