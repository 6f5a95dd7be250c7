// Layout detection. Each layout is anchored on its storage workload or custom resource, with the names and
// labels upstream gives it (see ../shared/reference/victoriametrics-on-kubernetes.md):
//   KubeBlocks  InstanceSet <c>-vmstorage, consumers InstanceSets <c>-vminsert / <c>-vmselect, pod services
//               <c>-vmstorage-<i>, list in ConfigMap <c>-<comp>-env key VMSTORAGE_ADDR, sorted as strings;
//   Helm        StatefulSet labelled app=vmstorage + app.kubernetes.io/name=victoria-metrics-cluster, consumers
//               with app=vminsert|vmselect and the same instance, one --storageNode per node (FQDN, dot);
//   operator    VMCluster <n>: StatefulSet vmstorage-<n>, vminsert-<n> Deployment, vmselect-<n> StatefulSet,
//               one comma-joined -storageNode, maintenance IDs excluded, extra nodes for vmselect;
//   generic     any Deployment/StatefulSet annotated vmsync.io/storage-workload (or named by --relation).
// Expected lists come from declared replicas, not from the pods that happen to exist.
#include "discover.hpp"

#include "observe.hpp"
#include "vmsync/error.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <set>

namespace vmsync::check {

using nlohmann::json;

namespace {

std::string default_port(model::Role r) { return r == model::Role::Insert ? "8400" : "8401"; }

bool matches_labels(const Pod &pod, const json &match_labels) {
  if (!match_labels.is_object() || match_labels.empty()) return false;
  for (const auto &[k, v] : match_labels.items())
    if (!v.is_string() || pod.label(k) != v.get<std::string>()) return false;
  return true;
}

// Pods owned by a workload: by owner UID (StatefulSet, InstanceSet), or for a Deployment by its ReplicaSets'
// naming and the Deployment's selector (ReplicaSets are not read). Candidates come from the inventory's owner
// indexes, so this costs the workload's own pods, not the namespace's.
std::vector<const Pod *> pods_of(const Inventory &inv, const json &workload, const std::string &kind) {
  std::vector<const Pod *> out;
  const auto uid = str_at(workload, {"metadata", "uid"});
  const auto ns = meta_namespace(workload);
  const auto name = meta_name(workload);
  const auto &sel = at_path(workload, {"spec", "selector", "matchLabels"});
  std::set<std::string> seen;
  auto consider = [&](const Pod &p, bool owned) {
    if (!owned || p.namespace_ != ns || p.terminating) return;
    if (p.phase == "Succeeded" || p.phase == "Failed") return;
    if (seen.insert(p.name).second) out.push_back(&p);
  };
  if (!uid.empty()) {
    for (const auto *p : inv.pods_owned_by(uid)) consider(*p, true);
    if (kind == "Deployment")
      for (const auto *p : inv.pods_of_replicasets(ns, name)) consider(*p, matches_labels(*p, sel));
  } else {
    // Offline fixtures and UID-less objects: the ReplicaSet naming, or the selector plus the controller's pod
    // naming.
    for (const auto *p : inv.pods_in(ns)) {
      bool owned = false;
      if (kind == "Deployment")
        for (const auto &r : p->owners)
          if (r.kind == "ReplicaSet" && r.name.starts_with(name + "-") && matches_labels(*p, sel)) owned = true;
      if (!owned && matches_labels(*p, sel) && p->name.starts_with(name + "-")) owned = true;
      consider(*p, owned);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Pod *a, const Pod *b) { return model::natural_less(a->name, b->name); });
  return out;
}

std::vector<int> range_minus(int n, const std::vector<int> &excluded) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i)
    if (std::find(excluded.begin(), excluded.end(), i) == excluded.end()) out.push_back(i);
  return out;
}

std::vector<int> int_list(const json &v) {
  std::vector<int> out;
  if (v.is_array())
    for (const auto &x : v)
      if (x.is_number_integer()) out.push_back(x.get<int>());
  return out;
}

// How a layout's lists name a storage pod: "<pod>.<headless service>", or (KubeBlocks) the pod's own Service,
// which has the pod's name.
enum class NodeForm { PodOfHeadless, PodService };

