// SARIF 2.1.0. Findings are about Kubernetes objects, not source files, so each result carries a logical
// location (namespace/kind/name) and no physical one; the rules are fixed, so a dashboard can track them.
#include "vmsync/report/sarif.hpp"

#include "vmsync/version.hpp"

#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vmsync::report {
namespace {

using ojson = nlohmann::ordered_json;
using model::PodStatus;

struct Rule {
  const char *id;
  const char *name;
  const char *level;
  const char *text;
};

constexpr Rule kRules[] = {
    {"stale-pod", "StalePod", "error",
     "A vminsert or vmselect pod runs with a vmstorage list that differs from the vmstorage nodes."},
    {"unproven-pod", "UnprovenPod", "warning", "The vmstorage list a pod runs with could not be proven."},
    {"source-drift", "SourceDrift", "error",
     "The source of a consumer's vmstorage list (pod template or ConfigMap) is wrong: new pods would start with "
     "it."},
    {"mixed-spellings", "MixedSpellings", "warning",
     "The same vmstorage node is written differently across a consumer's pods and source."},
    {"check-error", "CheckError", "error", "A VictoriaMetrics cluster could not be checked."},
    {"spelling-split", "SpellingSplit", "error",
     "Two vminsert workloads of a cluster write the same vmstorage node differently, so they route the same "
     "series to different nodes (between vmselect workloads: a note, it changes no routing)."},
};

ojson location(const std::string &ns, const std::string &kind, const std::string &name) {
  return ojson::array(
      {ojson{{"logicalLocations",
              ojson::array({ojson{{"name", name},
                                  {"fullyQualifiedName", fmt::format("{}/{}/{}", ns, text::lower(kind), name)},
                                  {"kind", "resource"}}})}}});
}

ojson result(const char *rule, std::string message, ojson locations, const model::ClusterDrift &c) {
  const auto *r = std::find_if(std::begin(kRules), std::end(kRules),
                               [&](const Rule &x) { return std::string_view(x.id) == rule; });
  return ojson{{"ruleId", rule},
               {"ruleIndex", r - std::begin(kRules)},
               {"level", r->level},
               {"message", {{"text", std::move(message)}}},
               {"locations", std::move(locations)},
               {"properties", {{"namespace", c.namespace_}, {"cluster", c.name}}}};
}

std::string drift_text(const std::vector<std::string> &missing, const std::vector<std::string> &unexpected) {
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back("missing " + text::join(missing));
  if (!unexpected.empty()) parts.push_back("unexpected " + text::join(unexpected));
  return parts.empty() ? std::string{} : ": " + parts[0] + (parts.size() > 1 ? "; " + parts[1] : "");
}

} // namespace

nlohmann::ordered_json to_sarif(const model::DriftReport &r) {
  ojson rules = ojson::array();
  for (const auto &rule : kRules)
    rules.push_back(ojson{{"id", rule.id},
                          {"name", rule.name},
                          {"shortDescription", {{"text", rule.text}}},
                          {"defaultConfiguration", {{"level", rule.level}}}});
  ojson results = ojson::array();
  // Errors that belong to no cluster have no location; the run says it did not complete.
  ojson notifications = ojson::array();
  for (const auto &e : r.errors) {
    ojson res{{"ruleId", "check-error"}, {"level", "error"}, {"message", {{"text", e}}}};
    results.push_back(std::move(res));
    notifications.push_back(ojson{{"level", "error"}, {"message", {{"text", e}}}});
  }
  for (const auto &c : r.clusters) {
    for (const auto &e : c.errors)
      results.push_back(result("check-error", fmt::format("cluster {}/{}: {}", c.namespace_, c.name, e),
                               location(c.namespace_, "Cluster", c.name), c));
    for (const auto &consumer : c.consumers) {
      const std::string role(model::to_string(consumer.role));
      if (consumer.source_drift) {
        const auto &obj = consumer.source.object.name.empty() ? consumer.workload : consumer.source.object;
        results.push_back(result("source-drift",
                                 fmt::format("{} list in {} is wrong{}", role, consumer.source.description,
                                             drift_text(consumer.source_missing, consumer.source_unexpected)),
                                 location(c.namespace_, obj.kind, obj.name), c));
      }
      if (consumer.mixed_spellings) {
        std::vector<std::string> nodes;
        for (const auto &v : consumer.spelling_variants)
          nodes.push_back(v.identity + " as " + text::join(v.spellings));
        results.push_back(
            result("mixed-spellings",
                   fmt::format("{} {}/{} spells nodes differently: {}", role, text::lower(consumer.workload.kind),
                               consumer.workload.name, text::join(nodes)),
                   location(c.namespace_, consumer.workload.kind, consumer.workload.name), c));
      }
      for (const auto &p : consumer.pods) {
        if (p.status == PodStatus::Stale)
          results.push_back(result("stale-pod",
                                   fmt::format("{} pod {} runs with a stale vmstorage list{}", role, p.name,
                                               drift_text(p.missing, p.unexpected)),
                                   location(c.namespace_, "Pod", p.name), c));
        else if (p.status == PodStatus::Unknown)
          results.push_back(result("unproven-pod",
                                   fmt::format("{} pod {}: its vmstorage list could not be proven{}", role, p.name,
                                               p.evidence.empty() ? "" : " (" + text::join(p.evidence) + ")"),
                                   location(c.namespace_, "Pod", p.name), c));
      }
    }
    for (const auto &split : c.spelling_splits) {
      std::vector<std::string> each;
      for (const auto &w : split.workloads)
        each.push_back(
            fmt::format("{}/{} as {}", text::lower(w.workload.kind), w.workload.name, text::join(w.spellings)));
      auto res = result("spelling-split",
                        fmt::format("{} workloads spell {} differently: {}", model::to_string(split.role),
                                    split.identity, text::join(each)),
                        ojson::array(), c);
      for (const auto &w : split.workloads)
        res["locations"].push_back(location(c.namespace_, w.workload.kind, w.workload.name)[0]);
      if (split.role == model::Role::Select) res["level"] = "note";
      results.push_back(std::move(res));
    }
  }
  ojson run{
      {"tool", {{"driver", {{"name", "vmsync"}, {"semanticVersion", std::string(version())}, {"rules", rules}}}}}};
  if (!r.errors.empty())
    run["invocations"] =
        ojson::array({ojson{{"executionSuccessful", false}, {"toolExecutionNotifications", notifications}}});
  run["results"] = results;
  return ojson{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
               {"version", "2.1.0"},
               {"runs", ojson::array({run})}};
}

void render_sarif(const model::DriftReport &r, std::ostream &out) { out << to_sarif(r).dump(2) << '\n'; }

} // namespace vmsync::report
