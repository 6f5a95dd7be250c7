#pragma once
// A small report with one cluster of each kind of finding, shared by the renderer tests.
#include "vmsync/model/drift.hpp"

namespace vmsync::test {

inline model::DriftReport sample_report() {
  using namespace model;
  ClusterDrift kb;
  kb.namespace_ = "mon";
  kb.name = "vm";
  kb.layout = Layout::KubeBlocks;
  kb.storage = {{"InstanceSet", "vm-vmstorage", "mon"}, 3, 3, 2, {"vm-vmstorage-0", "vm-vmstorage-1", "vm-vmstorage-2"}};
  kb.warnings = {"vmstorage: 2 of 3 pods ready"};

  ConsumerInput ins;
  ins.role = Role::Insert;
  ins.workload = {"InstanceSet", "vm-vminsert", "mon"};
  ins.names.namespace_ = "mon";
  ins.expected = {"vm-vmstorage-0:8400", "vm-vmstorage-1:8400", "vm-vmstorage-2:8400"};
  ins.source.kind = ListSource::Kind::ConfigMap;
  ins.source.description = "configmap/vm-vminsert-env key VMSTORAGE_ADDR";
  ins.source.object = {"ConfigMap", "vm-vminsert-env", "mon"};
  ins.source.key = "VMSTORAGE_ADDR";
  ins.source.entries = ins.expected;
  PodObservation p0{"vm-vminsert-0",
                    std::vector<std::string>{"vm-vmstorage-0:8400", "vm-vmstorage-1:8400"},
                    false,
                    true,
                    {},
                    false,
                    nullptr,
                    {}};
  PodObservation p1{"vm-vminsert-1",
                    std::nullopt,
                    false,
                    true,
                    {"container started 2026-01-01T10:00:00Z, before configmap vm-vminsert-env changed at "
                     "2026-01-01T11:00:00Z"},
                    true,
                    nullptr,
                    {}};
  PodObservation p10{"vm-vminsert-10", ins.expected, false, true, {}, false, nullptr, {}};
  ins.pods = {p10, p1, p0};

  ConsumerInput sel = ins;
  sel.role = Role::Select;
  sel.workload = {"InstanceSet", "vm-vmselect", "mon"};
  sel.expected = {"vm-vmstorage-0:8401", "vm-vmstorage-1:8401", "vm-vmstorage-2:8401"};
  sel.source.description = "configmap/vm-vmselect-env key VMSTORAGE_ADDR";
  sel.source.object = {"ConfigMap", "vm-vmselect-env", "mon"};
  sel.source.entries = std::vector<std::string>{"vm-vmstorage-0:8401", "vm-vmstorage-1:8401"};
  sel.pods = {PodObservation{"vm-vmselect-0", sel.expected, false, true, {}, false, nullptr, {}}};
  kb.consumers = {compute_consumer(sel), compute_consumer(ins)};
  kb.status = cluster_status(kb);

  ClusterDrift helm;
  helm.namespace_ = "apps";
  helm.name = "metrics";
  helm.layout = Layout::Helm;
  helm.storage = {{"StatefulSet", "metrics-vmstorage", "apps"}, 1, 1, 1, {"metrics-vmstorage-0"}};
  ConsumerInput hins;
  hins.role = Role::Insert;
  hins.workload = {"Deployment", "metrics-vminsert", "apps"};
  hins.names.namespace_ = "apps";
  hins.names.headless_services = {"metrics-vmstorage"};
  hins.expected = {"metrics-vmstorage-0.metrics-vmstorage.apps.svc.cluster.local.:8400"};
  hins.source.kind = ListSource::Kind::TemplateArgs;
  hins.source.description = "args of container vminsert";
  hins.source.object = {"Deployment", "metrics-vminsert", "apps"};
  hins.source.entries = hins.expected;
  PodObservation d{"metrics-vminsert-5d8f-abcde",
                   std::vector<std::string>{"srv+metrics-vmstorage"},
                   true,
                   true,
                   {},
                   false,
                   nullptr,
                   {}};
  hins.pods = {d};
  helm.consumers = {compute_consumer(hins)};
  helm.status = cluster_status(helm);

  ClusterDrift broken;
  broken.namespace_ = "team-b";
  broken.name = "vmc";
  broken.layout = Layout::Operator;
  broken.storage = {{"StatefulSet", "vmstorage-vmc", "team-b"}, 2, 0, 0, {"vmstorage-vmc-0", "vmstorage-vmc-1"}};
  broken.errors = {"pods is forbidden: cannot list pods in namespace team-b (403)"};
  broken.status = cluster_status(broken);

  DriftReport r;
  r.clusters = {kb, helm, broken};
  sort_report(r);
  return r;
}

// One node spelled two ways by two vminsert Deployments (Drift: they route series differently) and by two vmselect
// Deployments (a note only), with no consumers yet: each test adds what it renders.
inline model::ClusterDrift spelling_split_cluster() {
  using namespace model;
  ClusterDrift c;
  c.namespace_ = "mon";
  c.name = "vm";
  c.status = ClusterStatus::Drift;
  c.spelling_splits = {
      {Role::Insert,
       "vmstorage-0.vmstorage.mon:8400",
       {{{"Deployment", "vminsert-a", "mon"}, {"vmstorage-0.vmstorage:8400"}},
        {{"Deployment", "vminsert-b", "mon"}, {"vmstorage-0.vmstorage.mon.svc.cluster.local:8400"}}}},
      {Role::Select,
       "vmstorage-0.vmstorage.mon:8401",
       {{{"Deployment", "vmselect-a", "mon"}, {"vmstorage-0.vmstorage:8401"}},
        {{"Deployment", "vmselect-b", "mon"}, {"vmstorage-0.vmstorage.mon:8401"}}}}};
  return c;
}

} // namespace vmsync::test
