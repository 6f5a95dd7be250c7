// Reading what check needs from the API server with a fixed set of list calls, all in flight together on one
// connection. Pods are only ever listed with label selectors, so unrelated pods are never transferred:
//   batch 1: which CRDs are served (KubeBlocks 0.9 or 1.0, the VictoriaMetrics operator), all three asked at once;
//   batch 2: StatefulSets and Deployments in scope (annotations cannot be selected server-side, and the generic
//            layout is opt-in by annotation), InstanceSets, KubeBlocks Clusters, VMClusters, the pods of each
//            layout by its labels, and KubeBlocks' env ConfigMaps;
//   batch 3: for generic consumers only, their pods (one selector per label key set, over all namespaces with
//            -A; see set_selector) and the ConfigMaps their templates reference (by name while they are few,
//            else one list of the scope that keeps only those);
//   batch 4: only when running pods reference ConfigMaps their templates do not;
//   batch 5: with --probe only, each consumer pod's own /flags and /metrics (probe.cpp), not a list.
// So a check makes a bounded number of requests however large the fleet: with -A on the benchmark's fleet of
// 200 clusters, 16 (bench/README.md).
// Pods and workloads are parsed through the filters of field_filter.hpp, so only what check and fix read is
// ever stored: unrelated workloads in scope cost their bytes on the wire, not their DOM.
//
// -A for a user who may read only some namespaces (RoleBindings, no cluster-wide list): kubectl would stop at the
// first 403. We fall back, as such a user would by hand, to namespace by namespace: the namespaces come from
// listing them (a small ClusterRole many such users have); when even that is forbidden, only the context's
// namespace is known, and the report says that the rest could not be seen. Each namespace then gets batch 2 of
// its own, and a namespace whose lists are forbidden becomes a namespace error, exactly as a 403 with -n does.
// We do not ask SelfSubjectAccessReview or SelfSubjectRulesReview first: both need the namespace names we
// lack, the rules review is "incomplete" under webhook authorizers, and the lists' own 403 is the authoritative
// answer and costs the same round trip.
#include "vmsync/check/check.hpp"

#include "discover.hpp"
#include "field_filter.hpp"
#include "observe.hpp"
#include "probe.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/client.hpp"

#include <algorithm>
#include <deque>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <set>

