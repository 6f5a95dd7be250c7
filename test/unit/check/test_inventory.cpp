// Inventory lookups (src/core/check/inventory.cpp): the indexes behind find, in_namespace and the pod owner
// lookups must answer exactly what a linear search would, also after the lists grew and in a copy.
#include "vmsync/check/inventory.hpp"

#include <doctest/doctest.h>

using namespace vmsync::check;
using nlohmann::json;

namespace {

json object(const std::string &ns, const std::string &name) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}}};
}

json pod(const std::string &ns, const std::string &name, const std::string &owner_kind, const std::string &owner,
         const std::string &uid) {
  return {{"metadata",
           {{"namespace", ns},
            {"name", name},
            {"ownerReferences", {{{"kind", owner_kind}, {"name", owner}, {"uid", uid}}}}}}};
}

std::vector<std::string> names(const std::vector<const json *> &objs) {
  std::vector<std::string> out;
  out.reserve(objs.size());
  for (const auto *o : objs) out.push_back(meta_name(*o));
  return out;
}

std::vector<std::string> names(const std::vector<const Pod *> &pods) {
  std::vector<std::string> out;
  out.reserve(pods.size());
  for (const auto *p : pods)
    out.push_back(p->name);
  return out;
}

} // namespace

TEST_CASE("find: by namespace and name, the first of duplicates, nothing for a name in another namespace") {
  Inventory inv;
  inv.configmaps = {object("a", "cm"), object("b", "cm"), object("a", "cm")};
  CHECK(inv.configmap("a", "cm") == &inv.configmaps[0]);
  CHECK(inv.configmap("b", "cm") == &inv.configmaps[1]);
  CHECK(inv.configmap("c", "cm") == nullptr);
  CHECK(inv.configmap("a", "other") == nullptr);
  // "a/b" + "c" and "a" + "b/c" must not meet in one key.
  inv.statefulsets = {object("a/b", "c")};
  CHECK(inv.find(inv.statefulsets, "a", "b/c") == nullptr);
  CHECK(inv.find(inv.statefulsets, "a/b", "c") == &inv.statefulsets[0]);
}

TEST_CASE("find and in_namespace see what was appended after the first lookup") {
  Inventory inv;
  inv.configmaps.push_back(object("a", "one"));
  CHECK(inv.configmap("a", "two") == nullptr);
  CHECK(names(inv.in_namespace(inv.configmaps, "a")) == std::vector<std::string>{"one"});
  for (int i = 0; i < 100; ++i) inv.configmaps.push_back(object("a", "n" + std::to_string(i))); // reallocates
  inv.configmaps.push_back(object("a", "two"));
  REQUIRE(inv.configmap("a", "two") != nullptr);
  CHECK(inv.configmap("a", "two") == &inv.configmaps.back());
  CHECK(inv.configmap("a", "one") == &inv.configmaps.front());
  CHECK(inv.in_namespace(inv.configmaps, "a").size() == 102);
  CHECK(inv.in_namespace(inv.configmaps, "b").empty());
}

TEST_CASE("in_namespace keeps list order, per list") {
  Inventory inv;
  inv.deployments = {object("x", "d2"), object("y", "d1"), object("x", "d1")};
  inv.statefulsets = {object("x", "s1")};
  CHECK(names(inv.in_namespace(inv.deployments, "x")) == std::vector<std::string>{"d2", "d1"});
  CHECK(names(inv.in_namespace(inv.statefulsets, "x")) == std::vector<std::string>{"s1"});
}

TEST_CASE("a copy answers from its own lists, and a moved-to inventory from the moved lists") {
  Inventory inv;
  inv.configmaps = {object("a", "cm")};
  REQUIRE(inv.configmap("a", "cm") == &inv.configmaps[0]);
  Inventory copy = inv;
  CHECK(copy.configmap("a", "cm") == &copy.configmaps[0]);
  copy.configmaps.push_back(object("a", "only-in-copy"));
  CHECK(copy.configmap("a", "only-in-copy") != nullptr);
  CHECK(inv.configmap("a", "only-in-copy") == nullptr);
  Inventory moved = std::move(copy);
  CHECK(moved.configmap("a", "only-in-copy") == &moved.configmaps[1]);
  inv = moved;
  CHECK(inv.configmap("a", "only-in-copy") == &inv.configmaps[1]);
}

