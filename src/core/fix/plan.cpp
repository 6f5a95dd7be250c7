// The fix planner. Approach: run check's discovery and drift model on the inventory, then per consumer decide
//   1. the list its source must hold (repair_list: keep what is right as written, append what is missing),
//   2. which pods run with another list (exact strings, as VictoriaMetrics routes by them),
// refuse when vmstorage or a consumer is not in a state to act on, and lay the consumers out in the safe order
// (vmselect first when nodes were added, vminsert first when they were only removed). How a consumer is repaired
// (which request writes its list, whether that object may be edited at all, how its pods are replaced) is its
// layout's: one strategy per layout (strategy.hpp, strategy_<layout>.cpp). Everything is computed from the state
// read, so running the plan again after a partial apply simply yields the steps that are left.
#include "vmsync/fix/plan.hpp"

#include "../check/discover.hpp"
#include "../check/observe.hpp"
#include "consumer_state.hpp"
#include "strategy.hpp"
#include "vmsync/fix/apply.hpp"
#include "vmsync/model/container_env.hpp"
#include "vmsync/model/storage_nodes.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <map>
#include <openssl/sha.h>
#include <set>

namespace vmsync::fix {

using check::at_path;
using check::int_at;
using check::label;
using check::meta_name;
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

UpdateStrategy strategy_of(const std::string &kind, const json &w) {
  if (kind == "InstanceSet") return UpdateStrategy::InstanceSet;
  if (kind == "StatefulSet" && str_at(w, {"spec", "updateStrategy", "type"}) == "OnDelete")
    return UpdateStrategy::OnDelete;
  return UpdateStrategy::Rolling;
}

std::string api_version_of(const std::string &kind, check::KubeBlocksVersion kb) {
  if (kind == "Deployment" || kind == "StatefulSet") return "apps/v1";
  if (kind == "InstanceSet")
    return kb == check::KubeBlocksVersion::V09 ? "workloads.kubeblocks.io/v1alpha1" : "workloads.kubeblocks.io/v1";
  return "v1";
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

// `respell` (identity -> spelling, from --unify-spellings): entries of the source naming one of these nodes are
// rewritten in that spelling, which makes the source one to repair even when its nodes are right.
Work analyse(const check::ConsumerSpec &cons, const check::ClusterSpec &c, const check::Inventory &inv,
             const std::map<std::string, std::string> *respell = nullptr) {
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

  const auto original = w.source.entries.value_or(std::vector<std::string>{});
  auto current = original;
  bool respelt = false;
  if (respell != nullptr)
    for (auto &e : current)
      if (auto it = respell->find(identity_of(e, cons.names)); it != respell->end() && e != it->second) {
        e = it->second;
        respelt = true;
      }
  const bool sorted = strategy_for(c.layout).sorted_lists();
  w.repair = w.drift.source_drift || respelt;
  w.new_list = w.drift.source_drift ? repair_list(current, cons.expected, cons.names, sorted) : current;
  if (respelt && sorted) std::sort(w.new_list.begin(), w.new_list.end());
  if (w.repair) {
    std::set<std::string> kept(w.new_list.begin(), w.new_list.end());
    std::set<std::string> before(original.begin(), original.end());
    for (const auto &e : w.new_list)
      if (!before.contains(e)) w.added.push_back(e);
    for (const auto &e : original)
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

std::vector<model::SpellingSplit> insert_spelling_splits(const std::vector<Work> &works) {
  std::vector<model::ConsumerDrift> spellings(works.size());
  for (std::size_t i = 0; i < works.size(); ++i) {
    spellings[i].role = works[i].drift.role;
    spellings[i].workload = works[i].drift.workload;
    spellings[i].node_spellings = works[i].drift.node_spellings;
  }
  std::vector<model::SpellingSplit> splits;
  for (auto &split : model::spelling_splits(spellings))
    if (split.role == model::Role::Insert) splits.push_back(std::move(split));
  return splits;
}

// --unify-spellings: each split node gets the spelling most vminsert workloads use (a tie goes to the layout's own
// spelling, then to the first in byte order). Returns identity -> spelling; the plan warns, per node,
// which workloads change and that their series move once.
std::map<std::string, std::string> unified_spellings(const std::vector<Work> &works, ClusterPlan &plan) {
  std::map<std::string, std::string> out;
  for (const auto &split : insert_spelling_splits(works)) {
    std::map<std::string, int> used; // spelling -> workloads using it
    for (const auto &w : split.workloads)
      for (const auto &s : w.spellings)
        ++used[s];
    auto expected = [&](const std::string &s) { // written in the layout's own spelling
      return std::any_of(works.begin(), works.end(), [&](const Work &w) {
        if (w.drift.role != model::Role::Insert) return false;
        const auto a = model::parse_address(s, w.spec->names);
        return a && model::spelling_of(*a, w.spec->names) == w.spec->layout_style;
      });
    };
    const std::string *best = nullptr;
    for (const auto &[s, n] : used)
      if (best == nullptr || n > used[*best] || (n == used[*best] && expected(s) && !expected(*best))) best = &s;
    if (best == nullptr) continue; // a split has spellings; nothing to choose otherwise
    std::vector<std::string> moved;
    for (const auto &w : split.workloads)
      if (w.spellings != std::vector<std::string>{*best})
        moved.push_back(fmt::format("{} {} (as {})", w.workload.kind, w.workload.name, join(w.spellings, ", ")));
    plan.warnings.push_back(fmt::format("--unify-spellings: {} is written {} in every vminsert workload ({} of {} "
                                        "used it); changing spelling: {}: "
                                        "the series these workloads write move between vmstorage nodes once",
                                        split.identity, *best, used[*best], split.workloads.size(),
                                        join(moved, "; ")));
    out.emplace(split.identity, *best);
  }
  return out;
}

// vminsert workloads that spell a node differently are drift (check), but not one fix repairs on its own: each
// workload routes by its own strings, so whichever spelling wins, the series of the workloads that change move to
// other nodes once. The plan says so and leaves the spellings alone (unless --unify-spellings).
void spelling_split_refusals(const std::vector<Work> &works, ClusterPlan &plan) {
  const auto splits = insert_spelling_splits(works);
  if (splits.empty()) return;
  std::vector<std::string> each;
  for (const auto &w : splits.front().workloads)
    each.push_back(fmt::format("{} {} as {}", w.workload.kind, w.workload.name, join(w.spellings, ", ")));
  plan.refusals.push_back(fmt::format(
      "vminsert workloads spell {} differently ({}{}): fix does not rewrite spellings, because a change of "
      "spelling moves series between vmstorage nodes once; --unify-spellings writes the spelling most of them use "
      "when that move is acceptable",
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
  if (opt.unify_spellings) {
    const auto respell = unified_spellings(works, plan);
    if (!respell.empty())
      for (std::size_t i = 0; i < works.size(); ++i)
        if (works[i].drift.role == model::Role::Insert) works[i] = analyse(c.consumers[i], c, inv, &respell);
  } else {
    spelling_split_refusals(works, plan);
  }
  if (std::none_of(works.begin(), works.end(), [](const Work &w) { return w.needs_action(); })) return plan;
  plan.warnings.insert(plan.warnings.begin(), c.warnings.begin(), c.warnings.end());

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

  Context ctx{inv, opt, c, opsrequests, plan, strategy_for(c.layout), {}, false};
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
      auto refusal = ctx.layout.plan_consumer(ctx, w);
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
      st.source_drift = w.repair;
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