// The expected list of a consumer, and the names that reach the cluster's storage pods. The list is spelled like
// the entries of the source that already reach a storage pod; an entry that only looks like one (a wrong Service
// or namespace) lends nothing, or every expected node would be as unreachable as it is.
void finish_consumer(ClusterSpec &c, ConsumerSpec &cons, const Inventory &inv, const std::string &cluster_domain,
                     NodeForm form, model::Spelling default_style, bool sort_as_strings) {
  const auto storage_name = meta_name(*c.storage);
  cons.layout_style = default_style;
  auto &names = cons.names;
  names.namespace_ = c.namespace_;
  names.cluster_domain = cluster_domain;
  names.storage.workload = storage_name;
  names.storage.namespace_ = c.namespace_;
  names.storage.subdomain = c.storage_service;
  for (int i = 0; i < c.declared_replicas; ++i) {
    auto pod = fmt::format("{}-{}", storage_name, i);
    if (form == NodeForm::PodService) names.storage.pod_services.emplace_back(pod, pod);
    names.storage.pods.push_back(std::move(pod));
  }
  if (!names.storage.subdomain.empty()) names.headless_services.push_back(names.storage.subdomain);

  std::vector<model::NodeName> nodes;
  for (int i : range_minus(c.declared_replicas, cons.excluded)) {
    const auto &pod = names.storage.pods[static_cast<std::size_t>(i)];
    if (form == NodeForm::PodService)
      nodes.push_back({{}, pod, c.namespace_, cons.port});
    else
      nodes.push_back({pod, names.storage.subdomain, c.namespace_, cons.port});
  }
  std::sort(names.storage.pods.begin(), names.storage.pods.end());
  std::sort(names.storage.pod_services.begin(), names.storage.pod_services.end());
  // A live storage pod is reached by its IP too, while it lives (a replaced pod gets another one).
  for (const auto *p : c.storage_pods) {
    if (p->terminating || !std::binary_search(names.storage.pods.begin(), names.storage.pods.end(), p->name))
      continue;
    for (const auto &ip : p->ips)
      if (auto canonical = model::canonical_ip(ip))
        names.storage.pod_ips.emplace_back(std::move(*canonical), p->name);
  }
  std::sort(names.storage.pod_ips.begin(), names.storage.pod_ips.end());
  auto source = read_source(cons, inv);
  cons.expected = spell_like(source.entries.value_or(std::vector<std::string>{}), nodes, default_style, names);
  if (sort_as_strings) std::sort(cons.expected.begin(), cons.expected.end());
  c.consumers.push_back(std::move(cons));
}

// More vmstorage nodes than any real cluster has. Expected lists are built node by node, so an absurd count
// (a typo, or hostile input) would otherwise cost minutes and gigabytes before saying anything.
constexpr long long kMaxStorageReplicas = 10000;

void storage_common(ClusterSpec &c, const Inventory &inv, const json &storage, const std::string &kind) {
  c.storage = &storage;
  c.storage_kind = kind;
  c.declared_replicas = int_at(storage, {"spec", "replicas"}, 1);
  const auto &replicas = at_path(storage, {"spec", "replicas"});
  if (replicas.is_number() && (replicas.get<double>() < 0 || replicas.get<double>() > kMaxStorageReplicas)) {
    c.errors.push_back(fmt::format("{} {}/{}: spec.replicas {} is out of range (0 to {})", kind,
                                   meta_namespace(storage), meta_name(storage), replicas.dump(),
                                   kMaxStorageReplicas));
    c.declared_replicas = 0;
  }
  if (!inv.offline) c.storage_pods = pods_of(inv, storage, kind);
}

// The objects discovery starts from: all of `list`, or (with `ns`) those of one namespace.
std::vector<const json *> roots(const Inventory &inv, const std::vector<json> &list, const std::string *ns) {
  if (ns != nullptr) return inv.in_namespace(list, *ns);
  std::vector<const json *> all;
  all.reserve(list.size());
  for (const auto &o : list)
    all.push_back(&o);
  return all;
}

