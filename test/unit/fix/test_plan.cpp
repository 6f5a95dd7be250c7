// The fix planner on in-memory inventories shaped like the objects upstream creates (Helm chart, operator,
// KubeBlocks addon, the generic layout): list repair, exact request bodies, order, refusals, ownership.
#include "vmsync/fix/plan.hpp"
#include "vmsync/fix/render.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <set>

using namespace vmsync;
using namespace vmsync::fix;
using nlohmann::json;

namespace {

json ready_status() { return {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}; }

json sts(const std::string &ns, const std::string &name, int replicas, json labels, const std::string &strategy = "",
         json owner = nullptr) {
  json s = {{"metadata", {{"name", name}, {"namespace", ns}, {"uid", name + "-uid"}, {"generation", 1}, {"labels", labels}}},
            {"spec", {{"replicas", replicas}, {"serviceName", name}, {"selector", {{"matchLabels", labels}}}}},
            {"status", {{"observedGeneration", 1}, {"replicas", replicas}, {"updatedReplicas", replicas}}}};
  if (!strategy.empty()) s["spec"]["updateStrategy"] = {{"type", strategy}};
  if (!owner.is_null()) s["metadata"]["ownerReferences"] = json::array({owner});
  return s;
}

// Pods 0..n-1 of a StatefulSet (or InstanceSet), owned by its uid, Ready.
void add_set_pods(check::Inventory &inv, const json &set, int n, const json &spec = json::object()) {
  for (int i = 0; i < n; ++i) {
    const auto name = set["metadata"]["name"].get<std::string>();
    inv.pods.emplace_back(
        json{{"metadata",
              {{"name", fmt::format("{}-{}", name, i)},
               {"namespace", set["metadata"]["namespace"]},
               {"uid", fmt::format("{}-{}-uid", name, i)},
               {"labels", set["spec"]["selector"]["matchLabels"]},
               {"ownerReferences", {{{"kind", "StatefulSet"}, {"name", name}, {"uid", set["metadata"]["uid"]}}}}}},
             {"spec", spec.empty() ? json::object() : spec},
             {"status", ready_status()}});
  }
}

json deployment(const std::string &ns, const std::string &name, int replicas, json labels, json container,
                json owner = nullptr) {
  json d = {{"metadata", {{"name", name}, {"namespace", ns}, {"uid", name + "-uid"}, {"generation", 1}, {"labels", labels}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", labels}}},
              {"template", {{"metadata", {{"labels", labels}}}, {"spec", {{"containers", {container}}}}}}}},
            {"status", {{"observedGeneration", 1}, {"replicas", replicas}, {"updatedReplicas", replicas}}}};
  if (!owner.is_null()) d["metadata"]["ownerReferences"] = json::array({owner});
  return d;
}

void add_deployment_pods(check::Inventory &inv, const json &d, int n, const std::string &started = "2026-11-26T09:00:00Z") {
  const auto name = d["metadata"]["name"].get<std::string>();
  for (int i = 0; i < n; ++i) {
    json status = ready_status();
    status["containerStatuses"] = {{{"name", d["spec"]["template"]["spec"]["containers"][0]["name"]},
                                    {"state", {{"running", {{"startedAt", started}}}}}}};
    inv.pods.emplace_back(
        json{{"metadata",
              {{"name", fmt::format("{}-5d9f-{}", name, i)},
               {"namespace", d["metadata"]["namespace"]},
               {"uid", fmt::format("{}-pod-{}-uid", name, i)},
               {"labels", d["spec"]["selector"]["matchLabels"]},
               {"ownerReferences", {{{"kind", "ReplicaSet"}, {"name", name + "-5d9f"}, {"uid", name + "-rs"}}}}}},
             {"spec", d["spec"]["template"]["spec"]},
             {"status", status}});
  }
}

// ---- Helm chart victoria-metrics-cluster, release vm ----
const std::string kHelmSts = "vm-victoria-metrics-cluster-vmstorage";

std::string helm_node(int i, int port) {
  return fmt::format("{}-{}.{}.mon.svc.cluster.local.:{}", kHelmSts, i, kHelmSts, port);
}

json helm_labels(const std::string &app) {
  return {{"app", app}, {"app.kubernetes.io/instance", "vm"}, {"app.kubernetes.io/name", "victoria-metrics-cluster"}};
}

json helm_container(const std::string &app, int nodes, int port) {
  json args = json::array();
  for (int i = 0; i < nodes; ++i) args.push_back("--storageNode=" + helm_node(i, port));
  args.push_back("--envflag.enable=true");
  args.push_back("--envflag.prefix=VM_");
  args.push_back("--loggerFormat=json");
  return {{"name", app}, {"args", args}};
}

// vmstorage at `storage` replicas, consumers still listing `listed` nodes.
check::Inventory helm(int storage, int listed) {
  check::Inventory inv;
  auto s = sts("mon", kHelmSts, storage, helm_labels("vmstorage"));
  s["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "Helm";
  inv.statefulsets.push_back(s);
  add_set_pods(inv, s, storage);
  for (auto [app, port] : {std::pair{"vminsert", 8400}, std::pair{"vmselect", 8401}}) {
    auto d = deployment("mon", std::string("vm-victoria-metrics-cluster-") + app, 2, helm_labels(app),
                        helm_container(app, listed, port));
    d["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "Helm";
    inv.deployments.push_back(d);
    add_deployment_pods(inv, d, 2);
  }
  return inv;
}

check::Scope scope(const std::string &ns = "mon") {
  check::Scope s;
  s.namespace_ = ns;
  return s;
}

ClusterPlan only(const Plan &p) {
  REQUIRE(p.clusters.size() == 1);
  return p.clusters[0];
}

std::vector<std::string> actions(const ClusterPlan &c) {
  std::vector<std::string> out;
  for (const auto &s : c.steps)
    out.push_back(fmt::format("{} {} {}{}{}", to_string(s.action), s.target.name, model::to_string(s.role),
                              s.canary ? " canary" : "", s.action == Action::Wait ? " " + std::string(to_string(s.wait)) : ""));
  return out;
}

// ---- generic layout: Deployments fed from ConfigMaps with envFrom ----
json generic_container(const std::string &comp) {
  return {{"name", comp},
          {"args", {"-storageNode=$(VM_STORAGE_URLS)"}},
          {"envFrom", {{{"configMapRef", {{"name", "vm-" + comp + "-config"}}}}}}};
}

std::string generic_list(int n, int port) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += fmt::format("{}vm-vmstorage-{}.vm-vmstorage.mon.svc:{}", i ? "," : "", i, port);
  return out;
}

check::Inventory generic(int storage, int in_configmap, const std::string &cm_changed = "2026-11-26T08:00:00Z") {
  check::Inventory inv;
  json sl = {{"app.kubernetes.io/name", "vmstorage"}, {"app.kubernetes.io/instance", "vm"}};
  auto s = sts("mon", "vm-vmstorage", storage, sl);
  inv.statefulsets.push_back(s);
  add_set_pods(inv, s, storage);
  for (auto [comp, port] : {std::pair{"vminsert", 8400}, std::pair{"vmselect", 8401}}) {
    json l = {{"app.kubernetes.io/name", comp}, {"app.kubernetes.io/instance", "vm"}};
    auto d = deployment("mon", std::string("vm-") + comp, 2, l, generic_container(comp));
    d["metadata"]["annotations"] = {{"vmsync.io/storage-workload", "statefulset/vm-vmstorage"}, {"vmsync.io/role", comp}};
    inv.deployments.push_back(d);
    add_deployment_pods(inv, d, 2);
    inv.configmaps.push_back(
        {{"metadata",
          {{"name", std::string("vm-") + comp + "-config"},
           {"namespace", "mon"},
           {"resourceVersion", std::string("rv-") + comp},
           {"managedFields",
            {{{"manager", "kubectl"}, {"time", cm_changed}, {"fieldsV1", {{"f:data", {{"f:VM_STORAGE_URLS", json::object()}}}}}}}}}},
         {"data", {{"VM_STORAGE_URLS", generic_list(in_configmap, port)}}}});
  }
  return inv;
}

// ---- VictoriaMetrics operator, VMCluster vm ----
std::string operator_list(int n, int port) {
  std::string out;
  for (int i = 0; i < n; ++i) out += fmt::format("{}vmstorage-vm-{}.vmstorage-vm.mon:{}", i ? "," : "", i, port);
  return out;
}

json operator_labels(const std::string &comp) {
  return {{"app.kubernetes.io/name", comp}, {"app.kubernetes.io/instance", "vm"}, {"managed-by", "vm-operator"}};
}

// The operator mid-reconcile after a vmstorage change: vmselect's OnDelete template already right (pods not),
// vminsert's Deployment not updated yet.
check::Inventory operator_layout(int storage, int before) {
  check::Inventory inv;
  inv.vm_operator = true;
  inv.vmclusters.push_back({{"metadata", {{"name", "vm"}, {"namespace", "mon"}, {"uid", "vmc-uid"}}},
                            {"spec", {{"vmstorage", {{"replicaCount", storage}}}}}});
  json owner = {{"apiVersion", "operator.victoriametrics.com/v1beta1"}, {"kind", "VMCluster"}, {"name", "vm"},
                {"uid", "vmc-uid"}, {"controller", true}, {"blockOwnerDeletion", true}};
  auto st = sts("mon", "vmstorage-vm", storage, operator_labels("vmstorage"), "OnDelete", owner);
  inv.statefulsets.push_back(st);
  add_set_pods(inv, st, storage);
  json sel_container = {{"name", "vmselect"},
                        {"args", {"-cacheDataPath=/cache", "-httpListenAddr=:8481", "-storageNode=" + operator_list(storage, 8401)}}};
  auto sel = sts("mon", "vmselect-vm", 2, operator_labels("vmselect"), "OnDelete", owner);
  sel["spec"]["template"] = {{"metadata", {{"labels", operator_labels("vmselect")}}}, {"spec", {{"containers", {sel_container}}}}};
  sel["status"]["updatedReplicas"] = 0;
  inv.statefulsets.push_back(sel);
  json old_sel = sel_container;
  old_sel["args"][2] = "-storageNode=" + operator_list(before, 8401);
  add_set_pods(inv, sel, 2, {{"containers", {old_sel}}});
  json ins_container = {{"name", "vminsert"}, {"args", {"-httpListenAddr=:8480", "-storageNode=" + operator_list(before, 8400)}}};
  auto ins = deployment("mon", "vminsert-vm", 2, operator_labels("vminsert"), ins_container, owner);
  inv.deployments.push_back(ins);
  add_deployment_pods(inv, ins, 2);
  return inv;
}

// ---- KubeBlocks victoria-metrics addon, Cluster vm ----
std::string kb_list(int n, int port) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(fmt::format("vm-vmstorage-{}:{}", i, port));
  std::sort(v.begin(), v.end());
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
  return out;
}

json kb_labels(const std::string &comp) {
  return {{"app.kubernetes.io/instance", "vm"},
          {"app.kubernetes.io/managed-by", "kubeblocks"},
          {"apps.kubeblocks.io/component-name", comp}};
}

// vmstorage scaled to `storage`; env ConfigMaps list `in_configmap` nodes; pods started before the change.
check::Inventory kubeblocks(check::KubeBlocksVersion v, int storage, int in_configmap, int pods = 2) {
  check::Inventory inv;
  inv.kubeblocks = v;
  inv.kb_clusters.push_back({{"metadata", {{"name", "vm"}, {"namespace", "mon"}, {"uid", "cl-uid"}}}});
  auto its = [&](const std::string &comp, int replicas) {
    json owner = {{"apiVersion", "apps.kubeblocks.io/v1"}, {"kind", "Component"}, {"name", "vm-" + comp},
                  {"uid", comp + "-comp-uid"}, {"controller", true}};
    json i = sts("mon", "vm-" + comp, replicas, kb_labels(comp), "", owner);
    i["spec"].erase("serviceName");
    i["status"]["currentRevision"] = "vm-" + comp + "-1";
    i["status"]["updateRevision"] = "vm-" + comp + "-1";
    json c = {{"name", comp},
              {"args", {"--storageNode=$(VMSTORAGE_ADDR)", "--envflag.enable=true", "--envflag.prefix=VM_"}},
              {"envFrom", {{{"configMapRef", {{"name", "vm-" + comp + "-env"}}}}}}};
    i["spec"]["template"] = {{"metadata", {{"labels", kb_labels(comp)}}}, {"spec", {{"containers", {c}}}}};
    return i;
  };
  auto storage_its = its("vmstorage", storage);
  storage_its["spec"]["template"]["spec"]["containers"][0]["args"] = json::array();
  inv.instancesets.push_back(storage_its);
  add_set_pods(inv, storage_its, storage);
  for (auto [comp, port] : {std::pair{"vminsert", 8400}, std::pair{"vmselect", 8401}}) {
    auto i = its(comp, pods);
    inv.instancesets.push_back(i);
    json spec = i["spec"]["template"]["spec"];
    add_set_pods(inv, i, pods, spec);
    for (auto &p : inv.pods)
      if (p.name.starts_with("vm-" + std::string(comp))) p.started = {{comp, "2026-11-26T09:00:00Z"}};
    inv.configmaps.push_back(
        {{"metadata",
          {{"name", "vm-" + std::string(comp) + "-env"},
           {"namespace", "mon"},
           {"resourceVersion", "77"},
           {"labels", kb_labels(comp)},
           {"ownerReferences", {{{"apiVersion", "apps.kubeblocks.io/v1"}, {"kind", "Component"}, {"name", "vm-" + std::string(comp)},
                                 {"uid", std::string(comp) + "-comp-uid"}, {"controller", true}}}},
           {"managedFields",
            {{{"manager", "kubeblocks"}, {"time", "2026-11-26T10:00:00Z"}, {"fieldsV1", {{"f:data", {{"f:VMSTORAGE_ADDR", json::object()}}}}}}}}}},
         {"data", {{"VMSTORAGE_ADDR", kb_list(in_configmap, port)}}}});
  }
  return inv;
}

} // namespace

