#include "vmsync/report/render.hpp"

namespace vmsync::report {

void render(const model::DriftReport &r, const RenderOptions &o, std::ostream &out) {
  switch (o.format) {
  case Format::Json:
    render_json(r, out);
    return;
  case Format::Yaml:
    render_yaml(r, out);
    return;
  case Format::Table:
    break;
  }
  render_table(r, o, out);
}

} // namespace vmsync::report
