#include "vmsync/model/drift.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace vmsync::model;
using List = std::vector<std::string>;

namespace {

ConsumerInput consumer(List expected) {
  ConsumerInput in;
  in.role = Role::Insert;
  in.workload = {"Deployment", "vminsert", "mon"};
  in.names.namespace_ = "mon";
  in.names.headless_services = {"vmstorage"};
  in.expected = std::move(expected);
  return in;
}

PodObservation pod(std::string name, std::optional<List> running) {
  PodObservation p;
  p.name = std::move(name);
  p.running = std::move(running);
  return p;
}

const List kThree{"vmstorage-0.vmstorage:8400", "vmstorage-1.vmstorage:8400", "vmstorage-2.vmstorage:8400"};

} // namespace

TEST_CASE("to_string of the enums") {
  CHECK(to_string(Role::Insert) == "vminsert");
  CHECK(to_string(Role::Select) == "vmselect");
  CHECK(to_string(Layout::KubeBlocks) == "kubeblocks");
  CHECK(to_string(Layout::Helm) == "helm");
  CHECK(to_string(Layout::Operator) == "operator");
  CHECK(to_string(Layout::Generic) == "generic");
  CHECK(to_string(PodStatus::InSync) == "InSync");
  CHECK(to_string(PodStatus::Stale) == "Stale");
  CHECK(to_string(PodStatus::Unknown) == "Unknown");
  CHECK(to_string(PodStatus::Discovery) == "Discovery");
  CHECK(to_string(ClusterStatus::InSync) == "InSync");
  CHECK(to_string(ClusterStatus::Drift) == "Drift");
  CHECK(to_string(ClusterStatus::Unknown) == "Unknown");
  CHECK(to_string(ClusterStatus::Error) == "Error");
  CHECK(to_string(ListSource::Kind::TemplateArgs) == "templateArgs");
  CHECK(to_string(ListSource::Kind::TemplateEnv) == "templateEnv");
  CHECK(to_string(ListSource::Kind::ConfigMap) == "configMap");
  CHECK(to_string(ListSource::Kind::Unknown) == "unknown");
}

TEST_CASE("compute_consumer: in sync, order does not matter") {
  auto in = consumer(kThree);
  in.pods.push_back(pod("vminsert-a", List{kThree[2], kThree[0], kThree[1]}));
  auto d = compute_consumer(in);
  REQUIRE(d.pods.size() == 1);
  CHECK(d.pods[0].status == PodStatus::InSync);
  CHECK(d.pods[0].missing.empty());
  CHECK(d.pods[0].unexpected.empty());
  CHECK(*d.pods[0].running == List{kThree[2], kThree[0], kThree[1]});
  CHECK(d.expected == kThree);
  CHECK(d.role == Role::Insert);
  CHECK(d.workload.name == "vminsert");
  CHECK_FALSE(d.source_drift);
  CHECK_FALSE(d.mixed_spellings);
}

TEST_CASE("compute_consumer: after a scale-up the pod misses the new nodes, in the expected spelling") {
  List expected;
  for (int i = 0; i < 12; ++i)
    expected.push_back("vmstorage-" + std::to_string(i) + ".vmstorage:8400");
  auto in = consumer(expected);
  in.pods.push_back(pod("vminsert-a", List{expected.begin(), expected.begin() + 2}));
  auto d = compute_consumer(in);
  CHECK(d.pods[0].status == PodStatus::Stale);
  CHECK(d.pods[0].missing == List{"vmstorage-2.vmstorage:8400", "vmstorage-3.vmstorage:8400",
                                  "vmstorage-4.vmstorage:8400", "vmstorage-5.vmstorage:8400",
                                  "vmstorage-6.vmstorage:8400", "vmstorage-7.vmstorage:8400",
                                  "vmstorage-8.vmstorage:8400", "vmstorage-9.vmstorage:8400",
                                  "vmstorage-10.vmstorage:8400", "vmstorage-11.vmstorage:8400"});
  CHECK(d.pods[0].unexpected.empty());
}