// ---- the pieces ----------------------------------------------------------------------------------------------

TEST_CASE("repair_list keeps spelling and order, drops duplicates, empties and removed nodes, appends missing") {
  model::NameContext ctx;
  ctx.namespace_ = "mon";
  ctx.headless_services = {"s"};
  const std::vector<std::string> current = {"s-2.s.mon.svc:8400", "", "s-0.s:8400", "s-0.s.mon:8400", "s-7.s:8400"};
  const std::vector<std::string> expected = {"s-0.s.mon.svc:8400", "s-1.s.mon.svc:8400", "s-2.s.mon.svc:8400"};
  CHECK(repair_list(current, expected, ctx, false) ==
        std::vector<std::string>{"s-2.s.mon.svc:8400", "s-0.s:8400", "s-1.s.mon.svc:8400"});
}

TEST_CASE("repair_list sorts KubeBlocks lists as strings") {
  model::NameContext ctx;
  ctx.namespace_ = "mon";
  std::vector<std::string> expected;
  for (int i = 0; i < 11; ++i) expected.push_back(fmt::format("vm-vmstorage-{}:8400", i));
  auto out = repair_list({"vm-vmstorage-0:8400", "vm-vmstorage-1:8400"}, expected, ctx, true);
  REQUIRE(out.size() == 11);
  // Sorted with the port, as KubeBlocks sorts the resolved values: "-10:" before "-1:" (':' sorts after digits).
  CHECK(out[1] == "vm-vmstorage-10:8400");
  CHECK(out[2] == "vm-vmstorage-1:8400");
  CHECK(out[3] == "vm-vmstorage-2:8400");
}

