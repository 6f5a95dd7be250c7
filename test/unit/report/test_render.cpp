#include "vmsync/report/render.hpp"

#include "sample_report.hpp"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace vmsync;
using namespace vmsync::report;

namespace {

// One cluster, built by hand so the renderer is tested apart from the model.
model::DriftReport small_report() {
  model::ClusterDrift c;
  c.namespace_ = "mon";
  c.name = "vm";
  c.layout = model::Layout::Generic;
  c.status = model::ClusterStatus::Drift;
  c.storage = {{"StatefulSet", "vmstorage", "mon"}, 2, 2, 2, {"vmstorage-0", "vmstorage-1"}};
  model::ConsumerDrift d;
  d.role = model::Role::Select;
  d.workload = {"Deployment", "vmselect", "mon"};
  d.source.kind = model::ListSource::Kind::Unknown;
  d.expected = {"vmstorage-0.vmstorage:8401", "vmstorage-1.vmstorage:8401"};
  d.mixed_spellings = true;
  d.spelling_variants = {
      {"vmstorage-0.vmstorage.mon:8401", {"vmstorage-0.vmstorage.mon:8401", "vmstorage-0.vmstorage:8401"}}};
  model::PodDrift a;
  a.name = "vmselect-a";
  a.status = model::PodStatus::Stale;
  a.running =
      std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"vmstorage-0.vmstorage.mon:8401"});
  a.missing = {"vmstorage-1.vmstorage:8401"};
  model::PodDrift b;
  b.name = "vmselect-b";
  b.status = model::PodStatus::Unknown;
  b.evidence = {"env VM_storageNode comes from secret vm"};
  d.pods = {a, b};
  c.consumers = {d};
  model::DriftReport r;
  r.clusters = {c};
  r.summary = model::summarize(r.clusters);
  return r;
}

// Two vminsert Deployments (one per zone) in sync each, but spelling node 0 differently; two vmselect ones too.
model::DriftReport split_report() {
  auto c = test::spelling_split_cluster();
  c.layout = model::Layout::Helm;
  c.storage = {{"StatefulSet", "vmstorage", "mon"}, 1, 1, 1, {"vmstorage-0"}};
  c.status = model::cluster_status(c);
  model::DriftReport r;
  r.clusters = {c};
  r.summary = model::summarize(r.clusters);
  return r;
}

std::string rendered(const model::DriftReport &r, RenderOptions o) {
  std::ostringstream out;
  render(r, o, out);
  return out.str();
}

RenderOptions table(bool wide = false, bool summary = false, bool no_headers = false, bool color = false) {
  RenderOptions o;
  o.wide = wide;
  o.summary = summary;
  o.no_headers = no_headers;
  o.color = color;
  return o;
}

const char *const kSmallJson = R"j({
  "apiVersion": "vmsync.io/v1",
  "kind": "DriftReport",
  "clusters": [
    {
      "namespace": "mon",
      "name": "vm",
      "layout": "generic",
      "status": "Drift",
      "storage": {
        "kind": "StatefulSet",
        "name": "vmstorage",
        "declaredReplicas": 2,
        "existingPods": 2,
        "readyReplicas": 2,
        "nodes": [
          "vmstorage-0",
          "vmstorage-1"
        ]
      },
      "consumers": [
        {
          "role": "vmselect",
          "workload": {
            "kind": "Deployment",
            "name": "vmselect"
          },
          "source": {
            "kind": "unknown",
            "description": "",
            "object": null,
            "key": "",
            "entries": null
          },
          "expected": [
            "vmstorage-0.vmstorage:8401",
            "vmstorage-1.vmstorage:8401"
          ],
          "sourceDrift": {
            "drift": false,
            "missing": [],
            "unexpected": []
          },
          "duplicates": [],
          "emptyEntries": [],
          "mixedSpellings": [
            {
              "node": "vmstorage-0.vmstorage.mon:8401",
              "spellings": [
                "vmstorage-0.vmstorage.mon:8401",
                "vmstorage-0.vmstorage:8401"
              ]
            }
          ],
          "pods": [
            {
              "name": "vmselect-a",
              "status": "Stale",
              "running": [
                "vmstorage-0.vmstorage.mon:8401"
              ],
              "missing": [
                "vmstorage-1.vmstorage:8401"
              ],
              "unexpected": [],
              "evidence": []
            },
            {
              "name": "vmselect-b",
              "status": "Unknown",
              "running": null,
              "missing": [],
              "unexpected": [],
              "evidence": [
                "env VM_storageNode comes from secret vm"
              ]
            }
          ]
        }
      ],
      "spellingSplits": [],
      "errors": [],
      "warnings": []
    }
  ],
  "summary": {
    "clusters": 1,
    "inSync": 0,
    "drifted": 1,
    "unknown": 0,
    "errors": 0,
    "pods": 2,
    "stalePods": 1,
    "unknownPods": 1,
    "discoveryPods": 0
  }
}
)j";

} // namespace

