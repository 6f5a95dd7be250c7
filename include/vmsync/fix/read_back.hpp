// Deciding what became of a write whose answer was lost.
//
// A PATCH, DELETE or POST that reached the API server and got no readable answer (the connection broke after the
// request was sent, the answer was cut off, a 504) may or may not have been applied. Sending it again blindly is
// wrong (a JSON patch's `test` would now fail, a second OpsRequest would restart the pods twice), and stopping
// with "outcome unknown" leaves the user to find out. Instead, fix reads the object back and decides from what
// the write would have left there: the patched values (the repaired list, the hash annotation), the pod's uid, an
// OpsRequest carrying the plan's hash. These functions are that decision, on objects already read.
#pragma once

#include "vmsync/fix/plan.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vmsync::fix {

enum class ReadBack { Applied, NotApplied };

// Whether `object` (read after the write) holds what `patch` of `type` sets. Preconditions are not content: a
// merge patch's metadata.resourceVersion and a JSON patch's `test` operations are skipped. A map in the patch
// needs only its own keys in the object (others may have been added since); null in a merge patch means absent.
[[nodiscard]] bool patch_reflected(const nlohmann::json &object, kube::PatchType type,
                                   const nlohmann::json &patch);

// A pod deletion under a uid precondition took effect when the pod is gone, replaced (another uid) or terminating.
[[nodiscard]] ReadBack pod_deletion(const std::optional<nlohmann::json> &pod, const std::string &uid);

// The OpsRequest a lost POST of `step` created, if any: among `opsrequests` (listed after the write), one made
// from the same generateName, with the step's hash annotation, created no earlier than the second before `sent`
// and not in `known` (OpsRequests this run already accounted for). Its name, or nullopt when none is there.
[[nodiscard]] std::optional<std::string> created_opsrequest(const std::vector<nlohmann::json> &opsrequests,
                                                            const Step &step,
                                                            std::chrono::system_clock::time_point sent,
                                                            const std::vector<std::string> &known);

} // namespace vmsync::fix
