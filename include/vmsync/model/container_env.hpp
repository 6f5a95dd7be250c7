#pragma once
// A container's environment resolved the way the kubelet builds it (pkg/kubelet/kubelet_pods.go,
// makeEnvironmentVariables): envFrom first, in order (configMapRef keys, with the optional prefix), then env in
// order (literal values with $(VAR) expanded against what is defined so far, configMapKeyRef); a later definition
// of a name replaces an earlier one. Values we cannot read (secrets, fieldRef, resourceFieldRef) are reported
// as unknown, never guessed; a value that expands an unknown variable is unknown too. Service-link variables
// (FOO_SERVICE_HOST) are not modelled.
#include <nlohmann/json.hpp>

#include <compare>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vmsync::model {

struct ConfigMapData {
  std::map<std::string, std::string> data;
};

struct ConfigMapKey {
  std::string configmap;
  std::string key;
  // clang-tidy 14 sees a literal 0 in the comparison it synthesises here (a false positive).
  friend auto operator<=>(const ConfigMapKey &, const ConfigMapKey &) = default; // NOLINT(modernize-use-nullptr)
};

// A variable or envFrom source whose value cannot be known, and why.
struct UnresolvedRef {
  std::string var;    // variable name; empty for an envFrom source (its names are unknown too)
  std::string reason; // "from secret db key password", "from fieldRef metadata.name", ...
  bool fatal = false; // a required ConfigMap or key is missing: the kubelet would not start the container
};

struct ResolvedEnv {
  std::map<std::string, std::string> vars;                  // every name with a known value
  std::map<std::string, std::vector<ConfigMapKey>> sources;  // per var: ConfigMap keys its value came from,
                                                             // directly or through $(VAR)
  std::vector<ConfigMapKey> configmaps_used;                // every ConfigMap key read, first use first
  std::set<std::string> unknown;                            // names defined with a value we cannot know
  std::vector<UnresolvedRef> unresolved;                    // why, in definition order
};

using ConfigMapLookup = std::function<std::optional<ConfigMapData>(const std::string &name)>;

// container: one element of pod.spec.containers (JSON as the API returns it). lookup: ConfigMaps of the pod's
// namespace by name, nullopt when absent.
ResolvedEnv resolve_container_env(const nlohmann::json &container, const ConfigMapLookup &lookup);

// The ConfigMap keys a raw (unexpanded) string depends on through $(VAR) and %{VAR} references.
std::vector<ConfigMapKey> configmap_dependencies(std::string_view raw, const ResolvedEnv &env);

// The unknown variables a raw string refers to; when non-empty, what the container really got is unknown.
std::vector<std::string> unknown_references(std::string_view raw, const ResolvedEnv &env);

} // namespace vmsync::model