TEST_CASE("render json: exact document") {
  RenderOptions o;
  o.format = Format::Json;
  CHECK(rendered(small_report(), o) == kSmallJson);
}

TEST_CASE("render json: an empty report") {
  RenderOptions o;
  o.format = Format::Json;
  CHECK(nlohmann::json::parse(rendered(model::DriftReport{}, o)) ==
        nlohmann::json::parse(R"j({"apiVersion":"vmsync.io/v1","kind":"DriftReport","clusters":[],
          "summary":{"clusters":0,"inSync":0,"drifted":0,"unknown":0,"errors":0,"pods":0,"stalePods":0,
                     "unknownPods":0,"discoveryPods":0}})j"));
}

TEST_CASE("render json: written cluster by cluster, the same text as the whole tree dumped") {
  RenderOptions o;
  o.format = Format::Json;
  auto several = test::sample_report();
  several.clusters.push_back(small_report().clusters.at(0));
  several.clusters.push_back(several.clusters.at(0));
  several.clusters.back().name = "not-utf8-\xff"; // replaced, as the whole dump does
  for (const auto &r : {test::sample_report(), small_report(), several, model::DriftReport{}}) {
    const auto whole = to_json(r).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    CHECK(rendered(r, o) == whole);
  }
}

TEST_CASE("render yaml: the same tree as json") {
  RenderOptions o;
  o.format = Format::Yaml;
  const auto text = rendered(small_report(), o);
  CHECK(text.starts_with("apiVersion: vmsync.io/v1\nkind: DriftReport\nclusters:\n  - namespace: mon\n"));
  CHECK(text.find("            running: null\n") != std::string::npos);
  CHECK(text.find("        duplicates: []\n") != std::string::npos);
  CHECK(text.find("          key: \"\"\n") != std::string::npos);

  // Structurally equal to the JSON document.
  std::function<nlohmann::json(const YAML::Node &)> to_json = [&](const YAML::Node &n) -> nlohmann::json {
    switch (n.Type()) {
    case YAML::NodeType::Map: {
      auto j = nlohmann::json::object();
      for (const auto &kv : n)
        j[kv.first.as<std::string>()] = to_json(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      auto j = nlohmann::json::array();
      for (const auto &v : n)
        j.push_back(to_json(v));
      return j;
    }
    case YAML::NodeType::Null: return nullptr;
    default: break;
    }
    const auto s = n.as<std::string>();
    if (n.Tag() == "!") // quoted: always a string
      return s;
    if (s == "true" || s == "false") return s == "true";
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) return std::stoi(s);
    return s;
  };
  CHECK(to_json(YAML::Load(text)) == nlohmann::json::parse(kSmallJson));
}

TEST_CASE("render yaml: strings that look like other types are quoted") {
  auto r = small_report();
  r.clusters[0].name = "true";
  r.clusters[0].namespace_ = "8400";
  r.clusters[0].warnings = {"null", "no", ""};
  RenderOptions o;
  o.format = Format::Yaml;
  const auto text = rendered(r, o);
  CHECK(text.find("- namespace: \"8400\"\n    name: \"true\"\n") != std::string::npos);
  CHECK(text.find("    warnings:\n      - \"null\"\n      - \"no\"\n      - \"\"\n") != std::string::npos);
}

