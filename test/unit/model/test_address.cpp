#include "vmsync/model/address.hpp"

#include <doctest/doctest.h>

using namespace vmsync::model;

namespace {

NameContext ctx_mon() {
  NameContext c;
  c.namespace_ = "mon";
  c.headless_services = {"vmstorage"};
  return c;
}

std::string id(std::string_view s, const NameContext &c = ctx_mon()) {
  auto a = parse_address(s, c);
  REQUIRE(a.has_value());
  return a->identity;
}

} // namespace

TEST_CASE("parse_address: host:port") {
  auto a = parse_address("vmstorage-0.vmstorage.mon:8400", ctx_mon());
  REQUIRE(a);
  CHECK(a->spelling == "vmstorage-0.vmstorage.mon:8400");
  CHECK(a->host == "vmstorage-0.vmstorage.mon");
  CHECK(a->port == "8400");
  CHECK(a->identity == "vmstorage-0.vmstorage.mon:8400");
}

TEST_CASE("parse_address: bare host has no port unless the context gives a default") {
  auto a = parse_address("vmstorage-0.vmstorage", ctx_mon());
  REQUIRE(a);
  CHECK(a->port.empty());
  CHECK(a->identity == "vmstorage-0.vmstorage.mon");
  auto c = ctx_mon();
  c.default_port = "8401";
  CHECK(id("vmstorage-0.vmstorage", c) == "vmstorage-0.vmstorage.mon:8401");
  CHECK(id("vmstorage-0.vmstorage:8401", c) == id("vmstorage-0.vmstorage", c));
  CHECK(id("vmstorage-0.vmstorage:8400", c) != id("vmstorage-0.vmstorage", c));
}

TEST_CASE("parse_address: ports") {
  CHECK(id("a:1") == "a.mon:1");
  CHECK(id("a:65535") == "a.mon:65535");
  CHECK(id("a:08400") == "a.mon:8400"); // as Go dials it
  CHECK(parse_address("a:08400", ctx_mon())->port == "08400");
  CHECK_FALSE(parse_address("a:", ctx_mon()));
  CHECK_FALSE(parse_address("a:0", ctx_mon()));
  CHECK_FALSE(parse_address("a:65536", ctx_mon()));
  CHECK_FALSE(parse_address("a:http", ctx_mon()));
  CHECK_FALSE(parse_address("a:84 00", ctx_mon()));
  CHECK_FALSE(parse_address("a:-1", ctx_mon()));
  CHECK_FALSE(parse_address(":8400", ctx_mon()));
}

TEST_CASE("parse_address: IPv4 and IPv6 literals") {
  CHECK(id("10.0.0.7:8400") == "10.0.0.7:8400");
  CHECK(id("10.0.0.7") == "10.0.0.7");
  auto v6 = parse_address("[fd00::1]:8400", ctx_mon());
  REQUIRE(v6);
  CHECK(v6->host == "fd00::1");
  CHECK(v6->port == "8400");
  CHECK(v6->identity == "[fd00::1]:8400");
  CHECK(id("[FD00:0:0:0:0:0:0:1]:8400") == "[fd00::1]:8400");
  CHECK(id("[::1]") == "[::1]");
  CHECK(spelling_of(*v6, ctx_mon()) == Spelling::Other);
  CHECK_FALSE(parse_address("fd00::1", ctx_mon()));       // Go: too many colons
  CHECK_FALSE(parse_address("fd00::1:8400", ctx_mon()));
  CHECK_FALSE(parse_address("[fd00::1", ctx_mon()));      // unterminated
  CHECK_FALSE(parse_address("[fd00::1]8400", ctx_mon())); // junk after bracket
  CHECK_FALSE(parse_address("[not-v6]:8400", ctx_mon()));
  CHECK_FALSE(parse_address("[]:8400", ctx_mon()));
}