namespace vmsync::check {

namespace {

using kube::ListQuery;
using kube::Resource;

// std::string constants can only throw std::bad_alloc, while the program loads, where nothing could recover.
// NOLINTBEGIN(cert-err58-cpp)
const Resource kInstanceSetV1{"workloads.kubeblocks.io", "v1", "instancesets", "InstanceSet", true};
const Resource kInstanceSetV1alpha1{"workloads.kubeblocks.io", "v1alpha1", "instancesets", "InstanceSet", true};
const Resource kKbClusterV1{"apps.kubeblocks.io", "v1", "clusters", "Cluster", true};
const Resource kKbClusterV1alpha1{"apps.kubeblocks.io", "v1alpha1", "clusters", "Cluster", true};
const Resource kVMCluster{"operator.victoriametrics.com", "v1beta1", "vmclusters", "VMCluster", true};
// NOLINTEND(cert-err58-cpp)

// Up to this many ConfigMaps wanted from one scope are read by name, more by one list of the scope.
constexpr std::size_t kConfigMapsByName = 8;
// The longest label selector vmsync merges namespaces into: its URL stays under 8 KiB once encoded, which some
// proxies in front of API servers refuse beyond (the API server itself takes up to 1 MiB).
constexpr std::size_t kMaxSelector = 4000;

constexpr const char *kHelmPods = "app.kubernetes.io/name=victoria-metrics-cluster";
constexpr const char *kOperatorPods = "app.kubernetes.io/name in (vmstorage,vminsert,vmselect),managed-by=vm-operator";
constexpr const char *kKubeBlocksObjects =
    "app.kubernetes.io/managed-by=kubeblocks,apps.kubeblocks.io/component-name in (vmstorage,vminsert,vmselect)";

// Where a list's items go in the inventory; null: Inventory::pods, as Pod records.
using Sink = std::vector<nlohmann::json> Inventory::*;
constexpr Sink kPods = nullptr;

struct Pending {
  ListQuery query;
  Sink sink;
  // For a list over all namespaces that replaces narrower ones: those, to run instead when it is forbidden.
  std::vector<Pending> instead;
};

std::string scope_ns(const Scope &s) { return s.all_namespaces ? std::string{} : s.namespace_; }

// Runs the batch into `inv`. A list over all namespaces that is forbidden (403) is replaced by its `instead`
// lists when it has them; returns whether one without was forbidden, the case for the per-namespace fallback,
// whose error is then left to the caller.
bool run_batch(kube::Client &client, std::vector<Pending> &batch, Inventory &inv) {
  bool forbidden_cluster_wide = false;
  if (batch.empty()) return forbidden_cluster_wide;
  std::vector<Pending> retry;
  std::vector<ListQuery> queries;
  queries.reserve(batch.size());
  // A list of pods keeps each as a Pod record as soon as it is parsed (on the parsing thread; a list's pages are
  // parsed one after the other), so no page of pods is ever a whole DOM; the records join the inventory when the
  // list has succeeded.
  struct Taken {
    std::deque<Pod> pods; // grows without moving what it holds
    PodInterner shared;   // the pods of one template are in the same list
  };
  std::vector<std::unique_ptr<Taken>> taken(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    queries.push_back(batch[i].query);
    if (batch[i].sink != kPods) continue;
    taken[i] = std::make_unique<Taken>();
    auto &q = queries.back();
    q.items.accept = [t = taken[i].get(), then = std::move(q.items.accept)](nlohmann::json &item) {
      if (then && !then(item)) return false;
      t->pods.emplace_back(item, &t->shared);
      return false;
    };
    q.restarted = [t = taken[i].get()] { t->pods.clear(); };
  }
  auto outcomes = client.list_many(queries);
  std::size_t pods = inv.pods.size();
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (taken[i] && outcomes[i].result) pods += taken[i]->pods.size();
  inv.pods.reserve(pods); // one allocation, not a doubling vector's
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto &out = outcomes[i];
    if (out.result && batch[i].sink == kPods) {
      auto &got = taken[i]->pods;
      inv.pods.insert(inv.pods.end(), std::make_move_iterator(got.begin()), std::make_move_iterator(got.end()));
      taken[i].reset();
      continue;
    }
    if (out.result) {
      auto &dst = inv.*(batch[i].sink);
      for (auto &item : out.result->items) dst.push_back(std::move(item));
      continue;
    }
    std::string msg;
    const auto &ns = batch[i].query.namespace_;
    try {
      std::rethrow_exception(out.error);
    } catch (const ApiError &e) {
      if (e.status() == 403 && ns.empty() && batch[i].query.resource.namespaced) {
        if (batch[i].instead.empty())
          forbidden_cluster_wide = true;
        else
          std::move(batch[i].instead.begin(), batch[i].instead.end(), std::back_inserter(retry));
        continue;
      }
      msg = e.what();
    } catch (const TransportError &) {
      throw; // the server is unreachable: nothing else will work either
    } catch (const std::exception &e) {
      msg = e.what();
    }
    if (ns.empty())
      inv.errors.push_back(msg);
    else if (!inv.namespace_errors.contains(ns))
      inv.namespace_errors.emplace(ns, msg);
  }
  batch = std::move(retry);
  return run_batch(client, batch, inv) || forbidden_cluster_wide;
}

// The namespaces to read one by one when lists over all namespaces are forbidden: every namespace when they may
// be listed; else only `fallback` (the context's), with an error saying what could not be seen.
std::vector<std::string> readable_candidates(kube::Client &client, const std::string &fallback, Inventory &inv) {
  ListQuery q;
  q.resource = kube::resources::namespaces;
  auto outcome = std::move(client.list_many({q}).front());
  if (outcome.result) {
    std::vector<std::string> names;
    for (const auto &item : outcome.result->items)
      names.push_back(meta_name(item));
    return names;
  }
  try {
    std::rethrow_exception(outcome.error);
  } catch (const ApiError &e) {
    inv.errors.push_back(fmt::format("-A: listing all namespaces is forbidden too, so only namespace \"{}\" (the "
                                     "context's) was checked; the others could not be seen: {}",
                                     fallback, e.what()));
  }
  return {fallback};
}

// Label values wanted per key, for workloads whose matchLabels have the same keys.
using LabelSets = std::map<std::string, std::set<std::string>>;

// The page size of a list: larger with a label selector (see Scope::selected_chunk_size).
int page_limit(const Scope &scope, const std::string &label_selector) {
  return label_selector.empty() ? scope.chunk_size : scope.selected_chunk_size;
}

// One selector for the pods of several workloads of a namespace whose matchLabels have the same keys:
// "k1 in (a,b),k2=c". It selects the union of their pods and, at most, pods with other combinations of their
// label values, i.e. of the same family; which workload a pod belongs to is decided by ownership (discover.cpp).
// So the pods of generic workloads cost one request per namespace and key set, not one per workload.
std::string set_selector(const LabelSets &sets) {
  std::vector<std::string> terms;
  for (const auto &[key, values] : sets) {
    std::vector<std::pair<std::string, std::string>> each;
    for (const auto &v : values) each.emplace_back(key, v);
    if (values.size() == 1) {
      terms.push_back(kube::selector(each));
      continue;
    }
    std::vector<std::string> vs;
    vs.reserve(each.size());
    for (const auto &pair : each) vs.push_back(kube::selector({pair}).substr(key.size() + 1)); // validated
    terms.push_back(fmt::format("{} in ({})", key, fmt::join(vs, ",")));
  }
  return fmt::format("{}", fmt::join(terms, ","));
}

void collect_configmap_refs(const nlohmann::json &pod_spec, const std::string &ns,
                            std::set<std::pair<std::string, std::string>> &out) {
  for (const char *list : {"containers", "initContainers"}) {
    const auto &cs = at_path(pod_spec, {list});
    if (!cs.is_array()) continue;
    for (const auto &c : cs) {
      for (const auto &ef : at_path(c, {"envFrom"}).is_array() ? at_path(c, {"envFrom"}) : nlohmann::json::array()) {
        auto name = str_at(ef, {"configMapRef", "name"});
        if (!name.empty()) out.emplace(ns, name);
      }
      for (const auto &e : at_path(c, {"env"}).is_array() ? at_path(c, {"env"}) : nlohmann::json::array()) {
        auto name = str_at(e, {"valueFrom", "configMapKeyRef", "name"});
        if (!name.empty()) out.emplace(ns, name);
      }
    }
  }
}

// The reading, as the steps read_inventory runs in order. Each step adds its lists to `batch` and runs them as one
// round of requests; later steps decide what to ask from what the earlier ones found.
class Reader {
public:
  Reader(kube::Client &client, const Scope &scope) : client_(client), scope_(scope) {}

