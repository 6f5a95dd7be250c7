// The fields check and fix keep of pods and workloads: exactly those survive a list page's parse, whatever the key
// order and nesting.
#include "../../../src/core/check/field_filter.hpp"
#include "../../../src/core/kube/list_page.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

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
      "labels": {"app": "vminsert"}, "annotations": {"a": "b", "vmsync.io/storage-nodes-hash": "h1"},
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
      "labels": {"app": "vminsert"}, "annotations": {"vmsync.io/storage-nodes-hash": "h1"},
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
      "podIP": "10.0.0.1",
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
  // Of the template's metadata, only the restart marker fix reads and writes (vmsync/fix/plan.hpp
  // kHashAnnotation).
  const auto got = kept(R"json({"kind": "DeploymentList", "metadata": {"continue": ""}, "items": [{
      "metadata": {"name": "vminsert", "uid": "d-1", "generation": 3, "managedFields": [{"manager": "helm"}],
                   "annotations": {"vmsync.io/storage-workload": "statefulset/vmstorage"}},
      "spec": {"replicas": 2, "paused": false,
               "selector": {"matchLabels": {"app": "vminsert"}, "matchExpressions": [{"key": "k", "operator": "Exists"}]},
               "strategy": {"type": "RollingUpdate"}, "serviceName": "svc", "revisionHistoryLimit": 10,
               "updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 0}},
               "podManagementPolicy": "Parallel", "minReadySeconds": 0,
               "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
               "template": {"metadata": {"labels": {"app": "vminsert"},
                                         "annotations": {"h": "1", "vmsync.io/storage-nodes-hash": "abc"}},
                            "spec": {"volumes": [{"name": "v", "configMap": {"name": "c"}}],
                                     "containers": [{"name": "sidecar", "image": "envoy", "ports": [{"containerPort": 1}]},
                                                    {"name": "vminsert", "args": ["-storageNode=$(A)"],
                                                     "envFrom": [{"configMapRef": {"name": "c"}}],
                                                     "resources": {"limits": {"cpu": "1"}}}],
                                     "affinity": {"podAntiAffinity": {}}}}},
      "status": {"replicas": 2, "updatedReplicas": 1, "observedGeneration": 3, "readyReplicas": 2,
                 "currentRevisions": {"vminsert-0": "vminsert-1"}, "currentRevision": "r1", "updateRevision": "r2",
                 "conditions": [{"type": "Available", "status": "True"}]}}]})json",
                        workload_fields());
  CHECK(got == json::parse(R"json([{
      "metadata": {"name": "vminsert", "uid": "d-1", "generation": 3,
                   "annotations": {"vmsync.io/storage-workload": "statefulset/vmstorage"}},
      "spec": {"replicas": 2, "paused": false, "selector": {"matchLabels": {"app": "vminsert"}},
               "serviceName": "svc", "updateStrategy": {"type": "OnDelete"},
               "template": {"metadata": {"annotations": {"vmsync.io/storage-nodes-hash": "abc"}},
                            "spec": {"containers": [{"name": "sidecar"},
                                                    {"name": "vminsert", "args": ["-storageNode=$(A)"],
                                                     "envFrom": [{"configMapRef": {"name": "c"}}]}]}}},
      "status": {"replicas": 2, "updatedReplicas": 1, "observedGeneration": 3, "currentRevision": "r1",
                 "updateRevision": "r2"}}])json"));
}

TEST_CASE("workload_fields keeps a template's metadata and annotations objects as they exist, emptied") {
  // plan.cpp decides the JSON patch that adds the restart marker by which of the two objects exist.
  const auto with = [](const char *tmpl) {
    return kept(fmt::format(R"({{"items": [{{"spec": {{"template": {}}}}}]}})", tmpl),
                workload_fields())[0]["spec"]["template"];
  };
  CHECK(with(R"({"metadata": {"labels": {"a": "b"}, "annotations": {"x": "y"}}})") ==
        json::parse(R"({"metadata": {"annotations": {}}})"));
  CHECK(with(R"({"metadata": {"labels": {"a": "b"}}})") == json::parse(R"({"metadata": {}})"));
  CHECK(with(R"({"spec": {}})") == json::parse(R"({"spec": {}})"));
}

TEST_CASE(
    "workload_fields, configmap_fields and vmcluster_fields keep of ownerReferences who controls the object") {
  const auto page = R"({"items": [{"metadata": {"name": "a", "ownerReferences": [
      {"apiVersion": "operator.victoriametrics.com/v1beta1", "kind": "VMCluster", "name": "vm", "uid": "u",
       "controller": true, "blockOwnerDeletion": true}]}}]})";
  const auto want = json::parse(R"([{"metadata": {"name": "a", "ownerReferences": [
      {"kind": "VMCluster", "name": "vm", "controller": true}]}}])");
  CHECK(kept(page, workload_fields()) == want);
  CHECK(kept(page, storage_fields()) == want);
  CHECK(kept(page, configmap_fields()) == want);
  CHECK(kept(page, vmcluster_fields()) == want);
  CHECK(kept(page, kb_cluster_fields()) == want);
}

