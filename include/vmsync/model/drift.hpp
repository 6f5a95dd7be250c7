#pragma once
// The drift model: plain data in, plain data out, no I/O. Discovery (check/) fills the inputs from the API or
// from manifests; renderers (report/) print the outputs. Everything here is unit-tested exhaustively.
#include "vmsync/model/address.hpp"

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
};

// Per pod inputs: what the pod runs with (or why we cannot know) and the evidence behind it.
struct PodObservation {
  std::string name;
  std::optional<std::vector<std::string>> running; // nullopt: unknown
  bool discovery = false;
  bool ready = false;
  std::vector<std::string> evidence; // human sentences: "container started 2026-.. before configmap x changed .."
};

struct PodDrift {
  std::string name;
  PodStatus status = PodStatus::Unknown;
  std::optional<std::vector<std::string>> running;
  std::vector<std::string> missing;    // expected spellings missing from the pod
  std::vector<std::string> unexpected; // pod entries not expected
  std::vector<std::string> evidence;
};

struct ConsumerInput {
  Role role = Role::Insert;
  ObjectRef workload;
  NameContext names;
  std::vector<std::string> expected; // spelled as the source spells them
  ListSource source;
  std::vector<PodObservation> pods;
};

struct ConsumerDrift {
  Role role = Role::Insert;
  ObjectRef workload;
  ListSource source;
  std::vector<std::string> expected;
  bool source_drift = false;
  std::vector<std::string> source_missing;
  std::vector<std::string> source_unexpected;
  std::vector<std::string> duplicates;     // entries listed twice (VictoriaMetrics refuses to start)
  std::vector<std::string> empty_entries;  // descriptions of empty entries
  bool mixed_spellings = false;            // pods of this role spell the same nodes differently
  std::vector<PodDrift> pods;
};

struct ClusterDrift {
  std::string namespace_;
  std::string name;
  Layout layout = Layout::Generic;
  ClusterStatus status = ClusterStatus::Unknown;
  StorageHealth storage;
  std::vector<ConsumerDrift> consumers;
  std::vector<std::string> errors;   // for status Error
  std::vector<std::string> warnings; // e.g. storage not all ready
};

struct Summary {
  int clusters = 0, in_sync = 0, drifted = 0, unknown = 0, errors = 0;
  int pods = 0, stale_pods = 0, unknown_pods = 0;
};

struct DriftReport {
  std::vector<ClusterDrift> clusters;
  Summary summary;
};

// Compares one consumer's pods and source with its expected list (identity-based, spelling reported apart).
ConsumerDrift compute_consumer(const ConsumerInput &in);

// Status of a cluster from its consumers (and errors); fills summary counts.
ClusterStatus cluster_status(const ClusterDrift &c);
Summary summarize(const std::vector<ClusterDrift> &clusters);

// Sorting used by every renderer: namespace, name; consumers by role then workload; pods by name with natural
// ordinal order (x-2 before x-10).
void sort_report(DriftReport &r);
bool natural_less(std::string_view a, std::string_view b);

} // namespace vmsync::model