TEST_CASE("pods by owner UID and by the Deployment their ReplicaSet's name implies") {
  Inventory inv;
  for (const auto &p :
       {pod("ns", "web-7d9f-a", "ReplicaSet", "web-7d9f", "rs-1"),
        pod("ns", "web-api-5c8b-a", "ReplicaSet", "web-api-5c8b", "rs-2"),
        pod("other", "web-7d9f-b", "ReplicaSet", "web-7d9f", "rs-3"),
        pod("ns", "db-0", "StatefulSet", "db", "sts-1"), pod("ns", "odd", "ReplicaSet", "nodash", "rs-4")})
    inv.pods.emplace_back(p);
  CHECK(names(inv.pods_of_replicasets("ns", "web")) == std::vector<std::string>{"web-7d9f-a"});
  CHECK(names(inv.pods_of_replicasets("ns", "web-api")) == std::vector<std::string>{"web-api-5c8b-a"});
  CHECK(names(inv.pods_of_replicasets("other", "web")) == std::vector<std::string>{"web-7d9f-b"});
  CHECK(inv.pods_of_replicasets("ns", "nodash").empty());
  CHECK(names(inv.pods_owned_by("sts-1")) == std::vector<std::string>{"db-0"});
  CHECK(names(inv.pods_owned_by("rs-2")) == std::vector<std::string>{"web-api-5c8b-a"});
  CHECK(inv.pods_owned_by("none").empty());
  inv.pods.emplace_back(pod("ns", "db-1", "StatefulSet", "db", "sts-1"));
  CHECK(names(inv.pods_owned_by("sts-1")) == std::vector<std::string>{"db-0", "db-1"});
  CHECK(names(inv.pods_in("ns")) ==
        std::vector<std::string>{"web-7d9f-a", "web-api-5c8b-a", "db-0", "odd", "db-1"});
  CHECK(names(inv.pods_in("other")) == std::vector<std::string>{"web-7d9f-b"});
  CHECK(inv.pods_in("none").empty());
}

TEST_CASE("Pod: a pod object becomes the fields check and fix read") {
  const json obj = {
      {"metadata",
       {{"name", "vm-vminsert-5d9f-a"},
        {"namespace", "mon"},
        {"uid", "u-1"},
        {"creationTimestamp", "2026-11-26T09:00:00Z"},
        {"deletionTimestamp", "2026-11-26T10:00:00Z"},
        {"labels", {{"b", "2"}, {"a", "1"}, {"not-a-string", 3}}},
        {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}, {"vmsync.io/hash", "h"}}},
        {"ownerReferences", {{{"kind", "ReplicaSet"}, {"name", "vm-vminsert-5d9f"}, {"uid", "rs-1"}}}}}},
      {"spec",
       {{"containers", {{{"name", "vminsert"}, {"args", {"-storageNode=a:8400"}}}}},
        {"volumes", {{{"name", "data"}}}}}},
      {"status",
       {{"phase", "Running"},
        {"conditions", {{{"type", "Initialized"}, {"status", "False"}}, {{"type", "Ready"}, {"status", "True"}}}},
        {"containerStatuses",
         {{{"name", "vminsert"}, {"state", {{"running", {{"startedAt", "2026-11-26T09:00:05Z"}}}}}},
          {{"name", "sidecar"}, {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}}}}}}}};
  const Pod p(obj);
  CHECK(p.name == "vm-vminsert-5d9f-a");
  CHECK(p.namespace_ == "mon");
  CHECK(p.uid == "u-1");
  CHECK(p.creation_timestamp == "2026-11-26T09:00:00Z");
  CHECK(p.terminating);
  CHECK(p.phase == "Running");
  CHECK(p.ready);
  REQUIRE(p.owners.size() == 1);
  CHECK(p.owners[0].kind == "ReplicaSet");
  CHECK(p.owners[0].name == "vm-vminsert-5d9f");
  CHECK(p.owners[0].uid == "rs-1");
  CHECK(p.labels == Pod::Labels{{"a", "1"}, {"b", "2"}});
  CHECK(p.label("b") == "2");
  CHECK(p.label("not-a-string").empty());
  CHECK(p.label("c").empty());
  CHECK(p.annotations == Pod::Pairs{{"vmsync.io/hash", "h"}});
  CHECK(p.annotation("vmsync.io/hash") == "h");
  CHECK(p.started_at("vminsert") == "2026-11-26T09:00:05Z");
  CHECK(p.started_at("sidecar").empty());
  CHECK(*p.spec == json{{"containers", obj["spec"]["containers"]}});
  CHECK(p.ips.empty());
  // Its IPs: status.podIPs (dual stack: both), else status.podIP.
  json with_ips = obj;
  with_ips["status"]["podIP"] = "10.0.0.7";
  CHECK(Pod(with_ips).ips == std::vector<std::string>{"10.0.0.7"});
  with_ips["status"]["podIPs"] = {{{"ip", "10.0.0.7"}}, {{"ip", "fd00::7"}}, {{"ip", ""}}};
  CHECK(Pod(with_ips).ips == std::vector<std::string>{"10.0.0.7", "fd00::7"});

  json not_ready = obj;
  not_ready["status"]["conditions"][1]["status"] = "False";
  not_ready["metadata"].erase("deletionTimestamp");
  const Pod q(not_ready);
  CHECK_FALSE(q.ready);
  CHECK_FALSE(q.terminating);

  const Pod empty(json::object());
  CHECK(empty.name.empty());
  CHECK_FALSE(empty.ready);
  REQUIRE(empty.spec != nullptr);
  CHECK(*empty.spec == json::object());
  CHECK(Pod{}.spec != nullptr);
}

