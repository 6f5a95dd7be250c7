#include "field_filter.hpp"

#include <algorithm>
#include <optional>

namespace vmsync::check {

using kube::FieldTree;

namespace {

FieldTree container_fields(const char *name) {
  using T = FieldTree;
  return T::only(name, {T::everything("name"), T::everything("command"), T::everything("args"),
                        T::everything("env"), T::everything("envFrom")});
}

// A pod's spec, or a pod template's: its containers and init containers, as container_fields() keeps them.
FieldTree pod_spec_fields() {
  return FieldTree::only("spec", {container_fields("containers"), container_fields("initContainers")});
}

// The annotations check and fix read: vmsync's own (vmsync.io/storage-workload, role, ..., and the template hash
// of fix/plan.hpp). Others are often the bulk of an object's metadata (last-applied-configuration, a mesh's or a
// GitOps tool's) and are never read.
FieldTree own_annotations() { return FieldTree::prefixed("annotations", "vmsync.io/"); }

// An object's metadata but its managedFields (`managed_fields`, when given, keeps part of them) and annotations
// not vmsync's; of its ownerReferences, what fix reads to tell who controls the object (plan.cpp controller_of).
FieldTree metadata_fields(std::optional<FieldTree> managed_fields = std::nullopt) {
  using T = FieldTree;
  std::vector<FieldTree> children{
      own_annotations(),
      T::only("ownerReferences", {T::everything("kind"), T::everything("name"), T::everything("controller")})};
  std::vector<std::string> except;
  if (managed_fields)
    children.push_back(std::move(*managed_fields));
  else
    except.emplace_back("managedFields");
  return T::everything("metadata", std::move(except), std::move(children));
}

} // namespace

std::shared_ptr<const FieldTree> pod_fields() {
  using T = FieldTree;
  // A large fleet's pods are most of what a check keeps (heaptrack, 1x: about 28 of 42 MB), so a pod keeps only
  // what is read: of its annotations, vmsync's own (the template hash fix compares, kHashAnnotation in
  // vmsync/fix/plan.hpp; a mesh or a scraper often adds kilobytes of others); of its owners, kind, name and uid;
  // of the Ready condition, its status; of each container's status, when it started running.
  static const auto tree = std::make_shared<const FieldTree>(T::only(
      "",
      {T::everything("metadata", {"managedFields", "generateName", "generation"},
                     {own_annotations(), T::only("ownerReferences", {T::everything("kind"), T::everything("name"),
                                                                     T::everything("uid")})}),
       pod_spec_fields(),
       T::only("status",
               {T::everything("phase"), T::everything("podIP"),
                T::only("conditions", {T::everything("type"), T::everything("status")}).where("type", "Ready"),
                T::only("containerStatuses",
                        {T::everything("name"),
                         T::only("state", {T::only("running", {T::everything("startedAt")})})})})}));
  return tree;
}

namespace {

// Of a pod template's metadata, fix reads one annotation (kHashAnnotation in vmsync/fix/plan.hpp, its restart
// marker) and whether the annotations and metadata objects exist (which decides the JSON patch that adds it): the
// labels and the annotations not vmsync's (an Istio sidecar's status, checksums) are never read.
FieldTree template_fields() {
  using T = FieldTree;
  return T::only("template", {T::only("metadata", {own_annotations()}), pod_spec_fields()});
}

FieldTree workload_tree(bool consumer) {
  using T = FieldTree;
  // Of the status, what tells whether a rollout is in progress (plan.cpp rollout_in_progress).
  auto status = T::only("status", {T::everything("observedGeneration"), T::everything("replicas"),
                                   T::everything("updatedReplicas"), T::everything("currentRevision"),
                                   T::everything("updateRevision")});
  // Of the spec, what discover and plan read: the pods' selector, how many, the headless Service (a StatefulSet's
  // storage addresses), how pods are replaced and whether the rollout is paused.
  std::vector<FieldTree> spec{T::everything("replicas"), T::only("selector", {T::everything("matchLabels")}),
                              T::everything("serviceName"), T::only("updateStrategy", {T::everything("type")}),
                              T::everything("paused")};
  if (consumer) spec.push_back(template_fields());
  return T::only("", {metadata_fields(), std::move(status), T::only("spec", std::move(spec))});
}

} // namespace

std::shared_ptr<const FieldTree> workload_fields() {
  static const auto tree = std::make_shared<const FieldTree>(workload_tree(true));
  return tree;
}

std::shared_ptr<const FieldTree> configmap_fields() {
  using T = FieldTree;
  // Of managedFields, when each entry was written and which data keys it owns (observe.cpp last_change, plan.cpp
  // newest_change): the rest of an entry (the manager, and what it owns of the metadata) is never read.
  static const auto tree = std::make_shared<const FieldTree>(T::everything(
      "", {"binaryData"},
      {metadata_fields(
          T::only("managedFields", {T::everything("time"), T::only("fieldsV1", {T::everything("f:data")})}))}));
  return tree;
}

std::shared_ptr<const FieldTree> vmcluster_fields() {
  static const auto tree = std::make_shared<const FieldTree>(FieldTree::everything("", {}, {metadata_fields()}));
  return tree;
}

std::shared_ptr<const FieldTree> kb_cluster_fields() {
  static const auto tree = std::make_shared<const FieldTree>(FieldTree::only("", {metadata_fields()}));
  return tree;
}

std::shared_ptr<const FieldTree> storage_fields() {
  static const auto tree = std::make_shared<const FieldTree>(workload_tree(false));
  return tree;
}

} // namespace vmsync::check
