#pragma once
// The fields check and fix read from the objects they list (kube::ListQuery::items): the rest is dropped while
// each page is parsed.
#include "vmsync/kube/item_filter.hpp"

#include <memory>

namespace vmsync::check {

// What check and fix read from a Pod: metadata but its managedFields, generateName, generation and the
// last-applied-configuration annotation (a copy of the object kubectl apply leaves, often the largest field), and
// of its ownerReferences only kind, name and uid; spec.containers and spec.initContainers with name, command,
// args, env and envFrom; status.phase, the Ready condition's type and status and, of each container status, its
// name and state.running.startedAt.
std::shared_ptr<const kube::FieldTree> pod_fields();

// What check and fix read from a workload (StatefulSet, Deployment, InstanceSet): metadata but its
// managedFields and last-applied-configuration, status but its conditions, and spec but its volumeClaimTemplates
// and, in the pod template, all but metadata and the containers' and init containers' name, command, args, env and
// envFrom. Containers stay in their order, so fix's JSON patches address the same indexes.
std::shared_ptr<const kube::FieldTree> workload_fields();

// What check reads from a StatefulSet that cannot be a consumer (may_be_consumer): it may still be a cluster's
// storage, whose spec and status are read, but its pod template's containers are not: workload_fields() with the
// pod template's metadata only.
std::shared_ptr<const kube::FieldTree> storage_fields();

// What check and fix read from a ConfigMap: all of it (data, and managedFields for when a key last changed).
std::shared_ptr<const kube::FieldTree> configmap_fields();

} // namespace vmsync::check