TEST_CASE("parse_address: empty and malformed entries") {
  CHECK_FALSE(parse_address("", ctx_mon()));
  CHECK_FALSE(parse_address(" a:8400", ctx_mon()));
  CHECK_FALSE(parse_address("a :8400", ctx_mon()));
  CHECK_FALSE(parse_address("a..b:8400", ctx_mon()));
  CHECK_FALSE(parse_address(".a:8400", ctx_mon()));
  CHECK_FALSE(parse_address(".:8400", ctx_mon()));
  CHECK_FALSE(parse_address("srv+vmstorage", ctx_mon()));
  CHECK_FALSE(parse_address("file:/etc/nodes", ctx_mon()));
  CHECK_FALSE(parse_address("http://a:8400", ctx_mon()));
}

TEST_CASE("identity: every in-cluster spelling of a pod behind a headless service") {
  const std::string want = "vmstorage-0.vmstorage.mon:8400";
  CHECK(id("vmstorage-0.vmstorage:8400") == want);
  CHECK(id("vmstorage-0.vmstorage.mon:8400") == want);
  CHECK(id("vmstorage-0.vmstorage.mon.svc:8400") == want);
  CHECK(id("vmstorage-0.vmstorage.mon.svc.cluster.local:8400") == want);
  CHECK(id("vmstorage-0.vmstorage.mon.svc.cluster.local.:8400") == want);
  CHECK(id("VMSTORAGE-0.VMStorage.MON.svc.Cluster.Local.:8400") == want);
}

TEST_CASE("identity: every in-cluster spelling of a service") {
  const std::string want = "vm-vmstorage-10.mon:8400";
  CHECK(id("vm-vmstorage-10:8400") == want);
  CHECK(id("vm-vmstorage-10.mon:8400") == want);
  CHECK(id("vm-vmstorage-10.mon.svc:8400") == want);
  CHECK(id("vm-vmstorage-10.mon.svc.cluster.local:8400") == want);
  CHECK(id("vm-vmstorage-10.mon.svc.cluster.local.:8400") == want);
  CHECK(id("vm-vmstorage-10:8400") != id("vm-vmstorage-1:8400"));
}

TEST_CASE("identity: a.b is a pod only when b is a known headless service") {
  CHECK(id("vmstorage-0.vmstorage:8400") == "vmstorage-0.vmstorage.mon:8400");
  CHECK(id("vmstorage-0.other:8400") == "vmstorage-0.other:8400"); // service vmstorage-0 in namespace other
  CHECK(id("x.other:8400") == id("x.other.svc.cluster.local:8400"));
}

TEST_CASE("identity: other namespaces") {
  CHECK(id("vmstorage-0.vmstorage.prod:8400") == "vmstorage-0.vmstorage.prod:8400");
  CHECK(id("vmstorage-0.vmstorage.prod.svc.cluster.local.:8400") == "vmstorage-0.vmstorage.prod:8400");
  CHECK(id("vmstorage-0.vmstorage.prod:8400") != id("vmstorage-0.vmstorage:8400"));
}

TEST_CASE("identity: cluster domain") {
  auto c = ctx_mon();
  c.cluster_domain = "example.org.";
  CHECK(id("a.mon.svc.example.org:8400", c) == "a.mon:8400");
  CHECK(id("a.mon.svc.example.org.:8400", c) == "a.mon:8400");
  // Another domain is not served by this cluster's DNS: an external name, not the same node.
  CHECK(id("a.mon.svc.cluster.local:8400", c) == "a.mon.svc.cluster.local.:8400");
  CHECK(id("a.mon.svc.cluster.local:8400", c) != id("a:8400", c));
}

TEST_CASE("identity: trailing dot makes a name absolute") {
  CHECK(id("a.mon.svc.cluster.local.:8400") == id("a:8400"));
  CHECK(id("a.mon.:8400") == "a.mon.:8400"); // absolute "a.mon." does not resolve in the cluster
  CHECK(id("a.mon.:8400") != id("a.mon:8400"));
  CHECK(id("db.example.com.:8400") == "db.example.com.:8400");
}

TEST_CASE("identity: external names") {
  CHECK(id("a.b.c.d:8400") == "a.b.c.d.:8400");
  CHECK(id("a.b.cluster.local:8400") == "a.b.cluster.local.:8400");
  CHECK(id("x.svc.cluster.local:8400") == "x.svc.cluster.local.:8400"); // one label before .svc: no such record
}