TEST_CASE("list_hash is the first 16 hex digits of the SHA-256 of the comma-joined list") {
  CHECK(list_hash({"a:8400", "b:8400"}) == "a7f988d6f9465f92");
}

TEST_CASE("json_pointer escapes ~ and /") {
  CHECK(json_pointer({"spec", "vmsync.io/storage-nodes-hash", "a~b"}) == "/spec/vmsync.io~1storage-nodes-hash/a~0b");
}

TEST_CASE("rewrite_args keeps the style: one flag per node at the first one's place, dashes and = as found") {
  const std::vector<std::string> argv = {"--envflag.enable=true", "--storageNode=a:8400", "--loggerFormat=json",
                                         "--storageNode=b:8400"};
  CHECK(rewrite_args(argv, {1, 3}, {1, 3}, false, {"a:8400", "c:8400", "d:8400"}, false) ==
        std::vector<std::string>{"--envflag.enable=true", "--storageNode=a:8400", "--storageNode=c:8400",
                                 "--storageNode=d:8400", "--loggerFormat=json"});
}

TEST_CASE("rewrite_args keeps one comma-joined value, and a separate value after the flag") {
  CHECK(rewrite_args({"-httpListenAddr=:8480", "-storageNode=a,b"}, {1}, {1}, true, {"a", "b", "c"}, false) ==
        std::vector<std::string>{"-httpListenAddr=:8480", "-storageNode=a,b,c"});
  CHECK(rewrite_args({"-storageNode", "a", "-x"}, {0}, {1}, false, {"a", "b"}, false) ==
        std::vector<std::string>{"-storageNode", "a,b", "-x"});
  CHECK(rewrite_args({"-storageNode", "a", "-x"}, {0}, {1}, false, {"a", "b"}, true) ==
        std::vector<std::string>{"-storageNode", "a", "-storageNode", "b", "-x"});
}

// ---- Helm ----------------------------------------------------------------------------------------------------

TEST_CASE("helm, nothing to do: no steps, no refusals, no warnings") {
  auto plan = make_plan(helm(3, 3), scope(), {});
  const auto c = only(plan);
  CHECK(c.nothing_to_do());
  CHECK(c.warnings.empty());
  CHECK(plan.step_count() == 0);
}

TEST_CASE("two vminsert Deployments spelling the nodes differently: the plan refuses to rewrite spellings") {
  auto inv = helm(2, 2);
  json container = helm_container("vminsert", 2, 8400);
  for (std::size_t i = 0; i < 2; ++i) // the same pods, through the Service in the namespace form
    container["args"][i] = fmt::format("--storageNode={}-{}.{}.mon:8400", kHelmSts, i, kHelmSts);
  auto d = deployment("mon", "vm-victoria-metrics-cluster-vminsert-zone-b", 1, helm_labels("vminsert"), container);
  inv.deployments.push_back(d);
  add_deployment_pods(inv, d, 1);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.steps.empty());
  REQUIRE(c.refusals.size() == 1);
  CHECK(c.refusals[0] ==
        fmt::format(
            "vminsert workloads spell 2 nodes differently ({}-0.{}.mon:8400: Deployment "
            "vm-victoria-metrics-cluster-vminsert as {}; Deployment vm-victoria-metrics-cluster-vminsert-zone-b "
            "as {}-0.{}.mon:8400): fix does not rewrite spellings, because a change of spelling moves series "
            "between vmstorage nodes once; --unify-spellings writes the spelling most of them use when that "
            "move is acceptable",
            kHelmSts, kHelmSts, helm_node(0, 8400), kHelmSts, kHelmSts));
  CHECK_FALSE(c.nothing_to_do());

  // The same spellings in both: nothing to do.
  inv = helm(2, 2);
  d = deployment("mon", "vm-victoria-metrics-cluster-vminsert-zone-b", 1, helm_labels("vminsert"),
                 helm_container("vminsert", 2, 8400));
  inv.deployments.push_back(d);
  add_deployment_pods(inv, d, 1);
  CHECK(only(make_plan(inv, scope(), {})).nothing_to_do());
}

