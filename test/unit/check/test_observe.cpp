// What a pod runs with (PodObserver): the list a pod's spec holds is read once per spec and namespace, and what
// differs between the pods sharing that spec (when each container started) is still read per pod.
#include "../../../src/core/check/observe.hpp"

#include <doctest/doctest.h>

using namespace vmsync;
using namespace vmsync::check;
using nlohmann::json;

namespace {

// A KubeBlocks-style vminsert container: the list reaches -storageNode through $(VMSTORAGE_ADDR), from a
// ConfigMap.
json env_spec() {
  return {{"containers",
           {{{"name", "vminsert"},
             {"args", {"--storageNode=$(VMSTORAGE_ADDR)"}},
             {"envFrom", {{{"configMapRef", {{"name", "vm-vminsert-env"}}}}}}}}}};
}

json configmap(const std::string &ns, const std::string &addr, const std::string &changed) {
  return {{"metadata",
           {{"name", "vm-vminsert-env"},
            {"namespace", ns},
            {"creationTimestamp", "2026-01-01T00:00:00Z"},
            {"managedFields",
             {{{"time", changed}, {"fieldsV1", {{"f:data", {{"f:VMSTORAGE_ADDR", json::object()}}}}}}}}}},
          {"data", {{"VMSTORAGE_ADDR", addr}}}};
}

json pod(const std::string &ns, const std::string &name, const json &spec, const std::string &started) {
  return {{"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", spec},
          {"status",
           {{"phase", "Running"},
            {"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
            {"containerStatuses", {{{"name", "vminsert"}, {"state", {{"running", {{"startedAt", started}}}}}}}}}}};
}

} // namespace

TEST_CASE("PodObserver reads a shared spec once per namespace, and each pod's start against its ConfigMap") {
  Inventory inv;
  inv.configmaps = {configmap("a", "s-0:8400,s-1:8400", "2026-01-02T00:00:00Z"),
                    configmap("b", "t-0:8400", "2026-01-02T00:00:00Z")};
  PodInterner interner; // one list over all namespaces: pods of equal specs share one, whatever their namespace
  inv.pods.emplace_back(pod("a", "before", env_spec(), "2026-01-01T12:00:00Z"), &interner);
  inv.pods.emplace_back(pod("a", "after", env_spec(), "2026-01-03T00:00:00Z"), &interner);
  inv.pods.emplace_back(pod("b", "other-namespace", env_spec(), "2026-01-03T00:00:00Z"), &interner);
  REQUIRE(inv.pods[0].spec == inv.pods[2].spec);

  PodObserver observer(inv);
  const auto before = observer.observe(inv.pods[0]);
  const auto after = observer.observe(inv.pods[1]);
  const auto other = observer.observe(inv.pods[2]);

  // Started before the key changed: it runs with an earlier value.
  CHECK(before.name == "before");
  CHECK(before.started_before_source_change);
  CHECK_FALSE(before.running.has_value());
  // Started after: the current value, of its own namespace's ConfigMap.
  CHECK(after.name == "after");
  CHECK_FALSE(after.started_before_source_change);
  CHECK(after.running == std::vector<std::string>{"s-0:8400", "s-1:8400"});
  CHECK(other.running == std::vector<std::string>{"t-0:8400"});
  REQUIRE(other.evidence.size() == 1);
  CHECK(other.evidence[0].find("configmap vm-vminsert-env key VMSTORAGE_ADDR") != std::string::npos);

  // The same as each pod observed alone.
  for (const auto &p : inv.pods) {
    PodObserver alone(inv);
    const auto o = alone.observe(p);
    const auto shared = observer.observe(p);
    CHECK(o.running == shared.running);
    CHECK(o.evidence == shared.evidence);
    CHECK(o.started_before_source_change == shared.started_before_source_change);
  }
}

TEST_CASE("PodObserver: a list in the args, a list it cannot read, no list") {
  Inventory inv;
  const json args = {{"containers", {{{"name", "vmselect"}, {"args", {"-storageNode=s-0:8401,s-1:8401"}}}}}};
  const json missing = {
      {"containers",
       {{{"name", "vminsert"},
         {"args", {"--storageNode=$(ADDR)"}},
         {"env", {{{"name", "ADDR"}, {"valueFrom", {{"secretKeyRef", {{"name", "s"}, {"key", "k"}}}}}}}}}}}};
  const json none = {{"containers", {{{"name", "app"}, {"args", {"serve"}}}}}};
  inv.pods.emplace_back(pod("a", "args", args, ""));
  inv.pods.emplace_back(pod("a", "secret", missing, ""));
  inv.pods.emplace_back(pod("a", "none", none, ""));
  PodObserver observer(inv);
  CHECK(observer.observe(inv.pods[0]).running == std::vector<std::string>{"s-0:8401", "s-1:8401"});
  const auto secret = observer.observe(inv.pods[1]);
  CHECK_FALSE(secret.running.has_value());
  REQUIRE(secret.evidence.size() == 1);
  CHECK(secret.evidence[0].find("ADDR") != std::string::npos);
  const auto nolist = observer.observe(inv.pods[2]);
  CHECK_FALSE(nolist.running.has_value());
  CHECK(nolist.evidence == std::vector<std::string>{"no -storageNode in the pod's containers"});
}
