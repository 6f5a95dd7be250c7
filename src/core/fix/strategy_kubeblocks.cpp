// KubeBlocks with the victoria-metrics addon (0.9 and 1.0). The consumers are InstanceSets whose list comes from
// the var VMSTORAGE_ADDR, which KubeBlocks resolves into the ConfigMap <cluster>-<component>-env (sorted as
// strings) and owns, so vmsync does not edit it (unless --force-owned). Two cases:
//   - the ConfigMap is right and only pods are stale: they are deleted one at a time, a canary first, or with
//     --restart=opsrequest replaced by KubeBlocks' own Restart OpsRequest;
//   - the ConfigMap is stale. KubeBlocks 1.0 resolves the vars of the components that depend on vmstorage when
//     it scales, so that is left to it. KubeBlocks 0.9 resolves a component's vars only when that component
//     reconciles, and a vmstorage scale reconciles vmstorage alone (apecloud/kubeblocks issue #9253; the addon's
//     remedy, PR #1622, is restarting vminsert and vmselect): the repair is a Restart OpsRequest of the
//     component, which reconciles it (its vars resolved again into the ConfigMap) and restarts every pod once.
// Either way, an OpsRequest vmsync made that is still running is waited for rather than made again.
#include "strategy.hpp"

#include <fmt/format.h>

