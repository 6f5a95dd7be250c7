// The Helm chart victoria-metrics-cluster: its templates carry one --storageNode flag per node
// (charts/victoria-metrics-cluster/templates/_helpers.tpl), so a repaired template keeps that style even where it
// held a single node. The objects are Helm's, not a controller's: an edit stays until the next `helm upgrade`,
// which repair_source warns about.
#include "strategy.hpp"

namespace vmsync::fix {

namespace {

class HelmStrategy final : public LayoutStrategy {
public:
  std::optional<std::string> plan_consumer(Context &ctx, const Work &w) const override {
    bool template_patched = false;
    if (auto refusal = repair_source(ctx, w, template_patched)) return refusal;
    return restart_pods(ctx, w, template_patched);
  }
  [[nodiscard]] std::string instead(const std::string & /*cluster*/) const override {
    return "change its owner instead";
  }
  [[nodiscard]] bool one_flag_per_node() const override { return true; }
};

} // namespace

const LayoutStrategy &helm_strategy() {
  static const HelmStrategy s;
  return s;
}

} // namespace vmsync::fix