TEST_CASE("spelling_of: each style") {
  auto c = ctx_mon();
  auto style = [&](std::string_view s) { return spelling_of(*parse_address(s, c), c); };
  CHECK(style("vmstorage-0.vmstorage:8400") == Spelling::Short);
  CHECK(style("vm-vmstorage-0:8400") == Spelling::Short);
  CHECK(style("vm-vmstorage-0.mon:8400") == Spelling::Namespace);
  CHECK(style("vmstorage-0.vmstorage.mon:8400") == Spelling::Namespace);
  CHECK(style("vm-vmstorage-0.mon.svc:8400") == Spelling::Svc);
  CHECK(style("vmstorage-0.vmstorage.mon.svc:8400") == Spelling::Svc);
  CHECK(style("vmstorage-0.vmstorage.mon.svc.cluster.local:8400") == Spelling::Fqdn);
  CHECK(style("vmstorage-0.vmstorage.mon.svc.cluster.local.:8400") == Spelling::FqdnDot);
  CHECK(style("10.0.0.1:8400") == Spelling::Other);
  CHECK(style("db.example.com.:8400") == Spelling::Other);
  CHECK(to_string(Spelling::FqdnDot) == "fqdn-dot");
}

TEST_CASE("node_of") {
  auto c = ctx_mon();
  CHECK(node_of(*parse_address("vmstorage-3.vmstorage.mon.svc.cluster.local.:08400", c), c) ==
        NodeName{"vmstorage-3", "vmstorage", "mon", "8400"});
  CHECK(node_of(*parse_address("vm-vmstorage-0", c), c) == NodeName{"", "vm-vmstorage-0", "mon", ""});
  CHECK_FALSE(node_of(*parse_address("10.1.1.1:8400", c), c));
  CHECK_FALSE(node_of(*parse_address("db.example.com.:8400", c), c));
}

TEST_CASE("spell: every style, and back to the same identity") {
  auto c = ctx_mon();
  const NodeName pod{"vmstorage-12", "vmstorage", "mon", "8401"};
  CHECK(spell(pod, Spelling::Short, c) == "vmstorage-12.vmstorage:8401");
  CHECK(spell(pod, Spelling::Namespace, c) == "vmstorage-12.vmstorage.mon:8401");
  CHECK(spell(pod, Spelling::Svc, c) == "vmstorage-12.vmstorage.mon.svc:8401");
  CHECK(spell(pod, Spelling::Fqdn, c) == "vmstorage-12.vmstorage.mon.svc.cluster.local:8401");
  CHECK(spell(pod, Spelling::FqdnDot, c) == "vmstorage-12.vmstorage.mon.svc.cluster.local.:8401");
  CHECK(spell(pod, Spelling::Other, c) == "vmstorage-12.vmstorage.mon:8401");
  for (auto s : {Spelling::Short, Spelling::Namespace, Spelling::Svc, Spelling::Fqdn, Spelling::FqdnDot}) {
    auto a = parse_address(spell(pod, s, c), c);
    REQUIRE(a);
    CHECK(a->identity == "vmstorage-12.vmstorage.mon:8401");
    CHECK(spelling_of(*a, c) == s);
  }
  const NodeName svc{"", "vm-vmstorage-2", "mon", ""};
  CHECK(spell(svc, Spelling::Short, c) == "vm-vmstorage-2");
  CHECK(spell(svc, Spelling::Fqdn, c) == "vm-vmstorage-2.mon.svc.cluster.local");
  // Short cannot reach another namespace.
  CHECK(spell(NodeName{"", "a", "prod", "8400"}, Spelling::Short, c) == "a.prod:8400");
  c.cluster_domain = "example.org.";
  CHECK(spell(svc, Spelling::FqdnDot, c) == "vm-vmstorage-2.mon.svc.example.org.");
}

