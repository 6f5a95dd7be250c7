// Parse-time field filters: exactly the kept fields survive, whatever the key order and nesting.
#include "../../../src/core/check/field_filter.hpp"

#include <doctest/doctest.h>

using namespace vmsync::check;
using nlohmann::json;

namespace {

// A pod as the API server sends it, with the fields check does not read in between those it does.
const char *kPodList = R"({
  "kind": "PodList", "apiVersion": "v1",
  "metadata": {"resourceVersion": "4711", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", "remainingItemCount": 3},
  "items": [{
    "metadata": {
      "name": "vminsert-0", "namespace": "vm", "uid": "u-1", "resourceVersion": "42",
      "managedFields": [{"manager": "kubelet", "operation": "Update", "fieldsV1": {"f:status": {"f:phase": {}}},
                         "time": "2025-01-01T00:00:00Z"}],
      "labels": {"app": "vminsert"}, "annotations": {"a": "b"},
      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "vminsert-5d8", "uid": "rs-1",
                           "controller": true, "blockOwnerDeletion": true}],
      "generateName": "vminsert-5d8-", "generation": 1,
      "creationTimestamp": "2025-01-01T00:00:00Z"
    },
    "spec": {
      "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "tok", "projected": {"sources": [{"a": [[1, {"b": 2}]]}]}}],
      "initContainers": [{"name": "init", "image": "busybox", "args": ["true"], "resources": {"limits": {"cpu": "1"}}}],
      "containers": [{
        "name": "vminsert", "image": "victoriametrics/vminsert:v1.110.0-cluster",
        "args": ["--storageNode=a:8400", "--storageNode=b:8400"],
        "ports": [{"name": "http", "containerPort": 8480}],
        "env": [{"name": "A", "value": "1"}, {"name": "P", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
        "envFrom": [{"configMapRef": {"name": "env"}}],
        "command": ["/vminsert-prod"]
      }, {"name": "sidecar", "volumeMounts": [{"name": "cache", "mountPath": "/c"}]}],
      "nodeName": "node-1", "tolerations": [{"key": "k", "operator": "Exists"}]
    },
    "status": {
      "phase": "Running", "podIP": "10.0.0.1",
      "conditions": [{"type": "Initialized", "status": "True"},
                     {"type": "Ready", "status": "True", "lastProbeTime": null,
                      "lastTransitionTime": "2025-01-01T00:00:00Z"},
                     {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"}],
      "containerStatuses": [{"name": "vminsert", "image": "x", "imageID": "y", "ready": true, "started": true,
                             "restartCount": 0, "state": {"running": {"startedAt": "2025-01-01T00:00:01Z"}},
                             "lastState": {"terminated": {"exitCode": 1}}}],
      "qosClass": "BestEffort"
    }
  }, {"metadata": {"name": "vminsert-1"}, "spec": {"containers": []}}]
})";

const json kExpected = json::parse(R"({
  "kind": "PodList", "apiVersion": "v1",
  "metadata": {"resourceVersion": "4711", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", "remainingItemCount": 3},
  "items": [{
    "metadata": {
      "name": "vminsert-0", "namespace": "vm", "uid": "u-1", "resourceVersion": "42",
      "labels": {"app": "vminsert"}, "annotations": {"a": "b"},
      "ownerReferences": [{"kind": "ReplicaSet", "name": "vminsert-5d8", "uid": "rs-1"}],
      "creationTimestamp": "2025-01-01T00:00:00Z"
    },
    "spec": {
      "initContainers": [{"name": "init", "args": ["true"]}],
      "containers": [{
        "name": "vminsert", "args": ["--storageNode=a:8400", "--storageNode=b:8400"],
        "env": [{"name": "A", "value": "1"}, {"name": "P", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "envFrom": [{"configMapRef": {"name": "env"}}],
        "command": ["/vminsert-prod"]
      }, {"name": "sidecar"}]
    },
    "status": {
      "phase": "Running",
      "conditions": [{"type": "Ready", "status": "True"}],
      "containerStatuses": [{"name": "vminsert", "state": {"running": {"startedAt": "2025-01-01T00:00:01Z"}}}]
    }
  }, {"metadata": {"name": "vminsert-1"}, "spec": {"containers": []}}]
})");

} // namespace

TEST_CASE("list_filter keeps exactly the pod fields check and fix read, and only the Ready condition") {
  CHECK(json::parse(kPodList, list_filter(pod_fields())) == kExpected);
}

TEST_CASE("list_filter starts afresh for every document it parses") {
  const auto filter = list_filter(pod_fields());
  CHECK(json::parse(kPodList, filter) == kExpected);
  CHECK(json::parse(kPodList, filter) == kExpected);
  // A document cut off inside a dropped value does not leak into the next one.
  CHECK_THROWS(json::parse(R"({"items": [{"spec": {"volumes": [{"name": )", filter));
  CHECK(json::parse(kPodList, filter) == kExpected);
}

TEST_CASE("list_filter keeps an empty or missing items list and the list metadata") {
  const auto filter = list_filter(pod_fields());
  CHECK(json::parse(R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]})", filter) ==
        json::parse(R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]})"));
  CHECK(json::parse(R"({"kind":"PodList","metadata":{},"items":null})", filter) ==
        json::parse(R"({"kind":"PodList","metadata":{},"items":null})"));
}

