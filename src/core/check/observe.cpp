// Reading a list out of a pod spec (a template's, or a running pod's) and deciding what it proves.
//
// A pod's own spec is immutable, so a list written in its args is exactly what the process got. A list that
// reaches the args through $(VAR) from a ConfigMap is different: the kubelet copied the ConfigMap's value when
// the container started and never again. So for such a pod we compare the container's state.running.startedAt
// with the last time the ConfigMap key changed (the newest managedFields entry that owns data.<key>):
//   started after the change  -> the current value is what it runs with;
//   started before the change -> it runs with an earlier value we cannot read: Stale, with that evidence;
//   same second, or no times  -> Unknown, with the reason. Never InSync on a guess.
#include "observe.hpp"

#include "vmsync/model/container_env.hpp"
#include "vmsync/model/storage_nodes.hpp"

#include <charconv>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace vmsync::check {

using nlohmann::json;

namespace {

struct ContainerList {
  std::string container;
  std::vector<std::string> raw_argv; // command then args, as written (before $(VAR) expansion)
  model::ResolvedEnv env;
  model::StorageNodeList list;
};

model::ConfigMapLookup lookup_in(const Inventory &inv, const std::string &ns) {
  return [&inv, ns](const std::string &name) -> std::optional<model::ConfigMapData> {
    const auto *cm = inv.configmap(ns, name);
    if (cm == nullptr) return std::nullopt;
    model::ConfigMapData d;
    const auto &data = at_path(*cm, {"data"});
    if (data.is_object())
      for (const auto &[k, v] : data.items())
        if (v.is_string()) d.data.emplace(k, v.get<std::string>());
    return d;
  };
}

std::vector<std::string> strings_of(const json &arr) {
  std::vector<std::string> out;
  if (arr.is_array())
    for (const auto &v : arr)
      out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// The first container (the preferred one first) with a -storageNode list.
std::optional<ContainerList> find_list(const json &pod_spec, const std::string &ns, const Inventory &inv,
                                       const std::string &prefer) {
  const auto &containers = at_path(pod_spec, {"containers"});
  if (!containers.is_array()) return std::nullopt;
  std::vector<const json *> order;
  for (const auto &c : containers)
    if (!prefer.empty() && str_at(c, {"name"}) == prefer) order.insert(order.begin(), &c);
    else order.push_back(&c);
  auto lookup = lookup_in(inv, ns);
  for (const auto *c : order) {
    ContainerList cl;
    cl.container = str_at(*c, {"name"});
    cl.raw_argv = strings_of(at_path(*c, {"command"}));
    auto args = strings_of(at_path(*c, {"args"}));
    cl.raw_argv.insert(cl.raw_argv.end(), args.begin(), args.end());
    cl.env = model::resolve_container_env(*c, lookup);
    std::vector<std::string> argv;
    argv.reserve(cl.raw_argv.size());
    for (const auto &a : cl.raw_argv) argv.push_back(model::expand_kubelet(a, cl.env.vars));
    auto list = model::find_storage_nodes(argv, cl.env.vars);
    if (!list) continue;
    cl.list = std::move(*list);
    return cl;
  }
  return std::nullopt;
}

// The raw text the list came from: the flag values as written, or the env flag's variable.
std::string raw_value(const ContainerList &cl) {
  std::string raw;
  if (cl.list.source.kind == model::FlagSource::Kind::EnvFlag) return "$(" + cl.list.source.env_name + ")";
  for (auto i : cl.list.source.value_indexes)
    if (i < cl.raw_argv.size()) raw += cl.raw_argv[i] + " ";
  return raw;
}

std::optional<double> parse_time(const std::string &s) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  auto whole = static_cast<int>(sec);
  tm.tm_sec = whole;
  double t = static_cast<double>(timegm(&tm)) + (sec - whole);
  auto tz = s.find_last_of("Z+-");
  if (tz != std::string::npos && tz > 18 && s[tz] != 'Z') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + tz + 1, "%2d:%2d", &oh, &om) == 2)
      t -= (s[tz] == '+' ? 1 : -1) * (oh * 3600.0 + om * 60.0);
  }
  return t;
}

// When data.<key> of a ConfigMap last changed: the newest managedFields entry owning it.
std::optional<std::string> last_change(const json &cm, const std::string &key) {
  const auto &mf = at_path(cm, {"metadata", "managedFields"});
  if (!mf.is_array() || mf.empty()) return std::nullopt;
  std::optional<std::string> best;
  std::optional<double> best_t;
  const std::string field = "f:" + key;
  for (const auto &m : mf) {
    const auto &data = at_path(m, {"fieldsV1", "f:data"});
    if (!data.is_object() || !data.contains(field)) continue;
    auto t = str_at(m, {"time"});
    auto parsed = parse_time(t);
    if (parsed && (!best_t || *parsed > *best_t)) {
      best_t = parsed;
      best = t;
    }
  }
  return best;
}

} // namespace

