// The fix planner. Approach: run check's discovery and drift model on the inventory, then per consumer decide
//   1. the list its source must hold (repair_list: keep what is right as written, append what is missing),
//   2. the request that writes it (merge patch guarded by resourceVersion for a ConfigMap; a JSON patch whose
//      `test` operations are the precondition for a template), and whether that object may be edited at all
//      (controller-owned objects are reverted by their controller),
//   3. which pods run with another list and how they are replaced: a rolling workload through the template
//      annotation vmsync.io/storage-nodes-hash (so an equal hash means "already rolled": nothing to do again),
//      pods deleted one at a time where the controller never rolls (OnDelete, InstanceSet), or, when asked for,
//      KubeBlocks' own Restart OpsRequest,
// and lay the consumers out in the safe order (vmselect first when nodes were added, vminsert first when they
// were only removed), a canary first per role. Everything is computed from the state read, so running the plan
// again after a partial apply simply yields the steps that are left.
#include "vmsync/fix/plan.hpp"

#include "../check/discover.hpp"
#include "../check/observe.hpp"
#include "consumer_state.hpp"
#include "vmsync/fix/apply.hpp"
#include "vmsync/model/container_env.hpp"
#include "vmsync/model/storage_nodes.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <openssl/sha.h>
#include <set>

namespace vmsync::fix {

using check::at_path;
using check::int_at;
using check::label;
using check::meta_name;
using check::meta_namespace;
using check::str_at;
using nlohmann::json;

std::string_view to_string(Action a) noexcept {
  switch (a) {
  case Action::PatchConfigMap: return "patch-configmap";
  case Action::PatchTemplate: return "patch-template";
  case Action::RestartRollout: return "restart-rollout";
  case Action::DeletePod: return "delete-pod";
  case Action::CreateOpsRequest: return "create-opsrequest";
  case Action::Wait: break;
  }
  return "wait";
}

std::string_view to_string(WaitFor w) noexcept {
  switch (w) {
  case WaitFor::Canary: return "canary";
  case WaitFor::Rollout: return "rollout";
  case WaitFor::PodReplaced: return "pod-replaced";
  case WaitFor::OpsRequest: return "opsrequest";
  case WaitFor::None: break;
  }
  return "none";
}

std::size_t Plan::step_count() const {
  std::size_t n = 0;
  for (const auto &c : clusters) n += c.steps.size();
  return n;
}

std::string json_pointer(std::initializer_list<std::string_view> tokens) {
  std::string out;
  for (auto t : tokens) {
    out += '/';
    for (char ch : t) {
      if (ch == '~') out += "~0";
      else if (ch == '/') out += "~1";
      else out += ch;
    }
  }
  return out;
}

namespace {

std::string join(const std::vector<std::string> &v, std::string_view sep = ",") {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += sep;
    out += v[i];
  }
  return out;
}

std::string identity_of(const std::string &spelling, const model::NameContext &names) {
  auto a = model::parse_address(spelling, names);
  return a ? a->identity : spelling;
}

} // namespace

std::vector<std::string> repair_list(const std::vector<std::string> &current, const std::vector<std::string> &expected,
                                     const model::NameContext &names, bool sort_as_strings) {
  std::set<std::string> wanted;
  for (const auto &e : expected) wanted.insert(identity_of(e, names));
  std::vector<std::string> out;
  std::set<std::string> kept;
  for (const auto &e : current) {
    if (e.empty()) continue;
    auto id = identity_of(e, names);
    if (!wanted.contains(id) || !kept.insert(id).second) continue;
    out.push_back(e);
  }
  for (const auto &e : expected) {
    if (kept.insert(identity_of(e, names)).second) out.push_back(e);
  }
  if (sort_as_strings) std::sort(out.begin(), out.end());
  return out;
}

std::string list_hash(const std::vector<std::string> &entries) {
  const auto text = join(entries);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char *>(text.data()), text.size(), digest.data());
  std::string hex;
  for (std::size_t i = 0; i < 8; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::vector<std::string> rewrite_args(const std::vector<std::string> &argv, const std::vector<std::size_t> &arg_indexes,
                                      const std::vector<std::size_t> &value_indexes, bool comma_joined,
                                      const std::vector<std::string> &entries, bool one_per_node_default) {
  if (arg_indexes.empty()) return argv;
  const std::size_t first = arg_indexes.front();
  const std::string dash = argv[first].starts_with("--") ? "--" : "-";
  const bool separate = value_indexes.front() != first;
  const bool per_node = arg_indexes.size() > 1 || (!comma_joined && one_per_node_default);
  std::vector<std::string> flags;
  auto add = [&](const std::string &value) {
    if (separate) {
      flags.push_back(dash + "storageNode");
      flags.push_back(value);
    } else {
      flags.push_back(dash + "storageNode=" + value);
    }
  };
  if (per_node)
    for (const auto &e : entries) add(e);
  else
    add(join(entries));
  std::set<std::size_t> skip(arg_indexes.begin(), arg_indexes.end());
  skip.insert(value_indexes.begin(), value_indexes.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i == first) out.insert(out.end(), flags.begin(), flags.end());
    if (!skip.contains(i)) out.push_back(argv[i]);
  }
  return out;
}

std::optional<std::string> controller_of(const json &obj) {
  const auto &refs = at_path(obj, {"metadata", "ownerReferences"});
  if (refs.is_array())
    for (const auto &r : refs)
      if (r.value("controller", false) || str_at(r, {"kind"}) == "VMCluster")
        return fmt::format("{} {}", str_at(r, {"kind"}), str_at(r, {"name"}));
  if (label(obj, "app.kubernetes.io/managed-by") == "kubeblocks") return std::string{"KubeBlocks"};
  return std::nullopt;
}

