#pragma once
// Everything check needs, read once: from the API (read_api.cpp, a fixed set of list calls) or from rendered
// manifests (read_manifests.cpp, offline). Layout detection and drift computation work on this alone, so the
// live and the offline check share every line after reading.
#include "vmsync/model/drift.hpp"

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace vmsync::check {

enum class KubeBlocksVersion { None, V09, V10 };

class PodInterner;

// Strings many pods have in common (label keys and values, owners), each kept once at a stable address.
class StringPool {
public:
  std::string_view intern(std::string_view s);

private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> strings_;
};

// A pod as check and fix read it. A fleet's pods are most of what a check keeps, and as a JSON DOM one took
// 7.4 KB of heap for 1.7 KB of JSON (bench/parse), so a pod is kept as these few fields: its containers' spec is
// shared with the other pods of its template, its labels and owners are views of strings the pods of a list share.
struct Pod {
  struct Owner {
    std::string_view kind, name, uid;
  };
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  std::string name, namespace_, uid;
  std::string creation_timestamp; // as written (RFC 3339)
  std::string phase;
  bool terminating = false; // metadata.deletionTimestamp is set
  bool ready = false;       // its Ready condition is "True"
  std::vector<Owner> owners; // views of `strings`
  Labels labels;             // sorted by key; views of `strings`; none when a controller but a ReplicaSet owns it
                             // (by UID: the only reader, discover.cpp pods_of, finds such pods by that UID)
  Pairs annotations; // sorted by key
  Pairs started;     // per container (of status.containerStatuses) in state running: its startedAt
  std::vector<std::string> ips; // status.podIPs (status.podIP when that is all there is): an address may name one
  // status.podIP: the first of ips (the probe's direct mode), or empty.
  [[nodiscard]] const std::string &primary_ip() const {
    static const std::string none;
    return ips.empty() ? none : ips.front();
  }
  // {"containers": [...], "initContainers": [...]} as the pod's spec has them; never null. Equal specs may be one
  // object (PodInterner).
  std::shared_ptr<const nlohmann::json> spec;
  std::shared_ptr<const StringPool> strings; // never null

  Pod();
  // From a pod object (the API's, filtered or not, or a manifest's). With `shared`, a spec equal to one it has
  // seen is shared, and so are strings.
  explicit Pod(const nlohmann::json &pod, PodInterner *shared = nullptr);

  [[nodiscard]] std::string label(const std::string &key) const;
  [[nodiscard]] std::string annotation(const std::string &key) const;
  // The startedAt of container `container` when it is running, else empty.
  [[nodiscard]] std::string started_at(const std::string &container) const;
};

// What the pods of one list share: equal specs (the pods of one template, a ReplicaSet's or a StatefulSet
// revision's, have equal ones) and strings. Not thread-safe.
class PodInterner {
public:
  std::shared_ptr<const nlohmann::json> intern(nlohmann::json spec);
  [[nodiscard]] const std::shared_ptr<StringPool> &strings() const { return strings_; }

private:
  std::unordered_map<std::size_t, std::vector<std::shared_ptr<const nlohmann::json>>> by_hash_;
  std::shared_ptr<StringPool> strings_ = std::make_shared<StringPool>();
};

// What the probe (check --probe) got from one pod: what it observed, or why it could not.
struct PodProbe {
  std::shared_ptr<const model::Observed> observed; // null when the probe failed
  std::string failure;                             // one line: why the pages could not be read (empty on success)
  std::string note; // a part that failed while the list was read (e.g. /metrics refused): evidence
};

struct Inventory {
  bool offline = false; // manifests: no pods, no status
  KubeBlocksVersion kubeblocks = KubeBlocksVersion::None;
  bool vm_operator = false;

  std::vector<nlohmann::json> statefulsets;
  std::vector<nlohmann::json> deployments;
  std::vector<nlohmann::json> instancesets;
  std::vector<nlohmann::json> kb_clusters;
  std::vector<nlohmann::json> vmclusters;
  std::vector<Pod> pods;
  std::vector<nlohmann::json> configmaps;

  // check --probe: per consumer pod ("namespace/name"), what its pages said; warnings about the whole probe.
  std::map<std::string, PodProbe> probes;
  std::vector<std::string> warnings;

  // Namespaces that could not be read (403 and the like): namespace -> one-line error.
  std::map<std::string, std::string> namespace_errors;
  std::vector<std::string> errors; // errors not tied to a namespace

  [[nodiscard]] const nlohmann::json *configmap(const std::string &ns, const std::string &name) const;
  [[nodiscard]] const nlohmann::json *find(const std::vector<nlohmann::json> &objs, const std::string &ns,
                                           const std::string &name) const;
  // The objects of `objs` in namespace `ns`, in list order.
  [[nodiscard]] const std::vector<const nlohmann::json *> &in_namespace(const std::vector<nlohmann::json> &objs,
                                                                       const std::string &ns) const;
  // Pods with an owner reference of this UID, in list order.
  [[nodiscard]] const std::vector<const Pod *> &pods_owned_by(const std::string &uid) const;
  // Pods owned by a ReplicaSet that Deployment `ns`/`name` would have created (named <name>-<pod-template-hash>).
  [[nodiscard]] const std::vector<const Pod *> &pods_of_replicasets(const std::string &ns,
                                                                    const std::string &name) const;
  // The pods of namespace `ns`, in list order.
  [[nodiscard]] const std::vector<const Pod *> &pods_in(const std::string &ns) const;

  // Frees what the objects of namespace `ns` hold, for a caller done with them (compute_report on an Inventory
  // it owns, namespace by namespace): their JSON becomes null and a pod keeps only its namespace. Every list keeps
  // its size and order, so indexes and pointers stay valid; lookups in `ns` find nothing of use after this.
  void release_namespace(const std::string &ns);

  // The lookups above are served from indexes built on first use, so discovery over a fleet is linear in its
  // objects, not quadratic. An index remembers which storage (data pointer and size) it was built from and is
  // rebuilt when that changed (lists only ever grow, by appending; a copied Inventory has storage of its own).
  // Not thread-safe: an Inventory is read by one thread.
  struct Indexes;

private:
  // Moves carry the indexes along with the lists they index; a copy starts without.
  struct IndexCache {
    std::shared_ptr<Indexes> built;
    IndexCache() = default;
    IndexCache(const IndexCache & /*other*/) {}
    IndexCache &operator=(const IndexCache &other) {
      if (this != &other) built.reset();
      return *this;
    }
    IndexCache(IndexCache &&) noexcept = default;
    IndexCache &operator=(IndexCache &&) noexcept = default;
    ~IndexCache() = default;
  };
  mutable IndexCache indexes_;
  Indexes &indexes() const;
};

// Small accessors for API objects (no exceptions on missing fields).
std::string meta_name(const nlohmann::json &o);
std::string meta_namespace(const nlohmann::json &o);
std::string label(const nlohmann::json &o, const std::string &key);
std::string annotation(const nlohmann::json &o, const std::string &key);
const nlohmann::json &at_path(const nlohmann::json &o, std::initializer_list<const char *> path);
int int_at(const nlohmann::json &o, std::initializer_list<const char *> path, int fallback);
std::string str_at(const nlohmann::json &o, std::initializer_list<const char *> path);

} // namespace vmsync::check