model::ListSource read_source(const ConsumerSpec &consumer, const Inventory &inv) {
  model::ListSource src;
  const auto &w = *consumer.workload;
  const auto ns = meta_namespace(w);
  auto cl = find_list(at_path(w, {"spec", "template", "spec"}), ns, inv, "");
  if (!cl) {
    src.description = fmt::format("no -storageNode in the pod template of {}/{}", consumer.kind, meta_name(w));
    return src;
  }
  const auto raw = raw_value(*cl);
  auto deps = model::configmap_dependencies(raw, cl->env);
  auto unknown = model::unknown_references(raw, cl->env);
  if (!deps.empty()) {
    src.kind = model::ListSource::Kind::ConfigMap;
    src.object = {"ConfigMap", deps.front().configmap, ns};
    src.key = deps.front().key;
    src.description = fmt::format("configmap/{} key {}", deps.front().configmap, deps.front().key);
  } else if (auto refs = model::kubelet_references(raw);
             !refs.empty() || cl->list.source.kind == model::FlagSource::Kind::EnvFlag) {
    src.kind = model::ListSource::Kind::TemplateEnv;
    src.object = {consumer.kind, meta_name(w), ns};
    src.key = cl->list.source.kind == model::FlagSource::Kind::EnvFlag ? cl->list.source.env_name : refs.front();
    src.description = fmt::format("env {} of container {}", src.key, cl->container);
  } else {
    src.kind = model::ListSource::Kind::TemplateArgs;
    src.object = {consumer.kind, meta_name(w), ns};
    src.description = fmt::format("args of container {}", cl->container);
  }
  src.discovery = cl->list.discovery;
  if (unknown.empty())
    src.entries = cl->list.entries;
  else
    src.description += fmt::format(" (depends on {} whose value cannot be read)", fmt::join(unknown, ", "));
  return src;
}

// What a pod spec says about its list, read once per spec and namespace (PodObserver).
struct PodObserver::SpecList {
  std::optional<ContainerList> cl;
  std::string raw;
  std::vector<std::string> unknown;
  std::vector<model::ConfigMapKey> deps;
};

PodObserver::PodObserver(const Inventory &inv) : inv_(inv) {}
PodObserver::~PodObserver() = default;

const PodObserver::SpecList &PodObserver::spec_list(const Pod &pod) {
  auto &slot = memo_[{pod.spec.get(), pod.namespace_}];
  if (!slot) {
    auto sl = std::make_unique<SpecList>();
    sl->cl = find_list(*pod.spec, pod.namespace_, inv_, "");
    if (sl->cl) {
      sl->raw = raw_value(*sl->cl);
      sl->unknown = model::unknown_references(sl->raw, sl->cl->env);
      if (sl->unknown.empty()) sl->deps = model::configmap_dependencies(sl->raw, sl->cl->env);
    }
    slot = std::move(sl);
  }
  return *slot;
}

model::PodObservation PodObserver::observe(const Pod &pod) {
  const auto &inv = inv_;
  model::PodObservation obs;
  obs.name = pod.name;
  obs.ready = pod.ready;
  const auto &ns = pod.namespace_;
  const auto &sl = spec_list(pod);
  const auto &cl = sl.cl;
  if (!cl) {
    obs.evidence.push_back("no -storageNode in the pod's containers");
    return obs;
  }
  obs.discovery = cl->list.discovery;
  if (const auto &unknown = sl.unknown; !unknown.empty()) {
    for (const auto &u : cl->env.unresolved)
      if (std::find(unknown.begin(), unknown.end(), u.var) != unknown.end())
        obs.evidence.push_back(fmt::format("the list depends on {} {}, which vmsync cannot read", u.var, u.reason));
    if (obs.evidence.empty())
      obs.evidence.push_back(fmt::format("the list depends on {}, whose value cannot be read", fmt::join(unknown, ", ")));
    return obs;
  }
  const auto &deps = sl.deps;
  if (deps.empty()) {
    obs.running = cl->list.entries; // written in the pod's own (immutable) spec
    return obs;
  }
  const auto started = pod.started_at(cl->container);
  if (started.empty()) {
    obs.running = cl->list.entries;
    obs.evidence.push_back(
        fmt::format("container {} has not started yet: it will start with the current value", cl->container));
    return obs;
  }
  auto start_t = parse_time(started);
  bool before = false, unknown = false;
  for (const auto &dep : deps) {
    const auto *cm = inv.configmap(ns, dep.configmap);
    if (cm == nullptr) {
      obs.evidence.push_back(fmt::format("configmap {} no longer exists: the container started with a value that "
                                         "cannot be read now",
                                         dep.configmap));
      unknown = true;
      continue;
    }
    auto changed = last_change(*cm, dep.key);
    auto change_t = changed ? parse_time(*changed) : std::nullopt;
    if (!change_t || !start_t) {
      obs.evidence.push_back(fmt::format("cannot tell when configmap {} key {} last changed (no managedFields)",
                                         dep.configmap, dep.key));
      unknown = true;
    } else if (*start_t > *change_t) {
      obs.evidence.push_back(fmt::format("container {} started {}, after configmap {} key {} last changed at {}",
                                         cl->container, started, dep.configmap, dep.key, *changed));
    } else if (*start_t < *change_t) {
      obs.evidence.push_back(fmt::format("container {} started {}, before configmap {} key {} changed at {}: it "
                                         "runs with the earlier value",
                                         cl->container, started, dep.configmap, dep.key, *changed));
      before = true;
    } else if (*changed == str_at(*cm, {"metadata", "creationTimestamp"})) {
      // The key has not changed since the ConfigMap was created, and the container could not have read it
      // before it existed: it got the current value.
      obs.evidence.push_back(fmt::format("container {} started {}, as configmap {} was created with key {} "
                                         "unchanged since",
                                         cl->container, started, dep.configmap, dep.key));
    } else {
      obs.evidence.push_back(fmt::format("container {} started in the same second ({}) as configmap {} key {} "
                                         "changed: cannot tell which value it got",
                                         cl->container, started, dep.configmap, dep.key));
      unknown = true;
    }
  }
  if (before)
    obs.started_before_source_change = true;
  else if (!unknown)
    obs.running = cl->list.entries;
  return obs;
}

