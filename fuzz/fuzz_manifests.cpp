// Offline check (`vmsync check -f`): rendered manifests as YAML or JSON documents, through read_manifests,
// compute_report and every renderer. Checks: only vmsync::Error escapes; no hang or unbounded memory.
#include "fuzz_common.hpp"
#include "vmsync/check/check.hpp"
#include "vmsync/report/render.hpp"

#include <sstream>

using namespace vmsync;

VMSYNC_FUZZ_TARGET(manifests) {
  const std::string path =
      fuzz::write_file("manifests.yaml", std::string_view(reinterpret_cast<const char *>(data), size));
  fuzz::expect_clean([&] {
    const check::Inventory inv = check::read_manifests({path}, "default");
    check::Scope scope;
    scope.namespace_ = "default";
    scope.all_namespaces = true;
    const model::DriftReport report = check::compute_report(inv, scope);
    std::ostringstream out;
    report::render_json(report, out);
    report::render_yaml(report, out);
    report::RenderOptions ro;
    ro.wide = true;
    report::render_table(report, ro, out);
  });
  return 0;
}
