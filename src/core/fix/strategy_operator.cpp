// The VictoriaMetrics operator's VMCluster: the operator owns the vminsert Deployment and the vmselect StatefulSet
// and rewrites them from the VMCluster, so an edit of them is refused (unless --force-owned) with what to change
// instead. Its StatefulSets are OnDelete: their stale pods are deleted one at a time, as the operator itself rolls
// them, which needs no edit of an owned object.
#include "strategy.hpp"

#include <fmt/format.h>

namespace vmsync::fix {

namespace {

class OperatorStrategy final : public LayoutStrategy {
public:
  std::optional<std::string> plan_consumer(Context &ctx, const Work &w) const override {
    bool template_patched = false;
    if (auto refusal = repair_source(ctx, w, template_patched)) return refusal;
    return restart_pods(ctx, w, template_patched);
  }
  [[nodiscard]] std::string instead(const std::string &cluster) const override {
    return fmt::format("the VictoriaMetrics operator rewrites it from VMCluster {}: change the VMCluster "
                       "(spec.vmstorage.replicaCount) and let the operator roll it",
                       cluster);
  }
};

} // namespace

const LayoutStrategy &operator_strategy() {
  static const OperatorStrategy s;
  return s;
}

} // namespace vmsync::fix
