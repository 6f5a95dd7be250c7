#pragma once
// The drift model: plain data in, plain data out, no I/O. Discovery (check/) fills the inputs from the API or
// from manifests; renderers (report/) print the outputs. Everything here is unit-tested exhaustively.
#include "vmsync/model/address.hpp"
#include "vmsync/model/vm_pages.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vmsync::model {

enum class Role { Insert, Select };
enum class Layout { KubeBlocks, Helm, Operator, Generic };
enum class PodStatus { InSync, Stale, Unknown, Discovery };
enum class ClusterStatus { InSync, Drift, Unknown, Error };

std::string_view to_string(Role r) noexcept;          // "vminsert" / "vmselect"
std::string_view to_string(Layout l) noexcept;        // "kubeblocks" / "helm" / "operator" / "generic"
std::string_view to_string(PodStatus s) noexcept;     // "InSync" ...
std::string_view to_string(ClusterStatus s) noexcept; // "InSync" ...

struct ObjectRef {
  std::string kind;
  std::string name;
  std::string namespace_; // may be empty where implied
  friend bool operator==(const ObjectRef &, const ObjectRef &) = default;
};

struct StorageHealth {
  ObjectRef workload;           // StatefulSet or InstanceSet
  int declared_replicas = 0;    // spec.replicas
  int existing_pods = 0;
  int ready_pods = 0;
  std::vector<std::string> nodes; // pod names 0..declared-1
};

// Where the consumer's list comes from, and what it currently says.
struct ListSource {
  enum class Kind { TemplateArgs, TemplateEnv, ConfigMap, Unknown } kind = Kind::Unknown;
  std::string description; // "args of container vminsert", "configmap/x key VM_STORAGE_URLS", ...
  ObjectRef object;        // the object to repair
  std::string key;         // ConfigMap key or env name
  std::optional<std::vector<std::string>> entries; // the list the source holds now (nullopt: unreadable)
  // srv+ / file: entries: automatic discovery (Enterprise). Such a source holds no membership to drift.
  bool discovery = false;
};
std::string_view to_string(ListSource::Kind k) noexcept; // "templateArgs" / "templateEnv" / "configMap" / "unknown"

// What a pod's VictoriaMetrics process said about itself when vmsync read its pages (check --probe): the truth
// that the spec and ConfigMaps only let us infer.
struct Observed {
  std::string via;                       // "proxy" (through the API server) or "direct" (the pod's IP)
  std::string at;                        // when the pages were read, RFC 3339 UTC
  std::string source;                    // the page `running` was read from: "/flags" or "/metrics"
  std::vector<std::string> running;      // the -storageNode list the process runs with
  std::optional<std::string> started_at; // vm_app_start_timestamp, RFC 3339 UTC
  std::string version;                   // vm_app_version
  bool metrics = false;                  // /metrics was read: `nodes` is what the process uses
  std::vector<NodeUse> nodes;            // the storage nodes its metrics name, with reachability
};

// Per pod inputs: what the pod runs with (or why we cannot know) and the evidence behind it.
struct PodObservation {
  std::string name;
  std::optional<std::vector<std::string>> running; // nullopt: unknown
  bool discovery = false;
  bool ready = false;
  std::vector<std::string> evidence; // human sentences: "container started 2026-.. before configmap x changed .."
  // The container started before its source (a ConfigMap) last changed, so `running` (when read from the
  // source) is not what the process has. With running unknown this makes the pod Stale instead of Unknown.
  bool started_before_source_change = false;
  // Set when the pod was probed: what it said, which `running` then is (see observe.hpp apply_probe).
  std::shared_ptr<const Observed> observed;
  // Nodes the process uses but cannot reach (from its /metrics), as it names them.
  std::vector<std::string> unreachable;
};

struct PodDrift {
  std::string name;
  PodStatus status = PodStatus::Unknown;
  // Null: unknown. The pods of a consumer running the same list share it (a fleet's report holds one list per
  // template, not one per pod).
  std::shared_ptr<const std::vector<std::string>> running;
  std::vector<std::string> missing;    // expected spellings missing from the pod
  std::vector<std::string> unexpected; // pod entries not expected
  std::vector<std::string> evidence;
  std::shared_ptr<const Observed> observed; // null: not probed (or the probe failed; the evidence says why)
  std::vector<std::string> unreachable;     // nodes the process uses but cannot reach
};

struct ConsumerInput {
  Role role = Role::Insert;
  ObjectRef workload;
  NameContext names;
  std::vector<std::string> expected; // spelled as the source spells them
  ListSource source;
  std::vector<PodObservation> pods;
};

// One node written in more than one way across a consumer's source and pods.
struct SpellingVariants {
  std::string identity;               // the node (see Address::identity)
  std::vector<std::string> spellings; // every distinct spelling, sorted
  friend bool operator==(const SpellingVariants &, const SpellingVariants &) = default;
};

