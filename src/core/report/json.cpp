// The versioned report document. One tree (ordered_json, keys in contract order) feeds both JSON and YAML, so
// the two formats cannot disagree; docs/report-schema.json describes it.
#include "vmsync/report/render.hpp"

#include <yaml-cpp/yaml.h>

namespace vmsync::report {
namespace {

using ojson = nlohmann::ordered_json;

ojson strings(const std::vector<std::string> &v) {
  ojson a = ojson::array();
  for (const auto &s : v)
    a.push_back(s);
  return a;
}

ojson optional_strings(const std::optional<std::vector<std::string>> &v) {
  return v ? strings(*v) : ojson(nullptr);
}

ojson optional_strings(const std::shared_ptr<const std::vector<std::string>> &v) {
  return v ? strings(*v) : ojson(nullptr);
}

ojson object_ref(const model::ObjectRef &r) {
  if (r.kind.empty() && r.name.empty())
    return nullptr;
  return ojson{{"kind", r.kind}, {"name", r.name}};
}

// What the probe read from the pod's own pages (check --probe).
ojson observed_json(const model::Observed &o) {
  ojson nodes = nullptr;
  if (o.metrics) {
    nodes = ojson::array();
    for (const auto &n : o.nodes)
      nodes.push_back(ojson{{"addr", n.addr}, {"reachable", n.reachable}});
  }
  return ojson{{"via", o.via},
               {"at", o.at},
               {"source", o.source},
               {"running", strings(o.running)},
               {"startedAt", o.started_at ? ojson(*o.started_at) : ojson(nullptr)},
               {"version", o.version},
               {"nodes", nodes}};
}

ojson pod_json(const model::PodDrift &p) {
  ojson j{{"name", p.name},
          {"status", model::to_string(p.status)},
          {"running", optional_strings(p.running)},
          {"missing", strings(p.missing)},
          {"unexpected", strings(p.unexpected)},
          {"evidence", strings(p.evidence)}};
  // Only for probed pods, so reports without --probe keep their shape.
  if (p.observed) {
    j["observed"] = observed_json(*p.observed);
    j["unreachable"] = strings(p.unreachable);
  }
  return j;
}

ojson consumer_json(const model::ConsumerDrift &c) {
  ojson source_drift{{"drift", c.source_drift}, {"missing", strings(c.source_missing)},
                     {"unexpected", strings(c.source_unexpected)}};
  // Only when there is something to explain, so reports of healthy clusters keep their shape.
  if (!c.source_evidence.empty()) source_drift["evidence"] = strings(c.source_evidence);
  ojson variants = ojson::array();
  for (const auto &v : c.spelling_variants)
    variants.push_back(ojson{{"node", v.identity}, {"spellings", strings(v.spellings)}});
  ojson pods = ojson::array();
  for (const auto &p : c.pods)
    pods.push_back(pod_json(p));
  return ojson{
      {"role", model::to_string(c.role)},
      {"workload", ojson{{"kind", c.workload.kind}, {"name", c.workload.name}}},
      {"source",
       ojson{{"kind", model::to_string(c.source.kind)},
             {"description", c.source.description},
             {"object", object_ref(c.source.object)},
             {"key", c.source.key},
             {"entries", optional_strings(c.source.entries)}}},
      {"expected", strings(c.expected)},
      {"sourceDrift", std::move(source_drift)},
      {"duplicates", strings(c.duplicates)},
      {"emptyEntries", strings(c.empty_entries)},
      {"mixedSpellings", variants},
      {"pods", pods},
  };
}

ojson split_json(const model::SpellingSplit &s) {
  ojson workloads = ojson::array();
  for (const auto &w : s.workloads)
    workloads.push_back(
        ojson{{"kind", w.workload.kind}, {"name", w.workload.name}, {"spellings", strings(w.spellings)}});
  return ojson{{"role", model::to_string(s.role)},
               {"node", s.identity},
               {"drift", s.role == model::Role::Insert},
               {"workloads", workloads}};
}

ojson cluster_json(const model::ClusterDrift &c) {
  ojson consumers = ojson::array();
  for (const auto &consumer : c.consumers)
    consumers.push_back(consumer_json(consumer));
  ojson splits = ojson::array();
  for (const auto &s : c.spelling_splits)
    splits.push_back(split_json(s));
  ojson storage{{"kind", c.storage.workload.kind},
                {"name", c.storage.workload.name},
                {"declaredReplicas", c.storage.declared_replicas}};
  if (c.pods_known) { // offline (check -f) no pod exists: left out rather than zeros
    storage["existingPods"] = c.storage.existing_pods;
    storage["readyReplicas"] = c.storage.ready_pods;
  }
  storage["nodes"] = strings(c.storage.nodes);
  return ojson{{"namespace", c.namespace_},
               {"name", c.name},
               {"layout", model::to_string(c.layout)},
               {"status", model::to_string(c.status)},
               {"storage", storage},
               {"consumers", consumers},
               {"spellingSplits", splits},
               {"errors", strings(c.errors)},
               {"warnings", strings(c.warnings)}};
}

void emit(YAML::Emitter &y, const ojson &j) {
  switch (j.type()) {
  case ojson::value_t::object:
    y << YAML::BeginMap;
    for (const auto &[k, v] : j.items()) {
      y << YAML::Key << k << YAML::Value;
      emit(y, v);
    }
    y << YAML::EndMap;
    break;
  case ojson::value_t::array:
    if (j.empty()) {
      y << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      break;
    }
    y << YAML::BeginSeq;
    for (const auto &v : j)
      emit(y, v);
    y << YAML::EndSeq;
    break;
  case ojson::value_t::string: {
    const auto &s = j.get_ref<const std::string &>();
    // Strings a YAML 1.1/1.2 reader would take for another type are quoted.
    static const char *const reserved[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
                                           "True", "False", "Yes", "No", "On", "Off", "Y", "N", "Null", "NULL",
                                           "TRUE", "FALSE", "YES", "NO", "ON", "OFF"};
    bool quote = s.empty() || s.find_first_not_of("0123456789.+-eE") == std::string::npos;
    for (const char *r : reserved)
      quote = quote || s == r;
    if (quote)
      y << YAML::DoubleQuoted;
    y << s;
    break;
  }
  case ojson::value_t::boolean:
    y << j.get<bool>();
    break;
  case ojson::value_t::number_integer:
    y << j.get<long long>();
    break;
  case ojson::value_t::number_unsigned:
    y << j.get<unsigned long long>();
    break;
  case ojson::value_t::number_float:
    y << j.get<double>();
    break;
  case ojson::value_t::null:
  case ojson::value_t::discarded:
  case ojson::value_t::binary:
    y << YAML::Null;
    break;
  }
}

ojson summary_json(const model::Summary &s) {
  return ojson{{"clusters", s.clusters},
               {"inSync", s.in_sync},
               {"drifted", s.drifted},
               {"unknown", s.unknown},
               {"errors", s.errors},
               {"pods", s.pods},
               {"stalePods", s.stale_pods},
               {"unknownPods", s.unknown_pods},
               {"discoveryPods", s.discovery_pods}};
}

// Names from the command line need not be UTF-8 (API and manifest text is): replaced, never thrown.
std::string dump(const ojson &j) { return j.dump(2, ' ', false, ojson::error_handler_t::replace); }

// `text` (a dump) written `depth` levels deep: every line but the first indented by 2 * depth spaces. A dump
// has no raw newline inside a string, so its lines are its structure's.
void write_nested(std::ostream &out, const std::string &text, int depth) {
  const std::string pad(static_cast<std::size_t>(2 * depth), ' ');
  std::size_t from = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
    out.write(text.data() + from, static_cast<std::streamsize>(nl + 1 - from));
    out << pad;
    from = nl + 1;
  }
  out.write(text.data() + from, static_cast<std::streamsize>(text.size() - from));
}

} // namespace

