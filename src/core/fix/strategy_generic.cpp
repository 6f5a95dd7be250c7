// The generic layout (hand-written manifests, the relation named by annotations or options): repair the list where
// it is kept, then replace the stale pods as their controller does. Nothing here knows an owner that would revert
// an edit, so an owned object is left to whoever owns it.
#include "strategy.hpp"

namespace vmsync::fix {

namespace {

class GenericStrategy final : public LayoutStrategy {
public:
  std::optional<std::string> plan_consumer(Context &ctx, const Work &w) const override {
    bool template_patched = false;
    if (auto refusal = repair_source(ctx, w, template_patched)) return refusal;
    return restart_pods(ctx, w, template_patched);
  }
  [[nodiscard]] std::string instead(const std::string & /*cluster*/) const override {
    return "change its owner instead";
  }
};

} // namespace

const LayoutStrategy &generic_strategy() {
  static const GenericStrategy s;
  return s;
}

const LayoutStrategy &strategy_for(model::Layout layout) {
  switch (layout) {
  case model::Layout::KubeBlocks: return kubeblocks_strategy();
  case model::Layout::Helm: return helm_strategy();
  case model::Layout::Operator: return operator_strategy();
  case model::Layout::Generic: break;
  }
  return generic_strategy();
}

} // namespace vmsync::fix