TEST_CASE(
    "--unify-spellings: the split nodes get the spelling most vminsert workloads use, the layout's on a tie") {
  // Three vminsert Deployments: the chart's (FQDN) and two zones spelling the nodes in the namespace form.
  auto inv = helm(2, 2);
  std::vector<json> zones;
  for (const char *zone : {"b", "c"}) {
    json container = helm_container("vminsert", 2, 8400);
    for (std::size_t i = 0; i < 2; ++i)
      container["args"][i] = fmt::format("--storageNode={}-{}.{}.mon:8400", kHelmSts, i, kHelmSts);
    auto d = deployment("mon", fmt::format("vm-victoria-metrics-cluster-vminsert-zone-{}", zone), 1,
                        helm_labels("vminsert"), container);
    inv.deployments.push_back(d);
    add_deployment_pods(inv, d, 1);
  }
  FixOptions unify;
  unify.unify_spellings = true;
  auto c = only(make_plan(inv, scope(), unify));
  CHECK(c.refusals.empty());
  // Only the chart's Deployment changes: two of three use the namespace form.
  std::set<std::string> patched;
  for (const auto &s : c.steps)
    if (s.action == Action::PatchTemplate) patched.insert(s.target.name);
  CHECK(patched == std::set<std::string>{"vm-victoria-metrics-cluster-vminsert"});
  const auto *patch = &c.steps.front();
  REQUIRE(patch->action == Action::PatchTemplate);
  CHECK(patch->body[2]["value"][0] == fmt::format("--storageNode={}-0.{}.mon:8400", kHelmSts, kHelmSts));
  CHECK(patch->removed == std::vector<std::string>{helm_node(0, 8400), helm_node(1, 8400)});
  REQUIRE(c.warnings.size() == 3); // and Helm's: the next upgrade must carry it
  CHECK(c.warnings[0] ==
        fmt::format(
            "--unify-spellings: {0}-0.{0}.mon:8400 is written {0}-0.{0}.mon:8400 in every vminsert workload (2 "
            "of 3 used it); changing spelling: Deployment vm-victoria-metrics-cluster-vminsert (as {1}): the "
            "series these workloads write move between vmstorage nodes once",
            kHelmSts, helm_node(0, 8400)));
  // Canary and rollout as for any template repair.
  CHECK(std::any_of(c.steps.begin(), c.steps.end(), [](const Step &s) { return s.wait == WaitFor::Canary; }));

  // A tie (one Deployment each): the chart's own spelling (FQDN) wins, so the zone changes.
  inv.deployments.pop_back();
  std::erase_if(inv.pods, [](const auto &p) { return p.name.find("zone-c") != std::string::npos; });
  c = only(make_plan(inv, scope(), unify));
  patched.clear();
  for (const auto &s : c.steps)
    if (s.action == Action::PatchTemplate) patched.insert(s.target.name);
  CHECK(patched == std::set<std::string>{"vm-victoria-metrics-cluster-vminsert-zone-b"});
}

TEST_CASE("helm scale-up: vmselect's template first, then vminsert's, each with canary and rollout waits") {
  auto inv = helm(3, 2);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.refusals.empty());
  CHECK(actions(c) == std::vector<std::string>{
                          "patch-template vm-victoria-metrics-cluster-vmselect vmselect",
                          "wait vm-victoria-metrics-cluster-vmselect vmselect canary canary",
                          "wait vm-victoria-metrics-cluster-vmselect vmselect rollout",
                          "patch-template vm-victoria-metrics-cluster-vminsert vminsert",
                          "wait vm-victoria-metrics-cluster-vminsert vminsert canary canary",
                          "wait vm-victoria-metrics-cluster-vminsert vminsert rollout",
                      });
  const auto &patch = c.steps[3];
  CHECK(patch.target == Target{"apps/v1", "Deployment", "mon", "vm-victoria-metrics-cluster-vminsert"});
  REQUIRE(patch.patch_type);
  CHECK(*patch.patch_type == kube::PatchType::Json);
  const auto hash = list_hash({helm_node(0, 8400), helm_node(1, 8400), helm_node(2, 8400)});
  json expected = json::array(
      {{{"op", "test"}, {"path", "/spec/template/spec/containers/0/name"}, {"value", "vminsert"}},
       {{"op", "test"}, {"path", "/spec/template/spec/containers/0/args"}, {"value", helm_container("vminsert", 2, 8400)["args"]}},
       {{"op", "replace"}, {"path", "/spec/template/spec/containers/0/args"}, {"value", helm_container("vminsert", 3, 8400)["args"]}},
       {{"op", "add"},
        {"path", "/spec/template/metadata/annotations"},
        {"value", {{"vmsync.io/storage-nodes-hash", hash}}}}});
  CHECK(patch.body == expected);
  CHECK(patch.added == std::vector<std::string>{helm_node(2, 8400)});
  CHECK(patch.removed.empty());
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0] == "Deployment mon/vm-victoria-metrics-cluster-vmselect is managed by Helm: the next `helm "
                         "upgrade` must carry the new vmstorage replicaCount (3), or it undoes this repair");
}

TEST_CASE("helm scale-down: vminsert first; the template's existing annotations get one more key") {
  auto inv = helm(2, 3);
  inv.deployments[0]["spec"]["template"]["metadata"]["annotations"] = {{"checksum/config", "x"}};
  const auto c = only(make_plan(inv, scope(), {}));
  REQUIRE(c.steps.size() == 6);
  CHECK(c.steps[0].target.name == "vm-victoria-metrics-cluster-vminsert");
  CHECK(c.steps[0].removed == std::vector<std::string>{helm_node(2, 8400)});
  CHECK(c.steps[0].body[3] == json{{"op", "add"},
                                   {"path", "/spec/template/metadata/annotations/vmsync.io~1storage-nodes-hash"},
                                   {"value", list_hash({helm_node(0, 8400), helm_node(1, 8400)})}});
  CHECK(c.steps[3].target.name == "vm-victoria-metrics-cluster-vmselect");
}

TEST_CASE("refusals: vmstorage not all Ready, a paused consumer, a rollout someone else started; --force acts") {
  auto inv = helm(3, 2);
  inv.pods[2].ready = false;
  inv.deployments[0]["spec"]["paused"] = true;
  inv.deployments[1]["status"]["updatedReplicas"] = 1;
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.steps.empty());
  CHECK(c.refusals == std::vector<std::string>{
                          "vmstorage StatefulSet mon/vm-victoria-metrics-cluster-vmstorage has 2 of 3 declared pods "
                          "Ready (--force acts anyway)",
                          "Deployment mon/vm-victoria-metrics-cluster-vminsert is paused (--force acts anyway)",
                          "Deployment mon/vm-victoria-metrics-cluster-vmselect: a rollout is in progress (1 of 2 pods "
                          "updated, 2 exist) (--force acts anyway)",
                      });
  FixOptions force;
  force.force = true;
  auto forced = make_plan(inv, scope(), force);
  CHECK(only(forced).refusals.empty());
  CHECK(only(forced).steps.size() == 6);
  CHECK(only(forced).warnings.size() == 4);
}