namespace {

// ---- reading the objects ----------------------------------------------------------------------------------------

enum class Strategy { Rolling, OnDelete, InstanceSet };

Strategy strategy_of(const std::string &kind, const json &w) {
  if (kind == "InstanceSet") return Strategy::InstanceSet;
  if (kind == "StatefulSet" && str_at(w, {"spec", "updateStrategy", "type"}) == "OnDelete") return Strategy::OnDelete;
  return Strategy::Rolling;
}

std::string api_version_of(const std::string &kind, check::KubeBlocksVersion kb) {
  if (kind == "Deployment" || kind == "StatefulSet") return "apps/v1";
  if (kind == "InstanceSet")
    return kb == check::KubeBlocksVersion::V09 ? "workloads.kubeblocks.io/v1alpha1" : "workloads.kubeblocks.io/v1";
  return "v1";
}

// What to change instead of an owned object, per layout.
std::string instead(model::Layout layout, const std::string &cluster) {
  switch (layout) {
  case model::Layout::Operator:
    return fmt::format("the VictoriaMetrics operator rewrites it from VMCluster {}: change the VMCluster "
                       "(spec.vmstorage.replicaCount) and let the operator roll it",
                       cluster);
  case model::Layout::KubeBlocks:
    return fmt::format("KubeBlocks writes it from Cluster {}: change the Cluster (spec.componentSpecs) and let "
                       "KubeBlocks re-resolve VMSTORAGE_ADDR",
                       cluster);
  default: break;
  }
  return "change its owner instead";
}

bool is_helm(const json &obj) { return label(obj, "app.kubernetes.io/managed-by") == "Helm"; }

// Why a consumer is mid-rollout, or nullopt.
std::optional<std::string> rollout_in_progress(const json &w, const std::string &kind, Strategy s) {
  const int gen = int_at(w, {"metadata", "generation"}, 0);
  const int observed = int_at(w, {"status", "observedGeneration"}, gen);
  if (observed < gen)
    return fmt::format("its controller has not yet acted on generation {} (observed {})", gen, observed);
  const int replicas = int_at(w, {"spec", "replicas"}, 1);
  if (kind == "Deployment") {
    const int updated = int_at(w, {"status", "updatedReplicas"}, replicas);
    const int current = int_at(w, {"status", "replicas"}, replicas);
    if (updated != replicas || current > replicas)
      return fmt::format("a rollout is in progress ({} of {} pods updated, {} exist)", updated, replicas, current);
    return std::nullopt;
  }
  const auto cur = str_at(w, {"status", "currentRevision"});
  const auto upd = str_at(w, {"status", "updateRevision"});
  if (s == Strategy::Rolling) {
    const int updated = int_at(w, {"status", "updatedReplicas"}, replicas);
    if (updated != replicas || (!cur.empty() && !upd.empty() && cur != upd))
      return fmt::format("a rollout is in progress ({} of {} pods updated)", updated, replicas);
  } else if (s == Strategy::InstanceSet) {
    if (!cur.empty() && !upd.empty() && cur != upd)
      return fmt::format("a rollout is in progress (revision {} -> {})", cur, upd);
  }
  return std::nullopt;
}

std::string template_hash(const json &w) {
  return str_at(w, {"spec", "template", "metadata", "annotations", kHashAnnotation});
}

// ---- where a template keeps its list ------------------------------------------------------------------------

struct TemplateList {
  std::size_t container = 0;
  std::string container_name;
  std::vector<std::string> command, args;
  model::StorageNodeList list;
  model::ResolvedEnv env;
};

std::vector<std::string> strings_of(const json &arr) {
  std::vector<std::string> out;
  if (arr.is_array())
    for (const auto &v : arr) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// The first container with a -storageNode list, as check reads it (observe.cpp).
std::optional<TemplateList> locate(const json &pod_spec, const check::Inventory &inv, const std::string &ns) {
  const auto &containers = at_path(pod_spec, {"containers"});
  if (!containers.is_array()) return std::nullopt;
  model::ConfigMapLookup lookup = [&inv, ns](const std::string &name) -> std::optional<model::ConfigMapData> {
    const auto *cm = inv.configmap(ns, name);
    if (cm == nullptr) return std::nullopt;
    model::ConfigMapData d;
    const auto &data = at_path(*cm, {"data"});
    if (data.is_object())
      for (const auto &[k, v] : data.items())
        if (v.is_string()) d.data.emplace(k, v.get<std::string>());
    return d;
  };
  for (std::size_t i = 0; i < containers.size(); ++i) {
    TemplateList tl;
    tl.container = i;
    tl.container_name = str_at(containers[i], {"name"});
    tl.command = strings_of(at_path(containers[i], {"command"}));
    tl.args = strings_of(at_path(containers[i], {"args"}));
    tl.env = model::resolve_container_env(containers[i], lookup);
    std::vector<std::string> argv;
    for (const auto *part : {&tl.command, &tl.args})
      for (const auto &a : *part) argv.push_back(model::expand_kubelet(a, tl.env.vars));
    auto list = model::find_storage_nodes(argv, tl.env.vars);
    if (!list) continue;
    tl.list = std::move(*list);
    return tl;
  }
  return std::nullopt;
}

// The JSON patch operation that sets the template's hash annotation, whatever of metadata/annotations exists.
json hash_annotation_op(const json &workload, const std::string &hash) {
  const auto &meta = at_path(workload, {"spec", "template", "metadata"});
  if (meta.is_object() && at_path(meta, {"annotations"}).is_object())
    return {{"op", "add"},
            {"path", json_pointer({"spec", "template", "metadata", "annotations", kHashAnnotation})},
            {"value", hash}};
  if (meta.is_object())
    return {{"op", "add"},
            {"path", json_pointer({"spec", "template", "metadata", "annotations"})},
            {"value", {{kHashAnnotation, hash}}}};
  return {{"op", "add"},
          {"path", json_pointer({"spec", "template", "metadata"})},
          {"value", {{"annotations", {{kHashAnnotation, hash}}}}}};
}

// The newest managedFields time of an object (RFC 3339, second resolution), "" when none.
std::string newest_change(const json &obj) {
  std::string best;
  const auto &mf = at_path(obj, {"metadata", "managedFields"});
  if (mf.is_array())
    for (const auto &m : mf) {
      auto t = str_at(m, {"time"});
      if (t > best) best = t; // RFC 3339 in UTC ("Z") sorts as text
    }
  return best;
}

// ---- one consumer -------------------------------------------------------------------------------------------

struct Work {
  const check::ConsumerSpec *spec = nullptr;
  model::ConsumerDrift drift;
  model::ListSource source;
  std::vector<std::string> new_list;
  bool repair = false;
  std::string hash;
  std::vector<const check::Pod *> restart; // pods running with another list
  std::vector<std::string> added, removed;
  Target workload;
  Strategy strategy = Strategy::Rolling;
  bool unknown_order = false; // a pod's list is unknown, so whether nodes were added cannot be told from it
  // For such pods, what the ages say: a vmstorage pod created after the consumer pod and no more than 10 s before
  // its ConfigMap last changed means nodes were added since it started; none means (most likely) removed.
  bool inferred_added = false, inferred_removed = false;
  bool unreadable = false;    // pods drift but the source's list cannot be read
  std::string not_before;     // restarts wait until a second after this (the ConfigMap's last change)
  [[nodiscard]] bool needs_action() const { return repair || unreadable || !restart.empty(); }
};

struct Context {
  const check::Inventory &inv;
  const FixOptions &opt;
  const check::ClusterSpec &cluster;
  const std::vector<json> &opsrequests;
  ClusterPlan &plan;
  std::set<std::pair<std::string, std::string>> patched_configmaps; // (configmap, key) already in the plan
  bool helm_warned = false;
};

Work analyse(const check::ConsumerSpec &cons, const check::ClusterSpec &c, const check::Inventory &inv) {
  Work w;
  w.spec = &cons;
  w.strategy = strategy_of(cons.kind, *cons.workload);
  w.workload = {api_version_of(cons.kind, inv.kubeblocks), cons.kind, c.namespace_, meta_name(*cons.workload)};
  model::ConsumerInput in;
  in.role = cons.role;
  in.workload = {cons.kind, meta_name(*cons.workload), c.namespace_};
  in.names = cons.names;
  in.expected = cons.expected;
  in.source = check::read_source(cons, inv);
  check::PodObserver observer(inv); // its pods share a few specs
  for (const auto *pod : cons.pods) {
    auto obs = observer.observe(*pod);
    if (cons.discovery_mode) obs.discovery = true;
    // fix --probe: what the pod's own pages say wins over its spec here too, so a pod already running the right
    // list is not restarted.
    if (const auto probe = inv.probes.find(pod->namespace_ + "/" + pod->name); probe != inv.probes.end())
      check::apply_probe(obs, probe->second);
    in.pods.push_back(std::move(obs));
  }
  w.source = in.source;
  w.drift = model::compute_consumer(in);
  // A discovery source (srv+, file:) is never replaced by a fixed list: its nodes come from DNS or a file.
  if (cons.discovery_mode || w.source.discovery) return w;
  if (!w.source.entries) {
    w.unreadable = std::any_of(w.drift.pods.begin(), w.drift.pods.end(), [](const model::PodDrift &p) {
      return p.status == model::PodStatus::Stale || p.status == model::PodStatus::Unknown;
    });
    return w;
  }
  if (w.source.kind == model::ListSource::Kind::ConfigMap)
    if (const auto *cm = inv.configmap(c.namespace_, w.source.object.name)) w.not_before = newest_change(*cm);

  const auto current = w.source.entries.value_or(std::vector<std::string>{});
  const bool sorted = c.layout == model::Layout::KubeBlocks;
  w.repair = w.drift.source_drift;
  w.new_list = w.repair ? repair_list(current, cons.expected, cons.names, sorted) : current;
  if (w.repair) {
    std::set<std::string> kept(w.new_list.begin(), w.new_list.end());
    std::set<std::string> before(current.begin(), current.end());
    for (const auto &e : w.new_list)
      if (!before.contains(e)) w.added.push_back(e);
    for (const auto &e : current)
      if (!kept.contains(e)) w.removed.push_back(e.empty() ? std::string{"(empty entry)"} : e);
  }
  w.hash = list_hash(w.new_list);

  const std::set<std::string> want(w.new_list.begin(), w.new_list.end());
  for (std::size_t i = 0; i < w.drift.pods.size() && i < cons.pods.size(); ++i) {
    const auto &pd = w.drift.pods[i];
    if (pd.status == model::PodStatus::Discovery) continue;
    bool restart = pd.status == model::PodStatus::Stale || pd.status == model::PodStatus::Unknown;
    if (pd.running) {
      std::set<std::string> has(pd.running->begin(), pd.running->end());
      // Exact strings: VictoriaMetrics routes by the spelling, so a differently spelled list is restarted too.
      if (has != want || pd.running->size() != w.new_list.size()) restart = true;
    } else if (restart) {
      w.unknown_order = true;
      // Nodes added since the pod started mean a vmstorage pod created after it, around when the ConfigMap
      // changed (pods created long before that change, e.g. all of them at a fresh deploy, are no evidence).
      const auto created = parse_time(cons.pods[i]->creation_timestamp);
      const auto changed = parse_time(w.not_before);
      if (created && changed) {
        bool newer = false;
        for (const auto *sp : c.storage_pods) {
          const auto sc = parse_time(sp->creation_timestamp);
          if (sc && *sc > *created && *sc + std::chrono::seconds(10) >= *changed) newer = true;
        }
        if (newer) w.inferred_added = true;
        else w.inferred_removed = true;
      }
    }
    if (restart) w.restart.push_back(cons.pods[i]);
  }
  // Replace the highest ordinal first, as the StatefulSet controller does.
  std::sort(w.restart.begin(), w.restart.end(),
            [](const check::Pod *a, const check::Pod *b) { return model::natural_less(b->name, a->name); });
  return w;
}

bool adds_nodes(const Work &w) {
  if (!w.drift.source_missing.empty()) return true;
  return std::any_of(w.drift.pods.begin(), w.drift.pods.end(), [](const model::PodDrift &p) { return !p.missing.empty(); });
}

bool removes_nodes(const Work &w) {
  if (!w.drift.source_unexpected.empty()) return true;
  return std::any_of(w.drift.pods.begin(), w.drift.pods.end(),
                     [](const model::PodDrift &p) { return !p.unexpected.empty(); });
}

std::string workload_text(const Target &t) { return fmt::format("{} {}/{}", t.kind, t.namespace_, t.name); }

Step make_wait(const Work &w, WaitFor what, std::string until) {
  Step s;
  s.action = Action::Wait;
  s.target = w.workload;
  s.workload = w.workload;
  s.role = w.spec->role;
  s.hash = w.hash;
  s.wait = what;
  s.until = std::move(until);
  s.reason = s.until;
  return s;
}

void add_pod_deletions(Context &ctx, const Work &w, const std::vector<const check::Pod *> &pods,
                       bool first_is_canary, const std::string &why) {
  std::vector<std::string> uids;
  for (const auto *p : w.spec->pods)
    uids.push_back(p->uid);
  bool canary = first_is_canary;
  for (const auto *p : pods) {
    Step del;
    del.action = Action::DeletePod;
    del.target = {"v1", "Pod", w.workload.namespace_, p->name};
    del.workload = w.workload;
    del.role = w.spec->role;
    del.canary = canary;
    del.hash = w.hash;
    del.uid_precondition = p->uid;
    del.not_before = w.not_before;
    del.reason = fmt::format("{}{} runs with a stale vmstorage list; {}", canary ? "canary: " : "", p->name, why);
    ctx.plan.steps.push_back(del);
    auto wait = make_wait(w, WaitFor::PodReplaced,
                          canary ? fmt::format("{} replaced by a Ready pod that runs the repaired list", p->name)
                                 : fmt::format("{} replaced by a Ready pod", p->name));
    wait.canary = canary;
    wait.pod = p->name;
    wait.uid_precondition = del.uid_precondition;
    wait.prior_pod_uids = uids;
    ctx.plan.steps.push_back(std::move(wait));
    canary = false;
  }
}

const json *running_opsrequest(const Context &ctx, const Work &w) {
  const auto comp = label(*w.spec->workload, "apps.kubeblocks.io/component-name");
  for (const auto &o : ctx.opsrequests) {
    if (meta_namespace(o) != ctx.cluster.namespace_ || str_at(o, {"spec", "clusterName"}) != ctx.cluster.name)
      continue;
    const auto &restart = at_path(o, {"spec", "restart"});
    if (!restart.is_array() || restart.empty() || str_at(restart[0], {"componentName"}) != comp) continue;
    const auto phase = str_at(o, {"status", "phase"});
    if (phase == "Succeed" || phase == "Failed" || phase == "Cancelled" || phase == "Aborted") continue;
    return &o;
  }
  return nullptr;
}

json opsrequest_body(const Context &ctx, const Work &w) {
  const auto comp = label(*w.spec->workload, "apps.kubeblocks.io/component-name");
  const bool v09 = ctx.inv.kubeblocks == check::KubeBlocksVersion::V09;
  // Both CRDs take spec.clusterName (0.9 still accepts the deprecated clusterRef; clusterName replaced it).
  return {{"apiVersion", v09 ? "apps.kubeblocks.io/v1alpha1" : "operations.kubeblocks.io/v1alpha1"},
          {"kind", "OpsRequest"},
          {"metadata",
           {{"generateName", fmt::format("{}-vmsync-restart-{}-", ctx.cluster.name, comp)},
            {"namespace", ctx.cluster.namespace_},
            {"labels",
             {{"app.kubernetes.io/instance", ctx.cluster.name},
              {"app.kubernetes.io/managed-by", "vmsync"},
              {"apps.kubeblocks.io/component-name", comp}}},
            {"annotations", {{kHashAnnotation, w.hash}}}}},
          {"spec",
           {{"clusterName", ctx.cluster.name},
            {"type", "Restart"},
            {"restart", {{{"componentName", comp}}}},
            {"ttlSecondsAfterSucceed", 86400}}}};
}

// Source repair of one consumer. Returns a refusal, or nullopt with the step appended (or nothing to repair).
std::optional<std::string> plan_source(Context &ctx, const Work &w, bool &template_patched) {
  template_patched = false;
  const auto &wl = *w.spec->workload;
  const auto what = workload_text(w.workload);
  if (w.unreadable) return fmt::format("{}: its pods drift, but the list's source cannot be read: {}", what,
                                       w.source.description);
  if (!w.repair) return std::nullopt;
  if (!w.source.entries || w.source.kind == model::ListSource::Kind::Unknown)
    return fmt::format("{}: cannot repair the list: {}", what, w.source.description);
  if (w.new_list.empty())
    return fmt::format("{}: the repaired list would be empty (every vmstorage ordinal is excluded)", what);
  const auto summary = fmt::format("{} node(s) added{}{}, {} removed{}{}", w.added.size(), w.added.empty() ? "" : ": ",
                                   join(w.added, ", "), w.removed.size(), w.removed.empty() ? "" : ": ",
                                   join(w.removed, ", "));

  if (w.source.kind == model::ListSource::Kind::ConfigMap) {
    const auto &cm_name = w.source.object.name;
    const auto *cm = ctx.inv.configmap(ctx.cluster.namespace_, cm_name);
    const auto cm_text = fmt::format("ConfigMap {}/{}", ctx.cluster.namespace_, cm_name);
    if (cm == nullptr) return fmt::format("{}: {} does not exist", what, cm_text);
    if (auto owner = controller_of(*cm); owner && !ctx.opt.force_owned)
      return fmt::format("{} (the vmstorage list of {}) is owned by {}: {}; --force-owned edits it anyway", cm_text,
                         what, *owner, instead(ctx.cluster.layout, ctx.cluster.name));
    const auto &value = at_path(*cm, {"data", w.source.key.c_str()});
    if (!value.is_string() || model::split_list(value.get<std::string>()) != *w.source.entries)
      return fmt::format("{}: key {} of {} is only part of the list (the flag adds other text around it); repair "
                         "it by hand",
                         what, w.source.key, cm_text);
    if (is_helm(*cm) && !ctx.helm_warned) {
      ctx.plan.warnings.push_back(fmt::format("{} is managed by Helm: the next `helm upgrade` must carry the new "
                                              "vmstorage replicaCount ({}), or it undoes this repair",
                                              cm_text, ctx.cluster.declared_replicas));
      ctx.helm_warned = true;
    }
    if (!ctx.patched_configmaps.insert({cm_name, w.source.key}).second) return std::nullopt;
    Step s;
    s.action = Action::PatchConfigMap;
    s.target = {"v1", "ConfigMap", ctx.cluster.namespace_, cm_name};
    s.patch_type = kube::PatchType::Merge;
    s.body = {{"metadata", {{"resourceVersion", str_at(*cm, {"metadata", "resourceVersion"})}}},
              {"data", {{w.source.key, join(w.new_list)}}}};
    s.reason = fmt::format("key {} feeds {}: {}", w.source.key, what, summary);
    s.role = w.spec->role;
    s.workload = w.workload;
    s.hash = w.hash;
    s.added = w.added;
    s.removed = w.removed;
    ctx.plan.steps.push_back(std::move(s));
    return std::nullopt;
  }

  // Template args or env: a JSON patch on the workload, which also starts its rollout.
  if (auto owner = controller_of(wl); owner && !ctx.opt.force_owned)
    return fmt::format("{} is owned by {}: {}; --force-owned edits it anyway", what, *owner,
                       instead(ctx.cluster.layout, ctx.cluster.name));
  auto tl = locate(at_path(wl, {"spec", "template", "spec"}), ctx.inv, ctx.cluster.namespace_);
  if (!tl) return fmt::format("{}: no -storageNode in its pod template", what);
  const auto container_path = [&](std::string_view field) {
    return json_pointer({"spec", "template", "spec", "containers", std::to_string(tl->container), field});
  };
  json ops = json::array();
  ops.push_back({{"op", "test"}, {"path", container_path("name")}, {"value", tl->container_name}});
  if (w.source.kind == model::ListSource::Kind::TemplateArgs) {
    const auto &idx = tl->list.source.arg_indexes;
    const auto &vidx = tl->list.source.value_indexes;
    const std::size_t ncmd = tl->command.size();
    const bool in_command = std::all_of(idx.begin(), idx.end(), [&](std::size_t i) { return i < ncmd; }) &&
                            std::all_of(vidx.begin(), vidx.end(), [&](std::size_t i) { return i < ncmd; });
    const bool in_args = std::all_of(idx.begin(), idx.end(), [&](std::size_t i) { return i >= ncmd; });
    if (idx.empty() || (!in_command && !in_args))
      return fmt::format("{}: -storageNode is split between command and args; repair it by hand", what);
    const auto &field = in_command ? tl->command : tl->args;
    const std::size_t offset = in_command ? 0 : ncmd;
    std::vector<std::size_t> a, v;
    for (auto i : idx) a.push_back(i - offset);
    for (auto i : vidx) v.push_back(i - offset);
    for (auto i : v)
      if (i < field.size() && field[i].find("%{") != std::string::npos)
        return fmt::format("{}: the list is built with %{{ENV}} templates; repair it by hand", what);
    auto rewritten = rewrite_args(field, a, v, tl->list.source.comma_joined, w.new_list,
                                  ctx.cluster.layout == model::Layout::Helm);
    const char *name = in_command ? "command" : "args";
    ops.push_back({{"op", "test"}, {"path", container_path(name)}, {"value", field}});
    ops.push_back({{"op", "replace"}, {"path", container_path(name)}, {"value", rewritten}});
  } else {
    const auto &env = at_path(at_path(wl, {"spec", "template", "spec", "containers"})[tl->container], {"env"});
    std::optional<std::size_t> at;
    if (env.is_array())
      for (std::size_t i = 0; i < env.size(); ++i)
        if (str_at(env[i], {"name"}) == w.source.key) at = i; // the last definition wins, as in the kubelet
    if (!at || !env[*at].contains("value") || !env[*at]["value"].is_string())
      return fmt::format("{}: env {} has no literal value to repair", what, w.source.key);
    const auto old = env[*at]["value"].get<std::string>();
    if (!model::kubelet_references(old).empty() || model::split_list(old) != *w.source.entries)
      return fmt::format("{}: env {} is only part of the list; repair it by hand", what, w.source.key);
    const auto base = json_pointer({"spec", "template", "spec", "containers", std::to_string(tl->container), "env",
                                    std::to_string(*at)});
    ops.push_back({{"op", "test"}, {"path", base + "/name"}, {"value", w.source.key}});
    ops.push_back({{"op", "test"}, {"path", base + "/value"}, {"value", old}});
    ops.push_back({{"op", "replace"}, {"path", base + "/value"}, {"value", join(w.new_list)}});
  }
  ops.push_back(hash_annotation_op(wl, w.hash));
  if (is_helm(wl) && !ctx.helm_warned) {
    ctx.plan.warnings.push_back(fmt::format("{} is managed by Helm: the next `helm upgrade` must carry the new "
                                            "vmstorage replicaCount ({}), or it undoes this repair",
                                            what, ctx.cluster.declared_replicas));
    ctx.helm_warned = true;
  }
  Step s;
  s.action = Action::PatchTemplate;
  s.target = w.workload;
  s.patch_type = kube::PatchType::Json;
  s.body = std::move(ops);
  s.reason = fmt::format("{} of {}: {}; the template change rolls its pods", w.source.description, what, summary);
  s.role = w.spec->role;
  s.workload = w.workload;
  s.hash = w.hash;
  s.added = w.added;
  s.removed = w.removed;
  ctx.plan.steps.push_back(std::move(s));
  template_patched = true;
  return std::nullopt;
}

// Restart of one consumer's stale pods. Returns a refusal or nullopt.
std::optional<std::string> plan_restart(Context &ctx, const Work &w, bool template_patched) {
  const auto &wl = *w.spec->workload;
  const auto what = workload_text(w.workload);
  const auto role = w.spec->role;
  if (w.restart.empty() && !template_patched) return std::nullopt;

  switch (w.strategy) {
  case Strategy::Rolling: {
    if (template_patched) {
      // The template patch carries the hash annotation, so the controller is already rolling.
    } else if (template_hash(wl) != w.hash) {
      if (auto owner = controller_of(wl); owner && !ctx.opt.force_owned)
        return fmt::format("{} is owned by {}, which would revert the restart annotation: {}; --force-owned "
                           "restarts it anyway",
                           what, *owner, instead(ctx.cluster.layout, ctx.cluster.name));
      Step s;
      s.action = Action::RestartRollout;
      s.target = w.workload;
      s.patch_type = kube::PatchType::Strategic;
      s.body = {{"spec", {{"template", {{"metadata", {{"annotations", {{kHashAnnotation, w.hash}}}}}}}}}};
      s.not_before = w.not_before;
      s.reason = fmt::format("{} of {} pods of {} run with a stale vmstorage list; the template annotation {}={} "
                             "rolls them within the workload's own maxUnavailable",
                             w.restart.size(), w.spec->pods.size(), what, kHashAnnotation, w.hash);
      s.role = role;
      s.workload = w.workload;
      s.hash = w.hash;
      ctx.plan.steps.push_back(std::move(s));
    } else if (!rollout_in_progress(wl, w.spec->kind, w.strategy)) {
      // The template already asks for this list and the controller is done, yet some pods run another one
      // (their ConfigMap changed after they started): replace just those.
      add_pod_deletions(ctx, w, w.restart, true,
                        fmt::format("the template already carries {}={}, so only a new pod picks up the list",
                                    kHashAnnotation, w.hash));
      return std::nullopt;
    }
    auto canary = make_wait(w, WaitFor::Canary,
                            fmt::format("the first pod of {} on the new template Ready and running the repaired list",
                                        what));
    canary.canary = true;
    ctx.plan.steps.push_back(std::move(canary));
    ctx.plan.steps.push_back(
        make_wait(w, WaitFor::Rollout, fmt::format("every pod of {} Ready and running the repaired list", what)));
    return std::nullopt;
  }
  case Strategy::OnDelete: {
    // Deleting pods is how an OnDelete StatefulSet is rolled (the operator does the same), so no ownership check.
    auto pods = w.restart;
    if (template_patched) {
      pods.clear();
      for (const auto *p : w.spec->pods) pods.push_back(p);
      std::sort(pods.begin(), pods.end(),
                [](const check::Pod *a, const check::Pod *b) { return model::natural_less(b->name, a->name); });
    }
    add_pod_deletions(ctx, w, pods, true, "an OnDelete StatefulSet only replaces deleted pods");
    return std::nullopt;
  }
  case Strategy::InstanceSet: {
    if (const auto *ops = running_opsrequest(ctx, w)) {
      auto wait = make_wait(w, WaitFor::OpsRequest,
                            fmt::format("OpsRequest {} (already running) Succeed and every pod of {} running the "
                                        "repaired list",
                                        meta_name(*ops), what));
      wait.target = {str_at(*ops, {"apiVersion"}), "OpsRequest", ctx.cluster.namespace_, meta_name(*ops)};
      if (wait.target.api_version.empty())
        wait.target.api_version = ctx.inv.kubeblocks == check::KubeBlocksVersion::V09
                                      ? "apps.kubeblocks.io/v1alpha1"
                                      : "operations.kubeblocks.io/v1alpha1";
      ctx.plan.steps.push_back(std::move(wait));
      return std::nullopt;
    }
    // A Restart OpsRequest stamps the component's pod template, so the InstanceSet replaces every pod, the
    // canary included: after a canary deletion it would restart that pod a second time. So the canary and then
    // each other stale pod are deleted one at a time, each waited Ready (as slow as KubeBlocks' own rolling, and
    // pods already in sync are left alone); the OpsRequest only when asked for (--restart=opsrequest), without
    // a separate canary, so that it too restarts each pod once.
    if (ctx.opt.restart != RestartMode::OpsRequest) {
      add_pod_deletions(ctx, w, w.restart, true, "the InstanceSet recreates it with the current list");
      return std::nullopt;
    }
    Step s;
    s.action = Action::CreateOpsRequest;
    s.body = opsrequest_body(ctx, w);
    s.not_before = w.not_before;
    s.target = {s.body["apiVersion"].get<std::string>(), "OpsRequest", ctx.cluster.namespace_,
                s.body["metadata"]["generateName"].get<std::string>()};
    s.reason = fmt::format("{} of {} pods of {} run with a stale vmstorage list; a KubeBlocks Restart OpsRequest "
                           "(--restart=opsrequest) replaces every pod of the component once, in KubeBlocks' order",
                           w.restart.size(), w.spec->pods.size(), what);
    s.role = role;
    s.workload = w.workload;
    s.hash = w.hash;
    ctx.plan.steps.push_back(std::move(s));
    auto wait = make_wait(w, WaitFor::OpsRequest,
                          fmt::format("the OpsRequest Succeed and every pod of {} running the repaired list", what));
    wait.target = ctx.plan.steps.back().target;
    ctx.plan.steps.push_back(std::move(wait));
    return std::nullopt;
  }
  }
  return std::nullopt;
}

// vminsert workloads that spell a node differently are drift (check), but not one fix repairs on its own: each
// workload routes by its own strings, so whichever spelling wins, the series of the workloads that change move to
// other nodes once. The plan says so and leaves the spellings alone.
void spelling_split_refusals(const std::vector<Work> &works, ClusterPlan &plan) {
  std::vector<model::ConsumerDrift> spellings(works.size());
  for (std::size_t i = 0; i < works.size(); ++i) {
    spellings[i].role = works[i].drift.role;
    spellings[i].workload = works[i].drift.workload;
    spellings[i].node_spellings = works[i].drift.node_spellings;
  }
  std::vector<model::SpellingSplit> splits;
  for (auto &split : model::spelling_splits(spellings))
    if (split.role == model::Role::Insert) splits.push_back(std::move(split));
  if (splits.empty()) return;
  std::vector<std::string> each;
  for (const auto &w : splits.front().workloads)
    each.push_back(fmt::format("{} {} as {}", w.workload.kind, w.workload.name, join(w.spellings, ", ")));
  plan.refusals.push_back(fmt::format(
      "vminsert workloads spell {} differently ({}{}): fix does not rewrite spellings, because a change of "
      "spelling moves series between vmstorage nodes once; write one spelling in every vminsert workload when that "
      "move is acceptable",
      splits.size() == 1 ? splits.front().identity : fmt::format("{} nodes", splits.size()),
      splits.size() == 1 ? "" : splits.front().identity + ": ", join(each, "; ")));
}

ClusterPlan plan_cluster(const check::ClusterSpec &c, const check::Inventory &inv, const FixOptions &opt,
                         const std::vector<json> &opsrequests) {
  ClusterPlan plan;
  plan.namespace_ = c.namespace_;
  plan.name = c.name;
  plan.layout = c.layout;
  plan.errors = c.errors;
  if (auto it = inv.namespace_errors.find(c.namespace_); it != inv.namespace_errors.end())
    plan.errors.push_back(it->second);
  if (!plan.errors.empty() || c.storage == nullptr) return plan;

  std::vector<Work> works;
  for (const auto &cons : c.consumers) works.push_back(analyse(cons, c, inv));
  spelling_split_refusals(works, plan);
  if (std::none_of(works.begin(), works.end(), [](const Work &w) { return w.needs_action(); })) return plan;
  plan.warnings = c.warnings;

  // Health: act only on a healthy vmstorage and on consumers no one else is rolling right now.
  const auto ready =
      std::count_if(c.storage_pods.begin(), c.storage_pods.end(), [](const check::Pod *p) { return p->ready; });
  std::vector<std::string> health;
  if (ready < c.declared_replicas)
    health.push_back(fmt::format("vmstorage {} {}/{} has {} of {} declared pods Ready", c.storage_kind, c.namespace_,
                                 meta_name(*c.storage), ready, c.declared_replicas));
  for (const auto &w : works) {
    if (!w.needs_action()) continue;
    const auto &wl = *w.spec->workload;
    if (at_path(wl, {"spec", "paused"}) == true)
      health.push_back(fmt::format("{} is paused", workload_text(w.workload)));
    // A rollout vmsync started itself (the template already carries this list's hash) is resumed, not refused.
    if (template_hash(wl) == w.hash) continue;
    if (auto why = rollout_in_progress(wl, w.spec->kind, w.strategy))
      health.push_back(fmt::format("{}: {}", workload_text(w.workload), *why));
  }
  if (!health.empty()) {
    if (!opt.force) {
      for (auto &h : health) plan.refusals.push_back(h + " (--force acts anyway)");
      return plan;
    }
    for (auto &h : health) plan.warnings.push_back(h + " (acting anyway: --force)");
  }

  // Order: nodes added -> vmselect reads them before vminsert writes to them; only removed -> the reverse.
  const bool added = std::any_of(works.begin(), works.end(), adds_nodes);
  const bool removed = std::any_of(works.begin(), works.end(), removes_nodes);
  const bool unknown = std::any_of(works.begin(), works.end(), [](const Work &w) { return w.unknown_order; });
  const bool inferred_added = std::any_of(works.begin(), works.end(), [](const Work &w) { return w.inferred_added; });
  const bool inferred_removed =
      std::any_of(works.begin(), works.end(), [](const Work &w) { return w.inferred_removed; });
  std::array<model::Role, 2> order{model::Role::Select, model::Role::Insert};
  if (removed && !added) {
    order = {model::Role::Insert, model::Role::Select};
  } else if (!added && !removed && unknown) {
    if (inferred_removed && !inferred_added) {
      order = {model::Role::Insert, model::Role::Select};
      plan.warnings.push_back("the running pods' lists cannot be read (they came from a ConfigMap that changed since "
                              "they started) and no vmstorage pod was created after them around that change, so "
                              "nodes were most likely removed: restarting vminsert before vmselect");
    } else if (!inferred_added) {
      plan.warnings.push_back("the running pods' lists cannot be read (they came from a ConfigMap that changed since "
                              "they started): restarting vmselect before vminsert, the order for added nodes");
    }
  }
  const bool added_order = order[0] == model::Role::Select;

  Context ctx{inv, opt, c, opsrequests, plan, {}, false};
  std::optional<std::string> held_by;
  for (auto role : order) {
    std::optional<std::string> refused_in_role;
    for (const auto &w : works) {
      if (w.spec->role != role || !w.needs_action()) continue;
      if (held_by) {
        plan.refusals.push_back(fmt::format("{}: held back, because {} must be repaired first ({})",
                                            workload_text(w.workload), *held_by,
                                            added_order ? "nodes were added" : "nodes were removed"));
        continue;
      }
      const auto mark = plan.steps.size();
      bool template_patched = false;
      auto refusal = plan_source(ctx, w, template_patched);
      if (!refusal) refusal = plan_restart(ctx, w, template_patched);
      if (refusal) {
        plan.steps.resize(mark);
        plan.refusals.push_back(*refusal);
        refused_in_role = std::string(model::to_string(role));
      }
    }
    if (refused_in_role) held_by = refused_in_role;
  }
  return plan;
}

} // namespace

ConsumerState observe_consumer(const check::Inventory &inv, const check::Scope &scope, const Target &workload) {
  ConsumerState st;
  for (const auto &c : check::discover_clusters(inv, scope)) {
    if (c.namespace_ != workload.namespace_) continue;
    for (const auto &cons : c.consumers) {
      if (cons.kind != workload.kind || meta_name(*cons.workload) != workload.name) continue;
      auto w = analyse(cons, c, inv);
      st.found = true;
      st.workload = *cons.workload;
      st.replicas = int_at(*cons.workload, {"spec", "replicas"}, 1);
      st.want = w.new_list;
      st.rollout = rollout_in_progress(*cons.workload, cons.kind, w.strategy);
      for (const auto *p : cons.pods) {
        PodState ps;
        ps.name = p->name;
        ps.uid = p->uid;
        ps.hash = p->annotation(kHashAnnotation);
        ps.ready = p->ready;
        ps.in_sync = std::find(w.restart.begin(), w.restart.end(), p) == w.restart.end() && !w.repair && !w.unreadable;
        st.pods.push_back(std::move(ps));
      }
      return st;
    }
  }
  return st;
}

Plan make_plan(const check::Inventory &inv, const check::Scope &scope, const FixOptions &options,
               const std::vector<json> &opsrequests) {
  Plan plan;
  for (const auto &c : check::discover_clusters(inv, scope)) plan.clusters.push_back(plan_cluster(c, inv, options, opsrequests));
  for (const auto &entry : inv.namespace_errors) {
    // Not a structured binding: clang before 16 (the clang-tidy build) cannot capture one in a lambda.
    const std::string &ns = entry.first;
    const std::string &err = entry.second;
    bool covered = std::any_of(plan.clusters.begin(), plan.clusters.end(),
                               [&](const ClusterPlan &c) { return c.namespace_ == ns; });
    if (covered) continue;
    ClusterPlan cp;
    cp.namespace_ = ns;
    cp.errors.push_back(err);
    plan.clusters.push_back(std::move(cp));
  }
  for (const auto &err : inv.errors) {
    ClusterPlan cp;
    cp.errors.push_back(err);
    plan.clusters.push_back(std::move(cp));
  }
  std::stable_sort(plan.clusters.begin(), plan.clusters.end(), [](const ClusterPlan &a, const ClusterPlan &b) {
    return std::tie(a.namespace_, a.name) < std::tie(b.namespace_, b.name);
  });
  return plan;
}

} // namespace vmsync::fix