// ---- Helm chart victoria-metrics-cluster ----------------------------------------------------------------------
void discover_helm(const Inventory &inv, const Scope &scope, const std::string *ns,
                   std::vector<ClusterSpec> &out) {
  for (const auto *root : roots(inv, inv.statefulsets, ns)) {
    const auto &sts = *root;
    if (label(sts, "app.kubernetes.io/name") != "victoria-metrics-cluster" || label(sts, "app") != "vmstorage")
      continue;
    ClusterSpec c;
    c.layout = model::Layout::Helm;
    c.namespace_ = meta_namespace(sts);
    c.name = label(sts, "app.kubernetes.io/instance");
    storage_common(c, inv, sts, "StatefulSet");
    c.storage_service = str_at(sts, {"spec", "serviceName"});
    if (c.storage_service.empty()) c.storage_service = meta_name(sts);
    for (const auto *list : {&inv.deployments, &inv.statefulsets}) {
      for (const auto *wp : inv.in_namespace(*list, c.namespace_)) {
        const auto &w = *wp;
        if (label(w, "app.kubernetes.io/instance") != c.name ||
            label(w, "app.kubernetes.io/name") != "victoria-metrics-cluster")
          continue;
        const auto app = label(w, "app");
        if (app != "vminsert" && app != "vmselect") continue;
        ConsumerSpec cons;
        cons.role = app == "vminsert" ? model::Role::Insert : model::Role::Select;
        cons.workload = &w;
        cons.kind = list == &inv.deployments ? "Deployment" : "StatefulSet";
        cons.port = default_port(cons.role);
        auto ex = annotation(w, "vmsync.io/exclude-ordinals");
        if (!ex.empty()) cons.excluded = parse_ordinals_text(ex);
        if (!inv.offline) cons.pods = pods_of(inv, w, cons.kind);
        // The chart's default: "<sts>-<i>.<sts>.<ns>.svc.cluster.local.:<port>".
        finish_consumer(c, cons, inv, scope.cluster_domain, NodeForm::PodOfHeadless, model::Spelling::FqdnDot,
                        false);
      }
    }
    out.push_back(std::move(c));
  }
}

// ---- VictoriaMetrics operator VMCluster ------------------------------------------------------------------------
void discover_operator(const Inventory &inv, const Scope &scope, const std::string *ns,
                       std::vector<ClusterSpec> &out) {
  for (const auto *root : roots(inv, inv.vmclusters, ns)) {
    const auto &vmc = *root;
    ClusterSpec c;
    c.layout = model::Layout::Operator;
    c.namespace_ = meta_namespace(vmc);
    c.name = meta_name(vmc);
    c.owner = &vmc;
    const bool legacy = at_path(vmc, {"spec", "useLegacyNaming"}) == true;
    auto name_of = [&](const char *comp) {
      return legacy ? fmt::format("{}-{}", c.name, comp) : fmt::format("{}-{}", comp, c.name);
    };
    const auto storage_name = name_of("vmstorage");
    const auto *sts = inv.find(inv.statefulsets, c.namespace_, storage_name);
    if (sts == nullptr) {
      if (inv.offline) continue; // the operator renders consistent lists itself; nothing to compare offline
      if (at_path(vmc, {"spec", "vmstorage"}).is_object())
        c.errors.push_back(fmt::format("VMCluster {}/{}: its vmstorage StatefulSet {} does not exist yet "
                                       "(is the operator running?)",
                                       c.namespace_, c.name, storage_name));
      out.push_back(std::move(c));
      continue;
    }
    storage_common(c, inv, *sts, "StatefulSet");
    c.storage_service = storage_name;
    const int spec_replicas = int_at(vmc, {"spec", "vmstorage", "replicaCount"}, c.declared_replicas);
    if (spec_replicas != c.declared_replicas)
      c.warnings.push_back(fmt::format("VMCluster wants {} vmstorage replicas, StatefulSet {} has {}: the operator "
                                       "is still reconciling",
                                       spec_replicas, storage_name, c.declared_replicas));
    // The operator writes "<pod>.vmstorage-<n>.<ns>", and appends ".svc.<domain>" when clusterDomainName is set.
    const auto domain = str_at(vmc, {"spec", "clusterDomainName"});
    const bool global_discovery = at_path(vmc, {"spec", "discovery", "enabled"}) == true;
    struct Part {
      const char *comp;
      model::Role role;
      const std::vector<json> *list;
      const char *kind;
      const char *maintenance;
    };
    const Part parts[] = {{"vmselect", model::Role::Select, &inv.statefulsets, "StatefulSet", "maintenanceSelectNodeIDs"},
                          {"vminsert", model::Role::Insert, &inv.deployments, "Deployment", "maintenanceInsertNodeIDs"}};
    for (const auto &part : parts) {
      const auto *w = inv.find(*part.list, c.namespace_, name_of(part.comp));
      if (w == nullptr) continue;
      ConsumerSpec cons;
      cons.role = part.role;
      cons.workload = w;
      cons.kind = part.kind;
      cons.port = default_port(part.role);
      cons.excluded = int_list(at_path(vmc, {"spec", "vmstorage", part.maintenance}));
      cons.discovery_mode = global_discovery || at_path(vmc, {"spec", part.comp, "discovery", "enabled"}) == true;
      if (!inv.offline) cons.pods = pods_of(inv, *w, cons.kind);
      finish_consumer(c, cons, inv, domain.empty() ? scope.cluster_domain : domain, NodeForm::PodOfHeadless,
                      domain.empty() ? model::Spelling::Namespace : model::Spelling::Fqdn, false);
      if (part.role == model::Role::Select) {
        const auto &extra = at_path(vmc, {"spec", "vmselect", "extraStorageNodes"});
        if (extra.is_array())
          for (const auto &e : extra)
            if (!str_at(e, {"addr"}).empty()) c.consumers.back().expected.push_back(str_at(e, {"addr"}));
      }
    }
    out.push_back(std::move(c));
  }
}

