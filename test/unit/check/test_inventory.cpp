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
  inv.pods = {pod("ns", "web-7d9f-a", "ReplicaSet", "web-7d9f", "rs-1"),
              pod("ns", "web-api-5c8b-a", "ReplicaSet", "web-api-5c8b", "rs-2"),
              pod("other", "web-7d9f-b", "ReplicaSet", "web-7d9f", "rs-3"),
              pod("ns", "db-0", "StatefulSet", "db", "sts-1"),
              pod("ns", "odd", "ReplicaSet", "nodash", "rs-4")};
  CHECK(names(inv.pods_of_replicasets("ns", "web")) == std::vector<std::string>{"web-7d9f-a"});
  CHECK(names(inv.pods_of_replicasets("ns", "web-api")) == std::vector<std::string>{"web-api-5c8b-a"});
  CHECK(names(inv.pods_of_replicasets("other", "web")) == std::vector<std::string>{"web-7d9f-b"});
  CHECK(inv.pods_of_replicasets("ns", "nodash").empty());
  CHECK(names(inv.pods_owned_by("sts-1")) == std::vector<std::string>{"db-0"});
  CHECK(names(inv.pods_owned_by("rs-2")) == std::vector<std::string>{"web-api-5c8b-a"});
  CHECK(inv.pods_owned_by("none").empty());
  inv.pods.push_back(pod("ns", "db-1", "StatefulSet", "db", "sts-1"));
  CHECK(names(inv.pods_owned_by("sts-1")) == std::vector<std::string>{"db-0", "db-1"});
}