struct ConsumerDrift {
  Role role = Role::Insert;
  ObjectRef workload;
  ListSource source;
  std::vector<std::string> expected;
  bool source_drift = false;
  std::vector<std::string> source_missing;
  std::vector<std::string> source_unexpected;
  std::vector<std::string> source_evidence; // why source entries reach no storage pod (see why_no_storage_pod)
  std::vector<std::string> duplicates;     // entries listed twice (VictoriaMetrics refuses to start)
  std::vector<std::string> empty_entries;  // descriptions of empty entries
  bool mixed_spellings = false;            // pods of this role spell the same nodes differently
  std::vector<SpellingVariants> spelling_variants; // the nodes concerned (non-empty iff mixed_spellings)
  // Every node the source and the pods' lists name, with each spelling they use (one or more; spelling_variants
  // is the part with more than one), sorted by identity: what spelling_splits compares across workloads.
  std::vector<SpellingVariants> node_spellings;
  std::vector<PodDrift> pods;
};

// One node that the consumer workloads of one role spell differently from each other, e.g. one vminsert
// Deployment per zone, one with "vmstorage-0.vmstorage:8400" and one with the FQDN. vminsert routes series by
// rendezvous hashing over each address string, so two vminsert workloads that spell a node differently send the
// same series to different nodes: Drift. vmselect queries every node whatever it is called: a warning only.
struct WorkloadSpellings {
  ObjectRef workload;
  std::vector<std::string> spellings; // as this workload's source and pods write the node, sorted
  friend bool operator==(const WorkloadSpellings &, const WorkloadSpellings &) = default;
};
struct SpellingSplit {
  Role role = Role::Insert;
  std::string identity;                    // the node (see Address::identity)
  std::vector<WorkloadSpellings> workloads; // every workload of the role that names the node, by kind and name
  friend bool operator==(const SpellingSplit &, const SpellingSplit &) = default;
};

struct ClusterDrift {
  std::string namespace_;
  std::string name;
  Layout layout = Layout::Generic;
  ClusterStatus status = ClusterStatus::Unknown;
  StorageHealth storage;
  std::vector<ConsumerDrift> consumers;
  std::vector<SpellingSplit> spelling_splits; // see spelling_splits()
  std::vector<std::string> errors;   // for status Error
  std::vector<std::string> warnings; // e.g. storage not all ready
  // False offline (check -f): no pod exists there, so the storage's existing and ready pods mean nothing.
  bool pods_known = true;
};

// errors: clusters in Error, plus the report's errors that belong to no cluster.
struct Summary {
  int clusters = 0, in_sync = 0, drifted = 0, unknown = 0, errors = 0;
  int pods = 0, stale_pods = 0, unknown_pods = 0;
  int discovery_pods = 0;
};

struct DriftReport {
  std::vector<ClusterDrift> clusters;
  std::vector<std::string> warnings; // about the whole run, e.g. a probe forbidden for every pod
  // Errors that belong to no cluster: a namespace that could not be read, namespaces that could not be seen, or
  // the whole check when it failed (then clusters is empty). Never a made-up cluster with no name.
  std::vector<std::string> errors;
  Summary summary;
};

// Compares one consumer's pods and source with its expected list (identity-based, spelling reported apart).
// Per pod: Discovery when it uses srv+/file: discovery; Unknown when its list is unknown (Stale instead when it
// started before its source changed); else Stale when nodes are missing or unexpected, InSync otherwise. Missing
// nodes are reported in the expected spelling, unexpected ones in the pod's spelling, both natural-sorted.
// Entries that do not parse as addresses are compared as plain strings. An entry that looks like a storage pod's
// name but reaches none (wrong Service, namespace or domain) is unexpected, and its node missing; the reason is
// in source_evidence or the pod's evidence. source_drift: the source's entries differ from the expected nodes, or
// hold duplicate or empty entries (a restarted pod would fail to start); a discovery source (srv+, file:) has no
// membership to differ, only its duplicate or empty entries count.
// duplicates: entries naming a node already listed earlier in the same list (source or any pod), exact repeats
// or another spelling. mixed_spellings: one node spelled differently across the source and the pods' lists
// (the expected list is ours, not VictoriaMetrics', so it does not count).
ConsumerDrift compute_consumer(const ConsumerInput &in);

// The nodes that the consumers of one role spell differently from each other (by role, then node identity): a
// node is split when two workloads of the role name it with different sets of spellings. One workload whose own
// source and pods disagree is mixed_spellings, not a split.
std::vector<SpellingSplit> spelling_splits(const std::vector<ConsumerDrift> &consumers);

// Status of a cluster: Error when it has errors; Drift when any consumer has a Stale pod, source drift or mixed
// spellings, or a vminsert spelling split; Unknown when any pod is Unknown; InSync otherwise (Discovery pods never
// drift, nor do vmselect splits).
ClusterStatus cluster_status(const ClusterDrift &c);
// Counts clusters by their `status` field (set it with cluster_status first) and pods by status.
Summary summarize(const std::vector<ClusterDrift> &clusters);

// Sorting used by every renderer: namespace, name; consumers by role then workload; pods by name with natural
// ordinal order (x-2 before x-10); each pod's missing/unexpected lists naturally too. Recomputes the summary
// (errors counting r.errors too).
void sort_report(DriftReport &r);
bool natural_less(std::string_view a, std::string_view b);

} // namespace vmsync::model
