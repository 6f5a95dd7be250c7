#pragma once
// JUnit XML, for CI systems that show test results (GitLab, Jenkins, GitHub actions with a JUnit reporter).
// One <testsuite> per VictoriaMetrics cluster and one <testcase> per consumer workload (the vminsert or vmselect
// Deployment, StatefulSet or InstanceSet): a drifted consumer, or one with a pod whose list cannot be proven, is a
// <failure> whose text lists the drift; a cluster that could not be checked adds a testcase "check" with an
// <error>; a consumer whose pods all find their nodes by discovery is <skipped>. No times or timestamps, so the
// same report always gives the same document.
#include "vmsync/model/drift.hpp"

#include <ostream>

namespace vmsync::report {

void render_junit(const model::DriftReport &r, std::ostream &out);

} // namespace vmsync::report
