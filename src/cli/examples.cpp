#include "examples.hpp"

#include <map>

namespace vmsync::cli {

const std::vector<Example> &examples(std::string_view command) {
  static const std::map<std::string_view, std::vector<Example>> all{
      {"",
       {{"Report drift in the current namespace", "vmsync check"},
        {"Show the plan of a repair, checked by the API server", "vmsync fix --dry-run"},
        {"Help on a command", "vmsync help check"}}},
      {"check",
       {{"Report drift of every cluster in the namespace monitoring", "vmsync check -n monitoring"},
        {"One cluster, with the workloads and the evidence", "vmsync check vm -o wide"},
        {"A CronJob: every namespace, JSON to the log, metrics pushed, exit 0 on drift",
         "vmsync check -A -o json --exit-zero --pushgateway http://pushgateway:9091"},
        {"A CI gate on a rendered Helm chart (JUnit for the CI's test report)",
         "helm template vm CHART | vmsync check -f - -o junit > report.xml"},
        {"Manifests in a folder and its subfolders", "vmsync check -R -f rendered/"}}},
      {"fix",
       {{"The plan, every request checked by the API server; nothing changes", "vmsync fix --dry-run"},
        {"The plan only; nothing is sent", "vmsync fix --dry-run=client"},
        {"Repair one cluster, asking first (on a terminal)", "vmsync fix vm -n monitoring"},
        {"Repair every cluster from a script or CronJob (no terminal to ask on)", "vmsync fix -A --yes"}}},
      {"help", {{"Help on fix", "vmsync help fix"}}},
      {"version", {{"The version and git commit", "vmsync version"}}},
  };
  static const std::vector<Example> none;
  const auto it = all.find(command);
  return it == all.end() ? none : it->second;
}

std::string examples_text(std::string_view command) {
  const auto &list = examples(command);
  if (list.empty()) return {};
  std::string out = "Examples:\n";
  for (const auto &e : list) {
    out += "  # ";
    out += e.what;
    out += "\n  ";
    out += e.command;
    out += "\n\n";
  }
  out.pop_back();
  return out;
}

} // namespace vmsync::cli