  // Batch 1: which optional APIs exist, all asked in one round. A missing CRD is normal, not an error.
  void optional_apis() {
    const auto served = client_.serves_all({{"workloads.kubeblocks.io", "v1", "instancesets"},
                                            {"workloads.kubeblocks.io", "v1alpha1", "instancesets"},
                                            {"operator.victoriametrics.com", "v1beta1", "vmclusters"}});
    if (served[0])
      inv_.kubeblocks = KubeBlocksVersion::V10;
    else if (served[1])
      inv_.kubeblocks = KubeBlocksVersion::V09;
    inv_.vm_operator = served[2];
  }

  // Batch 2: every layout's workloads, custom resources, pods and ConfigMaps, over all namespaces at once, or per
  // namespace (see the -A fallback at the top of this file).
  void layout_lists() {
    add_lists(scope_ns(scope_));
    cluster_wide_ = scope_.all_namespaces;
    if (!run_batch(client_, batch_, inv_)) return;
    cluster_wide_ = false;
    // -A forbidden: start over, namespace by namespace (what the cluster-wide lists did return is dropped, so no
    // namespace is half read).
    Inventory fresh;
    fresh.kubeblocks = inv_.kubeblocks;
    fresh.vm_operator = inv_.vm_operator;
    inv_ = std::move(fresh);
    for (const auto &where : readable_candidates(client_, scope_.namespace_, inv_))
      add_lists(where);
    run_batch(client_, batch_, inv_);
  }

