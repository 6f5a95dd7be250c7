#include "vmsync/check/inventory.hpp"

#include <cstdint>
#include <limits>
#include <unordered_map>

namespace vmsync::check {

namespace {
const nlohmann::json &null_json() {
  static const nlohmann::json n;
  return n;
}
} // namespace

const nlohmann::json &at_path(const nlohmann::json &o, std::initializer_list<const char *> path) {
  const nlohmann::json *cur = &o;
  for (const char *key : path) {
    if (!cur->is_object()) return null_json();
    auto it = cur->find(key);
    if (it == cur->end()) return null_json();
    cur = &*it;
  }
  return *cur;
}

std::string str_at(const nlohmann::json &o, std::initializer_list<const char *> path) {
  const auto &v = at_path(o, path);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

int int_at(const nlohmann::json &o, std::initializer_list<const char *> path, int fallback) {
  const auto &v = at_path(o, path);
  if (!v.is_number_integer()) return fallback;
  // Out of int range (API integers are int32, hostile input is not): the fallback, never a wrapped value.
  if (v.is_number_unsigned())
    return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<int>::max()) ? v.get<int>()
                                                                                                   : fallback;
  const auto i = v.get<std::int64_t>();
  return i >= std::numeric_limits<int>::min() && i <= std::numeric_limits<int>::max() ? static_cast<int>(i) : fallback;
}

std::string meta_name(const nlohmann::json &o) { return str_at(o, {"metadata", "name"}); }
std::string meta_namespace(const nlohmann::json &o) { return str_at(o, {"metadata", "namespace"}); }

std::string label(const nlohmann::json &o, const std::string &key) {
  const auto &labels = at_path(o, {"metadata", "labels"});
  if (!labels.is_object()) return {};
  auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string annotation(const nlohmann::json &o, const std::string &key) {
  const auto &ann = at_path(o, {"metadata", "annotations"});
  if (!ann.is_object()) return {};
  auto it = ann.find(key);
  return it != ann.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

namespace {
using Objects = std::vector<const nlohmann::json *>;

// Length-prefixed, so no namespace and name (hostile input may hold any character) share a key with another pair.
std::string key_of(const std::string &ns, const std::string &name) {
  auto k = std::to_string(ns.size());
  k.reserve(k.size() + 1 + ns.size() + name.size());
  return k.append(":").append(ns).append(name);
}

// Which storage an index was built from: it is current while the list has neither moved nor grown.
struct BuiltFrom {
  const nlohmann::json *data = nullptr;
  std::size_t size = 0;

  [[nodiscard]] bool current(const std::vector<nlohmann::json> &objs) const {
    return data == objs.data() && size == objs.size();
  }
  void mark(const std::vector<nlohmann::json> &objs) {
    data = objs.data();
    size = objs.size();
  }
};

// The index of one list: by namespace/name (the first object of that name wins, as a linear search would) and
// by namespace.
struct ListIndex : BuiltFrom {
  std::unordered_map<std::string, const nlohmann::json *> by_key;
  std::unordered_map<std::string, Objects> by_namespace;

  void build(const std::vector<nlohmann::json> &objs) {
    mark(objs);
    by_key.clear();
    by_namespace.clear();
    for (const auto &o : objs) {
      auto ns = meta_namespace(o);
      by_key.try_emplace(key_of(ns, meta_name(o)), &o);
      by_namespace[ns].push_back(&o);
    }
  }
};

// Pods by their owners: by owner UID, and by the Deployment their ReplicaSet owner's name implies.
struct PodIndex : BuiltFrom {
  std::unordered_map<std::string, Objects> by_owner_uid;
  std::unordered_map<std::string, Objects> by_deployment;

  void build(const std::vector<nlohmann::json> &pods) {
    mark(pods);
    by_owner_uid.clear();
    by_deployment.clear();
    for (const auto &p : pods) {
      const auto &refs = at_path(p, {"metadata", "ownerReferences"});
      if (!refs.is_array()) continue;
      for (const auto &r : refs) {
        auto uid = str_at(r, {"uid"});
        if (!uid.empty()) {
          auto &v = by_owner_uid[uid];
          if (v.empty() || v.back() != &p) v.push_back(&p);
        }
        if (str_at(r, {"kind"}) != "ReplicaSet") continue;
        // A Deployment's ReplicaSets are named <deployment>-<pod-template-hash>; the hash has no '-'.
        auto rs = str_at(r, {"name"});
        auto dash = rs.rfind('-');
        if (dash == std::string::npos || dash == 0) continue;
        auto &v = by_deployment[key_of(meta_namespace(p), rs.substr(0, dash))];
        if (v.empty() || v.back() != &p) v.push_back(&p);
      }
    }
  }
};

const Objects &no_objects() {
  static const Objects none;
  return none;
}
} // namespace

struct Inventory::Indexes {
  std::unordered_map<const std::vector<nlohmann::json> *, ListIndex> lists;
  PodIndex pods;

  const ListIndex &list(const std::vector<nlohmann::json> &objs) {
    auto &idx = lists[&objs];
    if (!idx.current(objs)) idx.build(objs);
    return idx;
  }
  const PodIndex &pod_index(const std::vector<nlohmann::json> &all) {
    if (!pods.current(all)) pods.build(all);
    return pods;
  }
};

Inventory::Indexes &Inventory::indexes() const {
  if (!indexes_.built) indexes_.built = std::make_shared<Indexes>();
  return *indexes_.built;
}

const nlohmann::json *Inventory::find(const std::vector<nlohmann::json> &objs, const std::string &ns,
                                      const std::string &name) const {
  const auto &idx = indexes().list(objs);
  auto it = idx.by_key.find(key_of(ns, name));
  return it == idx.by_key.end() ? nullptr : it->second;
}

const std::vector<const nlohmann::json *> &Inventory::in_namespace(const std::vector<nlohmann::json> &objs,
                                                                   const std::string &ns) const {
  const auto &idx = indexes().list(objs);
  auto it = idx.by_namespace.find(ns);
  return it == idx.by_namespace.end() ? no_objects() : it->second;
}

const std::vector<const nlohmann::json *> &Inventory::pods_owned_by(const std::string &uid) const {
  const auto &idx = indexes().pod_index(pods);
  auto it = idx.by_owner_uid.find(uid);
  return it == idx.by_owner_uid.end() ? no_objects() : it->second;
}

const std::vector<const nlohmann::json *> &Inventory::pods_of_replicasets(const std::string &ns,
                                                                          const std::string &name) const {
  const auto &idx = indexes().pod_index(pods);
  auto it = idx.by_deployment.find(key_of(ns, name));
  return it == idx.by_deployment.end() ? no_objects() : it->second;
}

const nlohmann::json *Inventory::configmap(const std::string &ns, const std::string &name) const {
  return find(configmaps, ns, name);
}

} // namespace vmsync::check