TEST_CASE("list_filter applies any field tree: everything but exceptions, or only the named children") {
  const auto tree = std::make_shared<const FieldTree>(FieldTree::only(
      "", {FieldTree::everything("metadata", {"managedFields", "annotations"}),
           FieldTree::only("data", {FieldTree::everything("keep")})}));
  const auto got = json::parse(R"({"items": [
      {"metadata": {"annotations": {"x": {"y": [1]}}, "name": "a", "managedFields": [{}]},
       "data": {"drop": {"deep": [{"keep": 1}]}, "keep": {"deep": [1, 2]}}},
      {"data": {"keep": "v"}}]})",
                               list_filter(tree));
  CHECK(got == json::parse(R"({"items": [{"metadata": {"name": "a"}, "data": {"keep": {"deep": [1, 2]}}},
                                          {"data": {"keep": "v"}}]})"));
}

TEST_CASE("workload_fields keeps the spec but the pod template's bulk, which keeps its container order") {
  const auto got = json::parse(R"json({"kind": "DeploymentList", "metadata": {"continue": ""}, "items": [{
      "metadata": {"name": "vminsert", "uid": "d-1", "generation": 3, "managedFields": [{"manager": "helm"}],
                   "annotations": {"vmsync.io/storage-workload": "statefulset/vmstorage"}},
      "spec": {"replicas": 2, "paused": false, "selector": {"matchLabels": {"app": "vminsert"}},
               "strategy": {"type": "RollingUpdate"}, "serviceName": "svc",
               "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
               "template": {"metadata": {"labels": {"app": "vminsert"}, "annotations": {"h": "1"}},
                            "spec": {"volumes": [{"name": "v", "configMap": {"name": "c"}}],
                                     "containers": [{"name": "sidecar", "image": "envoy", "ports": [{"containerPort": 1}]},
                                                    {"name": "vminsert", "args": ["-storageNode=$(A)"],
                                                     "envFrom": [{"configMapRef": {"name": "c"}}],
                                                     "resources": {"limits": {"cpu": "1"}}}],
                                     "affinity": {"podAntiAffinity": {}}}}},
      "status": {"replicas": 2, "updatedReplicas": 1, "observedGeneration": 3}}]})json",
                               list_filter(workload_fields()));
  CHECK(got == json::parse(R"json({"kind": "DeploymentList", "metadata": {"continue": ""}, "items": [{
      "metadata": {"name": "vminsert", "uid": "d-1", "generation": 3,
                   "annotations": {"vmsync.io/storage-workload": "statefulset/vmstorage"}},
      "spec": {"replicas": 2, "paused": false, "selector": {"matchLabels": {"app": "vminsert"}},
               "strategy": {"type": "RollingUpdate"}, "serviceName": "svc",
               "template": {"metadata": {"labels": {"app": "vminsert"}, "annotations": {"h": "1"}},
                            "spec": {"containers": [{"name": "sidecar"},
                                                    {"name": "vminsert", "args": ["-storageNode=$(A)"],
                                                     "envFrom": [{"configMapRef": {"name": "c"}}]}]}}},
      "status": {"replicas": 2, "updatedReplicas": 1, "observedGeneration": 3}}]})json"));
}

