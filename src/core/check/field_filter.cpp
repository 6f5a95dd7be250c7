#include "field_filter.hpp"

#include <algorithm>

namespace vmsync::check {

FieldTree FieldTree::everything(std::string name, std::vector<std::string> except, std::vector<FieldTree> children) {
  FieldTree t;
  t.name = std::move(name);
  t.all = true;
  t.except = std::move(except);
  t.children = std::move(children);
  return t;
}

FieldTree FieldTree::only(std::string name, std::vector<FieldTree> children) {
  FieldTree t;
  t.name = std::move(name);
  t.children = std::move(children);
  return t;
}

FieldTree FieldTree::where(std::string key, std::string value) && {
  where_key = std::move(key);
  where_value = std::move(value);
  return std::move(*this);
}

namespace {

using Event = nlohmann::json::parse_event_t;

// Parser state of one document. `node[d]` governs the container open at depth d (nullptr: keep everything
// below it); `pending` is the node of the container the last kept key introduced; `drop_depth` is the depth of
// the last dropped key while its value is being skipped (-1: none).
struct Walk {
  std::shared_ptr<const FieldTree> root;
  std::vector<const FieldTree *> node;
  std::vector<bool> is_array;
  const FieldTree *pending = nullptr;
  int drop_depth = -1;

  bool start(int depth, bool array) {
    if (drop_depth >= 0 && depth >= drop_depth) return false; // inside a dropped value: build nothing
    drop_depth = -1;
    const auto d = static_cast<std::size_t>(depth);
    const FieldTree *n = nullptr;
    if (d == 0) n = root.get();
    else if (d <= is_array.size() && is_array[d - 1]) n = node[d - 1];
    else n = pending;
    node.resize(d);
    is_array.resize(d);
    node.push_back(n);
    is_array.push_back(array);
    return true;
  }

  // An element of an array whose node keeps only some elements: whether this one is kept.
  [[nodiscard]] bool end_element(int depth, const nlohmann::json &element) const {
    const auto d = static_cast<std::size_t>(depth);
    if (d == 0 || d >= node.size() || !is_array[d - 1] || node[d] == nullptr || node[d]->where_key.empty())
      return true;
    const auto it = element.find(node[d]->where_key);
    return it != element.end() && it->is_string() && it->get_ref<const std::string &>() == node[d]->where_value;
  }

  bool key(int depth, const std::string &k) {
    if (drop_depth >= 0 && depth > drop_depth) return false;
    drop_depth = -1;
    const auto d = static_cast<std::size_t>(depth);
    const FieldTree *container = d >= 1 && d <= node.size() ? node[d - 1] : nullptr;
    pending = nullptr;
    if (container == nullptr) return true;
    for (const auto &c : container->children)
      if (c.name == k) {
        pending = c.all && c.except.empty() && c.children.empty() && c.where_key.empty() ? nullptr : &c;
        return true;
      }
    if (container->all &&
        std::find(container->except.begin(), container->except.end(), k) == container->except.end())
      return true;
    drop_depth = depth;
    return false;
  }
};

} // namespace

kube::ParseFilter list_filter(const std::shared_ptr<const FieldTree> &item, ItemHook at_item_end) {
  auto items = std::make_shared<FieldTree>(*item);
  items->name = "items";
  auto root = std::make_shared<const FieldTree>(FieldTree::only(
      "", {FieldTree::everything("kind"), FieldTree::everything("apiVersion"), FieldTree::everything("metadata"),
           std::move(*items)}));
  Walk walk;
  walk.root = std::move(root);
  // Each parse copies the callback, and with it a fresh Walk.
  return [walk, hook = std::move(at_item_end)](int depth, Event event, nlohmann::json &parsed) mutable {
    switch (event) {
    case Event::object_start: return walk.start(depth, false);
    case Event::array_start: return walk.start(depth, true);
    case Event::key: return walk.key(depth, parsed.get_ref<const std::string &>());
    case Event::object_end:
      // An element of the root's "items" array (the only array the root node keeps at depth 1).
      if (hook && depth == 2 && walk.is_array.size() >= 2 && walk.is_array[1] && !hook(parsed)) return false;
      return walk.end_element(depth, parsed);
    case Event::array_end:
    case Event::value: return true;
    }
    return true;
  };
}

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

std::shared_ptr<const FieldTree> workload_fields() {
  using T = FieldTree;
  static const auto tree = std::make_shared<const FieldTree>(T::only(
      "", {metadata_fields(), T::everything("status", {"conditions"}),
           T::everything("spec", {"volumeClaimTemplates"},
                         {T::only("template", {T::everything("metadata"),
                                               T::only("spec", {container_fields("containers"),
                                                                container_fields("initContainers")})})})}));
  return tree;
}

} // namespace vmsync::check