TEST_CASE("render table: exact output, grouped per cluster") {
  CHECK(rendered(test::sample_report(), table()) ==
        "apps/metrics   helm   InSync   storage statefulset/metrics-vmstorage ready 1/1\n"
        "  ROLE       POD                           STATUS      MISSING               UNEXPECTED\n"
        "  vminsert   metrics-vminsert-5d8f-abcde   Discovery   -                     -\n"
        "\n"
        "mon/vm   kubeblocks   Drift   storage instanceset/vm-vmstorage ready 2/3\n"
        "  ROLE       POD                           STATUS      MISSING               UNEXPECTED\n"
        "  vminsert   vm-vminsert-0                 Stale       vm-vmstorage-2:8400   -\n"
        "  vminsert   vm-vminsert-1                 Stale       ?                     ?\n"
        "  vminsert   vm-vminsert-10                InSync      -                     -\n"
        "  vmselect   vm-vmselect-0                 InSync      -                     -\n"
        "  warning: vmstorage: 2 of 3 pods ready\n"
        "  vmselect instanceset/vm-vmselect: configmap/vm-vmselect-env key VMSTORAGE_ADDR is wrong (vmstorage "
        "declares 3, the list has 2): missing "
        "vm-vmstorage-2:8401\n"
        "\n"
        "team-b/vmc   operator   Error   storage statefulset/vmstorage-vmc ready 0/2, 0 pods exist\n"
        "  error: pods is forbidden: cannot list pods in namespace team-b (403)\n"
        "\n"
        "3 clusters: 1 in sync, 1 drifted, 1 failed; 2 of 5 pods stale, 1 using discovery\n");
}

TEST_CASE("render table: wide adds workload, source and evidence") {
  const auto text = rendered(test::sample_report(), table(true));
  CHECK(text.find("  ROLE       POD                           STATUS      MISSING               UNEXPECTED   "
                  "WORKLOAD                      SOURCE                                         EVIDENCE\n") !=
        std::string::npos);
  CHECK(text.find("  vminsert   vm-vminsert-1                 Stale       ?                     ?            "
                  "instanceset/vm-vminsert       configmap/vm-vminsert-env key VMSTORAGE_ADDR   container started "
                  "2026-01-01T10:00:00Z, before configmap vm-vminsert-env changed at 2026-01-01T11:00:00Z\n") !=
        std::string::npos);
  CHECK(text.find("  vminsert   vm-vminsert-10                InSync      -                     -            "
                  "instanceset/vm-vminsert       configmap/vm-vminsert-env key VMSTORAGE_ADDR   -\n") !=
        std::string::npos);
}

TEST_CASE("render table: summary, one row per consumer") {
  CHECK(rendered(test::sample_report(), table(false, true)) ==
        "apps/metrics   helm   InSync   storage statefulset/metrics-vmstorage ready 1/1\n"
        "  ROLE       WORKLOAD                      STATUS      PODS   STALE   UNKNOWN   SOURCE-DRIFT   MISSING"
        "               UNEXPECTED\n"
        "  vminsert   deployment/metrics-vminsert   Discovery   1      0       0         no             -"
        "                     -\n"
        "\n"
        "mon/vm   kubeblocks   Drift   storage instanceset/vm-vmstorage ready 2/3\n"
        "  ROLE       WORKLOAD                      STATUS      PODS   STALE   UNKNOWN   SOURCE-DRIFT   MISSING"
        "               UNEXPECTED\n"
        "  vminsert   instanceset/vm-vminsert       Drift       3      2       0         no             "
        "vm-vmstorage-2:8400   -\n"
        "  vmselect   instanceset/vm-vmselect       Drift       1      0       0         yes            "
        "vm-vmstorage-2:8401   -\n"
        "  warning: vmstorage: 2 of 3 pods ready\n"
        "  vmselect instanceset/vm-vmselect: configmap/vm-vmselect-env key VMSTORAGE_ADDR is wrong (vmstorage "
        "declares 3, the list has 2): missing "
        "vm-vmstorage-2:8401\n"
        "\n"
        "team-b/vmc   operator   Error   storage statefulset/vmstorage-vmc ready 0/2, 0 pods exist\n"
        "  error: pods is forbidden: cannot list pods in namespace team-b (403)\n"
        "\n"
        "3 clusters: 1 in sync, 1 drifted, 1 failed; 2 of 5 pods stale, 1 using discovery\n");
}