TEST_CASE("compute_consumer: after a scale-down the pod has unexpected nodes, in its own spelling") {
  auto in = consumer({kThree[0]});
  in.pods.push_back(pod("vminsert-a", List{"vmstorage-0.vmstorage.mon.svc.cluster.local.:8400",
                                           "vmstorage-10.vmstorage.mon.svc.cluster.local.:8400",
                                           "vmstorage-2.vmstorage.mon.svc.cluster.local.:8400"}));
  auto d = compute_consumer(in);
  CHECK(d.pods[0].status == PodStatus::Stale);
  CHECK(d.pods[0].missing.empty());
  CHECK(d.pods[0].unexpected == List{"vmstorage-2.vmstorage.mon.svc.cluster.local.:8400",
                                     "vmstorage-10.vmstorage.mon.svc.cluster.local.:8400"});
}

TEST_CASE("compute_consumer: identity comparison across spellings, ports matter") {
  auto in = consumer({"vmstorage-0.vmstorage.mon.svc.cluster.local.:8400"});
  in.pods.push_back(pod("a", List{"vmstorage-0.vmstorage:8400"}));
  in.pods.push_back(pod("b", List{"vmstorage-0.vmstorage:8401"}));
  auto d = compute_consumer(in);
  CHECK(d.pods[0].status == PodStatus::InSync);
  CHECK(d.pods[1].status == PodStatus::Stale);
  CHECK(d.pods[1].missing == List{"vmstorage-0.vmstorage.mon.svc.cluster.local.:8400"});
  CHECK(d.pods[1].unexpected == List{"vmstorage-0.vmstorage:8401"});
}

TEST_CASE("compute_consumer: unknown, stale-by-evidence and discovery pods") {
  auto in = consumer(kThree);
  auto unknown = pod("u", std::nullopt);
  unknown.evidence = {"env VM_STORAGE_URLS comes from secret s"};
  auto stale = pod("s", std::nullopt);
  stale.started_before_source_change = true;
  stale.evidence = {"container started 2026-01-01T00:00:00Z, before configmap vm changed at 2026-01-02T00:00:00Z"};
  auto disco = pod("d", List{"srv+vmstorage"});
  disco.discovery = true;
  in.pods = {unknown, stale, disco};
  auto d = compute_consumer(in);
  CHECK(d.pods[0].status == PodStatus::Unknown);
  CHECK_FALSE(d.pods[0].running);
  CHECK(d.pods[0].evidence == unknown.evidence);
  CHECK(d.pods[1].status == PodStatus::Stale);
  CHECK(d.pods[1].missing.empty());
  CHECK(d.pods[1].evidence == stale.evidence);
  CHECK(d.pods[2].status == PodStatus::Discovery);
  CHECK(d.pods[2].missing.empty());
  CHECK(d.pods[2].unexpected.empty());
  CHECK(*d.pods[2].running == List{"srv+vmstorage"});
  CHECK_FALSE(d.mixed_spellings);
}

TEST_CASE("compute_consumer: a known list wins over the start-time evidence") {
  auto in = consumer(kThree);
  auto p = pod("p", kThree);
  p.started_before_source_change = true;
  in.pods = {p};
  CHECK(compute_consumer(in).pods[0].status == PodStatus::InSync);
}

TEST_CASE("compute_consumer: source drift vs pods behind") {
  auto in = consumer(kThree);
  in.source.kind = ListSource::Kind::ConfigMap;
  in.source.entries = List{kThree[0], kThree[1], "vmstorage-3.vmstorage:8400"};
  in.pods.push_back(pod("a", kThree));
  auto d = compute_consumer(in);
  CHECK(d.source_drift);
  CHECK(d.source_missing == List{kThree[2]});
  CHECK(d.source_unexpected == List{"vmstorage-3.vmstorage:8400"});
  CHECK(d.pods[0].status == PodStatus::InSync);

  in.source.entries = kThree;
  in.pods = {pod("a", List{kThree[0]})};
  d = compute_consumer(in);
  CHECK_FALSE(d.source_drift);
  CHECK(d.source_missing.empty());
  CHECK(d.pods[0].status == PodStatus::Stale);
}

TEST_CASE("compute_consumer: unreadable source is not drift") {
  auto in = consumer(kThree);
  in.source.entries = std::nullopt;
  auto d = compute_consumer(in);
  CHECK_FALSE(d.source_drift);
  CHECK(d.source_missing.empty());
}