// ---- KubeBlocks victoria-metrics addon ----------------------------------------------------------------------
void discover_kubeblocks(const Inventory &inv, const Scope &scope, const std::string *ns,
                         std::vector<ClusterSpec> &out) {
  for (const auto *root : roots(inv, inv.instancesets, ns)) {
    const auto &its = *root;
    if (label(its, "apps.kubeblocks.io/component-name") != "vmstorage") continue;
    ClusterSpec c;
    c.layout = model::Layout::KubeBlocks;
    c.namespace_ = meta_namespace(its);
    c.name = label(its, "app.kubernetes.io/instance");
    c.owner = inv.find(inv.kb_clusters, c.namespace_, c.name);
    storage_common(c, inv, its, "InstanceSet");
    // The pods' subdomain: the InstanceSet's serviceName, "<its>-headless" as KubeBlocks names it.
    c.storage_service = str_at(its, {"spec", "serviceName"});
    if (c.storage_service.empty()) c.storage_service = meta_name(its) + "-headless";
    for (const auto *wp : inv.in_namespace(inv.instancesets, c.namespace_)) {
      const auto &w = *wp;
      if (label(w, "app.kubernetes.io/instance") != c.name) continue;
      const auto comp = label(w, "apps.kubeblocks.io/component-name");
      if (comp != "vminsert" && comp != "vmselect") continue;
      ConsumerSpec cons;
      cons.role = comp == "vminsert" ? model::Role::Insert : model::Role::Select;
      cons.workload = &w;
      cons.kind = "InstanceSet";
      cons.port = default_port(cons.role);
      if (!inv.offline) cons.pods = pods_of(inv, w, "InstanceSet");
      // Pod services, short and sorted as strings: "<c>-vmstorage-<i>:<port>".
      finish_consumer(c, cons, inv, scope.cluster_domain, NodeForm::PodService, model::Spelling::Short, true);
    }
    std::sort(c.consumers.begin(), c.consumers.end(),
              [](const ConsumerSpec &a, const ConsumerSpec &b) { return a.role > b.role; }); // vmselect first
    out.push_back(std::move(c));
  }
}

// ---- generic: opt-in by annotations or --relation ------------------------------------------------------------
struct GenericLink {
  std::string storage_kind = "StatefulSet";
  std::string storage_name;
  std::string role, port, service;
  std::vector<int> exclude;
};

