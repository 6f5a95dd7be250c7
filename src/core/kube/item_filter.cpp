#include "vmsync/kube/item_filter.hpp"

namespace vmsync::kube {

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

FieldTree FieldTree::prefixed(std::string name, std::string prefix) {
  FieldTree t = everything(std::move(name));
  t.prefix = std::move(prefix);
  return t;
}

FieldTree FieldTree::where(std::string key, std::string value) && {
  where_key = std::move(key);
  where_value = std::move(value);
  return std::move(*this);
}

} // namespace vmsync::kube