  // Batch 3: generic consumers (opt-in by annotation or by --relation): their pods, their storage's pods and the
  // ConfigMaps their templates reference, all in one round. See set_selector() for how pods are listed.
  void generic_consumers() {
    Wanted wanted;
    std::set<std::pair<std::string, std::string>> storage_refs;
    for (const auto *list : {&inv_.deployments, &inv_.statefulsets}) {
      for (const auto &w : *list) {
        if (!is_generic_consumer(w)) continue;
        auto target = annotation(w, "vmsync.io/storage-workload");
        for (const auto &r : scope_.relations)
          if (r.consumer.ends_with("/" + meta_name(w))) target = r.storage;
        auto slash = target.find('/');
        const auto storage = slash == std::string::npos ? target : target.substr(slash + 1);
        if (!in_scope(storage)) continue;
        pods_of(w, wanted);
        collect_configmap_refs(at_path(w, {"spec", "template", "spec"}), meta_namespace(w), cm_refs_);
        storage_refs.emplace(meta_namespace(w), storage);
      }
    }
    for (const auto &sts : inv_.statefulsets)
      if (storage_refs.contains({meta_namespace(sts), meta_name(sts)})) pods_of(sts, wanted);
    add_generic_pods(wanted);
    ask_configmaps();
    run_batch(client_, batch_, inv_);
  }

  // Batch 4, rarely needed: ConfigMaps that only running pods reference (their specs may differ from the
  // template's).
  void pod_configmaps() {
    for (const auto &p : inv_.pods)
      collect_configmap_refs(*p.spec, p.namespace_, cm_refs_);
    ask_configmaps();
    run_batch(client_, batch_, inv_);
  }

  // Batch 5, with --probe only: each consumer pod's own /flags and /metrics (probe.cpp). The pods are those the
  // report judges: discovery runs here once to find them, and again, namespace by namespace, in compute_report.
  void probe() {
    if (scope_.probe.mode == ProbeMode::Off) return;
    std::vector<ProbeTarget> targets;
    PodObserver observer(inv_);
    std::set<const Pod *> seen;
    for (const auto &cluster : discover_clusters(inv_, scope_))
      for (const auto &cons : cluster.consumers)
        for (const auto *pod : cons.pods)
          if (seen.insert(pod).second)
            if (auto t = observer.probe_target(*pod, cons.role)) targets.push_back(std::move(*t));
    probe_pods(client_, scope_.probe, targets, inv_);
  }

  Inventory take() { return std::move(inv_); }

private:
  using Wanted = std::map<std::pair<std::string, std::vector<std::string>>, LabelSets>; // (ns, keys) -> values

  void add(const Resource &r, std::string selector, Sink sink) {
    ListQuery q;
    q.resource = r;
    q.namespace_ = ns_now_;
    q.options.limit = page_limit(scope_, selector);
    q.options.label_selector = std::move(selector);
    if (sink == kPods) q.items = {pod_fields(), {}};
    if (sink == &Inventory::instancesets) q.items = {workload_fields(), {}};
    if (sink == &Inventory::vmclusters) q.items = {vmcluster_fields(), {}};
    if (sink == &Inventory::kb_clusters) q.items = {kb_cluster_fields(), {}};
    // Deployments and StatefulSets are triaged by their metadata (may_be_consumer) before the rest is built: a
    // Deployment is never storage, so one that cannot be a consumer is not kept at all (a large cluster's
    // Deployments are mostly unrelated applications); such a StatefulSet may still be some cluster's storage,
    // which needs its spec and status, not its pod template's containers.
    const Scope &scope = scope_;
    if (sink == &Inventory::deployments)
      q.items = {workload_fields(), {}, [&scope](const nlohmann::json &head) {
                   return may_be_consumer(head, scope) ? workload_fields().get() : nullptr;
                 }};
    if (sink == &Inventory::statefulsets)
      q.items = {workload_fields(), {}, [&scope](const nlohmann::json &head) {
                   return may_be_consumer(head, scope) ? workload_fields().get() : storage_fields().get();
                 }};
    batch_.push_back({std::move(q), sink, {}});
  }