std::optional<GenericLink> generic_link(const json &w, const std::string &kind, const Scope &scope) {
  GenericLink link;
  auto target = annotation(w, "vmsync.io/storage-workload");
  link.role = annotation(w, "vmsync.io/role");
  link.port = annotation(w, "vmsync.io/storage-port");
  link.service = annotation(w, "vmsync.io/storage-service");
  auto ex = annotation(w, "vmsync.io/exclude-ordinals");
  if (!ex.empty()) link.exclude = parse_ordinals_text(ex);
  for (const auto &r : scope.relations) {
    auto slash = r.consumer.find('/');
    auto rkind = slash == std::string::npos ? std::string{"deployment"} : r.consumer.substr(0, slash);
    auto rname = slash == std::string::npos ? r.consumer : r.consumer.substr(slash + 1);
    std::string lower_kind = kind;
    std::transform(lower_kind.begin(), lower_kind.end(), lower_kind.begin(), ::tolower);
    if (rname != meta_name(w) || (rkind != lower_kind && rkind + "s" != lower_kind)) continue;
    target = r.storage;
    if (!r.role.empty()) link.role = r.role;
    if (!r.port.empty()) link.port = r.port;
    if (!r.service.empty()) link.service = r.service;
    if (!r.exclude.empty()) link.exclude = r.exclude;
  }
  if (target.empty()) return std::nullopt;
  auto slash = target.find('/');
  if (slash != std::string::npos) {
    link.storage_kind = target.substr(0, slash);
    target = target.substr(slash + 1);
  }
  link.storage_name = target;
  return link;
}

void discover_generic(const Inventory &inv, const Scope &scope, const std::string *only_ns,
                      std::vector<ClusterSpec> &out) {
  std::map<std::pair<std::string, std::string>, std::size_t> by_storage;
  for (const auto *list : {&inv.deployments, &inv.statefulsets}) {
    const std::string kind = list == &inv.deployments ? "Deployment" : "StatefulSet";
    for (const auto *root : roots(inv, *list, only_ns)) {
      const auto &w = *root;
      std::optional<GenericLink> link;
      try {
        link = generic_link(w, kind, scope);
      } catch (const ParseError &e) {
        ClusterSpec bad;
        bad.namespace_ = meta_namespace(w);
        bad.name = meta_name(w);
        bad.errors.push_back(fmt::format("{} {}/{}: {}", kind, bad.namespace_, bad.name, e.what()));
        out.push_back(std::move(bad));
        continue;
      }
      if (!link) continue;
      const auto ns = meta_namespace(w);
      auto key = std::make_pair(ns, link->storage_name);
      if (!by_storage.contains(key)) {
        ClusterSpec c;
        c.layout = model::Layout::Generic;
        c.namespace_ = ns;
        c.name = link->storage_name;
        std::string lk = link->storage_kind;
        std::transform(lk.begin(), lk.end(), lk.begin(), ::tolower);
        const auto *sts = (lk == "statefulset" || lk == "statefulsets" || lk == "sts")
                              ? inv.find(inv.statefulsets, ns, link->storage_name)
                              : nullptr;
        if (sts == nullptr) {
          c.errors.push_back(fmt::format("{} {}/{} names storage {}/{}, which does not exist (only StatefulSets can "
                                         "be storage in the generic layout)",
                                         kind, ns, meta_name(w), link->storage_kind, link->storage_name));
        } else {
          storage_common(c, inv, *sts, "StatefulSet");
          c.storage_service = str_at(*sts, {"spec", "serviceName"});
        }
        by_storage.emplace(key, out.size());
        out.push_back(std::move(c));
      }
      auto &c = out[by_storage[key]];
      if (c.storage == nullptr) continue;
      if (!link->service.empty()) c.storage_service = link->service;
      if (c.storage_service.empty()) c.storage_service = c.name;
      ConsumerSpec cons;
      cons.workload = &w;
      cons.kind = kind;
      cons.excluded = link->exclude;
      if (link->role == "vminsert")
        cons.role = model::Role::Insert;
      else if (link->role == "vmselect")
        cons.role = model::Role::Select;
      else {
        // Guess from the port the list already uses, then from the name.
        auto src = read_source(cons, inv);
        bool guessed = false;
        if (src.entries)
          for (const auto &e : *src.entries) {
            if (e.ends_with(":8401")) { cons.role = model::Role::Select; guessed = true; break; }
            if (e.ends_with(":8400")) { cons.role = model::Role::Insert; guessed = true; break; }
          }
        if (!guessed) {
          if (meta_name(w).find("select") != std::string::npos)
            cons.role = model::Role::Select;
          else if (meta_name(w).find("insert") != std::string::npos)
            cons.role = model::Role::Insert;
          else {
            c.errors.push_back(fmt::format("{} {}/{}: cannot tell whether it is vminsert or vmselect; set the "
                                           "annotation vmsync.io/role",
                                           kind, ns, meta_name(w)));
            continue;
          }
        }
      }
      cons.port = link->port.empty() ? default_port(cons.role) : link->port;
      if (!inv.offline) cons.pods = pods_of(inv, w, kind);
      // "<pod>.<svc>.<ns>" unless the list spells its right entries otherwise.
      finish_consumer(c, cons, inv, scope.cluster_domain, NodeForm::PodOfHeadless, model::Spelling::Namespace,
                      false);
    }
  }
}

} // namespace

