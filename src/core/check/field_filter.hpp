#pragma once
// Parse-time filters for list responses (kube::ListQuery::filter): the fields nobody reads are dropped while a
// page is parsed, so they never become DOM nodes. A pod of a large fleet is mostly fields check and fix do not
// read (volumes, probes, resources, managedFields, image IDs); its DOM is several times its JSON.
//
// Approach: nlohmann's parser reports each key with its depth; the filter keeps the key path of the container
// being parsed and looks it up in a small tree of the fields to keep. A key that is not in the tree is dropped,
// and every container below it is refused at its start, so the parser does not even build its values. Arrays
// are transparent: their elements are governed by the array's node, which may keep only the elements with a
// given field value (checked when the element ends).
#include "vmsync/kube/client.hpp"

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace vmsync::check {

// A tree of fields to keep below a list item. A field named in `children` is kept, filtered by its own node;
// any other field is kept whole when the node keeps `all` and the field is not one of its `except`ions.
struct FieldTree {
  std::string name;
  bool all = false;
  std::vector<std::string> except;
  std::vector<FieldTree> children;
  // For an array of objects: only the elements whose field `where_key` is the string `where_value`.
  std::string where_key, where_value;

  // Every field, but `except`ions and the `children`, which are filtered by their own nodes.
  static FieldTree everything(std::string name, std::vector<std::string> except = {},
                              std::vector<FieldTree> children = {});
  // Only the `children`.
  static FieldTree only(std::string name, std::vector<FieldTree> children);
  // This node, for the elements of an array whose `key` is `value` only (the others are dropped whole).
  [[nodiscard]] FieldTree where(std::string key, std::string value) &&;
};

// Called with each list item once it is parsed (and filtered): it may shrink the item further by what the item
// turned out to be, which a field tree cannot know while the fields stream past, or return false to drop the
// item from the list altogether.
using ItemHook = std::function<bool(nlohmann::json &item)>;

// A filter for list pages: the list's own kind, apiVersion and metadata (continue token, resourceVersion) are
// kept, and each element of `items` is reduced to `item`, then given to `at_item_end` (if any). Each call
// returns a filter with fresh state.
kube::ParseFilter list_filter(const std::shared_ptr<const FieldTree> &item, ItemHook at_item_end = {});

// What check and fix read from a Pod: metadata but its managedFields, generateName, generation and the
// last-applied-configuration annotation (a copy of the object kubectl apply leaves, often the largest field), and
// of its ownerReferences only kind, name and uid; spec.containers and spec.initContainers with name, command,
// args, env and envFrom; status.phase, the Ready condition's type and status and, of each container status, its
// name and state.running.startedAt.
std::shared_ptr<const FieldTree> pod_fields();

// What check and fix read from a workload (StatefulSet, Deployment, InstanceSet): metadata but its
// managedFields and last-applied-configuration, status but its conditions, and spec but its volumeClaimTemplates
// and, in the pod template, all but metadata and the containers' and init containers' name, command, args, env and
// envFrom. Containers stay in their order, so fix's JSON patches address the same indexes.
std::shared_ptr<const FieldTree> workload_fields();

} // namespace vmsync::check
