// What became of a write whose answer was lost: decided on the object read back (see read_back.hpp).
#include "vmsync/fix/read_back.hpp"

#include "vmsync/check/inventory.hpp"
#include "vmsync/fix/apply.hpp"

#include <algorithm>

namespace vmsync::fix {

using nlohmann::json;

namespace {

// `actual` holds `wanted`: maps need only wanted's keys (null: the key is absent), anything else is equal.
bool holds(const json &actual, const json &wanted) {
  if (!wanted.is_object()) return actual == wanted;
  if (!actual.is_object()) return false;
  return std::all_of(wanted.items().begin(), wanted.items().end(), [&](const auto &kv) {
    const auto it = actual.find(kv.key());
    if (kv.value().is_null()) return it == actual.end();
    return it != actual.end() && holds(*it, kv.value());
  });
}

bool merge_reflected(const json &object, json patch) {
  if (auto meta = patch.find("metadata"); meta != patch.end() && meta->is_object()) {
    meta->erase("resourceVersion"); // a precondition: the write changes it
    if (meta->empty()) patch.erase("metadata");
  }
  return holds(object, patch);
}

bool json_patch_reflected(const json &object, const json &ops) {
  if (!ops.is_array()) return false;
  for (const auto &op : ops) {
    const auto kind = op.value("op", std::string{});
    if (kind == "test") continue; // a precondition on the object as it was
    json::json_pointer at;
    try {
      at = json::json_pointer(op.value("path", std::string{}));
    } catch (const json::exception &) {
      return false;
    }
    const bool present = object.contains(at);
    if (kind == "remove") {
      if (present) return false;
    } else if (kind == "add" || kind == "replace") {
      if (!present || !holds(object.at(at), op.value("value", json{}))) return false;
    } else {
      return false; // move/copy: not what fix sends, so not judged
    }
  }
  return true;
}

} // namespace

bool patch_reflected(const json &object, kube::PatchType type, const json &patch) {
  switch (type) {
  case kube::PatchType::Json: return json_patch_reflected(object, patch);
  case kube::PatchType::Merge:
  case kube::PatchType::Strategic: return patch.is_object() && merge_reflected(object, patch);
  }
  return false;
}

ReadBack pod_deletion(const std::optional<json> &pod, const std::string &uid) {
  if (!pod) return ReadBack::Applied;
  if (!uid.empty() && check::str_at(*pod, {"metadata", "uid"}) != uid) return ReadBack::Applied;
  if (!check::at_path(*pod, {"metadata", "deletionTimestamp"}).is_null()) return ReadBack::Applied;
  return ReadBack::NotApplied;
}

std::optional<std::string> created_opsrequest(const std::vector<json> &opsrequests, const Step &step,
                                              std::chrono::system_clock::time_point sent,
                                              const std::vector<std::string> &known) {
  const auto generate_name = check::str_at(step.body, {"metadata", "generateName"});
  const auto earliest = sent - std::chrono::seconds(1); // creationTimestamp has whole seconds
  std::optional<std::string> found;
  std::optional<std::chrono::system_clock::time_point> found_at;
  for (const auto &o : opsrequests) {
    const auto name = check::meta_name(o);
    if (generate_name.empty() || name.rfind(generate_name, 0) != 0) continue;
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    if (check::str_at(o, {"metadata", "annotations", kHashAnnotation}) != step.hash) continue;
    const auto created = parse_time(check::str_at(o, {"metadata", "creationTimestamp"}));
    if (!created || *created < earliest) continue;
    if (!found_at || *created > *found_at) {
      found = name;
      found_at = created;
    }
  }
  return found;
}

} // namespace vmsync::fix
