// The kubelet's environment building, replayed on the API's view of a container. The order matters: envFrom
// sources first, then env entries, each later name replacing an earlier one; $(VAR) in an env value sees only
// what was defined before it. We additionally track, per name, which ConfigMap keys fed its value (so a Stale
// verdict can name them) and which names we cannot know (secrets, downward API).
#include "vmsync/model/container_env.hpp"

#include "vmsync/model/storage_nodes.hpp"

#include <algorithm>

namespace vmsync::model {
namespace {

using json = nlohmann::json;

std::string str(const json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

class Builder {
public:
  explicit Builder(const ConfigMapLookup &lookup) : lookup_(lookup) {}

  ResolvedEnv take() { return std::move(env_); }

  void env_from(const json &source) {
    const std::string prefix = str(source, "prefix");
    if (auto cm = source.find("configMapRef"); cm != source.end() && cm->is_object()) {
      const std::string name = str(*cm, "name");
      auto data = lookup_(name);
      if (!data) {
        if (!flag(*cm, "optional"))
          env_.unresolved.push_back({"", "envFrom configmap " + name + " does not exist", true});
        return;
      }
      for (const auto &[key, value] : data->data)
        define_known(prefix + key, value, {ConfigMapKey{name, key}});
    } else if (auto secret = source.find("secretRef"); secret != source.end() && secret->is_object()) {
      env_.unresolved.push_back({"", "envFrom secret " + str(*secret, "name") + " (not read)", false});
    }
  }

  void env_var(const json &var) {
    const std::string name = str(var, "name");
    auto from = var.find("valueFrom");
    if (from == var.end() || !from->is_object()) {
      literal(name, str(var, "value"));
      return;
    }
    if (auto ref = from->find("configMapKeyRef"); ref != from->end() && ref->is_object()) {
      const std::string cm = str(*ref, "name");
      const std::string key = str(*ref, "key");
      const bool optional = flag(*ref, "optional");
      auto data = lookup_(cm);
      if (!data) {
        if (!optional)
          env_.unresolved.push_back({name, "configmap " + cm + " does not exist", true});
        return;
      }
      auto it = data->data.find(key);
      if (it == data->data.end()) {
        if (!optional)
          env_.unresolved.push_back({name, "configmap " + cm + " has no key " + key, true});
        return;
      }
      define_known(name, it->second, {ConfigMapKey{cm, key}});
      return;
    }
    std::string reason = "from an unsupported valueFrom";
    if (auto ref = from->find("secretKeyRef"); ref != from->end() && ref->is_object())
      reason = "from secret " + str(*ref, "name") + " key " + str(*ref, "key");
    else if (auto f = from->find("fieldRef"); f != from->end() && f->is_object())
      reason = "from fieldRef " + str(*f, "fieldPath");
    else if (auto r = from->find("resourceFieldRef"); r != from->end() && r->is_object())
      reason = "from resourceFieldRef " + str(*r, "resource");
    define_unknown(name, reason);
  }

private:
  // A literal value: the kubelet expands $(VAR) only in non-empty values, against what is defined so far.
  void literal(const std::string &name, const std::string &value) {
    std::vector<ConfigMapKey> deps;
    std::vector<std::string> unknown_refs;
    for (const auto &ref : kubelet_references(value)) {
      if (env_.unknown.contains(ref)) {
        unknown_refs.push_back(ref);
      } else if (auto it = env_.sources.find(ref); it != env_.sources.end()) {
        deps.insert(deps.end(), it->second.begin(), it->second.end());
      }
    }
    if (!unknown_refs.empty()) {
      std::string reason = "refers to";
      for (const auto &r : unknown_refs)
        reason += " $(" + r + ")";
      reason += " whose value is unknown";
      define_unknown(name, reason);
      return;
    }
    define_known(name, expand_kubelet(value, env_.vars), std::move(deps), false);
  }

  void define_known(const std::string &name, std::string value, std::vector<ConfigMapKey> deps,
                    bool direct = true) {
    if (direct) {
      for (const auto &d : deps)
        use(d);
    }
    env_.unknown.erase(name);
    env_.vars[name] = std::move(value);
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    if (deps.empty())
      env_.sources.erase(name);
    else
      env_.sources[name] = std::move(deps);
  }

  void define_unknown(const std::string &name, std::string reason) {
    env_.vars.erase(name);
    env_.sources.erase(name);
    env_.unknown.insert(name);
    env_.unresolved.push_back({name, std::move(reason), false});
  }

  void use(const ConfigMapKey &k) {
    if (std::find(env_.configmaps_used.begin(), env_.configmaps_used.end(), k) == env_.configmaps_used.end())
      env_.configmaps_used.push_back(k);
  }

  const ConfigMapLookup &lookup_;
  ResolvedEnv env_;
};

std::vector<std::string> all_references(std::string_view raw) {
  auto refs = kubelet_references(raw);
  auto vm = vm_env_references(raw);
  refs.insert(refs.end(), vm.begin(), vm.end());
  return refs;
}

} // namespace

ResolvedEnv resolve_container_env(const nlohmann::json &container, const ConfigMapLookup &lookup) {
  Builder b(lookup);
  if (auto from = container.find("envFrom"); from != container.end() && from->is_array()) {
    for (const auto &source : *from)
      if (source.is_object())
        b.env_from(source);
  }
  if (auto env = container.find("env"); env != container.end() && env->is_array()) {
    for (const auto &var : *env)
      if (var.is_object())
        b.env_var(var);
  }
  return b.take();
}

std::vector<ConfigMapKey> configmap_dependencies(std::string_view raw, const ResolvedEnv &env) {
  std::vector<ConfigMapKey> out;
  for (const auto &ref : all_references(raw)) {
    if (auto it = env.sources.find(ref); it != env.sources.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> unknown_references(std::string_view raw, const ResolvedEnv &env) {
  std::vector<std::string> out;
  for (const auto &ref : all_references(raw)) {
    if (env.unknown.contains(ref) && std::find(out.begin(), out.end(), ref) == out.end())
      out.push_back(ref);
  }
  return out;
}

} // namespace vmsync::model