TEST_CASE("render table: no headers gives one self-contained line per pod and per note, headers dropped") {
  CHECK(rendered(test::sample_report(), table(false, false, true)) ==
        "apps/metrics   vminsert   metrics-vminsert-5d8f-abcde   Discovery   -                     -\n"
        "mon/vm         vminsert   vm-vminsert-0                 Stale       vm-vmstorage-2:8400   -\n"
        "mon/vm         vminsert   vm-vminsert-1                 Stale       ?                     ?\n"
        "mon/vm         vminsert   vm-vminsert-10                InSync      -                     -\n"
        "mon/vm         vmselect   vm-vmselect-0                 InSync      -                     -\n"
        "mon/vm   warning: vmstorage: 2 of 3 pods ready\n"
        "mon/vm   vmselect instanceset/vm-vmselect: configmap/vm-vmselect-env key VMSTORAGE_ADDR is wrong "
        "(vmstorage declares 3, the list has 2): missing "
        "vm-vmstorage-2:8401\n"
        "team-b/vmc   error: pods is forbidden: cannot list pods in namespace team-b (403)\n");
}

TEST_CASE("render table: colour only when enabled, never counted in widths") {
  const auto plain = rendered(small_report(), table());
  CHECK(plain.find('\x1b') == std::string::npos);
  CHECK(plain == "mon/vm   generic   Drift   storage statefulset/vmstorage ready 2/2\n"
                 "  ROLE       POD          STATUS    MISSING                      UNEXPECTED\n"
                 "  vmselect   vmselect-a   Stale     vmstorage-1.vmstorage:8401   -\n"
                 "  vmselect   vmselect-b   Unknown   ?                            ?\n"
                 "  vmselect deployment/vmselect: mixed spellings of vmstorage-0.vmstorage.mon:8401: "
                 "vmstorage-0.vmstorage.mon:8401, vmstorage-0.vmstorage:8401\n"
                 "\n"
                 "1 cluster: 0 in sync, 1 drifted; 1 of 2 pods stale, 1 unknown\n");
  CHECK(rendered(small_report(), table(false, false, false, true)) ==
        "mon/vm   generic   \x1b[31mDrift\x1b[0m   storage statefulset/vmstorage ready 2/2\n"
        "  ROLE       POD          STATUS    MISSING                      UNEXPECTED\n"
        "  vmselect   vmselect-a   \x1b[31mStale\x1b[0m     vmstorage-1.vmstorage:8401   -\n"
        "  vmselect   vmselect-b   \x1b[33mUnknown\x1b[0m   ?                            ?\n"
        "  vmselect deployment/vmselect: mixed spellings of vmstorage-0.vmstorage.mon:8401: "
        "vmstorage-0.vmstorage.mon:8401, vmstorage-0.vmstorage:8401\n"
        "\n"
        "1 cluster: 0 in sync, 1 drifted; 1 of 2 pods stale, 1 unknown\n");
}

TEST_CASE("render table: an empty report prints only the summary line") {
  CHECK(rendered(model::DriftReport{}, table()) == "0 clusters: 0 in sync, 0 drifted; 0 of 0 pods stale\n");
  CHECK(rendered(model::DriftReport{}, table(false, false, true)).empty());
}

