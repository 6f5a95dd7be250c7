#pragma once
// The fields check and fix read from the objects they list (kube::ListQuery::items): the rest is dropped while
// each page is parsed.
#include "vmsync/kube/item_filter.hpp"

#include <memory>

namespace vmsync::check {

// Every object keeps of its annotations only vmsync's own (vmsync.io/...): no other is read.
//
// What check and fix read from a Pod: metadata but its managedFields, generateName and generation, and of its
// ownerReferences only kind, name and uid; spec.containers and spec.initContainers with name, command, args, env
// and envFrom; status.phase, the Ready condition's type and status and, of each container status, its name and
// state.running.startedAt.
std::shared_ptr<const kube::FieldTree> pod_fields();

// What check and fix read from a workload (StatefulSet, Deployment, InstanceSet): metadata but its
// managedFields (and of ownerReferences, kind, name and controller); of the status observedGeneration, replicas,
// updatedReplicas, currentRevision and updateRevision; of the spec replicas, selector.matchLabels, serviceName,
// updateStrategy.type, paused and, of the pod template, its metadata's annotations (the annotations and metadata
// objects stay, possibly empty, when they exist) and the containers' and init containers' name, command, args, env
// and envFrom. Containers stay in their order, so fix's JSON patches address the same indexes.
std::shared_ptr<const kube::FieldTree> workload_fields();

// What check reads from a StatefulSet that cannot be a consumer (may_be_consumer): it may still be a cluster's
// storage, whose spec and status are read, but its pod template is not: workload_fields() without the template.
std::shared_ptr<const kube::FieldTree> storage_fields();

// What check and fix read from a ConfigMap: all of it but binaryData, and of each managedFields entry only its
// time and fieldsV1.f:data (when a data key last changed).
std::shared_ptr<const kube::FieldTree> configmap_fields();

// What check reads from a VMCluster: all of it but the metadata workload_fields() drops.
std::shared_ptr<const kube::FieldTree> vmcluster_fields();

// What check reads from a KubeBlocks Cluster: its metadata, as workload_fields() keeps it.
std::shared_ptr<const kube::FieldTree> kb_cluster_fields();

} // namespace vmsync::check
