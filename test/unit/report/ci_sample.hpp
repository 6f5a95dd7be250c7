#pragma once
// A report built by hand, field by field (no model code), for the exact-output tests of the machine formats
// (JUnit, Prometheus, SARIF): a drifted cluster (a stale pod, an unproven pod, a wrong source, mixed spellings,
// an unexpected node), a cluster whose pods use discovery, and a cluster that could not be checked.
#include "vmsync/model/drift.hpp"

namespace vmsync::test {

inline model::DriftReport ci_sample() {
  using namespace model;
  ClusterDrift helm;
  helm.namespace_ = "apps";
  helm.name = "metrics";
  helm.layout = Layout::Helm;
  helm.status = ClusterStatus::InSync;
  helm.storage = {{"StatefulSet", "metrics-vmstorage", "apps"}, 1, 1, 1, {"metrics-vmstorage-0"}};
  ConsumerDrift hins;
  hins.role = Role::Insert;
  hins.workload = {"Deployment", "metrics-vminsert", "apps"};
  hins.source.kind = ListSource::Kind::TemplateArgs;
  hins.source.description = "args of container vminsert";
  hins.expected = {"srv+metrics-vmstorage"};
  PodDrift d;
  d.name = "metrics-vminsert-5d8f-abcde";
  d.status = PodStatus::Discovery;
  d.running = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"srv+metrics-vmstorage"});
  hins.pods = {d};
  helm.consumers = {hins};

  ClusterDrift kb;
  kb.namespace_ = "mon";
  kb.name = "vm";
  kb.layout = Layout::KubeBlocks;
  kb.status = ClusterStatus::Drift;
  kb.storage = {
      {"InstanceSet", "vm-vmstorage", "mon"}, 3, 3, 2, {"vm-vmstorage-0", "vm-vmstorage-1", "vm-vmstorage-2"}};
  kb.warnings = {"vmstorage: 2 of 3 pods ready"};
  ConsumerDrift ins;
  ins.role = Role::Insert;
  ins.workload = {"InstanceSet", "vm-vminsert", "mon"};
  ins.source.kind = ListSource::Kind::ConfigMap;
  ins.source.description = "configmap/vm-vminsert-env key VMSTORAGE_ADDR";
  ins.source.object = {"ConfigMap", "vm-vminsert-env", "mon"};
  ins.source.key = "VMSTORAGE_ADDR";
  ins.expected = {"vm-vmstorage-0:8400", "vm-vmstorage-1:8400", "vm-vmstorage-2:8400"};
  ins.source.entries = std::vector<std::string>{"vm-vmstorage-0:8400", "vm-vmstorage-1:8400"};
  ins.source_drift = true;
  ins.source_missing = {"vm-vmstorage-2:8400"};
  PodDrift p0;
  p0.name = "vm-vminsert-0";
  p0.status = PodStatus::Stale;
  p0.running = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"vm-vmstorage-0:8400", "vm-vmstorage-1:8400", "old-node:8400"});
  p0.missing = {"vm-vmstorage-2:8400"};
  p0.unexpected = {"old-node:8400"};
  PodDrift p1;
  p1.name = "vm-vminsert-1";
  p1.status = PodStatus::Unknown;
  p1.evidence = {"env VMSTORAGE_ADDR comes from secret \"vm-env\" & cannot be read"};
  PodDrift p2;
  p2.name = "vm-vminsert-2";
  p2.status = PodStatus::Stale;
  p2.running = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"vm-vmstorage-0:8400"});
  p2.missing = {"vm-vmstorage-1:8400", "vm-vmstorage-2:8400"};
  ins.pods = {p0, p1, p2};
  ConsumerDrift sel;
  sel.role = Role::Select;
  sel.workload = {"InstanceSet", "vm-vmselect", "mon"};
  sel.source = ins.source;
  sel.source.description = "configmap/vm-vmselect-env key VMSTORAGE_ADDR";
  sel.source.object = {"ConfigMap", "vm-vmselect-env", "mon"};
  sel.expected = {"vm-vmstorage-0:8401", "vm-vmstorage-1:8401", "vm-vmstorage-2:8401"};
  sel.source.entries = sel.expected;
  sel.mixed_spellings = true;
  sel.spelling_variants = {{"vm-vmstorage-0.mon:8401", {"vm-vmstorage-0.mon:8401", "vm-vmstorage-0:8401"}}};
  PodDrift s0;
  s0.name = "vm-vmselect-0";
  s0.status = PodStatus::InSync;
  s0.running = std::make_shared<const std::vector<std::string>>(sel.expected);
  sel.pods = {s0};
  kb.consumers = {ins, sel};

  ClusterDrift broken;
  broken.namespace_ = "team-b";
  broken.name = "vmc";
  broken.layout = Layout::Operator;
  broken.status = ClusterStatus::Error;
  broken.storage = {{"StatefulSet", "vmstorage-vmc", "team-b"}, 2, 0, 0, {"vmstorage-vmc-0", "vmstorage-vmc-1"}};
  broken.errors = {
      "pods is forbidden: User \"system:serviceaccount:team-b:ci\" cannot list resource \"pods\" <403>"};

  DriftReport r;
  r.clusters = {helm, kb, broken};
  r.summary = summarize(r.clusters);
  return r;
}

} // namespace vmsync::test