TEST_CASE("vmcluster_fields keeps spec and status; kb_cluster_fields only the metadata") {
  const auto page = R"({"items": [{"apiVersion": "x/v1", "kind": "K",
      "metadata": {"name": "vm", "namespace": "n", "labels": {"a": "b"}, "managedFields": [{"manager": "m"}]},
      "spec": {"vmstorage": {"replicaCount": 3}, "clusterDomainName": "c"}, "status": {"updateStatus": "operational"}}]})";
  CHECK(kept(page, vmcluster_fields()) == json::parse(R"([{"apiVersion": "x/v1", "kind": "K",
      "metadata": {"name": "vm", "namespace": "n", "labels": {"a": "b"}},
      "spec": {"vmstorage": {"replicaCount": 3}, "clusterDomainName": "c"}, "status": {"updateStatus": "operational"}}])"));
  CHECK(kept(page, kb_cluster_fields()) ==
        json::parse(R"([{"metadata": {"name": "vm", "namespace": "n", "labels": {"a": "b"}}}])"));
}

TEST_CASE("every object keeps only vmsync's own annotations") {
  const auto page = R"({"items": [{"metadata": {"name": "a", "annotations": {
      "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Deployment\"}", "vmsync.io/role": "vminsert",
      "vmsync.io/storage-nodes-hash": "h", "sidecar.istio.io/status": "{}", "vmsync.io": "not ours"}}}]})";
  const auto want = json::parse(
      R"([{"metadata": {"name": "a", "annotations": {"vmsync.io/role": "vminsert", "vmsync.io/storage-nodes-hash": "h"}}}])");
  for (const auto &fields : {pod_fields(), workload_fields(), storage_fields(), configmap_fields(),
                             vmcluster_fields(), kb_cluster_fields()})
    CHECK(kept(page, fields) == want);
}

TEST_CASE("storage_fields is workload_fields without the pod template") {
  const auto page = R"json({"items": [{"metadata": {"name": "vmstorage", "managedFields": [{}]},
      "spec": {"replicas": 3, "serviceName": "vmstorage", "updateStrategy": {"type": "OnDelete"},
               "podManagementPolicy": "Parallel",
               "selector": {"matchLabels": {"app": "vmstorage"}},
               "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
               "template": {"metadata": {"labels": {"app": "vmstorage"}},
                            "spec": {"containers": [{"name": "vmstorage", "args": ["-retentionPeriod=1"]}]}}},
      "status": {"replicas": 3, "conditions": [{}]}}]})json";
  CHECK(kept(page, storage_fields()) == json::parse(R"json([{"metadata": {"name": "vmstorage"},
      "spec": {"replicas": 3, "serviceName": "vmstorage", "updateStrategy": {"type": "OnDelete"},
               "selector": {"matchLabels": {"app": "vmstorage"}}},
      "status": {"replicas": 3}}])json"));
  auto whole = kept(page, workload_fields());
  CHECK(whole[0]["spec"].contains("template"));
  whole[0]["spec"].erase("template");
  CHECK(whole == kept(page, storage_fields()));
}

TEST_CASE(
    "configmap_fields keeps data and, of managedFields, when each entry was written and the data keys it owns") {
  const auto page = R"json({"items": [{
      "metadata": {"name": "vm-vminsert-env", "namespace": "vm", "resourceVersion": "7",
                   "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"app.kubernetes.io/managed-by": "kubeblocks"},
                   "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "vmsync.io/a": "b"},
                   "managedFields": [{"manager": "kubeblocks", "operation": "Update", "apiVersion": "v1",
                                      "time": "2025-01-02T00:00:00Z", "fieldsType": "FieldsV1",
                                      "fieldsV1": {"f:data": {".": {}, "f:VMSTORAGE_ADDR": {}},
                                                   "f:metadata": {"f:labels": {"f:app": {}}}}},
                                     {"manager": "kubectl", "operation": "Apply", "time": "2025-01-03T00:00:00Z",
                                      "fieldsV1": {"f:metadata": {"f:annotations": {}}}}]},
      "data": {"VMSTORAGE_ADDR": "a:8400,b:8400"}, "binaryData": {"blob": "AAAA"}}]})json";
  CHECK(kept(page, configmap_fields()) == json::parse(R"json([{
      "metadata": {"name": "vm-vminsert-env", "namespace": "vm", "resourceVersion": "7",
                   "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"app.kubernetes.io/managed-by": "kubeblocks"},
                   "annotations": {"vmsync.io/a": "b"},
                   "managedFields": [{"time": "2025-01-02T00:00:00Z",
                                      "fieldsV1": {"f:data": {".": {}, "f:VMSTORAGE_ADDR": {}}}},
                                     {"time": "2025-01-03T00:00:00Z", "fieldsV1": {}}]},
      "data": {"VMSTORAGE_ADDR": "a:8400,b:8400"}}])json"));
}
