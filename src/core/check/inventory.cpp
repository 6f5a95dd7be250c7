#include "vmsync/check/inventory.hpp"

#include <cstdint>
#include <limits>

namespace vmsync::check {

namespace {
const nlohmann::json &null_json() {
  static const nlohmann::json n;
  return n;
}
} // namespace

const nlohmann::json &at_path(const nlohmann::json &o, std::initializer_list<const char *> path) {
  const nlohmann::json *cur = &o;
  for (const char *key : path) {
    if (!cur->is_object()) return null_json();
    auto it = cur->find(key);
    if (it == cur->end()) return null_json();
    cur = &*it;
  }
  return *cur;
}

std::string str_at(const nlohmann::json &o, std::initializer_list<const char *> path) {
  const auto &v = at_path(o, path);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

int int_at(const nlohmann::json &o, std::initializer_list<const char *> path, int fallback) {
  const auto &v = at_path(o, path);
  if (!v.is_number_integer()) return fallback;
  // Out of int range (API integers are int32, hostile input is not): the fallback, never a wrapped value.
  if (v.is_number_unsigned())
    return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<int>::max()) ? v.get<int>()
                                                                                                   : fallback;
  const auto i = v.get<std::int64_t>();
  return i >= std::numeric_limits<int>::min() && i <= std::numeric_limits<int>::max() ? static_cast<int>(i) : fallback;
}

std::string meta_name(const nlohmann::json &o) { return str_at(o, {"metadata", "name"}); }
std::string meta_namespace(const nlohmann::json &o) { return str_at(o, {"metadata", "namespace"}); }

std::string label(const nlohmann::json &o, const std::string &key) {
  const auto &labels = at_path(o, {"metadata", "labels"});
  if (!labels.is_object()) return {};
  auto it = labels.find(key);
  return it != labels.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::string annotation(const nlohmann::json &o, const std::string &key) {
  const auto &ann = at_path(o, {"metadata", "annotations"});
  if (!ann.is_object()) return {};
  auto it = ann.find(key);
  return it != ann.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

const nlohmann::json *Inventory::find(const std::vector<nlohmann::json> &objs, const std::string &ns,
                                      const std::string &name) const {
  for (const auto &o : objs)
    if (meta_name(o) == name && meta_namespace(o) == ns) return &o;
  return nullptr;
}

const nlohmann::json *Inventory::configmap(const std::string &ns, const std::string &name) const {
  return find(configmaps, ns, name);
}

} // namespace vmsync::check