TEST_CASE("a rollout vmsync started (template hash equal) is resumed: only the waits are left") {
  auto inv = helm(3, 2);
  std::vector<std::string> nodes = {helm_node(0, 8401), helm_node(1, 8401), helm_node(2, 8401)};
  auto &sel = inv.deployments[1];
  sel["spec"]["template"]["spec"]["containers"][0] = helm_container("vmselect", 3, 8401);
  sel["spec"]["template"]["metadata"]["annotations"] = {{"vmsync.io/storage-nodes-hash", list_hash(nodes)}};
  sel["metadata"]["generation"] = 2;
  sel["status"]["observedGeneration"] = 2;
  sel["status"]["updatedReplicas"] = 1;
  sel["status"]["replicas"] = 3;
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.refusals.empty());
  CHECK(actions(c) == std::vector<std::string>{
                          "wait vm-victoria-metrics-cluster-vmselect vmselect canary canary",
                          "wait vm-victoria-metrics-cluster-vmselect vmselect rollout",
                          "patch-template vm-victoria-metrics-cluster-vminsert vminsert",
                          "wait vm-victoria-metrics-cluster-vminsert vminsert canary canary",
                          "wait vm-victoria-metrics-cluster-vminsert vminsert rollout",
                      });
}

TEST_CASE("template env literal: test and replace env[i].value") {
  check::Inventory inv = helm(3, 3);
  auto &ins = inv.deployments[0];
  ins["spec"]["template"]["spec"]["containers"][0] = {
      {"name", "vminsert"},
      {"args", {"-storageNode=$(NODES)"}},
      {"env", {{{"name", "OTHER"}, {"value", "x"}}, {{"name", "NODES"}, {"value", helm_node(0, 8400)}}}}};
  for (auto &p : inv.pods)
    if (p.name.starts_with("vm-victoria-metrics-cluster-vminsert"))
      p.spec = std::make_shared<const json>(ins["spec"]["template"]["spec"]);
  const auto c = only(make_plan(inv, scope(), {}));
  REQUIRE(c.steps.size() == 3);
  const std::string list = fmt::format("{},{},{}", helm_node(0, 8400), helm_node(1, 8400), helm_node(2, 8400));
  CHECK(c.steps[0].body == json::array({
                               {{"op", "test"}, {"path", "/spec/template/spec/containers/0/name"}, {"value", "vminsert"}},
                               {{"op", "test"}, {"path", "/spec/template/spec/containers/0/env/1/name"}, {"value", "NODES"}},
                               {{"op", "test"}, {"path", "/spec/template/spec/containers/0/env/1/value"}, {"value", helm_node(0, 8400)}},
                               {{"op", "replace"}, {"path", "/spec/template/spec/containers/0/env/1/value"}, {"value", list}},
                               {{"op", "add"},
                                {"path", "/spec/template/metadata/annotations"},
                                {"value", {{"vmsync.io/storage-nodes-hash", list_hash({helm_node(0, 8400), helm_node(1, 8400), helm_node(2, 8400)})}}}},
                           }));
}

// ---- generic -------------------------------------------------------------------------------------------------

TEST_CASE("generic, ConfigMap wrong: merge patch guarded by resourceVersion, then a hash-annotation rollout") {
  auto inv = generic(3, 2);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(actions(c) == std::vector<std::string>{
                          "patch-configmap vm-vmselect-config vmselect",
                          "restart-rollout vm-vmselect vmselect",
                          "wait vm-vmselect vmselect canary canary",
                          "wait vm-vmselect vmselect rollout",
                          "patch-configmap vm-vminsert-config vminsert",
                          "restart-rollout vm-vminsert vminsert",
                          "wait vm-vminsert vminsert canary canary",
                          "wait vm-vminsert vminsert rollout",
                      });
  CHECK(c.steps[0].target == Target{"v1", "ConfigMap", "mon", "vm-vmselect-config"});
  CHECK(c.steps[0].patch_type == kube::PatchType::Merge);
  CHECK(c.steps[0].body == json{{"metadata", {{"resourceVersion", "rv-vmselect"}}},
                                {"data", {{"VM_STORAGE_URLS", generic_list(3, 8401)}}}});
  CHECK(c.steps[1].patch_type == kube::PatchType::Strategic);
  CHECK(c.steps[1].body ==
        json{{"spec",
              {{"template",
                {{"metadata",
                  {{"annotations",
                    {{"vmsync.io/storage-nodes-hash",
                      list_hash({"vm-vmstorage-0.vm-vmstorage.mon.svc:8401", "vm-vmstorage-1.vm-vmstorage.mon.svc:8401",
                                 "vm-vmstorage-2.vm-vmstorage.mon.svc:8401"})}}}}}}}}}});
  CHECK(c.steps[1].not_before == "2026-11-26T08:00:00Z");
  CHECK(c.warnings.empty());
}

TEST_CASE("generic, ConfigMap right but the pods started before it changed: restart only, order assumed") {
  auto inv = generic(3, 3, "2026-11-26T10:00:00Z"); // pods started 09:00
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(actions(c) == std::vector<std::string>{
                          "restart-rollout vm-vmselect vmselect",
                          "wait vm-vmselect vmselect canary canary",
                          "wait vm-vmselect vmselect rollout",
                          "restart-rollout vm-vminsert vminsert",
                          "wait vm-vminsert vminsert canary canary",
                          "wait vm-vminsert vminsert rollout",
                      });
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].starts_with("the running pods' lists cannot be read"));
}

TEST_CASE("generic, pods restarted after the ConfigMap changed: nothing to do") {
  auto inv = generic(3, 3, "2026-11-26T08:00:00Z");
  CHECK(only(make_plan(inv, scope(), {})).nothing_to_do());
}

TEST_CASE("a template already carrying the hash with the controller done: only the stale pods are replaced") {
  auto inv = generic(3, 3, "2026-11-26T10:00:00Z");
  const auto hash = list_hash({"vm-vmstorage-0.vm-vmstorage.mon.svc:8400", "vm-vmstorage-1.vm-vmstorage.mon.svc:8400",
                               "vm-vmstorage-2.vm-vmstorage.mon.svc:8400"});
  inv.deployments[0]["spec"]["template"]["metadata"]["annotations"] = {{"vmsync.io/storage-nodes-hash", hash}};
  inv.deployments.erase(inv.deployments.begin() + 1); // vmselect not part of this
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(actions(c) == std::vector<std::string>{
                          "delete-pod vm-vminsert-5d9f-1 vminsert canary",
                          "wait vm-vminsert vminsert canary pod-replaced",
                          "delete-pod vm-vminsert-5d9f-0 vminsert",
                          "wait vm-vminsert vminsert pod-replaced",
                      });
  CHECK(c.steps[0].uid_precondition == "vm-vminsert-pod-1-uid");
}

// ---- operator ------------------------------------------------------------------------------------------------

