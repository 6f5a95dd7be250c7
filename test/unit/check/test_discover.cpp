// Layout detection and expected lists on in-memory inventories shaped exactly like upstream objects.
#include "../../../src/core/check/discover.hpp"
#include "vmsync/check/check.hpp"
#include "vmsync/error.hpp"
#include "vmsync/report/render.hpp"

#include <algorithm>
#include <sstream>

#include <doctest/doctest.h>

using namespace vmsync;
using namespace vmsync::check;
using nlohmann::json;

namespace {

// A Helm release `release` of the victoria-metrics-cluster chart (its objects are named <release>-victoria-...).
json helm_sts(const std::string &ns, int replicas, const std::string &release = "vm") {
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata",
           {{"name", release + "-victoria-metrics-cluster-vmstorage"},
            {"namespace", ns},
            {"uid", ns + "-" + release + "-sts-uid"},
            {"labels",
             {{"app", "vmstorage"},
              {"app.kubernetes.io/instance", release},
              {"app.kubernetes.io/name", "victoria-metrics-cluster"},
              {"app.kubernetes.io/managed-by", "Helm"}}}}},
          {"spec",
           {{"replicas", replicas},
            {"serviceName", release + "-victoria-metrics-cluster-vmstorage"},
            {"selector",
             {{"matchLabels",
               {{"app", "vmstorage"},
                {"app.kubernetes.io/instance", release},
                {"app.kubernetes.io/name", "victoria-metrics-cluster"}}}}}}}};
}

std::string helm_node(const std::string &ns, int i, int port, const std::string &release = "vm") {
  return release + "-victoria-metrics-cluster-vmstorage-" + std::to_string(i) + "." + release +
         "-victoria-metrics-cluster-vmstorage." + ns + ".svc.cluster.local.:" + std::to_string(port);
}

json helm_consumer(const std::string &ns, const std::string &app, int nodes, int port,
                   const std::string &release = "vm") {
  json args = json::array();
  for (int i = 0; i < nodes; ++i)
    args.push_back("--storageNode=" + helm_node(ns, i, port, release));
  json labels = {{"app", app},
                 {"app.kubernetes.io/instance", release},
                 {"app.kubernetes.io/name", "victoria-metrics-cluster"}};
  return {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata",
       {{"name", release + "-victoria-metrics-cluster-" + app},
        {"namespace", ns},
        {"uid", ns + "-" + release + "-" + app + "-uid"},
        {"labels", labels}}},
      {"spec",
       {{"replicas", 1},
        {"selector", {{"matchLabels", labels}}},
        {"template",
         {{"metadata", {{"labels", labels}}}, {"spec", {{"containers", {{{"name", app}, {"args", args}}}}}}}}}}};
}