namespace vmsync::fix {

using check::at_path;
using check::label;
using check::meta_name;
using check::meta_namespace;
using check::str_at;
using nlohmann::json;

namespace {

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

const char *opsrequest_api(const Context &ctx) {
  return ctx.inv.kubeblocks == check::KubeBlocksVersion::V09 ? "apps.kubeblocks.io/v1alpha1"
                                                             : "operations.kubeblocks.io/v1alpha1";
}

// A wait for the Restart OpsRequest `ops` (vmsync's, still running) of this component.
void wait_for_running(Context &ctx, const Work &w, const json &ops) {
  auto wait = make_wait(w, WaitFor::OpsRequest,
                        fmt::format("OpsRequest {} (already running) Succeed and every pod of {} running the "
                                    "repaired list",
                                    meta_name(ops), workload_text(w.workload)));
  wait.target = {str_at(ops, {"apiVersion"}), "OpsRequest", ctx.cluster.namespace_, meta_name(ops)};
  if (wait.target.api_version.empty()) wait.target.api_version = opsrequest_api(ctx);
  ctx.plan.steps.push_back(std::move(wait));
}

// A Restart OpsRequest for the component, and the wait for it.
void create_opsrequest(Context &ctx, const Work &w, std::string reason, std::string until) {
  Step s;
  s.action = Action::CreateOpsRequest;
  s.body = opsrequest_body(ctx, w);
  s.not_before = w.not_before;
  s.target = {s.body["apiVersion"].get<std::string>(), "OpsRequest", ctx.cluster.namespace_,
              s.body["metadata"]["generateName"].get<std::string>()};
  s.reason = std::move(reason);
  s.role = w.spec->role;
  s.workload = w.workload;
  s.hash = w.hash;
  s.added = w.added;
  s.removed = w.removed;
  ctx.plan.steps.push_back(std::move(s));
  auto wait = make_wait(w, WaitFor::OpsRequest, std::move(until));
  wait.target = ctx.plan.steps.back().target;
  ctx.plan.steps.push_back(std::move(wait));
}

// The stale env ConfigMap KubeBlocks 0.9 owns and would only rewrite when the component reconciles, or null
// when this consumer's source is something else (or may be edited: --force-owned).
const json *stale_owned_env(const Context &ctx, const Work &w) {
  if (ctx.inv.kubeblocks != check::KubeBlocksVersion::V09 || ctx.opt.force_owned) return nullptr;
  if (!w.repair || w.unreadable || w.new_list.empty() || w.strategy != UpdateStrategy::InstanceSet) return nullptr;
  if (w.source.kind != model::ListSource::Kind::ConfigMap) return nullptr;
  const auto *cm = ctx.inv.configmap(ctx.cluster.namespace_, w.source.object.name);
  if (cm == nullptr || !controller_of(*cm)) return nullptr;
  return cm;
}

// KubeBlocks 0.9: the env ConfigMap is stale; KubeBlocks' own restart reconciles the component, which resolves
// VMSTORAGE_ADDR again and restarts the pods with it. The wait then checks both the ConfigMap and the pods.
std::optional<std::string> reconcile_by_restart(Context &ctx, const Work &w, const json &cm) {
  const auto what = workload_text(w.workload);
  const auto cm_text = fmt::format("ConfigMap {}/{}", ctx.cluster.namespace_, meta_name(cm));
  if (const auto *ops = running_opsrequest(ctx, w)) {
    wait_for_running(ctx, w, *ops);
    return std::nullopt;
  }
  const auto summary =
      fmt::format("{} node(s) missing{}{}, {} to remove{}{}", w.added.size(), w.added.empty() ? "" : ": ",
                  join(w.added, ", "), w.removed.size(), w.removed.empty() ? "" : ": ", join(w.removed, ", "));
  create_opsrequest(
      ctx, w,
      fmt::format("key {} of {} (owned by {}) feeds {}: {}; KubeBlocks 0.9 resolves a component's vars only when "
                  "that component reconciles, which a vmstorage scale does not do: a KubeBlocks Restart "
                  "OpsRequest reconciles {}, so KubeBlocks writes the ConfigMap and replaces every pod of the "
                  "component once",
                  w.source.key, cm_text, controller_of(cm).value_or("KubeBlocks"), what, summary,
                  model::to_string(w.spec->role)),
      fmt::format("the OpsRequest Succeed, {} holding the repaired list and every pod of {} running it", cm_text,
                  what));
  return std::nullopt;
}

// The pods of an InstanceSet consumer.
std::optional<std::string> restart_instanceset(Context &ctx, const Work &w, bool template_patched) {
  const auto what = workload_text(w.workload);
  if (w.restart.empty() && !template_patched) return std::nullopt;
  if (const auto *ops = running_opsrequest(ctx, w)) {
    wait_for_running(ctx, w, *ops);
    return std::nullopt;
  }
  // A Restart OpsRequest stamps the component's pod template, so the InstanceSet replaces every pod, the
  // canary included: after a canary deletion it would restart that pod a second time. So the canary and then
  // each other stale pod are deleted one at a time, each waited Ready (as slow as KubeBlocks' own rolling, and
  // pods already in sync are left alone); the OpsRequest only when asked for (--restart=opsrequest), without
  // a separate canary, so that it too restarts each pod once.
  if (ctx.opt.restart != RestartMode::OpsRequest) return restart_pods(ctx, w, template_patched);
  create_opsrequest(
      ctx, w,
      fmt::format("{} of {} pods of {} run with a stale vmstorage list; a KubeBlocks Restart OpsRequest "
                  "(--restart=opsrequest) replaces every pod of the component once, in KubeBlocks' order",
                  w.restart.size(), w.spec->pods.size(), what),
      fmt::format("the OpsRequest Succeed and every pod of {} running the repaired list", what));
  return std::nullopt;
}

class KubeBlocksStrategy final : public LayoutStrategy {
public:
  std::optional<std::string> plan_consumer(Context &ctx, const Work &w) const override {
    if (const auto *cm = stale_owned_env(ctx, w)) return reconcile_by_restart(ctx, w, *cm);
    bool template_patched = false;
    if (auto refusal = repair_source(ctx, w, template_patched)) return refusal;
    if (w.strategy != UpdateStrategy::InstanceSet) return restart_pods(ctx, w, template_patched);
    return restart_instanceset(ctx, w, template_patched);
  }
  [[nodiscard]] std::string instead(const std::string &cluster) const override {
    return fmt::format("KubeBlocks writes it from Cluster {}: change the Cluster (spec.componentSpecs) and let "
                       "KubeBlocks re-resolve VMSTORAGE_ADDR",
                       cluster);
  }
  [[nodiscard]] bool sorted_lists() const override { return true; }
};

} // namespace

const LayoutStrategy &kubeblocks_strategy() {
  static const KubeBlocksStrategy s;
  return s;
}

} // namespace vmsync::fix
