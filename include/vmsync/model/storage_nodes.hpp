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
// defined, $$ becomes $, undefined references stay literal, an unterminated "$(" and a "$" before any other
// character are kept as written.
std::string expand_kubelet(std::string_view input, const std::map<std::string, std::string> &env);

// The names a string refers to with $(NAME), in order, as expand_kubelet reads them ($$( is an escape, not a
// reference). Lets a caller tell which variables (and so which ConfigMaps) an argument depends on.
std::vector<std::string> kubelet_references(std::string_view input);

// VictoriaMetrics' %{ENV} expansion in flag values (lib/envtemplate). Unknown names stay as written (the
// process itself would refuse to start), as do names that are not env var names (%{x y}, %{123}) and an
// unterminated "%{". A variable's own value is expanded too (VictoriaMetrics expands its environment up front),
// with a bound on depth so self references terminate.
std::string expand_vm_env(std::string_view input, const std::map<std::string, std::string> &env);

// The valid names a string refers to with %{NAME}, in order.
std::vector<std::string> vm_env_references(std::string_view input);

struct FlagSource {
  enum class Kind { Args, EnvFlag, None } kind = Kind::None;
  std::vector<std::size_t> arg_indexes; // which argv entries (command+args) carried -storageNode
  std::vector<std::size_t> value_indexes; // the entry holding each flag's value (arg_index, or +1 for "-flag v")
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
// Go flag rules as VictoriaMetrics parses them: "-storageNode" or "--storageNode", "=value" or the next entry as
// the value; every occurrence appends (array flag), each value split on commas; "%{ENV}" expanded. Scanning stops
// at "--". With -envflag.enable (bare or =true/1/t), env "<-envflag.prefix>storageNode" is used only when the
// command line has no -storageNode. Flags of other names are not interpreted, so a value that belongs to
// another flag ("-foo -storageNode=x" with foo taking a value) is still read as -storageNode.
std::optional<StorageNodeList> find_storage_nodes(const std::vector<std::string> &argv,
                                                  const std::map<std::string, std::string> &env);

// Splits a comma-joined value into entries (keeps empty ones so they can be reported).
std::vector<std::string> split_list(std::string_view value);

} // namespace vmsync::model