TEST_CASE("compute_consumer: duplicates, exact or in another spelling") {
  auto in = consumer(kThree);
  in.source.entries = List{kThree[0], kThree[1], kThree[2], kThree[0]};
  auto d = compute_consumer(in);
  CHECK(d.duplicates == List{kThree[0]});
  CHECK(d.source_drift); // a pod restarted with this list would not start
  CHECK(d.source_missing.empty());
  CHECK(d.source_unexpected.empty());

  in.source.entries = kThree;
  in.pods = {pod("a", List{kThree[0], kThree[1], kThree[2], "vmstorage-1.vmstorage.mon:8400"})};
  d = compute_consumer(in);
  CHECK_FALSE(d.source_drift);
  CHECK(d.duplicates == List{"vmstorage-1.vmstorage.mon:8400"});
  CHECK(d.pods[0].status == PodStatus::InSync);
}

TEST_CASE("compute_consumer: empty entries") {
  auto in = consumer(kThree);
  in.source.entries = List{kThree[0], "", kThree[1], kThree[2]};
  in.pods = {pod("vminsert-a", List{kThree[0], kThree[1], kThree[2], ""})};
  auto d = compute_consumer(in);
  CHECK(d.source_drift);
  CHECK(d.empty_entries == List{"source entry 2 of 4 is empty", "pod vminsert-a entry 4 of 4 is empty"});
  CHECK(d.pods[0].status == PodStatus::InSync);
  CHECK(d.pods[0].unexpected.empty());
  CHECK(d.duplicates.empty());
}

TEST_CASE("compute_consumer: unparseable entries compare as strings") {
  auto in = consumer({"a:8400"});
  in.pods = {pod("p", List{"a:8400", "not an address"}), pod("q", List{"a:8400", "[::1"})};
  auto d = compute_consumer(in);
  CHECK(d.pods[0].unexpected == List{"not an address"});
  CHECK(d.pods[1].unexpected == List{"[::1"});
}

TEST_CASE("compute_consumer: an empty expected list") {
  auto in = consumer({});
  in.pods = {pod("p", List{"a:8400"}), pod("q", List{})};
  auto d = compute_consumer(in);
  CHECK(d.pods[0].status == PodStatus::Stale);
  CHECK(d.pods[1].status == PodStatus::InSync);
}

TEST_CASE("compute_consumer: mixed spellings between pods") {
  auto in = consumer({"vmstorage-0.vmstorage:8400", "vmstorage-1.vmstorage:8400"});
  in.pods = {pod("a", List{"vmstorage-0.vmstorage:8400", "vmstorage-1.vmstorage:8400"}),
             pod("b", List{"vmstorage-0.vmstorage.mon.svc.cluster.local.:8400", "vmstorage-1.vmstorage:8400"})};
  auto d = compute_consumer(in);
  CHECK(d.pods[0].status == PodStatus::InSync);
  CHECK(d.pods[1].status == PodStatus::InSync);
  CHECK(d.mixed_spellings);
  REQUIRE(d.spelling_variants.size() == 1);
  CHECK(d.spelling_variants[0].identity == "vmstorage-0.vmstorage.mon:8400");
  CHECK(d.spelling_variants[0].spellings ==
        List{"vmstorage-0.vmstorage.mon.svc.cluster.local.:8400", "vmstorage-0.vmstorage:8400"});
}

TEST_CASE("compute_consumer: mixed spellings between source and pods, not with our expected list") {
  auto in = consumer({"vmstorage-0.vmstorage:8400"});
  in.source.entries = List{"vmstorage-0.vmstorage.mon.svc.cluster.local.:8400"};
  in.pods = {pod("a", List{"vmstorage-0.vmstorage.mon.svc.cluster.local:8400"})};
  auto d = compute_consumer(in);
  CHECK_FALSE(d.source_drift);
  CHECK(d.mixed_spellings);

  in.pods = {pod("a", List{"vmstorage-0.vmstorage.mon.svc.cluster.local.:8400"})};
  d = compute_consumer(in);
  CHECK_FALSE(d.mixed_spellings); // the expected list spells it short: that is ours, not a routing split
  CHECK(d.spelling_variants.empty());
}

