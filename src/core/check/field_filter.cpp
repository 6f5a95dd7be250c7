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

// An object's metadata but its managedFields (`managed_fields`, when given, keeps part of them) and the
// last-applied-configuration annotation; of its ownerReferences, what fix reads to tell who controls the object
// (plan.cpp controller_of).
FieldTree metadata_fields(std::optional<FieldTree> managed_fields = std::nullopt) {
  using T = FieldTree;
  std::vector<FieldTree> children{
      T::everything("annotations", {"kubectl.kubernetes.io/last-applied-configuration"}),
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
  // what is read: of its annotations, the template hash fix compares (kHashAnnotation in vmsync/fix/plan.hpp;
  // a mesh or a scraper often adds kilobytes of others); of its owners, kind, name and uid; of the Ready
  // condition, its status; of each container's status, when it started running.
  static const auto tree = std::make_shared<const FieldTree>(T::only(
      "", {T::everything(
               "metadata", {"managedFields", "generateName", "generation"},
               {T::only("annotations", {T::everything("vmsync.io/storage-nodes-hash")}),
                T::only("ownerReferences", {T::everything("kind"), T::everything("name"), T::everything("uid")})}),
           T::only("spec", {container_fields("containers"), container_fields("initContainers")}),
           T::only("status",
                   {T::everything("phase"),
                    T::only("conditions", {T::everything("type"), T::everything("status")}).where("type", "Ready"),
                    T::only("containerStatuses",
                            {T::everything("name"),
                             T::only("state", {T::only("running", {T::everything("startedAt")})})})})}));
  return tree;
}

namespace {

// Of a pod template's metadata, fix reads one annotation (kHashAnnotation in vmsync/fix/plan.hpp, its restart
// marker) and whether the annotations and metadata objects exist (which decides the JSON patch that adds it): the
// labels and the other annotations (an Istio sidecar's status, checksums) are never read.
FieldTree template_fields(bool containers) {
  using T = FieldTree;
  std::vector<FieldTree> tmpl{
      T::only("metadata", {T::only("annotations", {T::everything("vmsync.io/storage-nodes-hash")})})};
  if (containers) tmpl.push_back(T::only("spec", {container_fields("containers"), container_fields("initContainers")}));
  return T::only("template", std::move(tmpl));
}

FieldTree workload_tree(bool consumer) {
  using T = FieldTree;
  std::vector<FieldTree> spec_children;
  if (consumer) spec_children.push_back(template_fields(true));
  // Of the status, what tells whether a rollout is in progress (plan.cpp rollout_in_progress).
  auto status = T::only("status", {T::everything("observedGeneration"), T::everything("replicas"),
                                   T::everything("updatedReplicas"), T::everything("currentRevision"),
                                   T::everything("updateRevision")});
  return T::only("", {metadata_fields(), std::move(status),
                      T::everything("spec",
                                    consumer ? std::vector<std::string>{"volumeClaimTemplates"}
                                             : std::vector<std::string>{"volumeClaimTemplates", "template"},
                                    std::move(spec_children))});
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
