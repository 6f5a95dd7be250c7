// read_manifests: what counts as input (no objects at all is an error) and objects read twice (equal copies count
// once, different ones are an error naming both inputs).
#include "vmsync/check/check.hpp"
#include "vmsync/error.hpp"

#include "../kube/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace vmsync;
using vmsync::test::TempDir;

namespace {

const std::string kConfigMap =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: mon}\ndata: {k: v}\n";
const std::string kService = "apiVersion: v1\nkind: Service\nmetadata: {name: vmstorage}\n";

} // namespace

TEST_CASE("read_manifests: input with no Kubernetes object is an error naming the inputs") {
  TempDir dir;
  const auto empty = dir.write("empty.yaml", "");
  const auto comments = dir.write("comments.yaml", "# helm template failed\n---\n---\n");
  const auto no_kind = dir.write("values.yaml", "replicaCount: 3\nimage: {tag: v1}\n");
  const auto empty_list = dir.write("list.yaml", "apiVersion: v1\nkind: List\nitems: []\n");
  const auto scalars = dir.write("scalars.yaml", "just a string\n---\n- 1\n");
  for (const auto &path : {empty, comments, no_kind, empty_list, scalars}) {
    CAPTURE(path);
    CHECK_THROWS_WITH_AS(check::read_manifests({path}, "default"),
                         ("no objects passed to check in " + path).c_str(), ParseError);
  }
  CHECK_THROWS_WITH_AS(check::read_manifests({empty, comments}, "default"),
                       ("no objects passed to check in " + empty + ", " + comments).c_str(), ParseError);
  const auto folder = dir / "rendered";
  std::filesystem::create_directories(folder);
  dir.write("rendered/notes.txt", kConfigMap); // not a manifest by its extension
  CHECK_THROWS_WITH_AS(check::read_manifests({folder}, "default"),
                       ("no objects passed to check in " + folder).c_str(), ParseError);
}

TEST_CASE("read_manifests: any Kubernetes object is input, though no cluster is in it") {
  TempDir dir;
  const auto inv = check::read_manifests({dir.write("svc.yaml", kService)}, "default");
  CHECK(inv.offline);
  CHECK(inv.configmaps.empty());
  CHECK(inv.deployments.empty());
}

TEST_CASE("inputs_text") { CHECK(check::inputs_text({"a.yaml", "-", "dir"}) == "a.yaml, <stdin>, dir"); }

TEST_CASE("read_manifests: an object read twice with equal content counts once") {
  TempDir dir;
  const auto a = dir.write("a.yaml", kConfigMap);
  CHECK(check::read_manifests({a, a}, "default").configmaps.size() == 1);
  // A directory holding a copy, in another order of keys and with the namespace left to the default.
  dir.write("copies/b.yaml", "kind: ConfigMap\ndata: {k: v}\nmetadata: {name: a}\napiVersion: v1\n");
  dir.write("copies/c.yaml", kConfigMap);
  CHECK(check::read_manifests({a, dir / "copies"}, "mon").configmaps.size() == 1);
  // In another namespace it is another object.
  CHECK(check::read_manifests({a, dir / "copies"}, "other").configmaps.size() == 2);
  // Twice in one List, too.
  const auto list =
      dir.write("list.yaml", "apiVersion: v1\nkind: List\nitems:\n- " +
                                 std::string("{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}") +
                                 "\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n");
  CHECK(check::read_manifests({list}, "mon").configmaps.size() == 1);
}

TEST_CASE("read_manifests: objects of one kind, namespace and name with different content are an error") {
  TempDir dir;
  const auto a = dir.write("a.yaml", kConfigMap);
  const auto b = dir.write("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: mon}\n"
                                     "data: {k: other}\n");
  CHECK_THROWS_WITH_AS(check::read_manifests({a, b}, "default"),
                       ("ConfigMap mon/a is read twice with different content: in " + a + " and in " + b).c_str(),
                       ParseError);
  // Within one file too; kinds of other API groups and unnamed objects are other objects.
  const auto same_file = dir.write(
      "same.yaml", kConfigMap + "---\n" + kConfigMap.substr(0, kConfigMap.size() - 1) + "\nbinaryData: {}\n");
  CHECK_THROWS_WITH_AS(
      check::read_manifests({same_file}, "default"),
      ("ConfigMap mon/a is read twice with different content: in " + same_file + " and in " + same_file).c_str(),
      ParseError);
  const auto groups =
      dir.write("groups.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n---\n"
                               "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: x}\n"
                               "spec: {a: 1}\n---\nkind: Pod\nmetadata: {generateName: p-}\n---\n"
                               "kind: Pod\nmetadata: {generateName: p-}\nspec: {}\n");
  CHECK(check::read_manifests({groups}, "default").deployments.size() == 2);
}
