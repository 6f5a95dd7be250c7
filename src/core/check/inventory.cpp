#include "vmsync/check/inventory.hpp"

#include <algorithm>
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

Pod::Pairs sorted_strings(const nlohmann::json &obj) {
  Pod::Pairs out;
  if (!obj.is_object()) return out;
  out.reserve(obj.size());
  for (const auto &[k, v] : obj.items())
    if (v.is_string()) out.emplace_back(k, v.get<std::string>());
  return out; // an object's keys iterate in order
}

template <typename Pairs> std::string find_in(const Pairs &pairs, std::string_view key) {
  auto it = std::lower_bound(pairs.begin(), pairs.end(), key,
                             [](const auto &p, std::string_view k) { return std::string_view{p.first} < k; });
  return it != pairs.end() && std::string_view{it->first} == key ? std::string{it->second} : std::string{};
}

std::shared_ptr<const nlohmann::json> empty_spec() {
  static const auto spec = std::make_shared<const nlohmann::json>(nlohmann::json::object());
  return spec;
}

} // namespace

std::string_view StringPool::intern(std::string_view s) {
  auto it = strings_.find(s);
  if (it == strings_.end()) it = strings_.emplace(s).first;
  return *it;
}

Pod::Pod() : spec(empty_spec()), strings(std::make_shared<const StringPool>()) {}

Pod::Pod(const nlohmann::json &pod, PodInterner *shared) {
  std::shared_ptr<StringPool> pool = shared != nullptr ? shared->strings() : std::make_shared<StringPool>();
  auto view = [&pool](const std::string &s) { return pool->intern(s); };
  const auto &meta = at_path(pod, {"metadata"});
  name = str_at(meta, {"name"});
  namespace_ = str_at(meta, {"namespace"});
  uid = str_at(meta, {"uid"});
  creation_timestamp = str_at(meta, {"creationTimestamp"});
  terminating = !at_path(meta, {"deletionTimestamp"}).is_null();
  if (const auto &refs = at_path(meta, {"ownerReferences"}); refs.is_array())
    for (const auto &r : refs)
      owners.push_back({view(str_at(r, {"kind"})), view(str_at(r, {"name"})), view(str_at(r, {"uid"}))});
  // Labels are read only to match a Deployment's selector against the pods its ReplicaSets own (discover.cpp
  // pods_of): a pod another controller owns, by UID, is found by that UID, so it keeps none (a StatefulSet's pods
  // each have their own pod-name and pod-index labels, too many to share).
  const bool found_by_owner_uid = std::any_of(
      owners.begin(), owners.end(), [](const Owner &o) { return !o.uid.empty() && o.kind != "ReplicaSet"; });
  if (const auto &l = at_path(meta, {"labels"}); l.is_object() && !found_by_owner_uid) {
    labels.reserve(l.size());
    for (const auto &[k, v] : l.items()) // in key order
      if (v.is_string()) labels.emplace_back(view(k), view(v.get_ref<const std::string &>()));
  }
  annotations = sorted_strings(at_path(meta, {"annotations"}));
  std::erase_if(annotations,
                [](const auto &a) { return a.first == "kubectl.kubernetes.io/last-applied-configuration"; });

  const auto &status = at_path(pod, {"status"});
  phase = str_at(status, {"phase"});
  if (const auto &conds = at_path(status, {"conditions"}); conds.is_array())
    for (const auto &c : conds)
      if (str_at(c, {"type"}) == "Ready") {
        ready = str_at(c, {"status"}) == "True";
        break;
      }
  if (const auto &list = at_path(status, {"podIPs"}); list.is_array())
    for (const auto &entry : list)
      if (auto ip = str_at(entry, {"ip"}); !ip.empty()) ips.push_back(std::move(ip));
  if (auto ip = str_at(status, {"podIP"}); ips.empty() && !ip.empty()) ips.push_back(std::move(ip));
  if (const auto &statuses = at_path(status, {"containerStatuses"}); statuses.is_array())
    for (const auto &cs : statuses) {
      auto t = str_at(cs, {"state", "running", "startedAt"});
      if (!t.empty()) started.emplace_back(str_at(cs, {"name"}), std::move(t));
    }

  nlohmann::json s = nlohmann::json::object();
  for (const char *list : {"containers", "initContainers"})
    if (const auto &v = at_path(pod, {"spec", list}); !v.is_null()) s[list] = v;
  spec = shared != nullptr ? shared->intern(std::move(s)) : std::make_shared<const nlohmann::json>(std::move(s));
  strings = std::move(pool);
}

std::string Pod::label(const std::string &key) const { return find_in(labels, key); }
std::string Pod::annotation(const std::string &key) const { return find_in(annotations, key); }

std::string Pod::started_at(const std::string &container) const {
  for (const auto &[c, t] : started)
    if (c == container) return t;
  return {};
}