TEST_CASE("FieldTree::where keeps the array elements with the field value, whole or filtered") {
  const auto tree = std::make_shared<const FieldTree>(FieldTree::only(
      "", {FieldTree::only("c", {FieldTree::everything("type"), FieldTree::everything("s")}).where("type", "A"),
           FieldTree::everything("d").where("k", "v")}));
  const auto got = json::parse(R"({"items": [{"c": [{"type": "B", "s": 1}, {"type": "A", "s": 2, "x": 3}, {"s": 4},
                                                   {"type": 5}, {"type": "A", "s": [6]}],
                                             "d": [{"k": "v", "n": {"m": 1}}, {"k": "w"}]}]})",
                               list_filter(tree));
  CHECK(got == json::parse(R"({"items": [{"c": [{"type": "A", "s": 2}, {"type": "A", "s": [6]}],
                                          "d": [{"k": "v", "n": {"m": 1}}]}]})"));
}

TEST_CASE("list_filter drops the last-applied-configuration annotation of pods and workloads, nothing else") {
  const auto page = R"({"items": [{"metadata": {"name": "a", "annotations": {
      "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Deployment\"}", "vmsync.io/role": "vminsert"}}}]})";
  const auto want = json::parse(R"({"items": [{"metadata": {"name": "a", "annotations": {"vmsync.io/role": "vminsert"}}}]})");
  CHECK(json::parse(page, list_filter(pod_fields())) == want);
  CHECK(json::parse(page, list_filter(workload_fields())) == want);
}

TEST_CASE("list_filter gives each filtered list item, and only list items, to the item hook") {
  std::vector<std::string> seen;
  const auto filter = list_filter(workload_fields(), [&seen](json &item) {
    seen.push_back(item.at("metadata").value("name", "?"));
    if (item["metadata"]["name"] == "b") item.erase("spec");
    return true;
  });
  const auto got = json::parse(R"({"kind": "List", "metadata": {"continue": "x"}, "items": [
      {"metadata": {"name": "a", "managedFields": [{"m": 1}]}, "spec": {"replicas": 1, "template": {"metadata": {}}}},
      {"metadata": {"name": "b"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"k": "v"}}}}]})",
                               filter);
  CHECK(seen == std::vector<std::string>{"a", "b"});
  CHECK(got == json::parse(R"({"kind": "List", "metadata": {"continue": "x"}, "items": [
      {"metadata": {"name": "a"}, "spec": {"replicas": 1, "template": {"metadata": {}}}},
      {"metadata": {"name": "b"}}]})"));
}

TEST_CASE("list_filter drops the items its hook refuses, and keeps the list's order and metadata") {
  const auto filter = list_filter(workload_fields(), [](const json &item) {
    return item.at("metadata").value("name", "") != "unrelated";
  });
  const auto page = R"({"kind": "DeploymentList", "metadata": {"continue": "x"}, "items": [
      {"metadata": {"name": "a"}, "status": {"replicas": 1, "conditions": [{"type": "Available"}]}},
      {"metadata": {"name": "unrelated"}, "spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}},
      {"metadata": {"name": "c"}}]})";
  CHECK(json::parse(page, filter) == json::parse(R"({"kind": "DeploymentList", "metadata": {"continue": "x"},
      "items": [{"metadata": {"name": "a"}, "status": {"replicas": 1}}, {"metadata": {"name": "c"}}]})"));
  // Every item refused: an empty list, not a missing one.
  CHECK(json::parse(R"({"items": [{"metadata": {"name": "unrelated"}}]})", filter) ==
        json::parse(R"({"items": []})"));
}