std::vector<int> parse_ordinals_text(const std::string &text) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) {
      int v = 0;
      auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (ec != std::errc{} || p != item.data() + item.size() || v < 0)
        throw ParseError(fmt::format("ordinal list \"{}\": \"{}\" is not a non-negative integer", text, item));
      out.push_back(v);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// "consumer=deployment/vminsert,storage=statefulset/vmstorage,role=vminsert,port=8400,service=svc,exclude=1;3"
// (';' separates ordinals because ',' separates keys).
Relation parse_relation(const std::string &text) {
  Relation r;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? text.size() : comma + 1;
    auto eq = item.find('=');
    if (eq == std::string::npos)
      throw UsageError(fmt::format("--relation \"{}\": \"{}\" is not key=value", text, item));
    auto key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "consumer")
      r.consumer = value;
    else if (key == "storage")
      r.storage = value;
    else if (key == "role")
      r.role = value;
    else if (key == "port")
      r.port = value;
    else if (key == "service")
      r.service = value;
    else if (key == "exclude") {
      std::replace(value.begin(), value.end(), ';', ',');
      r.exclude = parse_ordinals_text(value);
    } else
      throw UsageError(
          fmt::format("--relation: unknown key \"{}\" (consumer, storage, role, port, service, exclude)", key));
  }
  if (r.consumer.empty() || r.storage.empty())
    throw UsageError(
        fmt::format("--relation \"{}\": needs consumer=<kind>/<name> and storage=<kind>/<name>", text));
  if (!r.role.empty() && r.role != "vminsert" && r.role != "vmselect")
    throw UsageError(fmt::format("--relation: role \"{}\" must be vminsert or vmselect", r.role));
  return r;
}

std::vector<std::string> spell_like(const std::vector<std::string> &existing,
                                    const std::vector<model::NodeName> &nodes, model::Spelling default_style,
                                    const model::NameContext &names) {
  auto style = default_style;
  for (const auto &e : existing) {
    auto a = model::parse_address(e, names);
    if (!a || !model::storage_pod_of(*a, names)) continue;
    style = model::spelling_of(*a, names);
    break;
  }
  std::vector<std::string> out;
  out.reserve(nodes.size());
  for (const auto &n : nodes) out.push_back(model::spell(n, style, names));
  return out;
}

bool may_be_consumer(const json &workload, const Scope &scope) {
  if (label(workload, "app.kubernetes.io/name") == "victoria-metrics-cluster") return true; // Helm
  const auto name = meta_name(workload);
  for (const char *comp : {"vminsert", "vmselect"}) // the operator: <comp>-<cluster>, or legacy <cluster>-<comp>
    if (name.starts_with(std::string{comp} + "-") || name.ends_with(std::string{"-"} + comp)) return true;
  if (!annotation(workload, "vmsync.io/storage-workload").empty()) return true;
  for (const auto &r : scope.relations) {
    auto slash = r.consumer.find('/');
    if ((slash == std::string::npos ? r.consumer : r.consumer.substr(slash + 1)) == name) return true;
  }
  return false;
}

std::vector<ClusterSpec> discover_clusters(const Inventory &inv, const Scope &scope, const std::string *ns) {
  std::vector<ClusterSpec> out;
  discover_kubeblocks(inv, scope, ns, out);
  discover_helm(inv, scope, ns, out);
  discover_operator(inv, scope, ns, out);
  discover_generic(inv, scope, ns, out);
  if (!scope.clusters.empty()) {
    std::erase_if(out, [&](const ClusterSpec &c) {
      return std::find(scope.clusters.begin(), scope.clusters.end(), c.name) == scope.clusters.end();
    });
  }
  return out;
}

} // namespace vmsync::check
