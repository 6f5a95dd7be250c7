#pragma once
// `vmsync check` as a library call: read, discover clusters per layout, observe pods, compute drift.
#include "vmsync/check/inventory.hpp"
#include "vmsync/model/drift.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace vmsync::kube {
class Client;
}

namespace vmsync::check {

// A one-off generic relation given on the command line (same meaning as the vmsync.io/* annotations).
struct Relation {
  std::string consumer;         // kind/name, e.g. deployment/vminsert
  std::string storage;          // kind/name, e.g. statefulset/vmstorage
  std::string role;             // vminsert|vmselect|"" (guess)
  std::string port;             // "" = default for the role
  std::string service;          // "" = the StatefulSet's serviceName
  std::vector<int> exclude;     // ordinals left out on purpose
};

// check --probe: read what each consumer pod's VictoriaMetrics process runs with from its own /flags and /metrics.
enum class ProbeMode {
  Off,    // infer from specs and ConfigMaps only: no extra request, no extra RBAC
  Auto,   // Direct when running in a pod, Proxy otherwise
  Proxy,  // through the API server: GET pods/NAME:PORT/proxy/... (RBAC pods/proxy get)
  Direct, // http://PODIP:PORT/... (pods must be routable; Kubernetes credentials are never sent to a pod)
};

struct ProbeOptions {
  ProbeMode mode = ProbeMode::Off;
  bool required = false;                   // --probe=require: a consumer pod that could not be probed is an error
  int concurrency = 32;                    // pods probed at once
  std::chrono::milliseconds timeout{5000}; // per pod (its two pages), within the overall --timeout
  std::size_t max_page_bytes = std::size_t{4} << 20U;
};

struct Scope {
  std::string namespace_;     // when !all_namespaces
  bool all_namespaces = false;
  std::string label_selector; // applied to the clusters' objects (workloads, CRs)
  std::vector<std::string> clusters; // cluster names to keep; empty = all
  std::vector<Relation> relations;
  // The cluster's DNS domain (the kubelet's --cluster-domain): "<pod>.<svc>.<ns>.svc.<domain>" names a storage pod
  // only under it. A VMCluster's spec.clusterDomainName overrides it for that cluster.
  std::string cluster_domain = "cluster.local";
  // List page sizes (limit; 0: no paging). Lists of every object of a kind page as kubectl does. Lists by label
  // selector take larger pages: the API server answers each page after the first from etcd, reading the kind's
  // objects from where the last page ended until enough match, so every extra page of a rare selector costs a
  // scan of the unrelated objects (kubernetes/kubernetes#108569); measured at 1x, a second page of the
  // VictoriaMetrics pods took 3 s against 0.34 s for the first.
  int chunk_size = 500;
  int selected_chunk_size = 5000;
  ProbeOptions probe;
};

// The --relation syntax of check and fix: "consumer=<kind>/<name>,storage=<kind>/<name>[,role=vminsert|vmselect]
// [,port=N][,service=NAME][,exclude=1;3]"; throws UsageError naming the text.
Relation parse_relation(const std::string &text);

// "0,3, 5" -> {0,3,5}; throws ParseError naming the text.
std::vector<int> parse_ordinals_text(const std::string &text);

// Reads the inventory from the API with a fixed number of list calls (see read_api.cpp for which).
Inventory read_inventory(kube::Client &client, const Scope &scope);

// How deep a directory given to -f is read: its own files (as kubectl apply -f DIR), or its subdirectories too
// (kubectl's -R/--recursive).
enum class Recursion { OneLevel, Recursive };

// Reads rendered manifests: files, directories (their *.yaml, *.yml and *.json files, and with Recursive those of
// every subdirectory, in name order) or "-" for stdin. Throws ParseError when they hold no Kubernetes object (a
// mapping with a kind) at all, and when two objects of one API group, kind, namespace and name differ (naming both
// inputs); equal copies count once.
Inventory read_manifests(const std::vector<std::string> &paths, const std::string &default_namespace,
                         Recursion recursion = Recursion::OneLevel);

// The inputs of -f as errors name them: "a.yaml, <stdin>".
std::string inputs_text(const std::vector<std::string> &paths);

// Detects clusters in the inventory and computes their drift. Pure: no I/O.
model::DriftReport compute_report(const Inventory &inv, const Scope &scope);
// The same report from an Inventory given up: each namespace's objects are freed as soon as its clusters are
// computed, so a fleet's peak memory is its objects or its report, not both. `inv` is left with empty objects.
model::DriftReport compute_report(Inventory &&inv, const Scope &scope);

} // namespace vmsync::check