json pod_of(const json &deploy, const std::string &name, bool ready = true) {
  json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", name},
              {"namespace", deploy["metadata"]["namespace"]},
              {"labels", deploy["spec"]["selector"]["matchLabels"]},
              {"ownerReferences",
               {{{"kind", "ReplicaSet"}, {"name", deploy["metadata"]["name"].get<std::string>() + "-5d9f"}, {"uid", "rs"}}}}}},
            {"spec", deploy["spec"]["template"]["spec"]},
            {"status",
             {{"phase", "Running"},
              {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
  return p;
}

} // namespace

namespace {

// Storage StatefulSet s (headless service s) with pods s-0 .. s-2 in namespace ns.
model::NameContext storage_s() {
  model::NameContext names;
  names.namespace_ = "ns";
  names.headless_services = {"s"};
  names.storage.workload = "s";
  names.storage.namespace_ = "ns";
  names.storage.subdomain = "s";
  names.storage.pods = {"s-0", "s-1", "s-2"};
  return names;
}

const std::vector<model::NodeName> kS01_10 = {
    {"s-0", "s", "ns", "8400"}, {"s-1", "s", "ns", "8400"}, {"s-10", "s", "ns", "8400"}};

} // namespace

TEST_CASE("spell_like keeps the existing spelling, trailing dot included") {
  auto out = spell_like({"s-0.s.ns.svc.cluster.local.:8400"}, kS01_10, model::Spelling::Namespace, storage_s());
  CHECK(out == std::vector<std::string>{"s-0.s.ns.svc.cluster.local.:8400", "s-1.s.ns.svc.cluster.local.:8400",
                                        "s-10.s.ns.svc.cluster.local.:8400"});
  CHECK(spell_like({"s-1.s:8400"}, kS01_10, model::Spelling::Namespace, storage_s()) ==
        std::vector<std::string>{"s-0.s:8400", "s-1.s:8400", "s-10.s:8400"});
}

TEST_CASE("spell_like falls back to the layout default without a usable entry") {
  auto out = spell_like({"other:8400", "s-x.s:8400"}, {{"s-0", "s", "ns", "8401"}, {"s-2", "s", "ns", "8401"}},
                        model::Spelling::Namespace, storage_s());
  CHECK(out == std::vector<std::string>{"s-0.s.ns:8401", "s-2.s.ns:8401"});
}

TEST_CASE("spell_like learns nothing from an entry that names a storage pod through the wrong service") {
  // Before, the text after the ordinal was copied: every expected node became "s-<i>.wrongsvc.otherns", as
  // unreachable as the entry, and the list compared InSync with itself.
  for (const char *wrong : {"s-0.wrongsvc.otherns:8400", "s-0.s.otherns:8400", "s-0.nonexistent-svc.ns.svc:8400",
                            "s-0.s.ns.svc.example.org:8400", "s-0:8400"}) {
    CAPTURE(wrong);
    CHECK(spell_like({wrong}, {{"s-0", "s", "ns", "8400"}}, model::Spelling::FqdnDot, storage_s()) ==
          std::vector<std::string>{"s-0.s.ns.svc.cluster.local.:8400"});
  }
  // The first entry that reaches a pod gives the style, wherever it is in the list.
  CHECK(spell_like({"s-0.wrongsvc.otherns:8400", "s-1.s.ns.svc:8400"}, {{"s-0", "s", "ns", "8400"}},
                   model::Spelling::FqdnDot, storage_s()) == std::vector<std::string>{"s-0.s.ns.svc:8400"});
}

TEST_CASE("spell_like: KubeBlocks pod services keep their short form") {
  auto names = storage_s();
  names.storage.subdomain = "s-headless";
  names.headless_services = {"s-headless"};
  names.storage.pod_services = {{"s-0", "s-0"}, {"s-1", "s-1"}, {"s-2", "s-2"}};
  const std::vector<model::NodeName> nodes = {{{}, "s-0", "ns", "8400"}, {{}, "s-1", "ns", "8400"}};
  CHECK(spell_like({"s-0:8400"}, nodes, model::Spelling::Fqdn, names) ==
        std::vector<std::string>{"s-0:8400", "s-1:8400"});
  // The pod's own name under the headless service reaches it too, so it lends its style.
  CHECK(spell_like({"s-1.s-headless.ns.svc:8400"}, nodes, model::Spelling::Short, names) ==
        std::vector<std::string>{"s-0.ns.svc:8400", "s-1.ns.svc:8400"});
}

TEST_CASE("parse_ordinals_text") {
  CHECK(parse_ordinals_text("0, 3,5") == std::vector<int>{0, 3, 5});
  CHECK(parse_ordinals_text("") == std::vector<int>{});
  CHECK_THROWS_WITH_AS(parse_ordinals_text("1,x"), "ordinal list \"1,x\": \"x\" is not a non-negative integer",
                       ParseError);
  CHECK_THROWS_AS(parse_ordinals_text("-1"), ParseError);
}

TEST_CASE("parse_relation") {
  auto r = parse_relation("consumer=deployment/vminsert,storage=statefulset/vmstorage,role=vminsert,port=8410,"
                          "service=vmstorage-hl,exclude=1;3");
  CHECK(r.consumer == "deployment/vminsert");
  CHECK(r.storage == "statefulset/vmstorage");
  CHECK(r.role == "vminsert");
  CHECK(r.port == "8410");
  CHECK(r.service == "vmstorage-hl");
  CHECK(r.exclude == std::vector<int>{1, 3});
  auto minimal = parse_relation("storage=statefulset/s,consumer=statefulset/c");
  CHECK(minimal.consumer == "statefulset/c");
  CHECK(minimal.role.empty());
  CHECK(minimal.exclude.empty());
  CHECK_THROWS_WITH_AS(parse_relation("consumer=deployment/vminsert"),
                       "--relation \"consumer=deployment/vminsert\": needs consumer=<kind>/<name> and "
                       "storage=<kind>/<name>",
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_relation("consumer=d/a,storage=s/b,role=vmstorage"),
                       "--relation: role \"vmstorage\" must be vminsert or vmselect", UsageError);
  CHECK_THROWS_WITH_AS(parse_relation("consumer=d/a,storage"),
                       "--relation \"consumer=d/a,storage\": \"storage\" is "
                       "not key=value",
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_relation("consumer=d/a,storage=s/b,colour=red"),
                       "--relation: unknown key \"colour\" (consumer, storage, role, port, service, exclude)",
                       UsageError);
  CHECK_THROWS_AS(parse_relation("consumer=d/a,storage=s/b,exclude=1;x"), ParseError);
}

TEST_CASE("helm layout: expected list follows declared replicas, not existing pods") {
  Inventory inv;
  inv.statefulsets.push_back(helm_sts("mon", 3));
  inv.deployments.push_back(helm_consumer("mon", "vminsert", 2, 8400));
  inv.deployments.push_back(helm_consumer("mon", "vmselect", 3, 8401));
  inv.pods.emplace_back(pod_of(inv.deployments[0], "vm-victoria-metrics-cluster-vminsert-5d9f-abcde"));
  inv.pods.emplace_back(pod_of(inv.deployments[1], "vm-victoria-metrics-cluster-vmselect-5d9f-fghij"));
  Scope scope;
  scope.namespace_ = "mon";
  auto specs = discover_clusters(inv, scope);
  REQUIRE(specs.size() == 1);
  CHECK(specs[0].layout == model::Layout::Helm);
  CHECK(specs[0].name == "vm");
  REQUIRE(specs[0].consumers.size() == 2);
  const auto &ins = specs[0].consumers[0].role == model::Role::Insert ? specs[0].consumers[0] : specs[0].consumers[1];
  CHECK(ins.expected == std::vector<std::string>{helm_node("mon", 0, 8400), helm_node("mon", 1, 8400),
                                                 helm_node("mon", 2, 8400)});
  CHECK(ins.pods.size() == 1);

  auto report = compute_report(inv, scope);
  REQUIRE(report.clusters.size() == 1);
  const auto &c = report.clusters[0];
  CHECK(c.status == model::ClusterStatus::Drift);
  const auto &cins = c.consumers[0].role == model::Role::Insert ? c.consumers[0] : c.consumers[1];
  CHECK(cins.source_drift);
  CHECK(cins.source_missing == std::vector<std::string>{helm_node("mon", 2, 8400)});
  REQUIRE(cins.pods.size() == 1);
  CHECK(cins.pods[0].status == model::PodStatus::Stale);
  CHECK(cins.pods[0].missing == std::vector<std::string>{helm_node("mon", 2, 8400)});
  const auto &csel = c.consumers[0].role == model::Role::Select ? c.consumers[0] : c.consumers[1];
  CHECK_FALSE(csel.source_drift);
  CHECK(csel.pods[0].status == model::PodStatus::InSync);
}

namespace {

// compute_report of a Helm release in namespace mon, offline, whose vminsert lists `entries`.
model::ConsumerDrift helm_insert_listing(const std::vector<std::string> &entries,
                                         const std::string &cluster_domain = "cluster.local") {
  Inventory inv;
  inv.offline = true;
  inv.statefulsets.push_back(helm_sts("mon", 2));
  auto ins = helm_consumer("mon", "vminsert", 0, 8400);
  auto &args = ins["spec"]["template"]["spec"]["containers"][0]["args"];
  for (const auto &e : entries) args.push_back("--storageNode=" + e);
  inv.deployments.push_back(ins);
  Scope scope;
  scope.cluster_domain = cluster_domain;
  auto report = compute_report(inv, scope);
  REQUIRE(report.clusters.size() == 1);
  REQUIRE(report.clusters[0].consumers.size() == 1);
  auto cons = report.clusters[0].consumers[0];
  CHECK(report.clusters[0].status ==
        (cons.source_drift ? model::ClusterStatus::Drift : model::ClusterStatus::InSync));
  return cons;
}

} // namespace

TEST_CASE("helm layout: the right pods through the wrong Service or namespace are not those nodes") {
  const std::string sts = "vm-victoria-metrics-cluster-vmstorage";
  SUBCASE("another Service in another namespace") {
    auto wrong = [&](int i) {
      return sts + "-" + std::to_string(i) + ".nonexistent-svc.nonexistent-ns.svc.cluster.local.:8400";
    };
    auto cons = helm_insert_listing({wrong(0), wrong(1)});
    CHECK(cons.expected == std::vector<std::string>{helm_node("mon", 0, 8400), helm_node("mon", 1, 8400)});
    CHECK(cons.source_drift);
    CHECK(cons.source_missing == cons.expected);
    CHECK(cons.source_unexpected == std::vector<std::string>{wrong(0), wrong(1)});
    CHECK(cons.source_evidence ==
          std::vector<std::string>{
              wrong(0) + " names no storage pod: service nonexistent-svc in namespace nonexistent-ns is not " +
                  sts + "'s headless service (" + sts + " in namespace mon)",
              wrong(1) + " names no storage pod: service nonexistent-svc in namespace nonexistent-ns is not " +
                  sts + "'s headless service (" + sts + " in namespace mon)"});
  }
  SUBCASE("a misspelt Service: the right entry keeps its spelling and gives the style") {
    const auto right = sts + "-0." + sts + ".mon:8400";
    const auto misspelt = sts + "-1.vm-victoria-metrics-cluster-vmstorge.mon:8400";
    auto cons = helm_insert_listing({right, misspelt});
    CHECK(cons.expected == std::vector<std::string>{right, sts + "-1." + sts + ".mon:8400"});
    CHECK(cons.source_missing == std::vector<std::string>{sts + "-1." + sts + ".mon:8400"});
    CHECK(cons.source_unexpected == std::vector<std::string>{misspelt});
    REQUIRE(cons.source_evidence.size() == 1);
    CHECK(cons.source_evidence[0].starts_with(misspelt + " names no storage pod: service "
                                                         "vm-victoria-metrics-cluster-vmstorge in namespace mon"));
  }
  SUBCASE("every in-cluster spelling of the right pods is InSync") {
    auto cons =
        helm_insert_listing({sts + "-0." + sts + ":8400", sts + "-1." + sts + ".mon.svc.cluster.local:8400"});
    CHECK_FALSE(cons.source_drift);
    CHECK(cons.source_evidence.empty());
  }
}

TEST_CASE("helm layout: names are FQDNs under the cluster domain given (--cluster-domain)") {
  const std::string sts = "vm-victoria-metrics-cluster-vmstorage";
  const auto node = [&](int i, const std::string &domain) {
    return sts + "-" + std::to_string(i) + "." + sts + ".mon.svc." + domain + ".:8400";
  };
  auto cons = helm_insert_listing({node(0, "example.org"), node(1, "example.org")}, "example.org");
  CHECK_FALSE(cons.source_drift);
  CHECK(cons.expected == std::vector<std::string>{node(0, "example.org"), node(1, "example.org")});
  // The chart's default domain is another domain there: the cluster's DNS does not serve it.
  cons = helm_insert_listing({node(0, "cluster.local"), node(1, "example.org")}, "example.org");
  CHECK(cons.expected == std::vector<std::string>{node(0, "example.org"), node(1, "example.org")});
  CHECK(cons.source_unexpected == std::vector<std::string>{node(0, "cluster.local")});
  REQUIRE(cons.source_evidence.size() == 1);
  CHECK(cons.source_evidence[0] == node(0, "cluster.local") + " names no storage pod: " + sts + "-0." + sts +
                                       ".mon.svc.cluster.local. is not a name the cluster's DNS serves (cluster "
                                       "domain example.org)");
}

TEST_CASE("a discovery source (srv+, file:) is no source drift; its pods are Discovery") {
  for (const char *entry :
       {"srv+_vminsert._tcp.vm-victoria-metrics-cluster-vmstorage.mon.svc", "file:/etc/nodes"}) {
    CAPTURE(entry);
    auto cons = helm_insert_listing({entry});
    CHECK(cons.source.discovery);
    CHECK_FALSE(cons.source_drift);
    CHECK(cons.source_missing.empty());
    CHECK(cons.source_unexpected.empty());
  }
}

TEST_CASE("generic layout: ConfigMap-fed list, pod started before the ConfigMap changed is Stale") {
  Inventory inv;
  json labels = {{"app", "vminsert"}};
  inv.statefulsets.push_back({{"kind", "StatefulSet"},
                              {"metadata", {{"name", "vmstorage"}, {"namespace", "ns"}, {"uid", "s"}}},
                              {"spec", {{"replicas", 3}, {"serviceName", "vmstorage"}}}});
  json container = {{"name", "vminsert"},
                    {"args", {"-storageNode=$(VM_STORAGE_URLS)"}},
                    {"envFrom", {{{"configMapRef", {{"name", "vm-storage"}}}}}}};
  inv.deployments.push_back({{"kind", "Deployment"},
                             {"metadata",
                              {{"name", "vminsert"},
                               {"namespace", "ns"},
                               {"uid", "d"},
                               {"annotations", {{"vmsync.io/storage-workload", "statefulset/vmstorage"}}}}},
                             {"spec",
                              {{"selector", {{"matchLabels", labels}}},
                               {"template", {{"spec", {{"containers", {container}}}}}}}}});
  inv.configmaps.push_back(
      {{"kind", "ConfigMap"},
       {"metadata",
        {{"name", "vm-storage"},
         {"namespace", "ns"},
         {"managedFields",
          {{{"manager", "kubectl"},
            {"time", "2026-11-26T10:00:00Z"},
            {"fieldsV1", {{"f:data", {{"f:VM_STORAGE_URLS", json::object()}}}}}}}}}},
       {"data",
        {{"VM_STORAGE_URLS", "vmstorage-0.vmstorage.ns:8400,vmstorage-1.vmstorage.ns:8400,vmstorage-2.vmstorage.ns:8400"}}}});
  auto mkpod = [&](const std::string &name, const std::string &started) {
    json p = {{"metadata",
               {{"name", name},
                {"namespace", "ns"},
                {"labels", labels},
                {"ownerReferences", {{{"kind", "ReplicaSet"}, {"name", "vminsert-abc"}, {"uid", "rs"}}}}}},
              {"spec", {{"containers", {container}}}},
              {"status",
               {{"phase", "Running"},
                {"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
                {"containerStatuses", {{{"name", "vminsert"}, {"state", {{"running", {{"startedAt", started}}}}}}}}}}};
    return p;
  };
  inv.pods.emplace_back(mkpod("vminsert-abc-old", "2026-11-26T09:00:00Z"));
  inv.pods.emplace_back(mkpod("vminsert-abc-new", "2026-11-26T11:00:00Z"));
  inv.pods.emplace_back(mkpod("vminsert-abc-same", "2026-11-26T10:00:00Z"));
  Scope scope;
  scope.namespace_ = "ns";
  auto report = compute_report(inv, scope);
  REQUIRE(report.clusters.size() == 1);
  const auto &c = report.clusters[0];
  CHECK(c.layout == model::Layout::Generic);
  REQUIRE(c.consumers.size() == 1);
  const auto &cons = c.consumers[0];
  CHECK(cons.role == model::Role::Insert);
  CHECK(cons.source.kind == model::ListSource::Kind::ConfigMap);
  CHECK(cons.source.object.name == "vm-storage");
  CHECK(cons.source.key == "VM_STORAGE_URLS");
  CHECK_FALSE(cons.source_drift);
  REQUIRE(cons.pods.size() == 3);
  CHECK(cons.pods[0].name == "vminsert-abc-new");
  CHECK(cons.pods[0].status == model::PodStatus::InSync);
  CHECK(cons.pods[1].name == "vminsert-abc-old");
  CHECK(cons.pods[1].status == model::PodStatus::Stale);
  CHECK(cons.pods[1].running == nullptr);
  REQUIRE(cons.pods[1].evidence.size() == 1);
  CHECK(cons.pods[1].evidence[0] ==
        "container vminsert started 2026-11-26T09:00:00Z, before configmap vm-storage key VM_STORAGE_URLS changed at "
        "2026-11-26T10:00:00Z: it runs with the earlier value");
  CHECK(cons.pods[2].status == model::PodStatus::Unknown);
  CHECK(c.status == model::ClusterStatus::Drift);
}

TEST_CASE("offline manifests: helm template output with a scaled StatefulSet fails") {
  auto inv = read_manifests({VMSYNC_TEST_DATA "/manifests/helm-scaled.yaml"}, "mon");
  CHECK(inv.offline);
  Scope scope;
  scope.namespace_ = "mon";
  auto report = compute_report(inv, scope);
  REQUIRE(report.clusters.size() == 1);
  CHECK(report.clusters[0].status == model::ClusterStatus::Drift);
  for (const auto &cons : report.clusters[0].consumers) {
    CHECK(cons.source_drift);
    CHECK(cons.pods.empty());
  }
}

TEST_CASE("offline manifests: unreadable YAML names the file and line") {
  CHECK_THROWS_WITH_AS(read_manifests({VMSYNC_TEST_DATA "/manifests/broken.yaml"}, "x"),
                       doctest::Contains("broken.yaml: line 4, column 1: end of sequence flow not found"), ParseError);
}

TEST_CASE("pods of a Deployment are its ReplicaSets' pods, not those of a Deployment whose name it prefixes") {
  // Two Helm releases' consumers in one namespace: "vm" and "vm-victoria-metrics-cluster-vminsert-..."-like
  // prefixes are what a name-prefix match would confuse. Labels are equal on purpose: ownership decides.
  Inventory inv;
  inv.statefulsets.push_back(helm_sts("mon", 2));
  auto ins = helm_consumer("mon", "vminsert", 2, 8400);
  inv.deployments.push_back(ins);
  auto longer = ins;
  longer["metadata"]["name"] = "vm-victoria-metrics-cluster-vminsert-canary";
  longer["metadata"]["uid"] = "canary-uid";
  inv.deployments.push_back(longer);
  inv.pods.emplace_back(pod_of(inv.deployments[0], "vm-victoria-metrics-cluster-vminsert-5d9f-abcde"));
  inv.pods.emplace_back(pod_of(inv.deployments[1], "vm-victoria-metrics-cluster-vminsert-canary-5d9f-xyzab"));
  auto gone = pod_of(inv.deployments[0], "vm-victoria-metrics-cluster-vminsert-5d9f-gone1");
  gone["metadata"]["deletionTimestamp"] = "2026-11-27T00:00:00Z";
  inv.pods.emplace_back(gone);
  Scope scope;
  scope.namespace_ = "mon";
  auto specs = discover_clusters(inv, scope);
  REQUIRE(specs.size() == 1);
  REQUIRE(specs[0].consumers.size() == 2);
  for (const auto &cons : specs[0].consumers) {
    REQUIRE(cons.pods.size() == 1);
    const auto pod_name = cons.pods[0]->name;
    if (meta_name(*cons.workload) == "vm-victoria-metrics-cluster-vminsert")
      CHECK(pod_name == "vm-victoria-metrics-cluster-vminsert-5d9f-abcde");
    else
      CHECK(pod_name == "vm-victoria-metrics-cluster-vminsert-canary-5d9f-xyzab");
  }
}

TEST_CASE("many namespaces: each Helm cluster gets its own consumers and pods") {
  Inventory inv;
  constexpr int kNamespaces = 40;
  for (int n = 0; n < kNamespaces; ++n) {
    const auto ns = "fleet-" + std::to_string(n);
    inv.statefulsets.push_back(helm_sts(ns, 2 + n % 3));
    inv.deployments.push_back(helm_consumer(ns, "vminsert", 2, 8400));
    inv.deployments.push_back(helm_consumer(ns, "vmselect", 2, 8401));
  }
  for (std::size_t d = 0; d < inv.deployments.size(); ++d)
    for (int k = 0; k < 3; ++k)
      inv.pods.emplace_back(
          pod_of(inv.deployments[d], meta_name(inv.deployments[d]) + "-5d9f-p" + std::to_string(k)));
  Scope scope;
  scope.all_namespaces = true;
  auto specs = discover_clusters(inv, scope);
  REQUIRE(specs.size() == kNamespaces);
  for (const auto &c : specs) {
    REQUIRE(c.consumers.size() == 2);
    for (const auto &cons : c.consumers) {
      CHECK(meta_namespace(*cons.workload) == c.namespace_);
      REQUIRE(cons.pods.size() == 3);
      for (const auto *p : cons.pods)
        CHECK(p->namespace_ == c.namespace_);
    }
    const int n = std::stoi(c.namespace_.substr(6));
    CHECK(c.consumers[0].expected.size() == static_cast<std::size_t>(2 + n % 3));
  }
}

TEST_CASE("may_be_consumer: every consumer the layouts find, and not an unrelated workload") {
  Scope scope;
  CHECK(may_be_consumer(helm_consumer("mon", "vminsert", 1, 8400), scope));
  CHECK(may_be_consumer(helm_sts("mon", 1), scope)); // Helm storage: labelled as the chart, kept too
  auto w = json{{"metadata", {{"name", "vminsert-prod"}, {"namespace", "mon"}}}};
  CHECK(may_be_consumer(w, scope)); // operator
  w["metadata"]["name"] = "prod-vmselect";
  CHECK(may_be_consumer(w, scope)); // operator, useLegacyNaming
  w["metadata"]["name"] = "web";
  CHECK_FALSE(may_be_consumer(w, scope));
  w["metadata"]["annotations"] = {{"vmsync.io/storage-workload", "statefulset/store"}};
  CHECK(may_be_consumer(w, scope)); // generic, by annotation
  w["metadata"].erase("annotations");
  scope.relations.push_back(parse_relation("consumer=deployment/web,storage=statefulset/store"));
  CHECK(may_be_consumer(w, scope)); // generic, by --relation
  w["metadata"]["name"] = "vminsertx";
  CHECK_FALSE(may_be_consumer(w, scope));
}

TEST_CASE("compute_report of an Inventory given up: the same report, each namespace freed when it is done") {
  // Two releases in "b" whose objects are listed apart (another namespace's between them, as no list orders
  // them), one in "a": a namespace freed after its first cluster, or before discovery of its last, would change
  // the second release's pods.
  Inventory inv;
  for (const auto &[ns, release] :
       std::vector<std::pair<std::string, std::string>>{{"b", "one"}, {"a", "vm"}, {"b", "two"}}) {
    inv.statefulsets.push_back(helm_sts(ns, 3, release));
    inv.deployments.push_back(helm_consumer(ns, "vminsert", release == "two" ? 2 : 3, 8400, release));
    inv.deployments.push_back(helm_consumer(ns, "vmselect", 3, 8401, release));
  }
  for (std::size_t d = 0; d < inv.deployments.size(); ++d)
    for (const char *suffix : {"-5d9f-abcde", "-5d9f-fghij"})
      inv.pods.emplace_back(pod_of(inv.deployments[d], meta_name(inv.deployments[d]) + suffix));
  Scope scope;
  scope.all_namespaces = true;

  const auto kept = compute_report(inv, scope);
  REQUIRE(kept.clusters.size() == 3);
  CHECK(kept.summary.drifted == 1); // release "two": its vminsert pods miss a node
  CHECK(kept.summary.pods == 12);
  std::ostringstream want;
  report::render_json(kept, want);

  Inventory given = inv;
  const auto freed = compute_report(std::move(given), scope);
  std::ostringstream got;
  report::render_json(freed, got);
  CHECK(got.str() == want.str());
  // What was given up holds nothing of the namespaces computed; its lists keep their sizes.
  REQUIRE(given.statefulsets.size() == 3);
  CHECK(std::all_of(given.statefulsets.begin(), given.statefulsets.end(),
                    [](const json &o) { return o.is_null(); }));
  CHECK(
      std::all_of(given.deployments.begin(), given.deployments.end(), [](const json &o) { return o.is_null(); }));
  REQUIRE(given.pods.size() == 12);
  for (const auto &p : given.pods) {
    CHECK(p.name.empty());
    CHECK(p.labels.empty());
    CHECK(p.owners.empty());
    CHECK(p.spec->empty());
    CHECK_FALSE(p.namespace_.empty());
  }
}

TEST_CASE(
    "discover_clusters of one namespace: exactly that namespace's clusters of the whole, in the same order") {
  Inventory inv;
  // Generic first (a Deployment naming a missing StatefulSet: an error cluster), then Helm releases in two
  // namespaces listed apart, and a generic pair beside a Helm release.
  json orphan = helm_consumer("b", "vminsert", 1, 8400, "x");
  orphan["metadata"]["labels"] = json::object();
  orphan["metadata"]["annotations"] = {{"vmsync.io/storage-workload", "statefulset/missing"}};
  inv.deployments.push_back(orphan);
  for (const auto &[ns, release] :
       std::vector<std::pair<std::string, std::string>>{{"b", "one"}, {"a", "vm"}, {"b", "two"}}) {
    inv.statefulsets.push_back(helm_sts(ns, 2, release));
    inv.deployments.push_back(helm_consumer(ns, "vmselect", 2, 8401, release));
  }
  Scope scope;
  scope.all_namespaces = true;
  auto key = [](const ClusterSpec &c) {
    std::string k = c.namespace_ + "/" + c.name + "/" + std::string(model::to_string(c.layout)) + "/" +
                    std::to_string(c.consumers.size()) + "/" + std::to_string(c.errors.size());
    for (const auto &cons : c.consumers)
      k += "/" + meta_name(*cons.workload);
    return k;
  };
  std::vector<std::string> whole;
  for (const auto &c : discover_clusters(inv, scope))
    whole.push_back(key(c));
  REQUIRE(whole.size() == 4);
  for (const std::string ns : {"a", "b", "none"}) {
    CAPTURE(ns);
    std::vector<std::string> want, got;
    std::copy_if(whole.begin(), whole.end(), std::back_inserter(want),
                 [&](const std::string &k) { return k.starts_with(ns + "/"); });
    for (const auto &c : discover_clusters(inv, scope, &ns))
      got.push_back(key(c));
    CHECK(got == want);
  }
  CHECK(whole[0].starts_with("b/one/helm/1/0/"));
  CHECK(std::count_if(whole.begin(), whole.end(),
                      [](const std::string &k) { return k.starts_with("b/missing/generic/0/1"); }) == 1);
}