TEST_CASE("compute_consumer: discovery and unknown pods do not count towards spellings") {
  auto in = consumer({"a:8400"});
  auto disco = pod("d", List{"a.mon:8400", "srv+x"});
  disco.discovery = true;
  in.pods = {pod("p", List{"a:8400"}), disco};
  CHECK_FALSE(compute_consumer(in).mixed_spellings);
}

namespace {

ClusterDrift cluster_with(std::vector<PodStatus> statuses) {
  ClusterDrift c;
  c.namespace_ = "mon";
  c.name = "vm";
  ConsumerDrift cd;
  int i = 0;
  for (auto s : statuses) {
    PodDrift p;
    p.name = "p-" + std::to_string(i++);
    p.status = s;
    cd.pods.push_back(p);
  }
  c.consumers.push_back(cd);
  return c;
}

} // namespace

TEST_CASE("cluster_status") {
  CHECK(cluster_status(cluster_with({})) == ClusterStatus::InSync);
  CHECK(cluster_status(ClusterDrift{}) == ClusterStatus::InSync);
  CHECK(cluster_status(cluster_with({PodStatus::InSync, PodStatus::InSync})) == ClusterStatus::InSync);
  CHECK(cluster_status(cluster_with({PodStatus::InSync, PodStatus::Discovery})) == ClusterStatus::InSync);
  CHECK(cluster_status(cluster_with({PodStatus::Discovery})) == ClusterStatus::InSync);
  CHECK(cluster_status(cluster_with({PodStatus::InSync, PodStatus::Unknown})) == ClusterStatus::Unknown);
  CHECK(cluster_status(cluster_with({PodStatus::Unknown, PodStatus::Stale})) == ClusterStatus::Drift);
  CHECK(cluster_status(cluster_with({PodStatus::Stale})) == ClusterStatus::Drift);

  auto source = cluster_with({PodStatus::InSync, PodStatus::Unknown});
  source.consumers[0].source_drift = true;
  CHECK(cluster_status(source) == ClusterStatus::Drift);

  auto mixed = cluster_with({PodStatus::InSync});
  mixed.consumers[0].mixed_spellings = true;
  CHECK(cluster_status(mixed) == ClusterStatus::Drift);

  auto error = cluster_with({PodStatus::Stale});
  error.errors = {"forbidden: cannot list pods in namespace mon"};
  CHECK(cluster_status(error) == ClusterStatus::Error);

  auto warned = cluster_with({PodStatus::InSync});
  warned.warnings = {"vmstorage: 2 of 3 pods ready"};
  CHECK(cluster_status(warned) == ClusterStatus::InSync);
}

TEST_CASE("summarize") {
  auto a = cluster_with({PodStatus::InSync, PodStatus::InSync});
  a.status = ClusterStatus::InSync;
  auto b = cluster_with({PodStatus::Stale, PodStatus::Unknown, PodStatus::Discovery});
  b.status = ClusterStatus::Drift;
  auto c = cluster_with({PodStatus::Unknown});
  c.status = ClusterStatus::Unknown;
  auto d = ClusterDrift{};
  d.status = ClusterStatus::Error;
  auto s = summarize({a, b, c, d});
  CHECK(s.clusters == 4);
  CHECK(s.in_sync == 1);
  CHECK(s.drifted == 1);
  CHECK(s.unknown == 1);
  CHECK(s.errors == 1);
  CHECK(s.pods == 6);
  CHECK(s.stale_pods == 1);
  CHECK(s.unknown_pods == 2);
  CHECK(s.discovery_pods == 1);
  CHECK(summarize({}).clusters == 0);
}

TEST_CASE("natural_less") {
  CHECK(natural_less("x-2", "x-10"));
  CHECK_FALSE(natural_less("x-10", "x-2"));
  CHECK(natural_less("x-9", "x-10"));
  CHECK(natural_less("x-1", "x-2"));
  CHECK_FALSE(natural_less("x-1", "x-1"));
  CHECK(natural_less("x", "x-0"));
  CHECK(natural_less("a-100", "b-1"));
  CHECK(natural_less("x-1-2", "x-1-10"));
  CHECK(natural_less("x-01", "x-1")); // naturally equal: a strict order all the same
  CHECK_FALSE(natural_less("x-1", "x-01"));
  CHECK(natural_less("x-2", "x-0010"));
  CHECK(natural_less("vm-vmstorage-9:8400", "vm-vmstorage-10:8400"));
  CHECK(natural_less("", "a"));
  CHECK_FALSE(natural_less("a", ""));
  CHECK(natural_less("99999999999999999999998", "99999999999999999999999"));

  List v{"p-10", "p-2", "p-1", "p-0", "p-11", "p-20", "p-3"};
  std::sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return natural_less(a, b); });
  CHECK(v == List{"p-0", "p-1", "p-2", "p-3", "p-10", "p-11", "p-20"});
}