  [[nodiscard]] std::string with_user(const std::string &sel) const {
    const std::string &user_sel = scope_.label_selector;
    if (user_sel.empty()) return sel;
    return sel.empty() ? user_sel : sel + "," + user_sel;
  }

  void add_lists(const std::string &where) {
    ns_now_ = where;
    add(kube::resources::statefulsets, with_user(""), &Inventory::statefulsets);
    add(kube::resources::deployments, with_user(""), &Inventory::deployments);
    add(kube::resources::pods, kHelmPods, kPods);
    if (inv_.vm_operator) {
      add(kVMCluster, with_user(""), &Inventory::vmclusters);
      add(kube::resources::pods, kOperatorPods, kPods);
    }
    if (inv_.kubeblocks != KubeBlocksVersion::None) {
      const bool v10 = inv_.kubeblocks == KubeBlocksVersion::V10;
      add(v10 ? kInstanceSetV1 : kInstanceSetV1alpha1, with_user(kKubeBlocksObjects), &Inventory::instancesets);
      add(v10 ? kKbClusterV1 : kKbClusterV1alpha1, with_user(""), &Inventory::kb_clusters);
      add(kube::resources::pods, kKubeBlocksObjects, kPods);
      add(kube::resources::configmaps, kKubeBlocksObjects, &Inventory::configmaps);
    }
  }

  [[nodiscard]] bool is_generic_consumer(const nlohmann::json &w) const {
    if (!annotation(w, "vmsync.io/storage-workload").empty()) return true;
    for (const auto &r : scope_.relations) {
      auto slash = r.consumer.find('/');
      if (slash != std::string::npos && r.consumer.substr(slash + 1) == meta_name(w)) return true;
    }
    return false;
  }

  static void pods_of(const nlohmann::json &w, Wanted &wanted) {
    const auto &ml = at_path(w, {"spec", "selector", "matchLabels"});
    if (!ml.is_object()) return;
    std::vector<std::string> keys;
    for (const auto &[k, v] : ml.items())
      if (v.is_string()) keys.push_back(k);
    if (keys.empty()) return;
    auto &sets = wanted[{meta_namespace(w), keys}];
    for (const auto &[k, v] : ml.items())
      if (v.is_string()) sets[k].insert(v.get<std::string>());
  }

  // A generic cluster is named after its storage workload; when clusters are named, the others' consumers are
  // not read (their pods and ConfigMaps would cost a round of requests whose answers the report then drops).
  [[nodiscard]] bool in_scope(const std::string &cluster) const {
    return scope_.clusters.empty() ||
           std::find(scope_.clusters.begin(), scope_.clusters.end(), cluster) != scope_.clusters.end();
  }

  [[nodiscard]] Pending pods_query(const std::string &where, const LabelSets &sets) const {
    ListQuery q;
    q.resource = kube::resources::pods;
    q.namespace_ = where;
    q.options.label_selector = set_selector(sets);
    q.options.limit = page_limit(scope_, q.options.label_selector);
    q.items = {pod_fields(), {}};
    return Pending{std::move(q), kPods, {}};
  }

  // With -A, the pods of every namespace's workloads with the same label keys are one list over all namespaces
  // (the union of their values; a pod of another namespace is dropped on its metadata as its page is parsed), so
  // the number of requests does not grow with the fleet. A selector stays under kMaxSelector characters, though:
  // the namespaces whose values would make it longer start another list. Per namespace when lists over all
  // namespaces are forbidden.
  void add_generic_pods(const Wanted &wanted) {
    struct Group {
      LabelSets sets;
      std::set<std::string> namespaces;
      std::vector<Pending> instead; // the same pods, per namespace
    };
    std::map<std::vector<std::string>, std::vector<Group>> by_keys;
    for (const auto &[where, sets] : wanted) {
      if (!cluster_wide_) {
        batch_.push_back(pods_query(where.first, sets));
        continue;
      }
      auto &groups = by_keys[where.second];
      LabelSets merged = groups.empty() ? LabelSets{} : groups.back().sets;
      for (const auto &[k, values] : sets)
        merged[k].insert(values.begin(), values.end());
      if (groups.empty() || set_selector(merged).size() > kMaxSelector) {
        groups.emplace_back();
        merged = sets;
      }
      auto &g = groups.back();
      g.sets = std::move(merged);
      g.namespaces.insert(where.first);
      g.instead.push_back(pods_query(where.first, sets));
    }
    for (auto &entry : by_keys) {
      for (auto &g : entry.second) {
        auto namespaces = std::make_shared<const std::set<std::string>>(std::move(g.namespaces));
        auto p = pods_query("", g.sets);
        p.query.items.triage = [namespaces](const nlohmann::json &head) {
          return namespaces->contains(meta_namespace(head)) ? pod_fields().get() : nullptr;
        };
        p.instead = std::move(g.instead);
        batch_.push_back(std::move(p));
      }
    }
  }