TEST_CASE("summary_line") {
  model::Summary s;
  s.clusters = 3;
  s.in_sync = 1;
  s.drifted = 2;
  s.pods = 20;
  s.stale_pods = 4;
  CHECK(summary_line(s) == "3 clusters: 1 in sync, 2 drifted; 4 of 20 pods stale");
  s.unknown = 1;
  s.errors = 2;
  s.unknown_pods = 3;
  s.discovery_pods = 1;
  CHECK(summary_line(s) == "3 clusters: 1 in sync, 2 drifted, 1 unknown, 2 failed; 4 of 20 pods stale, 3 unknown, "
                           "1 using discovery");
  model::Summary one;
  one.clusters = 1;
  one.pods = 1;
  CHECK(summary_line(one) == "1 cluster: 0 in sync, 0 drifted; 0 of 1 pod stale");
}

// The schema is the published contract: it must be a valid draft 2020-12 schema and accept what we render.
// There is no JSON Schema validator for C++ in Debian, so python3-jsonschema does the validation; the case is
// skipped (with a message) where it is not installed.
TEST_CASE("render json: output validates against docs/report-schema.json") {
  const std::filesystem::path schema =
      std::filesystem::path(VMSYNC_TEST_DATA) / ".." / ".." / "docs" / "report-schema.json";
  REQUIRE(std::filesystem::exists(schema));
  std::ifstream in(schema);
  const auto parsed = nlohmann::json::parse(in, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  CHECK(parsed["$schema"] == "https://json-schema.org/draft/2020-12/schema");

  if (std::system("python3 -c 'import jsonschema' >/dev/null 2>&1") != 0) {
    MESSAGE("python3-jsonschema not installed: schema validation skipped");
    return;
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("vmsync-schema-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  RenderOptions o;
  o.format = Format::Json;
  std::vector<std::string> files;
  int i = 0;
  for (const auto &r : {test::sample_report(), small_report(), split_report(), model::DriftReport{}}) {
    files.push_back((dir / ("report-" + std::to_string(i++) + ".json")).string());
    std::ofstream(files.back()) << rendered(r, o);
  }
  std::string cmd = "python3 -c 'import json,sys,jsonschema\n"
                    "s=json.load(open(sys.argv[1]))\n"
                    "jsonschema.Draft202012Validator.check_schema(s)\n"
                    "v=jsonschema.Draft202012Validator(s)\n"
                    "[v.validate(json.load(open(f))) for f in sys.argv[2:]]' '" +
                    schema.string() + "'";
  for (const auto &f : files)
    cmd += " '" + f + "'";
  const int rc = std::system(cmd.c_str());
  std::filesystem::remove_all(dir);
  CHECK(rc == 0);
}

TEST_CASE("render table: addresses of the cluster's own namespace read as pod and port, unless ambiguous") {
  auto r = small_report();
  auto &pod = r.clusters[0].consumers[0].pods[0];
  pod.missing = {"vmstorage-1.vmstorage.mon.svc.cluster.local.:8401", "vmstorage-2.mon:8401",
                 "vmstorage-3.vmstorage.mon.svc:8401"};
  pod.unexpected = {"vmstorage-9.vmstorage.other.svc:8401", "10.0.0.7:8401",
                    "vmstorage-8.vmstorage.mon.example.com:8401"};
  auto text = rendered(r, table());
  CHECK(text.find(
            "   vmstorage-1:8401,vmstorage-2:8401,vmstorage-3:8401   "
            "vmstorage-9.vmstorage.other.svc:8401,10.0.0.7:8401,vmstorage-8.vmstorage.mon.example.com:8401\n") !=
        std::string::npos);
  // -o wide: as written.
  CHECK(rendered(r, table(true)).find("vmstorage-1.vmstorage.mon.svc.cluster.local.:8401,vmstorage-2.mon:8401,") !=
        std::string::npos);
  // Two spellings that would read the same: the cell as written.
  pod.missing = {"vmstorage-1.vmstorage.mon.svc:8401", "vmstorage-1.mon:8401"};
  text = rendered(r, table());
  CHECK(text.find("   vmstorage-1.vmstorage.mon.svc:8401,vmstorage-1.mon:8401   ") != std::string::npos);
}

TEST_CASE("render table: a spelling split names each workload with its spelling; vmselect's is a warning") {
  CHECK(rendered(split_report(), table()) ==
        "mon/vm   helm   Drift   storage statefulset/vmstorage ready 1/1\n"
        "  vminsert workloads spell vmstorage-0.vmstorage.mon:8400 differently: deployment/vminsert-a as "
        "vmstorage-0.vmstorage:8400; deployment/vminsert-b as vmstorage-0.vmstorage.mon.svc.cluster.local:8400 "
        "(vminsert routes series by the exact string, so they write the same series to different nodes)\n"
        "  warning: vmselect workloads spell vmstorage-0.vmstorage.mon:8401 differently: deployment/vmselect-a as "
        "vmstorage-0.vmstorage:8401; deployment/vmselect-b as vmstorage-0.vmstorage.mon:8401 (vmselect queries "
        "every node whatever its spelling: no drift)\n"
        "\n"
        "1 cluster: 0 in sync, 1 drifted; 0 of 0 pods stale\n");
}

TEST_CASE("render json: spellingSplits, drift for vminsert only") {
  RenderOptions o;
  o.format = Format::Json;
  const auto j = nlohmann::json::parse(rendered(split_report(), o));
  CHECK(j["clusters"][0]["status"] == "Drift");
  CHECK(j["clusters"][0]["spellingSplits"] == nlohmann::json::parse(R"j([
    {"role": "vminsert", "node": "vmstorage-0.vmstorage.mon:8400", "drift": true, "workloads": [
      {"kind": "Deployment", "name": "vminsert-a", "spellings": ["vmstorage-0.vmstorage:8400"]},
      {"kind": "Deployment", "name": "vminsert-b", "spellings": ["vmstorage-0.vmstorage.mon.svc.cluster.local:8400"]}]},
    {"role": "vmselect", "node": "vmstorage-0.vmstorage.mon:8401", "drift": false, "workloads": [
      {"kind": "Deployment", "name": "vmselect-a", "spellings": ["vmstorage-0.vmstorage:8401"]},
      {"kind": "Deployment", "name": "vmselect-b", "spellings": ["vmstorage-0.vmstorage.mon:8401"]}]}])j"));
}

TEST_CASE("render table: an entry that reaches no storage pod is shown as written, not as the pod it looks like") {
  auto r = small_report();
  auto &pod = r.clusters[0].consumers[0].pods[0];
  pod.missing = {"vmstorage-1.vmstorage.mon.svc:8401"};
  pod.unexpected = {"vmstorage-1.wrongsvc.mon:8401"};
  pod.evidence = {"vmstorage-1.wrongsvc.mon:8401 names no storage pod: service wrongsvc in namespace mon is not "
                  "vmstorage's headless service (vmstorage in namespace mon)"};
  const auto text = rendered(r, table());
  CHECK(text.find("   vmstorage-1:8401   vmstorage-1.wrongsvc.mon:8401") != std::string::npos);
}

TEST_CASE("render: errors that belong to no cluster are the report's own, in every format") {
  model::DriftReport r;
  r.errors = {"cannot list statefulsets.apps in namespace \"b\": forbidden"};
  model::sort_report(r);
  CHECK(r.summary.errors == 1);
  RenderOptions o;
  o.format = Format::Json;
  const auto doc = nlohmann::json::parse(rendered(r, o));
  CHECK(doc["clusters"].empty());
  CHECK(doc["errors"] == nlohmann::json::array({"cannot list statefulsets.apps in namespace \"b\": forbidden"}));
  CHECK(doc == nlohmann::json::parse(report::to_json(r).dump()));
  CHECK(rendered(r, table()) == "error: cannot list statefulsets.apps in namespace \"b\": forbidden\n"
                                "0 clusters: 0 in sync, 0 drifted, 1 failed; 0 of 0 pods stale\n");
  CHECK(rendered(r, table(false, false, true)) ==
        "error: cannot list statefulsets.apps in namespace \"b\": forbidden\n");
}
