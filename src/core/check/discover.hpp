#pragma once
// Layout detection: which objects form a VictoriaMetrics cluster, which consumer reads which storage, and the
// list each consumer should have. Shared by check (drift) and fix (the plan); no I/O.
#include "vmsync/check/check.hpp"
#include "vmsync/model/drift.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vmsync::check {

struct ConsumerSpec {
  model::Role role = model::Role::Insert;
  const nlohmann::json *workload = nullptr; // Deployment, StatefulSet or InstanceSet
  std::string kind;
  std::vector<std::string> expected; // spelled as the source spells them (or the layout's default)
  model::Spelling layout_style = model::Spelling::Short; // the layout's own spelling of a node
  std::vector<int> excluded;         // ordinals left out on purpose
  std::string port;
  bool discovery_mode = false;       // the layout says this role uses automatic discovery
  model::NameContext names;
  std::vector<const Pod *> pods;
};

struct ClusterSpec {
  std::string namespace_;
  std::string name;
  model::Layout layout = model::Layout::Generic;
  const nlohmann::json *owner = nullptr;   // VMCluster or KubeBlocks Cluster
  const nlohmann::json *storage = nullptr; // StatefulSet or InstanceSet
  std::string storage_kind;
  std::string storage_service;             // headless: the storage pods' subdomain
  int declared_replicas = 0;
  std::vector<const Pod *> storage_pods;
  std::vector<ConsumerSpec> consumers;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

// Every cluster of the inventory, or (with `ns`) those of namespace *ns, in the same order as among all: a
// cluster's objects are all in its namespace.
std::vector<ClusterSpec> discover_clusters(const Inventory &inv, const Scope &scope,
                                           const std::string *ns = nullptr);

// Whether a StatefulSet or Deployment could be a consumer (vminsert, vmselect) in any layout discover_clusters
// knows: Helm by its labels, the operator by its names, generic by annotation or --relation. Only consumers'
// pod templates are ever read, so the reader drops the others' templates, and Deployments that cannot be consumers
// altogether (a Deployment is never storage; a fleet's unrelated workloads are mostly Deployments).
bool may_be_consumer(const nlohmann::json &workload, const Scope &scope);

// `nodes` spelled in the style (short, .ns, .svc, FQDN, trailing dot) of the first entry of `existing` that
// reaches a storage pod of `names.storage`, else in `default_style`.
std::vector<std::string> spell_like(const std::vector<std::string> &existing,
                                    const std::vector<model::NodeName> &nodes, model::Spelling default_style,
                                    const model::NameContext &names);

} // namespace vmsync::check