TEST_CASE("list_spelling") {
  auto c = ctx_mon();
  CHECK(list_spelling({"a:8400", "b:8400"}, c) == Spelling::Short);
  CHECK(list_spelling({"a.mon.svc.cluster.local.:8400", "", "b.mon.svc.cluster.local.:8400"}, c) ==
        Spelling::FqdnDot);
  CHECK_FALSE(list_spelling({"a:8400", "b.mon:8400"}, c));
  CHECK_FALSE(list_spelling({}, c));
  CHECK_FALSE(list_spelling({"", "srv+x"}, c));
}

namespace {

// StatefulSet vmstorage (headless service vmstorage, pods vmstorage-0..2) in namespace mon.
NameContext ctx_storage() {
  auto c = ctx_mon();
  c.storage.workload = "vmstorage";
  c.storage.namespace_ = "mon";
  c.storage.subdomain = "vmstorage";
  c.storage.pods = {"vmstorage-0", "vmstorage-1", "vmstorage-2"};
  return c;
}

// KubeBlocks: InstanceSet vm-vmstorage, pods behind vm-vmstorage-headless, one Service per pod named as the pod.
NameContext ctx_kubeblocks() {
  NameContext c;
  c.namespace_ = "mon";
  c.headless_services = {"vm-vmstorage-headless"};
  c.storage.workload = "vm-vmstorage";
  c.storage.namespace_ = "mon";
  c.storage.subdomain = "vm-vmstorage-headless";
  c.storage.pods = {"vm-vmstorage-0", "vm-vmstorage-1"};
  c.storage.pod_services = {{"vm-vmstorage-0", "vm-vmstorage-0"}, {"vm-vmstorage-1", "vm-vmstorage-1"}};
  return c;
}

std::optional<std::string> reached_pod(std::string_view s, const NameContext &c) {
  auto a = parse_address(s, c);
  REQUIRE(a.has_value());
  return storage_pod_of(*a, c);
}

std::optional<std::string> why_not(std::string_view s, const NameContext &c) {
  auto a = parse_address(s, c);
  REQUIRE(a.has_value());
  return why_no_storage_pod(*a, c);
}

} // namespace

TEST_CASE("storage_pod_of: <pod>.<subdomain> in the pods' namespace, in every spelling DNS resolves") {
  const auto c = ctx_storage();
  for (const char *s : {"vmstorage-1.vmstorage:8400", "vmstorage-1.vmstorage.mon:8400",
                        "vmstorage-1.vmstorage.mon.svc", "vmstorage-1.vmstorage.mon.svc.cluster.local:8400",
                        "VMSTORAGE-1.vmstorage.mon.svc.cluster.local.:8400"}) {
    CAPTURE(s);
    CHECK(reached_pod(s, c) == "vmstorage-1");
    CHECK_FALSE(why_not(s, c));
  }
  // The right pod name through anything else reaches nothing.
  for (const char *s :
       {"vmstorage-1.wrongsvc.otherns:8400", "vmstorage-1.vmstorage.otherns:8400", "vmstorage-1.vmstorge:8400",
        "vmstorage-1.nonexistent-svc.nonexistent-ns.svc.cluster.local.:8400", "vmstorage-1:8400",
        "vmstorage-1.vmstorage.mon.svc.example.org:8400", "vmstorage-1.vmstorage.mon.:8400", "vmstorage:8400",
        "vmstorage-7.vmstorage:8400", "10.0.0.1:8400"}) {
    CAPTURE(s);
    CHECK_FALSE(reached_pod(s, c));
  }
}

TEST_CASE("storage_pod_of: a live storage pod's IP reaches it; other IPs reach no storage pod") {
  auto c = ctx_storage();
  c.storage.pod_ips = {{"10.0.0.1", "vmstorage-0"}, {"[fd00::1:2]", "vmstorage-1"}};
  CHECK(reached_pod("10.0.0.1:8400", c) == "vmstorage-0");
  CHECK(reached_pod("[fd00:0::1:2]:8400", c) == "vmstorage-1"); // the same IPv6 address, spelt another way
  CHECK(id("10.0.0.1:8400", c) == "vmstorage-0.vmstorage.mon:8400");
  CHECK(id("[fd00::1:2]:8400", c) == id("vmstorage-1.vmstorage.mon.svc:8400", c));
  for (const char *s : {"10.0.0.2:8400", "[fd00::1:3]:8400"}) {
    CAPTURE(s);
    CHECK_FALSE(reached_pod(s, c));
    CHECK_FALSE(why_not(s, c));
  }
  CHECK(canonical_ip("10.0.0.1") == "10.0.0.1");
  CHECK(canonical_ip("FD00:0:0::1:2") == "[fd00::1:2]");
  CHECK_FALSE(canonical_ip("vmstorage-0"));
  CHECK_FALSE(canonical_ip(""));
}