nlohmann::ordered_json to_json(const model::DriftReport &r) {
  ojson clusters = ojson::array();
  for (const auto &c : r.clusters)
    clusters.push_back(cluster_json(c));
  ojson doc{{"apiVersion", kApiVersion}, {"kind", kKind}, {"clusters", clusters}};
  if (!r.warnings.empty()) doc["warnings"] = strings(r.warnings);
  if (!r.errors.empty()) doc["errors"] = r.errors; // only when there are: most reports have none
  doc["summary"] = summary_json(r.summary);
  return doc;
}

void render_json(const model::DriftReport &r, std::ostream &out) {
  // The same text as to_json(r) dumped with an indent of 2, written one cluster at a time: a fleet's report as
  // one tree (and one string) would be the largest allocation of a large check.
  out << "{\n  \"apiVersion\": " << dump(kApiVersion) << ",\n  \"kind\": " << dump(kKind) << ",\n  \"clusters\": ";
  if (r.clusters.empty()) {
    out << "[]";
  } else {
    out << "[\n    ";
    for (std::size_t i = 0; i < r.clusters.size(); ++i) {
      if (i > 0) out << ",\n    ";
      write_nested(out, dump(cluster_json(r.clusters[i])), 2);
    }
    out << "\n  ]";
  }
  if (!r.warnings.empty()) {
    out << ",\n  \"warnings\": ";
    write_nested(out, dump(strings(r.warnings)), 1);
  }
  if (!r.errors.empty()) {
    out << ",\n  \"errors\": ";
    write_nested(out, dump(ojson(r.errors)), 1);
  }
  out << ",\n  \"summary\": ";
  write_nested(out, dump(summary_json(r.summary)), 1);
  out << "\n}\n";
}

void render_yaml(const model::DriftReport &r, std::ostream &out) {
  YAML::Emitter y;
  y.SetIndent(2);
  y.SetNullFormat(YAML::LowerNull);
  emit(y, to_json(r));
  out << y.c_str() << '\n';
}

} // namespace vmsync::report