TEST_CASE("operator scale-up: OnDelete vmselect pods deleted one at a time; owned vminsert refused") {
  auto inv = operator_layout(3, 2);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(actions(c) == std::vector<std::string>{
                          "delete-pod vmselect-vm-1 vmselect canary",
                          "wait vmselect-vm vmselect canary pod-replaced",
                          "delete-pod vmselect-vm-0 vmselect",
                          "wait vmselect-vm vmselect pod-replaced",
                      });
  CHECK(c.steps[0].uid_precondition == "vmselect-vm-1-uid");
  CHECK(c.steps[0].target == Target{"v1", "Pod", "mon", "vmselect-vm-1"});
  CHECK(c.steps[0].body.is_null());
  REQUIRE(c.refusals.size() == 1);
  CHECK(c.refusals[0] == "Deployment mon/vminsert-vm is owned by VMCluster vm: the VictoriaMetrics operator rewrites it "
                         "from VMCluster vm: change the VMCluster (spec.vmstorage.replicaCount) and let the operator "
                         "roll it; --force-owned edits it anyway");
}

TEST_CASE("operator with --force-owned: vminsert's comma-joined arg is rewritten in place") {
  auto inv = operator_layout(3, 2);
  FixOptions o;
  o.force_owned = true;
  const auto c = only(make_plan(inv, scope(), o));
  REQUIRE(c.refusals.empty());
  REQUIRE(c.steps.size() == 7);
  CHECK(c.steps[4].action == Action::PatchTemplate);
  CHECK(c.steps[4].body[2] == json{{"op", "replace"},
                                   {"path", "/spec/template/spec/containers/0/args"},
                                   {"value", {"-httpListenAddr=:8480", "-storageNode=" + operator_list(3, 8400)}}});
}

TEST_CASE("operator scale-down: vminsert goes first, so its refusal holds vmselect back") {
  auto inv = operator_layout(2, 3);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.steps.empty());
  REQUIRE(c.refusals.size() == 2);
  CHECK(c.refusals[1] == "StatefulSet mon/vmselect-vm: held back, because vminsert must be repaired first (nodes were "
                         "removed)");
}

// ---- KubeBlocks ----------------------------------------------------------------------------------------------

TEST_CASE("kubeblocks 1.0: ConfigMap already right, pods stale: a canary pod, then the others one at a time") {
  // Not a Restart OpsRequest after the canary: it would restart the canary a second time.
  auto inv = kubeblocks(check::KubeBlocksVersion::V10, 3, 3, 3);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.refusals.empty());
  CHECK(actions(c) == std::vector<std::string>{
                          "delete-pod vm-vmselect-2 vmselect canary",
                          "wait vm-vmselect vmselect canary pod-replaced",
                          "delete-pod vm-vmselect-1 vmselect",
                          "wait vm-vmselect vmselect pod-replaced",
                          "delete-pod vm-vmselect-0 vmselect",
                          "wait vm-vmselect vmselect pod-replaced",
                          "delete-pod vm-vminsert-2 vminsert canary",
                          "wait vm-vminsert vminsert canary pod-replaced",
                          "delete-pod vm-vminsert-1 vminsert",
                          "wait vm-vminsert vminsert pod-replaced",
                          "delete-pod vm-vminsert-0 vminsert",
                          "wait vm-vminsert vminsert pod-replaced",
                      });
  CHECK(c.steps[0].target.api_version == "v1");
  CHECK(c.steps[1].target.api_version == "workloads.kubeblocks.io/v1");
  // Each stale pod is deleted exactly once.
  std::set<std::string> deleted;
  for (const auto &st : c.steps)
    if (st.action == Action::DeletePod) CHECK(deleted.insert(st.target.name).second);
  CHECK(deleted.size() == 6);
  // --restart=delete-pods: the same plan.
  FixOptions o;
  o.restart = RestartMode::DeletePods;
  CHECK(actions(only(make_plan(inv, scope(), o))) == actions(c));
}

TEST_CASE("kubeblocks 1.0 --restart=opsrequest: one Restart OpsRequest per component, no separate canary") {
  auto inv = kubeblocks(check::KubeBlocksVersion::V10, 3, 3, 3);
  FixOptions o;
  o.restart = RestartMode::OpsRequest;
  const auto c = only(make_plan(inv, scope(), o));
  CHECK(c.refusals.empty());
  CHECK(actions(c) == std::vector<std::string>{
                          "create-opsrequest vm-vmsync-restart-vmselect- vmselect",
                          "wait vm-vmsync-restart-vmselect- vmselect opsrequest",
                          "create-opsrequest vm-vmsync-restart-vminsert- vminsert",
                          "wait vm-vmsync-restart-vminsert- vminsert opsrequest",
                      });
  CHECK(c.steps[0].target.api_version == "operations.kubeblocks.io/v1alpha1");
  CHECK(c.steps[0].body ==
        json{{"apiVersion", "operations.kubeblocks.io/v1alpha1"},
             {"kind", "OpsRequest"},
             {"metadata",
              {{"generateName", "vm-vmsync-restart-vmselect-"},
               {"namespace", "mon"},
               {"labels",
                {{"app.kubernetes.io/instance", "vm"},
                 {"app.kubernetes.io/managed-by", "vmsync"},
                 {"apps.kubeblocks.io/component-name", "vmselect"}}},
               {"annotations",
                {{"vmsync.io/storage-nodes-hash",
                  list_hash({"vm-vmstorage-0:8401", "vm-vmstorage-1:8401", "vm-vmstorage-2:8401"})}}}}},
             {"spec",
              {{"clusterName", "vm"},
               {"type", "Restart"},
               {"restart", {{{"componentName", "vmselect"}}}},
               {"ttlSecondsAfterSucceed", 86400}}}});
  CHECK(c.steps[0].reason ==
        "3 of 3 pods of InstanceSet mon/vm-vmselect run with a stale vmstorage list; a KubeBlocks "
        "Restart OpsRequest (--restart=opsrequest) replaces every pod of the component once, in "
        "KubeBlocks' order");
}

TEST_CASE("kubeblocks 0.9: the OpsRequest is apps.kubeblocks.io/v1alpha1; by default each pod is deleted") {
  auto inv = kubeblocks(check::KubeBlocksVersion::V09, 3, 3, 2);
  FixOptions ops;
  ops.restart = RestartMode::OpsRequest;
  const auto c = only(make_plan(inv, scope(), ops));
  REQUIRE(c.steps.size() == 4);
  CHECK(c.steps[0].body["apiVersion"] == "apps.kubeblocks.io/v1alpha1");
  CHECK(c.steps[0].body["spec"]["clusterName"] == "vm");
  const auto d = only(make_plan(inv, scope(), {}));
  CHECK(d.steps[1].target.api_version == "workloads.kubeblocks.io/v1alpha1");
  CHECK(actions(d) == std::vector<std::string>{
                          "delete-pod vm-vmselect-1 vmselect canary",
                          "wait vm-vmselect vmselect canary pod-replaced",
                          "delete-pod vm-vmselect-0 vmselect",
                          "wait vm-vmselect vmselect pod-replaced",
                          "delete-pod vm-vminsert-1 vminsert canary",
                          "wait vm-vminsert vminsert canary pod-replaced",
                          "delete-pod vm-vminsert-0 vminsert",
                          "wait vm-vminsert vminsert pod-replaced",
                      });
}

