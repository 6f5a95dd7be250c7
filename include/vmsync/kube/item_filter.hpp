#pragma once
// What a list keeps of each of its items (kube::ListQuery::items). The fields nobody reads are dropped while a
// page is parsed, so they never become DOM nodes: a pod of a large fleet is mostly fields check and fix do not
// read (volumes, probes, resources, managedFields, image IDs), and its DOM is several times its JSON.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vmsync::kube {

// A tree of fields to keep below a list item. A field named in `children` is kept, filtered by its own node;
// any other field is kept whole when the node keeps `all`, the field is not one of its `except`ions and its name
// begins with `prefix`. Arrays are transparent: their elements are filtered by the array's node.
struct FieldTree {
  std::string name;
  bool all = false;
  std::vector<std::string> except;
  std::vector<FieldTree> children;
  std::string prefix; // with `all`: only the fields whose names begin with it
  // For an array of objects: only the elements whose field `where_key` is the string `where_value`.
  std::string where_key, where_value;

  // Every field, but `except`ions and the `children`, which are filtered by their own nodes.
  static FieldTree everything(std::string name, std::vector<std::string> except = {},
                              std::vector<FieldTree> children = {});
  // Only the `children`.
  static FieldTree only(std::string name, std::vector<FieldTree> children);
  // Every field whose name begins with `prefix` (an object's own annotations, say), whole.
  static FieldTree prefixed(std::string name, std::string prefix);
  // This node, for the elements of an array whose `key` is `value` only (the others are dropped whole).
  [[nodiscard]] FieldTree where(std::string key, std::string value) &&;
  // Whether this node keeps a field's value whole (no filtering below it).
  [[nodiscard]] bool keeps_whole() const noexcept {
    return all && except.empty() && children.empty() && where_key.empty() && prefix.empty();
  }
};

// Called with each list item (an object) once it is parsed and filtered: it may shrink the item further by what
// the item turned out to be, which a field tree cannot know while the fields stream past, or return false to
// drop the item from the list altogether.
using ItemHook = std::function<bool(nlohmann::json &item)>;

// Called with an item's metadata alone, as {"metadata": {...}} filtered by the field tree's metadata node,
// before any other field of the item is built: returns the tree to build the item with (one that outlives the
// parse), or null to drop the item. For lists whose items are mostly dropped for what their metadata says
// (a cluster's Deployments are mostly unrelated applications): their specs are then never built.
using ItemTriage = std::function<const FieldTree *(const nlohmann::json &head)>;

struct ItemFilter {
  ItemFilter() = default;
  ItemFilter(std::shared_ptr<const FieldTree> fields_, ItemHook accept_ = {}, ItemTriage triage_ = {})
      : fields(std::move(fields_)), accept(std::move(accept_)), triage(std::move(triage_)) {}

  std::shared_ptr<const FieldTree> fields; // null: every field
  ItemHook accept;                         // optional; runs last, on the built item
  ItemTriage triage;                       // optional; runs first, and then decides the tree instead of `fields`
};

} // namespace vmsync::kube
