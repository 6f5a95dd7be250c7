#pragma once
// Everything check needs, read once: from the API (read_api.cpp, a fixed set of list calls) or from rendered
// manifests (read_manifests.cpp, offline). Layout detection and drift computation work on this alone, so the
// live and the offline check share every line after reading.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vmsync::check {

enum class KubeBlocksVersion { None, V09, V10 };

struct Inventory {
  bool offline = false; // manifests: no pods, no status
  KubeBlocksVersion kubeblocks = KubeBlocksVersion::None;
  bool vm_operator = false;

  std::vector<nlohmann::json> statefulsets;
  std::vector<nlohmann::json> deployments;
  std::vector<nlohmann::json> instancesets;
  std::vector<nlohmann::json> kb_clusters;
  std::vector<nlohmann::json> vmclusters;
  std::vector<nlohmann::json> pods;
  std::vector<nlohmann::json> configmaps;

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
  [[nodiscard]] const std::vector<const nlohmann::json *> &pods_owned_by(const std::string &uid) const;
  // Pods owned by a ReplicaSet that Deployment `ns`/`name` would have created (named <name>-<pod-template-hash>).
  [[nodiscard]] const std::vector<const nlohmann::json *> &pods_of_replicasets(const std::string &ns,
                                                                              const std::string &name) const;

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