TEST_CASE(
    "kubeblocks 0.9: a stale env ConfigMap is repaired by a Restart OpsRequest per component, vmselect first") {
  // 0.9 resolves VMSTORAGE_ADDR only when the component reconciles; a Restart reconciles it (issue #9253).
  auto inv = kubeblocks(check::KubeBlocksVersion::V09, 4, 3, 2);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.refusals.empty());
  CHECK(actions(c) == std::vector<std::string>{
                          "create-opsrequest vm-vmsync-restart-vmselect- vmselect",
                          "wait vm-vmsync-restart-vmselect- vmselect opsrequest",
                          "create-opsrequest vm-vmsync-restart-vminsert- vminsert",
                          "wait vm-vmsync-restart-vminsert- vminsert opsrequest",
                      });
  CHECK(c.steps[0].target ==
        Target{"apps.kubeblocks.io/v1alpha1", "OpsRequest", "mon", "vm-vmsync-restart-vmselect-"});
  CHECK(c.steps[1].target == c.steps[0].target);
  CHECK(c.steps[1].workload == Target{"workloads.kubeblocks.io/v1alpha1", "InstanceSet", "mon", "vm-vmselect"});
  CHECK(c.steps[0].body["apiVersion"] == "apps.kubeblocks.io/v1alpha1");
  CHECK(c.steps[0].body["spec"] == json{{"clusterName", "vm"},
                                        {"type", "Restart"},
                                        {"restart", {{{"componentName", "vmselect"}}}},
                                        {"ttlSecondsAfterSucceed", 86400}});
  CHECK(c.steps[0].body["metadata"]["annotations"]["vmsync.io/storage-nodes-hash"] ==
        list_hash({"vm-vmstorage-0:8401", "vm-vmstorage-1:8401", "vm-vmstorage-2:8401", "vm-vmstorage-3:8401"}));
  CHECK(c.steps[0].added == std::vector<std::string>{"vm-vmstorage-3:8401"});
  CHECK(c.steps[0].reason ==
        "key VMSTORAGE_ADDR of ConfigMap mon/vm-vmselect-env (owned by Component vm-vmselect) feeds InstanceSet "
        "mon/vm-vmselect: 1 node(s) missing: vm-vmstorage-3:8401, 0 to remove; KubeBlocks 0.9 resolves a "
        "component's vars only when that component reconciles, which a vmstorage scale does not do: a KubeBlocks "
        "Restart OpsRequest reconciles vmselect, so KubeBlocks writes the ConfigMap and replaces every pod of the "
        "component once");
  CHECK(c.steps[1].until == "the OpsRequest Succeed, ConfigMap mon/vm-vmselect-env holding the repaired list and "
                            "every pod of InstanceSet mon/vm-vmselect running it");
  // Deleting pods would restart them with the stale ConfigMap: whatever --restart says, the OpsRequest.
  for (auto mode : {RestartMode::DeletePods, RestartMode::OpsRequest}) {
    FixOptions o;
    o.restart = mode;
    CHECK(actions(only(make_plan(inv, scope(), o))) == actions(c));
  }
}

TEST_CASE("kubeblocks 0.9 scale-down: vminsert's Restart OpsRequest goes first") {
  const auto c = only(make_plan(kubeblocks(check::KubeBlocksVersion::V09, 2, 3, 2), scope(), {}));
  CHECK(c.refusals.empty());
  CHECK(actions(c) == std::vector<std::string>{
                          "create-opsrequest vm-vmsync-restart-vminsert- vminsert",
                          "wait vm-vmsync-restart-vminsert- vminsert opsrequest",
                          "create-opsrequest vm-vmsync-restart-vmselect- vmselect",
                          "wait vm-vmsync-restart-vmselect- vmselect opsrequest",
                      });
  CHECK(c.steps[0].removed == std::vector<std::string>{"vm-vmstorage-2:8400"});
}

TEST_CASE("kubeblocks 0.9 --force-owned: the env ConfigMap is patched, then the pods deleted, as on 1.0") {
  FixOptions o;
  o.force_owned = true;
  const auto c = only(make_plan(kubeblocks(check::KubeBlocksVersion::V09, 4, 3, 2), scope(), o));
  REQUIRE(c.steps.size() == 10);
  CHECK(c.steps[0].action == Action::PatchConfigMap);
  CHECK(c.steps[0].body ==
        json{{"metadata", {{"resourceVersion", "77"}}}, {"data", {{"VMSTORAGE_ADDR", kb_list(4, 8401)}}}});
  for (const auto &st : c.steps)
    CHECK(st.action != Action::CreateOpsRequest);
}

TEST_CASE("kubeblocks 0.9: vmsync's Restart OpsRequest still running for a stale ConfigMap is waited for") {
  auto inv = kubeblocks(check::KubeBlocksVersion::V09, 4, 3, 2);
  std::vector<json> ops = {
      {{"apiVersion", "apps.kubeblocks.io/v1alpha1"},
       {"metadata", {{"name", "vm-vmsync-restart-vmselect-x1"}, {"namespace", "mon"}}},
       {"spec", {{"clusterName", "vm"}, {"type", "Restart"}, {"restart", {{{"componentName", "vmselect"}}}}}},
       {"status", {{"phase", "Creating"}}}}};
  const auto c = only(make_plan(inv, scope(), {}, ops));
  CHECK(actions(c) == std::vector<std::string>{
                          "wait vm-vmsync-restart-vmselect-x1 vmselect opsrequest",
                          "create-opsrequest vm-vmsync-restart-vminsert- vminsert",
                          "wait vm-vmsync-restart-vminsert- vminsert opsrequest",
                      });
  CHECK(c.steps[0].target ==
        Target{"apps.kubeblocks.io/v1alpha1", "OpsRequest", "mon", "vm-vmsync-restart-vmselect-x1"});
  // One that ended (Failed here) is history: a new one is made.
  ops[0]["status"]["phase"] = "Failed";
  CHECK(only(make_plan(inv, scope(), {}, ops)).steps[0].action == Action::CreateOpsRequest);
}

