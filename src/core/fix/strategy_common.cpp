// What every layout's repair is made of: repairing the list where its source keeps it (a ConfigMap key, a
// template's args or env), and replacing the pods that run another list the way their controller replaces pods
// (the template annotation vmsync.io/storage-nodes-hash for a rolling workload, so that an equal hash means
// "already rolled"; pod deletions one at a time where the controller never rolls: OnDelete, InstanceSet). The
// strategies compose these; see strategy.hpp.
#include "strategy.hpp"

#include "../check/observe.hpp"
#include "vmsync/model/container_env.hpp"
#include "vmsync/model/storage_nodes.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace vmsync::fix {

using check::at_path;
using check::int_at;
using check::label;
using check::str_at;
using nlohmann::json;

std::string join(const std::vector<std::string> &v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += sep;
    out += v[i];
  }
  return out;
}

bool is_helm(const json &obj) { return label(obj, "app.kubernetes.io/managed-by") == "Helm"; }

// Why a consumer is mid-rollout, or nullopt.
std::optional<std::string> rollout_in_progress(const json &w, const std::string &kind, UpdateStrategy s) {
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
  if (s == UpdateStrategy::Rolling) {
    const int updated = int_at(w, {"status", "updatedReplicas"}, replicas);
    if (updated != replicas || (!cur.empty() && !upd.empty() && cur != upd))
      return fmt::format("a rollout is in progress ({} of {} pods updated)", updated, replicas);
  } else if (s == UpdateStrategy::InstanceSet) {
    if (!cur.empty() && !upd.empty() && cur != upd)
      return fmt::format("a rollout is in progress (revision {} -> {})", cur, upd);
  }
  return std::nullopt;
}

std::string template_hash(const json &w) {
  return str_at(w, {"spec", "template", "metadata", "annotations", kHashAnnotation});
}

namespace {

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
    for (const auto &v : arr)
      out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
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
      for (const auto &a : *part)
        argv.push_back(model::expand_kubelet(a, tl.env.vars));
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

} // namespace

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

std::optional<std::string> repair_source(Context &ctx, const Work &w, bool &template_patched) {
  template_patched = false;
  const auto &wl = *w.spec->workload;
  const auto what = workload_text(w.workload);
  if (w.unreadable)
    return fmt::format("{}: its pods drift, but the list's source cannot be read: {}", what, w.source.description);
  if (!w.repair) return std::nullopt;
  if (!w.source.entries || w.source.kind == model::ListSource::Kind::Unknown)
    return fmt::format("{}: cannot repair the list: {}", what, w.source.description);
  if (w.new_list.empty())
    return fmt::format("{}: the repaired list would be empty (every vmstorage ordinal is excluded)", what);
  const auto summary =
      fmt::format("{} node(s) added{}{}, {} removed{}{}", w.added.size(), w.added.empty() ? "" : ": ",
                  join(w.added, ", "), w.removed.size(), w.removed.empty() ? "" : ": ", join(w.removed, ", "));

  if (w.source.kind == model::ListSource::Kind::ConfigMap) {
    const auto &cm_name = w.source.object.name;
    const auto *cm = ctx.inv.configmap(ctx.cluster.namespace_, cm_name);
    const auto cm_text = fmt::format("ConfigMap {}/{}", ctx.cluster.namespace_, cm_name);
    if (cm == nullptr) return fmt::format("{}: {} does not exist", what, cm_text);
    if (auto owner = controller_of(*cm); owner && !ctx.opt.force_owned)
      return fmt::format("{} (the vmstorage list of {}) is owned by {}: {}; --force-owned edits it anyway",
                         cm_text, what, *owner, ctx.layout.instead(ctx.cluster.name));
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
                       ctx.layout.instead(ctx.cluster.name));
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
    for (auto i : idx)
      a.push_back(i - offset);
    for (auto i : vidx)
      v.push_back(i - offset);
    for (auto i : v)
      if (i < field.size() && field[i].find("%{") != std::string::npos)
        return fmt::format("{}: the list is built with %{{ENV}} templates; repair it by hand", what);
    auto rewritten =
        rewrite_args(field, a, v, tl->list.source.comma_joined, w.new_list, ctx.layout.one_flag_per_node());
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
    const auto base = json_pointer(
        {"spec", "template", "spec", "containers", std::to_string(tl->container), "env", std::to_string(*at)});
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

std::optional<std::string> restart_pods(Context &ctx, const Work &w, bool template_patched) {
  const auto &wl = *w.spec->workload;
  const auto what = workload_text(w.workload);
  const auto role = w.spec->role;
  if (w.restart.empty() && !template_patched) return std::nullopt;

  switch (w.strategy) {
  case UpdateStrategy::Rolling: {
    if (template_patched) {
      // The template patch carries the hash annotation, so the controller is already rolling.
    } else if (template_hash(wl) != w.hash) {
      if (auto owner = controller_of(wl); owner && !ctx.opt.force_owned)
        return fmt::format("{} is owned by {}, which would revert the restart annotation: {}; --force-owned "
                           "restarts it anyway",
                           what, *owner, ctx.layout.instead(ctx.cluster.name));
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
    auto canary = make_wait(
        w, WaitFor::Canary,
        fmt::format("the first pod of {} on the new template Ready and running the repaired list", what));
    canary.canary = true;
    ctx.plan.steps.push_back(std::move(canary));
    ctx.plan.steps.push_back(
        make_wait(w, WaitFor::Rollout, fmt::format("every pod of {} Ready and running the repaired list", what)));
    return std::nullopt;
  }
  case UpdateStrategy::OnDelete: {
    // Deleting pods is how an OnDelete StatefulSet is rolled (the operator does the same), so no ownership check.
    auto pods = w.restart;
    if (template_patched) {
      pods.clear();
      for (const auto *p : w.spec->pods)
        pods.push_back(p);
      std::sort(pods.begin(), pods.end(),
                [](const check::Pod *a, const check::Pod *b) { return model::natural_less(b->name, a->name); });
    }
    add_pod_deletions(ctx, w, pods, true, "an OnDelete StatefulSet only replaces deleted pods");
    return std::nullopt;
  }
  case UpdateStrategy::InstanceSet:
    // An InstanceSet never rolls a pod whose template did not change: each stale pod is deleted, one at a time.
    add_pod_deletions(ctx, w, w.restart, true, "the InstanceSet recreates it with the current list");
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace vmsync::fix
