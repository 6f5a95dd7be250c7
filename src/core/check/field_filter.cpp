#include "field_filter.hpp"

#include <algorithm>

namespace vmsync::check {

using kube::FieldTree;

namespace {

FieldTree container_fields(const char *name) {
  using T = FieldTree;
  return T::only(name, {T::everything("name"), T::everything("command"), T::everything("args"),
                        T::everything("env"), T::everything("envFrom")});
}

FieldTree metadata_fields() {
  using T = FieldTree;
  return T::everything("metadata", {"managedFields"},
                       {T::everything("annotations", {"kubectl.kubernetes.io/last-applied-configuration"})});
}

} // namespace

std::shared_ptr<const FieldTree> pod_fields() {
  using T = FieldTree;
  // A large fleet's pods are most of what a check keeps (heaptrack, 1x: about 28 of 42 MB), so a pod keeps only
  // what is read: of its owners, kind, name and uid; of the Ready condition, its status; of each container's
  // status, when it started running.
  static const auto tree = std::make_shared<const FieldTree>(T::only(
      "", {T::everything(
               "metadata", {"managedFields", "generateName", "generation"},
               {T::everything("annotations", {"kubectl.kubernetes.io/last-applied-configuration"}),
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

FieldTree workload_tree(bool containers) {
  using T = FieldTree;
  std::vector<FieldTree> tmpl{T::everything("metadata")};
  if (containers) tmpl.push_back(T::only("spec", {container_fields("containers"), container_fields("initContainers")}));
  return T::only("", {metadata_fields(), T::everything("status", {"conditions"}),
                      T::everything("spec", {"volumeClaimTemplates"}, {T::only("template", std::move(tmpl))})});
}

} // namespace

std::shared_ptr<const FieldTree> workload_fields() {
  static const auto tree = std::make_shared<const FieldTree>(workload_tree(true));
  return tree;
}

std::shared_ptr<const FieldTree> configmap_fields() {
  static const auto tree = std::make_shared<const FieldTree>(FieldTree::everything(""));
  return tree;
}

std::shared_ptr<const FieldTree> storage_fields() {
  static const auto tree = std::make_shared<const FieldTree>(workload_tree(false));
  return tree;
}

} // namespace vmsync::check
