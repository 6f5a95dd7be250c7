// Plan renderers. The JSON keys follow the FixPlan contract; the text is for runbooks and reviews, so it shows
// each step's reason and the exact request body it sends.
#include "vmsync/fix/render.hpp"

#include "vmsync/report/render.hpp"

#include <fmt/format.h>

namespace vmsync::fix {

std::string_view to_string(kube::PatchType t) noexcept {
  switch (t) {
  case kube::PatchType::Strategic: return "strategic";
  case kube::PatchType::Merge: return "merge";
  case kube::PatchType::Json: break;
  }
  return "json";
}

std::string describe(const Step &s) {
  const auto &t = s.target;
  return fmt::format("{} {} {}/{}", to_string(s.action), t.kind, t.namespace_, t.name);
}

nlohmann::ordered_json step_to_json(const Step &s) {
  nlohmann::ordered_json j;
  j["action"] = to_string(s.action);
  j["target"] = {{"apiVersion", s.target.api_version},
                 {"kind", s.target.kind},
                 {"namespace", s.target.namespace_},
                 {"name", s.target.name}};
  j["patchType"] = s.patch_type ? nlohmann::ordered_json(std::string(to_string(*s.patch_type))) : nullptr;
  j["body"] = s.body.is_null() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json::parse(s.body.dump());
  j["reason"] = s.reason;
  j["role"] = model::to_string(s.role);
  j["canary"] = s.canary;
  if (!s.uid_precondition.empty() && s.action == Action::DeletePod)
    j["preconditions"] = {{"uid", s.uid_precondition}};
  if (s.action == Action::Wait) j["until"] = std::string(to_string(s.wait));
  return j;
}

nlohmann::ordered_json plan_to_json(const Plan &p) {
  nlohmann::ordered_json doc;
  doc["apiVersion"] = report::kApiVersion;
  doc["kind"] = kPlanKind;
  doc["clusters"] = nlohmann::ordered_json::array();
  for (const auto &c : p.clusters) {
    nlohmann::ordered_json cj;
    cj["namespace"] = c.namespace_;
    cj["name"] = c.name;
    cj["layout"] = model::to_string(c.layout);
    cj["refusals"] = c.refusals;
    cj["warnings"] = c.warnings;
    cj["errors"] = c.errors;
    cj["steps"] = nlohmann::ordered_json::array();
    for (const auto &s : c.steps)
      cj["steps"].push_back(step_to_json(s));
    doc["clusters"].push_back(std::move(cj));
  }
  return doc;
}

void render_plan_text(const Plan &p, std::ostream &out, bool bodies) {
  std::size_t n = 0;
  bool requests = false;
  for (const auto &c : p.clusters) {
    const auto name = c.name.empty() ? c.namespace_ : fmt::format("{}/{}", c.namespace_, c.name);
    if (c.nothing_to_do()) {
      out << fmt::format("{} ({}): nothing to do\n", name, model::to_string(c.layout));
      continue;
    }
    out << fmt::format("{} ({}): {} step{}\n", name, model::to_string(c.layout), c.steps.size(),
                       c.steps.size() == 1 ? "" : "s");
    for (const auto &e : c.errors)
      out << "  error: " << e << "\n";
    for (const auto &r : c.refusals)
      out << "  refused: " << r << "\n";
    for (const auto &w : c.warnings)
      out << "  warning: " << w << "\n";
    for (const auto &s : c.steps) {
      ++n;
      std::string flags = std::string(model::to_string(s.role));
      if (s.canary) flags += ", canary";
      out << fmt::format("  {:>2}. {} [{}]\n", n, describe(s), flags);
      out << fmt::format("      {}\n", s.action == Action::Wait ? "until " + s.until : s.reason);
      requests = requests || s.action != Action::Wait;
      if (!bodies) continue;
      if (s.patch_type)
        out << fmt::format("      {} patch: {}\n", to_string(*s.patch_type), s.body.dump());
      else if (s.action == Action::CreateOpsRequest)
        out << fmt::format("      body: {}\n", s.body.dump());
      else if (s.action == Action::DeletePod)
        out << fmt::format("      precondition: uid {}\n", s.uid_precondition);
    }
  }
  if (p.clusters.empty()) out << "No VictoriaMetrics clusters found.\n";
  if (requests && !bodies) out << "(the request body of each step: -v, or -o json)\n";
}

} // namespace vmsync::fix
