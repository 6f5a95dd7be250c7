#pragma once
// What a container runs with: -storageNode values found in command/args after the kubelet's $(VAR) expansion,
// or in the VictoriaMetrics env flag (-envflag.enable, <prefix>storageNode), with %{ENV} expanded as
// VictoriaMetrics does. Pure functions of the container spec and the environment it resolved.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::model {

// The kubelet's expansion (k8s.io/kubernetes third_party/forked/golang/expansion): $(VAR) replaced when VAR is
// defined, $$ becomes $, undefined references stay literal.
std::string expand_kubelet(std::string_view input, const std::map<std::string, std::string> &env);

// VictoriaMetrics' %{ENV} expansion in flag values (lib/envtemplate). Unknown names stay as written.
std::string expand_vm_env(std::string_view input, const std::map<std::string, std::string> &env);

struct FlagSource {
  enum class Kind { Args, EnvFlag, None } kind = Kind::None;
  std::vector<std::size_t> arg_indexes; // which argv entries (command+args) carried -storageNode
  bool comma_joined = false;            // one -storageNode=a,b rather than one flag per node
  std::string env_name;                 // for EnvFlag
};

struct StorageNodeList {
  std::vector<std::string> entries; // split on commas, in order, empty entries kept as "" to report them
  FlagSource source;
  bool discovery = false; // srv+ or file: entries: Enterprise discovery, membership cannot drift
};

// argv: container command followed by args, already kubelet-expanded. env: the container's resolved
// environment. nullopt when no -storageNode is given at all.
std::optional<StorageNodeList> find_storage_nodes(const std::vector<std::string> &argv,
                                                  const std::map<std::string, std::string> &env);

// Splits a comma-joined value into entries (keeps empty ones so they can be reported).
std::vector<std::string> split_list(std::string_view value);

} // namespace vmsync::model