TEST_CASE("identity: every name that reaches a storage pod is that pod; look-alikes keep their own identity") {
  const auto c = ctx_storage();
  CHECK(id("vmstorage-0.vmstorage.mon.svc.cluster.local.:8400", c) == "vmstorage-0.vmstorage.mon:8400");
  CHECK(id("vmstorage-0.wrongsvc.otherns:8400", c) == "vmstorage-0.wrongsvc.otherns:8400");
  // KubeBlocks: the per-pod Service and the pod under its headless service are one node.
  const auto kb = ctx_kubeblocks();
  CHECK(id("vm-vmstorage-0:8400", kb) == "vm-vmstorage-0.vm-vmstorage-headless.mon:8400");
  CHECK(id("vm-vmstorage-0.mon.svc:8400", kb) == "vm-vmstorage-0.vm-vmstorage-headless.mon:8400");
  CHECK(id("vm-vmstorage-0.vm-vmstorage-headless:8400", kb) == "vm-vmstorage-0.vm-vmstorage-headless.mon:8400");
  CHECK(reached_pod("vm-vmstorage-1.mon:8400", kb) == "vm-vmstorage-1");
  CHECK(id("vm-vmstorage-0.otherns:8400", kb) == "vm-vmstorage-0.otherns:8400");
  // Without storage knowledge, identities are the DNS names they always were.
  CHECK(id("vm-vmstorage-0:8400", ctx_mon()) == "vm-vmstorage-0.mon:8400");
}

TEST_CASE("why_no_storage_pod: says why a look-alike reaches no storage pod") {
  const auto c = ctx_storage();
  CHECK(why_not("vmstorage-0.wrongsvc.otherns:8400", c) ==
        "vmstorage-0.wrongsvc.otherns:8400 names no storage pod: service wrongsvc in namespace otherns is not "
        "vmstorage's headless service (vmstorage in namespace mon)");
  CHECK(why_not("vmstorage-0.vmstorage.otherns.svc:8400", c) ==
        "vmstorage-0.vmstorage.otherns.svc:8400 names no storage pod: service vmstorage in namespace otherns is "
        "not vmstorage's headless service (vmstorage in namespace mon)");
  CHECK(why_not("vmstorage-2:8400", c) ==
        "vmstorage-2:8400 names no storage pod: it names service vmstorage-2 in namespace mon, and no Service "
        "selects exactly that pod of vmstorage (its pods are reached as <pod>.vmstorage in namespace mon)");
  CHECK(why_not("vmstorage-0.vmstorage.mon.svc.example.org:8400", c) ==
        "vmstorage-0.vmstorage.mon.svc.example.org:8400 names no storage pod: "
        "vmstorage-0.vmstorage.mon.svc.example.org. is not a name the cluster's DNS serves (cluster domain "
        "cluster.local)");
  CHECK(why_not("vm-vmstorage-1.otherns:8400", ctx_kubeblocks()) ==
        "vm-vmstorage-1.otherns:8400 names no storage pod: service vm-vmstorage-1 in namespace otherns is not "
        "vm-vmstorage's per-pod service (in namespace mon)");
  // Nothing to explain: a node that is simply another one (a removed ordinal, another host, an IP).
  for (const char *s :
       {"vmstorage-7.vmstorage:8400", "db.example.com:8400", "10.0.0.1:8400", "other.otherns:8400"}) {
    CAPTURE(s);
    CHECK_FALSE(why_not(s, c));
  }
  CHECK_FALSE(why_not("vmstorage-0.wrongsvc.otherns:8400", ctx_mon())); // no storage known: no opinion
}
