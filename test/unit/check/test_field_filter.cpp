// The fields check and fix keep of pods and workloads: exactly those survive a list page's parse, whatever the key
// order and nesting.
#include "../../../src/core/check/field_filter.hpp"
#include "../../../src/core/kube/list_page.hpp"

#include <doctest/doctest.h>

using namespace vmsync::check;
using vmsync::kube::parse_list_page;
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

const json kExpected = json::parse(R"([{
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
)");

// The kept items of a page, as one JSON array.
json kept(std::string_view page, const std::shared_ptr<const vmsync::kube::FieldTree> &fields) {
  return json(parse_list_page(page, {fields, {}}).items);
}

} // namespace

TEST_CASE("pod_fields keeps exactly the pod fields check and fix read, and only the Ready condition") {
  const auto page = parse_list_page(kPodList, {pod_fields(), {}});
  CHECK(json(page.items) == kExpected);
  CHECK(page.continue_token == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
  CHECK(page.resource_version == "4711");
}

TEST_CASE("workload_fields keeps the spec but the pod template's bulk, which keeps its container order") {
  const auto got = kept(R"json({"kind": "DeploymentList", "metadata": {"continue": ""}, "items": [{
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
      "status": {"replicas": 2, "updatedReplicas": 1, "observedGeneration": 3,
                 "conditions": [{"type": "Available", "status": "True"}]}}]})json",
                        workload_fields());
  CHECK(got == json::parse(R"json([{
      "metadata": {"name": "vminsert", "uid": "d-1", "generation": 3,
                   "annotations": {"vmsync.io/storage-workload": "statefulset/vmstorage"}},
      "spec": {"replicas": 2, "paused": false, "selector": {"matchLabels": {"app": "vminsert"}},
               "strategy": {"type": "RollingUpdate"}, "serviceName": "svc",
               "template": {"metadata": {"labels": {"app": "vminsert"}, "annotations": {"h": "1"}},
                            "spec": {"containers": [{"name": "sidecar"},
                                                    {"name": "vminsert", "args": ["-storageNode=$(A)"],
                                                     "envFrom": [{"configMapRef": {"name": "c"}}]}]}}},
      "status": {"replicas": 2, "updatedReplicas": 1, "observedGeneration": 3}}])json"));
}

TEST_CASE("pod_fields and workload_fields drop the last-applied-configuration annotation, nothing else") {
  const auto page = R"({"items": [{"metadata": {"name": "a", "annotations": {
      "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Deployment\"}", "vmsync.io/role": "vminsert"}}}]})";
  const auto want = json::parse(R"([{"metadata": {"name": "a", "annotations": {"vmsync.io/role": "vminsert"}}}])");
  CHECK(kept(page, pod_fields()) == want);
  CHECK(kept(page, workload_fields()) == want);
}

TEST_CASE("storage_fields is workload_fields without the pod template's spec") {
  const auto page = R"json({"items": [{"metadata": {"name": "vmstorage", "managedFields": [{}]},
      "spec": {"replicas": 3, "serviceName": "vmstorage", "updateStrategy": {"type": "OnDelete"},
               "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
               "template": {"metadata": {"labels": {"app": "vmstorage"}},
                            "spec": {"containers": [{"name": "vmstorage", "args": ["-retentionPeriod=1"]}]}}},
      "status": {"replicas": 3, "conditions": [{}]}}]})json";
  CHECK(kept(page, storage_fields()) == json::parse(R"json([{"metadata": {"name": "vmstorage"},
      "spec": {"replicas": 3, "serviceName": "vmstorage", "updateStrategy": {"type": "OnDelete"},
               "template": {"metadata": {"labels": {"app": "vmstorage"}}}},
      "status": {"replicas": 3}}])json"));
  auto whole = kept(page, workload_fields());
  CHECK(whole[0]["spec"]["template"].contains("spec"));
  whole[0]["spec"]["template"].erase("spec");
  CHECK(whole == kept(page, storage_fields()));
}