std::optional<ProbeTarget> PodObserver::probe_target(const Pod &pod, model::Role role) {
  if (pod.terminating || pod.primary_ip().empty() || pod.phase != "Running") return std::nullopt;
  const auto &sl = spec_list(pod);
  if (!sl.cl) return std::nullopt;
  ProbeTarget t;
  t.pod = &pod;
  t.container = sl.cl->container;
  t.port = role == model::Role::Insert ? 8480 : 8481;
  // -httpListenAddr as VictoriaMetrics reads it (Go flag syntax, the last one wins): "host:port", ":port".
  const auto &argv = sl.cl->raw_argv;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const auto arg = model::expand_kubelet(argv[i], sl.cl->env.vars);
    std::string_view name = arg;
    if (name.starts_with("--"))
      name.remove_prefix(2);
    else if (name.starts_with("-"))
      name.remove_prefix(1);
    else
      continue;
    std::string value;
    if (name.starts_with("httpListenAddr="))
      value = std::string(name.substr(15));
    else if (name == "httpListenAddr" && i + 1 < argv.size())
      value = model::expand_kubelet(argv[i + 1], sl.cl->env.vars);
    else
      continue;
    value = model::expand_vm_env(value, sl.cl->env.vars);
    const auto colon = value.rfind(':');
    int port = 0;
    const auto digits = std::string_view(value).substr(colon == std::string::npos ? value.size() : colon + 1);
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec == std::errc{} && ptr == digits.data() + digits.size() && port > 0 && port < 65536) t.port = port;
  }
  return t;
}

void apply_probe(model::PodObservation &obs, const PodProbe &probe) {
  if (!probe.observed) {
    obs.evidence.push_back(fmt::format("probe: {}; the verdict is inferred from the spec", probe.failure));
    return;
  }
  const auto &o = *probe.observed;
  std::vector<std::string> inferred = std::move(obs.evidence);
  obs.evidence.clear();
  std::optional<std::vector<std::string>> running;
  if (obs.discovery) {
    if (!o.metrics) {
      obs.evidence.push_back(
          fmt::format("automatic discovery: the nodes it found are on /metrics, which could not "
                      "be read ({})",
                      probe.note));
      obs.evidence.insert(obs.evidence.end(), inferred.begin(), inferred.end());
      obs.observed = probe.observed;
      return;
    }
    std::vector<std::string> used;
    for (const auto &n : o.nodes)
      used.push_back(n.addr);
    obs.evidence.push_back(
        fmt::format("automatic discovery: uses the nodes its /metrics at {} name (read via {})", o.at, o.via));
    running = std::move(used);
    obs.discovery = false;
  } else {
    running = o.running;
    obs.evidence.push_back(fmt::format("read from the pod's {} at {} (via {})", o.source, o.at, o.via));
    if (obs.running && *obs.running != o.running)
      obs.evidence.push_back(fmt::format("its spec says {} but the process runs the list above: the process wins",
                                         fmt::join(*obs.running, ",")));
    else if (!obs.running && obs.started_before_source_change)
      obs.evidence.push_back("its spec could only tell that the process started before its list last changed");
    else if (!obs.running)
      obs.evidence.push_back("its spec alone could not tell what it runs with");
    for (auto &line : inferred)
      obs.evidence.push_back("spec: " + line);
  }
  if (!probe.note.empty()) obs.evidence.push_back(fmt::format("probe: {}", probe.note));
  if (o.metrics)
    for (const auto &n : o.nodes)
      if (!n.reachable) obs.unreachable.push_back(n.addr);
  if (!obs.unreachable.empty())
    obs.evidence.push_back(fmt::format("cannot reach {} (its /metrics)", fmt::join(obs.unreachable, ", ")));
  obs.running = std::move(running);
  obs.started_before_source_change = false;
  obs.observed = probe.observed;
}

} // namespace vmsync::check
