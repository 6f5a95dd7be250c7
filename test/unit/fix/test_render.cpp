#include "vmsync/fix/render.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace vmsync;

namespace {

fix::Plan patch_and_wait() {
  fix::Step patch;
  patch.action = fix::Action::PatchConfigMap;
  patch.target = {"v1", "ConfigMap", "mon", "vm-env"};
  patch.patch_type = kube::PatchType::Merge;
  patch.body = {{"data", {{"VMSTORAGE_ADDR", "a,b"}}}};
  patch.reason = "key VMSTORAGE_ADDR: 1 node(s) added";
  patch.role = model::Role::Select;
  fix::Step wait;
  wait.action = fix::Action::Wait;
  wait.target = {"apps/v1", "Deployment", "mon", "vmselect"};
  wait.until = "every pod Ready";
  wait.role = model::Role::Select;
  fix::ClusterPlan c;
  c.namespace_ = "mon";
  c.name = "vm";
  c.steps = {patch, wait};
  return fix::Plan{{c}};
}

std::string text(const fix::Plan &p, bool bodies) {
  std::ostringstream out;
  fix::render_plan_text(p, out, bodies);
  return out.str();
}

} // namespace

TEST_CASE("render_plan_text: request bodies only when asked, else a pointer to them") {
  const auto plain = text(patch_and_wait(), false);
  CHECK(plain.find("key VMSTORAGE_ADDR: 1 node(s) added\n") != std::string::npos);
  CHECK(plain.find("until every pod Ready\n") != std::string::npos);
  CHECK(plain.find("patch:") == std::string::npos);
  CHECK(plain.ends_with("(the request body of each step: -v, or -o json)\n"));

  const auto verbose = text(patch_and_wait(), true);
  CHECK(verbose.find(R"(merge patch: {"data":{"VMSTORAGE_ADDR":"a,b"}})") != std::string::npos);
  CHECK(verbose.find("(the request body") == std::string::npos);
}

TEST_CASE("render_plan_text: nothing to do has no pointer to request bodies") {
  fix::ClusterPlan c;
  c.namespace_ = "mon";
  c.name = "vm";
  CHECK(text(fix::Plan{{c}}, false) == "mon/vm (generic): nothing to do\n");
}