std::shared_ptr<const nlohmann::json> PodInterner::intern(nlohmann::json spec) {
  auto &same_hash = by_hash_[std::hash<nlohmann::json>{}(spec)];
  for (const auto &s : same_hash)
    if (*s == spec) return s;
  same_hash.push_back(std::make_shared<const nlohmann::json>(std::move(spec)));
  return same_hash.back();
}

namespace {
using Objects = std::vector<const nlohmann::json *>;
using Pods = std::vector<const Pod *>;

// Length-prefixed, so no namespace and name (hostile input may hold any character) share a key with another pair.
std::string key_of(const std::string &ns, const std::string &name) {
  auto k = std::to_string(ns.size());
  k.reserve(k.size() + 1 + ns.size() + name.size());
  return k.append(":").append(ns).append(name);
}

// Which storage an index was built from: it is current while the list has neither moved nor grown.
template <typename T> struct BuiltFrom {
  const T *data = nullptr;
  std::size_t size = 0;

  [[nodiscard]] bool current(const std::vector<T> &objs) const {
    return data == objs.data() && size == objs.size();
  }
  void mark(const std::vector<T> &objs) {
    data = objs.data();
    size = objs.size();
  }
};

// The index of one list: by namespace/name (the first object of that name wins, as a linear search would) and
// by namespace.
struct ListIndex : BuiltFrom<nlohmann::json> {
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
struct PodIndex : BuiltFrom<Pod> {
  std::unordered_map<std::string, Pods> by_owner_uid;
  std::unordered_map<std::string, Pods> by_deployment;
  std::unordered_map<std::string, Pods> by_namespace;

  void build(const std::vector<Pod> &pods) {
    mark(pods);
    by_owner_uid.clear();
    by_deployment.clear();
    by_namespace.clear();
    for (const auto &p : pods) {
      by_namespace[p.namespace_].push_back(&p);
      for (const auto &r : p.owners) {
        if (!r.uid.empty()) {
          auto &v = by_owner_uid[std::string{r.uid}];
          if (v.empty() || v.back() != &p) v.push_back(&p);
        }
        if (r.kind != "ReplicaSet") continue;
        // A Deployment's ReplicaSets are named <deployment>-<pod-template-hash>; the hash has no '-'.
        auto dash = r.name.rfind('-');
        if (dash == std::string::npos || dash == 0) continue;
        auto &v = by_deployment[key_of(p.namespace_, std::string{r.name.substr(0, dash)})];
        if (v.empty() || v.back() != &p) v.push_back(&p);
      }
    }
  }
};

template <typename T> const T &none() {
  static const T empty;
  return empty;
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
  const PodIndex &pod_index(const std::vector<Pod> &all) {
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
  return it == idx.by_namespace.end() ? none<Objects>() : it->second;
}

const std::vector<const Pod *> &Inventory::pods_owned_by(const std::string &uid) const {
  const auto &idx = indexes().pod_index(pods);
  auto it = idx.by_owner_uid.find(uid);
  return it == idx.by_owner_uid.end() ? none<Pods>() : it->second;
}

const std::vector<const Pod *> &Inventory::pods_of_replicasets(const std::string &ns,
                                                               const std::string &name) const {
  const auto &idx = indexes().pod_index(pods);
  auto it = idx.by_deployment.find(key_of(ns, name));
  return it == idx.by_deployment.end() ? none<Pods>() : it->second;
}

const std::vector<const Pod *> &Inventory::pods_in(const std::string &ns) const {
  const auto &idx = indexes().pod_index(pods);
  auto it = idx.by_namespace.find(ns);
  return it == idx.by_namespace.end() ? none<Pods>() : it->second;
}

namespace {
// Assigning an empty string or vector may keep the old buffer (a string's move assignment from a short one
// does); a swap hands it to a temporary that frees it.
template <typename T> void free_storage(T &v) { T().swap(v); }
} // namespace

void Inventory::release_namespace(const std::string &ns) {
  for (auto *objs : {&statefulsets, &deployments, &instancesets, &kb_clusters, &vmclusters, &configmaps}) {
    const auto *base = objs->data();
    for (const auto *o : in_namespace(*objs, ns))
      (*objs)[static_cast<std::size_t>(o - base)] = nullptr;
  }
  const auto *base = pods.data();
  for (const auto *p : pods_in(ns)) {
    auto &pod = pods[static_cast<std::size_t>(p - base)];
    free_storage(pod.name);
    free_storage(pod.uid);
    free_storage(pod.creation_timestamp);
    free_storage(pod.phase);
    free_storage(pod.ips);
    free_storage(pod.owners);
    free_storage(pod.labels);
    free_storage(pod.annotations);
    free_storage(pod.started);
    pod.spec = empty_spec(); // the last pod of a spec frees it
  }
}

const nlohmann::json *Inventory::configmap(const std::string &ns, const std::string &name) const {
  return find(configmaps, ns, name);
}

} // namespace vmsync::check