  static Pending configmap_by_name(const std::pair<std::string, std::string> &ref) {
    ListQuery q;
    q.resource = kube::resources::configmaps;
    q.namespace_ = ref.first;
    q.options.field_selector = "metadata.name=" + ref.second;
    return Pending{std::move(q), &Inventory::configmaps, {}};
  }

  [[nodiscard]] Pending configmaps_listed(const std::string &where,
                                          std::set<std::pair<std::string, std::string>> refs) const {
    ListQuery q;
    q.resource = kube::resources::configmaps;
    q.namespace_ = where;
    q.options.limit = page_limit(scope_, "");
    auto wanted_refs = std::make_shared<const std::set<std::pair<std::string, std::string>>>(std::move(refs));
    // Decided on the metadata, so the others' data (dashboards, often) is never built.
    q.items = {configmap_fields(), {}, [wanted_refs](const nlohmann::json &head) {
                 return wanted_refs->contains({meta_namespace(head), meta_name(head)}) ? configmap_fields().get()
                                                                                       : nullptr;
               }};
    Pending p{std::move(q), &Inventory::configmaps, {}};
    if (where.empty())
      for (const auto &ref : *wanted_refs)
        p.instead.push_back(configmap_by_name(ref));
    return p;
  }

  // ConfigMaps are read by name (a field selector; one request each) while a few are wanted from a scope, and by
  // one list of the scope, keeping only the wanted ones as its pages are parsed, when more are: so requests stay
  // bounded whatever the fleet, and the bytes of unrelated ConfigMaps are paid only where many are wanted.
  void ask_configmaps() {
    std::map<std::string, std::set<std::pair<std::string, std::string>>> missing; // by namespace
    std::size_t count = 0;
    for (const auto &ref : cm_refs_) {
      if (inv_.configmap(ref.first, ref.second) != nullptr || !asked_.insert(ref).second) continue;
      missing[ref.first].insert(ref);
      ++count;
    }
    if (cluster_wide_ && count > kConfigMapsByName) {
      std::set<std::pair<std::string, std::string>> all;
      for (auto &[where, refs] : missing) all.merge(refs);
      batch_.push_back(configmaps_listed("", std::move(all)));
      return;
    }
    for (auto &[where, refs] : missing) {
      if (refs.size() > kConfigMapsByName) {
        batch_.push_back(configmaps_listed(where, std::move(refs)));
        continue;
      }
      for (const auto &ref : refs)
        batch_.push_back(configmap_by_name(ref));
    }
  }

  kube::Client &client_;
  const Scope &scope_;
  Inventory inv_;
  std::vector<Pending> batch_;
  std::string ns_now_;                                    // the namespace of the lists being added
  bool cluster_wide_ = false;                             // whether lists over all namespaces are allowed
  std::set<std::pair<std::string, std::string>> cm_refs_; // ConfigMaps referenced by consumers
  std::set<std::pair<std::string, std::string>> asked_;   // ConfigMaps already asked for
};

} // namespace

Inventory read_inventory(kube::Client &client, const Scope &scope) {
  Reader read(client, scope);
  read.optional_apis();
  read.layout_lists();
  read.generic_consumers();
  read.pod_configmaps();
  read.probe();
  return read.take();
}

} // namespace vmsync::check