TEST_CASE("sort_report") {
  DriftReport r;
  auto make = [](std::string ns, std::string name) {
    ClusterDrift c;
    c.namespace_ = std::move(ns);
    c.name = std::move(name);
    c.status = ClusterStatus::InSync;
    return c;
  };
  auto c = make("b", "vm-10");
  ConsumerDrift sel, ins2, ins1;
  sel.role = Role::Select;
  sel.workload = {"StatefulSet", "vmselect", ""};
  ins2.workload = {"Deployment", "vminsert-2", ""};
  ins1.workload = {"Deployment", "vminsert-10", ""};
  for (auto name : {"vminsert-10-x", "vminsert-2-x", "vminsert-1-x"}) {
    PodDrift p;
    p.name = name;
    p.missing = {"s-10:8400", "s-9:8400"};
    ins1.pods.push_back(p);
  }
  c.consumers = {sel, ins1, ins2};
  r.clusters = {c, make("b", "vm-2"), make("a", "zz")};
  sort_report(r);
  REQUIRE(r.clusters.size() == 3);
  CHECK(r.clusters[0].name == "zz");
  CHECK(r.clusters[1].name == "vm-2");
  CHECK(r.clusters[2].name == "vm-10");
  const auto &cs = r.clusters[2].consumers;
  CHECK(cs[0].workload.name == "vminsert-2");
  CHECK(cs[1].workload.name == "vminsert-10");
  CHECK(cs[2].role == Role::Select);
  CHECK(cs[1].pods[0].name == "vminsert-1-x");
  CHECK(cs[1].pods[1].name == "vminsert-2-x");
  CHECK(cs[1].pods[2].name == "vminsert-10-x");
  CHECK(cs[1].pods[0].missing == List{"s-9:8400", "s-10:8400"});
  CHECK(r.summary.clusters == 3);
  CHECK(r.summary.in_sync == 3);
  CHECK(r.summary.pods == 3);
}

TEST_CASE("compute_consumer: pods running the same list share it; another list, or another order, is its own") {
  auto in = consumer(kThree);
  in.pods.push_back(pod("vminsert-a", kThree));
  in.pods.push_back(pod("vminsert-b", List{kThree[0], kThree[1]}));
  in.pods.push_back(pod("vminsert-c", kThree));
  in.pods.push_back(pod("vminsert-d", List{kThree[2], kThree[1], kThree[0]}));
  in.pods.push_back(pod("vminsert-e", std::nullopt));
  const auto d = compute_consumer(in);
  REQUIRE(d.pods.size() == 5);
  CHECK(d.pods[0].running == d.pods[2].running);
  CHECK(d.pods[0].running != d.pods[1].running);
  CHECK(d.pods[0].running != d.pods[3].running);
  CHECK(*d.pods[1].running == List{kThree[0], kThree[1]});
  CHECK(*d.pods[3].running == List{kThree[2], kThree[1], kThree[0]});
  CHECK(d.pods[4].running == nullptr);
  CHECK(d.pods[1].status == PodStatus::Stale);
  CHECK(d.pods[3].status == PodStatus::InSync);
}

TEST_CASE("compute_consumer: pods of one list are compared once, but each is reported as itself") {
  auto in = consumer(kThree);
  auto disco = pod("vminsert-0", List{kThree[0], ""});
  disco.discovery = true; // first with the list, and never compared
  in.pods = {disco, pod("vminsert-a", List{kThree[0], ""}), pod("vminsert-b", List{kThree[0], ""})};
  const auto d = compute_consumer(in);
  REQUIRE(d.pods.size() == 3);
  CHECK(d.pods[0].status == PodStatus::Discovery);
  CHECK(d.pods[0].missing.empty());
  for (std::size_t i : {1U, 2U}) {
    CHECK(d.pods[i].status == PodStatus::Stale);
    CHECK(d.pods[i].missing == List{kThree[1], kThree[2]});
    CHECK(d.pods[i].running == d.pods[0].running);
  }
  CHECK(d.empty_entries == List{"pod vminsert-a entry 2 of 2 is empty", "pod vminsert-b entry 2 of 2 is empty"});
}