TEST_CASE("kubeblocks: an OpsRequest vmsync made that is still running is waited for, not made again") {
  auto inv = kubeblocks(check::KubeBlocksVersion::V10, 3, 3, 2);
  std::vector<json> ops = {{{"apiVersion", "operations.kubeblocks.io/v1alpha1"},
                            {"metadata", {{"name", "vm-vmsync-restart-vmselect-abcde"}, {"namespace", "mon"}}},
                            {"spec", {{"clusterName", "vm"}, {"type", "Restart"}, {"restart", {{{"componentName", "vmselect"}}}}}},
                            {"status", {{"phase", "Running"}}}}};
  const auto c = only(make_plan(inv, scope(), {}, ops));
  REQUIRE(c.steps.size() >= 1);
  CHECK(c.steps[0].action == Action::Wait);
  CHECK(c.steps[0].wait == WaitFor::OpsRequest);
  CHECK(c.steps[0].target.name == "vm-vmsync-restart-vmselect-abcde");
}

TEST_CASE("kubeblocks: a wrong env ConfigMap belongs to KubeBlocks; --force-owned patches it, sorted") {
  auto inv = kubeblocks(check::KubeBlocksVersion::V10, 11, 2, 1);
  const auto c = only(make_plan(inv, scope(), {}));
  CHECK(c.steps.empty());
  REQUIRE(c.refusals.size() == 2);
  CHECK(c.refusals[0] == "ConfigMap mon/vm-vmselect-env (the vmstorage list of InstanceSet mon/vm-vmselect) is owned by "
                         "Component vm-vmselect: KubeBlocks writes it from Cluster vm: change the Cluster "
                         "(spec.componentSpecs) and let KubeBlocks re-resolve VMSTORAGE_ADDR; --force-owned edits it "
                         "anyway");
  FixOptions o;
  o.force_owned = true;
  const auto f = only(make_plan(inv, scope(), o));
  REQUIRE(f.steps.size() == 6);
  CHECK(f.steps[0].body == json{{"metadata", {{"resourceVersion", "77"}}}, {"data", {{"VMSTORAGE_ADDR", kb_list(11, 8401)}}}});
}

// ---- rendering ----------------------------------------------------------------------------------------------

TEST_CASE("plan_to_json: the FixPlan document") {
  auto plan = make_plan(operator_layout(3, 2), scope(), {});
  auto j = plan_to_json(plan);
  CHECK(j["apiVersion"] == "vmsync.io/v1");
  CHECK(j["kind"] == "FixPlan");
  const auto &c = j["clusters"][0];
  CHECK(c["namespace"] == "mon");
  CHECK(c["name"] == "vm");
  CHECK(c["layout"] == "operator");
  CHECK(c["steps"][0].dump() ==
        R"({"action":"delete-pod","target":{"apiVersion":"v1","kind":"Pod","namespace":"mon","name":"vmselect-vm-1"},)"
        R"("patchType":null,"body":null,"reason":"canary: vmselect-vm-1 runs with a stale vmstorage list; an OnDelete )"
        R"(StatefulSet only replaces deleted pods","role":"vmselect","canary":true,"preconditions":{"uid":"vmselect-vm-1-uid"}})");
  CHECK(c["steps"][1]["action"] == "wait");
  CHECK(c["steps"][1]["until"] == "pod-replaced");
}

TEST_CASE("unreadable pod lists: the order is inferred from pod ages (a vmstorage pod made around the change)") {
  auto inv = kubeblocks(check::KubeBlocksVersion::V10, 3, 3, 1); // the env ConfigMaps changed at 10:00:00
  auto stamp = [&](const std::string &prefix, const std::string &t) {
    for (auto &p : inv.pods)
      if (p.name.starts_with(prefix)) p.creation_timestamp = t;
  };
  stamp("vm-vminsert-", "2026-11-26T09:00:00Z");
  stamp("vm-vmselect-", "2026-11-26T09:00:00Z");
  // Made with the consumers (a fresh deploy), long before the change: no evidence of added nodes.
  stamp("vm-vmstorage-", "2026-11-26T09:00:01Z");
  auto down = only(make_plan(inv, scope(), {}));
  REQUIRE(down.steps.size() == 4);
  CHECK(down.steps[0].role == model::Role::Insert);
  REQUIRE(down.warnings.size() == 1);
  CHECK(down.warnings[0].find("most likely removed") != std::string::npos);

  stamp("vm-vmstorage-2", "2026-11-26T09:59:55Z"); // made with the change
  auto up = only(make_plan(inv, scope(), {}));
  REQUIRE(up.steps.size() == 4);
  CHECK(up.steps[0].role == model::Role::Select);
  CHECK(up.warnings.empty());
}

namespace {

// helm(storage, listed), with vminsert's template and pods listing `insert_args` instead.
check::Inventory helm_with_insert_args(int storage, int listed, const json &insert_args) {
  check::Inventory inv;
  auto s = sts("mon", kHelmSts, storage, helm_labels("vmstorage"));
  inv.statefulsets.push_back(s);
  add_set_pods(inv, s, storage);
  for (auto [app, port] : {std::pair{"vminsert", 8400}, std::pair{"vmselect", 8401}}) {
    auto container = helm_container(app, listed, port);
    if (std::string(app) == "vminsert") container["args"] = insert_args;
    auto d = deployment("mon", std::string("vm-victoria-metrics-cluster-") + app, 2, helm_labels(app), container);
    inv.deployments.push_back(d);
    add_deployment_pods(inv, d, 2);
  }
  return inv;
}

} // namespace

TEST_CASE("helm: an entry naming a pod through the wrong Service is replaced by a name that resolves") {
  // The wrong entry first: its spelling must not become the spelling of the repaired list.
  const auto wrong = fmt::format("{}-0.nonexistent-svc.nonexistent-ns.svc.cluster.local.:8400", kHelmSts);
  const json args = {"--storageNode=" + wrong, "--storageNode=" + helm_node(1, 8400),
                     "--storageNode=" + helm_node(2, 8400)};
  const auto c = only(make_plan(helm_with_insert_args(3, 3, args), scope(), {}));
  CHECK(c.refusals.empty());
  std::vector<const Step *> patches;
  for (const auto &s : c.steps)
    if (s.action == Action::PatchTemplate) patches.push_back(&s);
  REQUIRE(patches.size() == 1);
  CHECK(patches[0]->target.name == "vm-victoria-metrics-cluster-vminsert");
  CHECK(patches[0]->added == std::vector<std::string>{helm_node(0, 8400)});
  CHECK(patches[0]->removed == std::vector<std::string>{wrong});
}

TEST_CASE("a discovery source (srv+) is never replaced by a fixed list, nor are its pods restarted") {
  const json args = {"--storageNode=srv+_vminsert._tcp.vm-victoria-metrics-cluster-vmstorage.mon.svc"};
  const auto c = only(make_plan(helm_with_insert_args(3, 2, args), scope(), {}));
  CHECK(c.refusals.empty());
  CHECK_FALSE(c.steps.empty()); // vmselect's fixed list still lacks node 2
  for (const auto &s : c.steps) {
    CAPTURE(s.target.name);
    CHECK(s.role == model::Role::Select);
    CHECK(s.target.name.find("vminsert") == std::string::npos);
  }
}