TEST_CASE("PodInterner: pods with equal specs share one, others keep their own; strings are kept once") {
  auto with_args = [](const std::string &name, const std::string &arg) {
    return json{{"metadata",
                 {{"name", name},
                  {"labels", {{"app", "vmselect"}, {"pod", name}}},
                  {"ownerReferences", {{{"kind", "ReplicaSet"}, {"name", "vmselect-5d9f"}, {"uid", "rs-1"}}}}}},
                {"spec", {{"containers", {{{"name", "vmselect"}, {"args", {arg}}}}}}}};
  };
  PodInterner shared;
  const Pod a(with_args("a", "-storageNode=x"), &shared);
  const Pod b(with_args("b", "-storageNode=x"), &shared);
  const Pod c(with_args("c", "-storageNode=y"), &shared);
  const Pod d(with_args("d", "-storageNode=x")); // no interning
  CHECK(a.spec == b.spec);
  CHECK(a.spec != c.spec);
  CHECK(a.spec != d.spec);
  CHECK(*a.spec == *d.spec);
  CHECK((*c.spec)["containers"][0]["args"][0] == "-storageNode=y");
  // Label keys and values and owners are views of one pool per interner; a pod without one has its own.
  CHECK(a.strings == b.strings);
  CHECK(a.strings != d.strings);
  REQUIRE(a.labels.size() == 2);
  REQUIRE(b.labels.size() == 2);
  CHECK(a.labels[0].second.data() == b.labels[0].second.data()); // "vmselect", kept once
  CHECK(a.labels[1].second == "a");
  CHECK(b.labels[1].second == "b");
  CHECK(a.owners.at(0).uid.data() == c.owners.at(0).uid.data());
  CHECK(d.owners.at(0).uid == "rs-1");
  CHECK(d.label("app") == "vmselect");
  const Pod copy = b; // views stay valid in a copy that outlives the interner's other pods
  CHECK(copy.label("pod") == "b");
}

TEST_CASE("Pod: labels are kept where they are read, for pods a ReplicaSet owns or no controller does") {
  auto with_owner = [](const json &owners) {
    return json{{"metadata", {{"name", "p"}, {"labels", {{"app", "vmstorage"}}}, {"ownerReferences", owners}}}};
  };
  // A StatefulSet's (or InstanceSet's) pods are found by its UID, never by labels.
  CHECK(Pod(with_owner({{{"kind", "StatefulSet"}, {"name", "s"}, {"uid", "sts-1"}}})).labels.empty());
  CHECK(Pod(with_owner({{{"kind", "InstanceSet"}, {"name", "s"}, {"uid", "its-1"}}})).labels.empty());
  CHECK(Pod(with_owner({{{"kind", "ReplicaSet"}, {"name", "d-5d9f"}, {"uid", "rs-1"}}})).label("app") ==
        "vmstorage");
  CHECK(Pod(with_owner(json::array())).label("app") == "vmstorage");
  CHECK(Pod(with_owner({{{"kind", "StatefulSet"}, {"name", "s"}}})).label("app") == "vmstorage"); // no UID
}

TEST_CASE("release_namespace frees one namespace's objects and pods, and leaves the others whole") {
  Inventory inv;
  inv.statefulsets = {object("a", "s"), object("b", "s")};
  inv.configmaps = {object("a", "cm"), object("b", "cm")};
  inv.pods.emplace_back(pod("a", "s-0", "StatefulSet", "s", "sts-a"));
  inv.pods.emplace_back(pod("b", "s-0", "StatefulSet", "s", "sts-b"));
  CHECK(inv.configmap("a", "cm") != nullptr); // the indexes are built before, as discovery builds them
  CHECK(inv.pods_owned_by("sts-a").size() == 1);
  inv.release_namespace("a");
  CHECK(inv.statefulsets[0].is_null());
  CHECK(inv.configmaps[0].is_null());
  CHECK(inv.pods[0].name.empty());
  CHECK(inv.pods[0].owners.empty());
  CHECK(inv.pods[0].namespace_ == "a");
  CHECK(inv.pods[0].spec != nullptr);
  CHECK(names(inv.in_namespace(inv.statefulsets, "b")) == std::vector<std::string>{"s"});
  CHECK(inv.configmap("b", "cm") == &inv.configmaps[1]);
  CHECK(names(inv.pods_owned_by("sts-b")) == std::vector<std::string>{"s-0"});
  CHECK(inv.pods[1].owners.size() == 1);
}