namespace {

// A vminsert (or vmselect) Deployment whose source and pods all list `running`.
ConsumerDrift computed(Role role, const std::string &name, const List &expected, const List &running) {
  auto in = consumer(expected);
  in.role = role;
  in.workload = {"Deployment", name, "mon"};
  in.source.entries = running;
  in.pods = {pod(name + "-0", running)};
  return compute_consumer(in);
}

const List kShort{"vmstorage-0.vmstorage:8400", "vmstorage-1.vmstorage:8400"};
const List kFqdn{"vmstorage-0.vmstorage.mon.svc.cluster.local:8400", "vmstorage-1.vmstorage.mon.svc.cluster.local:8400"};

} // namespace

TEST_CASE("compute_consumer: node_spellings holds every node with each spelling, mixed or not") {
  auto in = consumer(kShort);
  in.source.entries = kShort;
  in.pods = {pod("a", List{kShort[0], kFqdn[1]})};
  const auto d = compute_consumer(in);
  CHECK(d.node_spellings == std::vector<SpellingVariants>{{"vmstorage-0.vmstorage.mon:8400", {kShort[0]}},
                                                          {"vmstorage-1.vmstorage.mon:8400", {kFqdn[1], kShort[1]}}});
  CHECK(d.spelling_variants == std::vector<SpellingVariants>{{"vmstorage-1.vmstorage.mon:8400", {kFqdn[1], kShort[1]}}});
}

TEST_CASE("spelling_splits: two vminsert workloads, one short and one FQDN, split every node") {
  const auto a = computed(Role::Insert, "vminsert-zone-a", kShort, kShort);
  const auto b = computed(Role::Insert, "vminsert-zone-b", kShort, kFqdn);
  // Each workload is consistent in itself: no mixed spellings, no stale pod.
  CHECK_FALSE(a.mixed_spellings);
  CHECK_FALSE(b.mixed_spellings);
  CHECK(b.pods[0].status == PodStatus::InSync);
  const auto splits = spelling_splits({b, a});
  REQUIRE(splits.size() == 2);
  CHECK(splits[0] == SpellingSplit{Role::Insert,
                                   "vmstorage-0.vmstorage.mon:8400",
                                   {{{"Deployment", "vminsert-zone-a", "mon"}, {kShort[0]}},
                                    {{"Deployment", "vminsert-zone-b", "mon"}, {kFqdn[0]}}}});
  CHECK(splits[1].identity == "vmstorage-1.vmstorage.mon:8400");

  ClusterDrift c;
  c.consumers = {a, b};
  CHECK(cluster_status(c) == ClusterStatus::InSync); // splits are computed by the caller
  c.spelling_splits = splits;
  CHECK(cluster_status(c) == ClusterStatus::Drift);
}

TEST_CASE("spelling_splits: equal spellings, other roles and one-workload mixes are no split") {
  const auto a = computed(Role::Insert, "vminsert-a", kShort, kShort);
  const auto b = computed(Role::Insert, "vminsert-b", kShort, kShort);
  CHECK(spelling_splits({a, b}).empty());
  // vminsert and vmselect spell differently: they are different roles (and ports), never compared.
  const auto s = computed(Role::Select, "vmselect", kShort, kFqdn);
  CHECK(spelling_splits({a, s}).empty());
  // One workload alone, mixed in itself: that is mixed_spellings, not a split.
  auto in = consumer(kShort);
  in.source.entries = kShort;
  in.pods = {pod("x", kFqdn)};
  const auto mixed = compute_consumer(in);
  CHECK(mixed.mixed_spellings);
  CHECK(spelling_splits({mixed}).empty());
  // Two workloads both mixed the same way spell the node alike.
  auto mixed2 = mixed;
  mixed2.workload.name = "vminsert-2";
  CHECK(spelling_splits({mixed, mixed2}).empty());
  // A node one workload names and the other does not is membership drift, not a split.
  const auto one = computed(Role::Insert, "vminsert-c", kShort, List{kShort[0]});
  CHECK(spelling_splits({a, one}).empty());
}

TEST_CASE("spelling_splits: vmselect splits are reported but are no drift") {
  const auto a = computed(Role::Select, "vmselect-a", kShort, kShort);
  const auto b = computed(Role::Select, "vmselect-b", kShort, List{kShort[0], kFqdn[1]});
  ClusterDrift c;
  c.consumers = {a, b};
  c.spelling_splits = spelling_splits(c.consumers);
  REQUIRE(c.spelling_splits.size() == 1);
  CHECK(c.spelling_splits[0].role == Role::Select);
  CHECK(c.spelling_splits[0].identity == "vmstorage-1.vmstorage.mon:8400");
  CHECK(cluster_status(c) == ClusterStatus::InSync);
}

TEST_CASE("spelling_splits: vminsert first, then vmselect; workloads by name") {
  const auto i1 = computed(Role::Insert, "vminsert-10", kShort, kShort);
  const auto i2 = computed(Role::Insert, "vminsert-2", kShort, kFqdn);
  const auto s1 = computed(Role::Select, "vmselect-a", kShort, kShort);
  const auto s2 = computed(Role::Select, "vmselect-b", kShort, kFqdn);
  const auto splits = spelling_splits({s2, i1, s1, i2});
  REQUIRE(splits.size() == 4);
  CHECK(splits[0].role == Role::Insert);
  CHECK(splits[1].role == Role::Insert);
  CHECK(splits[2].role == Role::Select);
  CHECK(splits[0].workloads[0].workload.name == "vminsert-2");
  CHECK(splits[0].workloads[1].workload.name == "vminsert-10");
}

TEST_CASE("compute_consumer: a discovery source has no membership to drift, but its empty entries still count") {
  auto in = consumer(kThree);
  in.source.kind = ListSource::Kind::TemplateArgs;
  in.source.entries = List{"srv+_vminsert._tcp.vmstorage.mon.svc"};
  in.source.discovery = true;
  auto d = compute_consumer(in);
  CHECK_FALSE(d.source_drift);
  CHECK(d.source_missing.empty());
  CHECK(d.source_unexpected.empty());
  in.source.entries = List{"srv+_vminsert._tcp.vmstorage.mon.svc", ""};
  d = compute_consumer(in);
  CHECK(d.source_drift); // VictoriaMetrics refuses to start on an empty entry, discovery or not
  CHECK(d.empty_entries == List{"source entry 2 of 2 is empty"});
}

TEST_CASE("compute_consumer: storage pods through the wrong service are unexpected, with evidence") {
  auto in = consumer({"vmstorage-0.vmstorage:8400", "vmstorage-1.vmstorage:8400"});
  in.names.storage.workload = "vmstorage";
  in.names.storage.namespace_ = "mon";
  in.names.storage.subdomain = "vmstorage";
  in.names.storage.pods = {"vmstorage-0", "vmstorage-1"};
  const List wrong{"vmstorage-0.wrongsvc.otherns:8400", "vmstorage-1.vmstorage.mon.svc.cluster.local:8400"};
  in.source.kind = ListSource::Kind::TemplateArgs;
  in.source.entries = wrong;
  in.pods.push_back(pod("vminsert-a", wrong));
  in.pods.push_back(pod("vminsert-b", wrong));
  auto d = compute_consumer(in);
  const std::string why = "vmstorage-0.wrongsvc.otherns:8400 names no storage pod: service wrongsvc in namespace "
                          "otherns is not vmstorage's headless service (vmstorage in namespace mon)";
  CHECK(d.source_drift);
  CHECK(d.source_missing == List{"vmstorage-0.vmstorage:8400"});
  CHECK(d.source_unexpected == List{"vmstorage-0.wrongsvc.otherns:8400"});
  CHECK(d.source_evidence == List{why});
  for (const auto &p : d.pods) {
    CHECK(p.status == PodStatus::Stale);
    CHECK(p.missing == List{"vmstorage-0.vmstorage:8400"});
    CHECK(p.unexpected == List{"vmstorage-0.wrongsvc.otherns:8400"});
    CHECK(p.evidence == List{why});
  }
}
