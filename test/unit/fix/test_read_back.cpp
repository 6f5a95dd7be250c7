// Deciding what became of a write whose answer was lost, from the object read back (fix/read_back.hpp).
#include "vmsync/fix/read_back.hpp"

#include "vmsync/fix/apply.hpp"

#include <doctest/doctest.h>

using namespace vmsync;
using namespace vmsync::fix;
using nlohmann::json;

namespace {

json deployment(const json &args, const json &annotations) {
  return {{"metadata", {{"name", "vminsert"}, {"resourceVersion", "42"}}},
          {"spec",
           {{"template",
             {{"metadata", {{"annotations", annotations}}},
              {"spec", {{"containers", {{{"name", "vminsert"}, {"args", args}}}}}}}}}}};
}

const json kOld = {"--storageNode=s-0.s:8400", "--storageNode=s-1.s:8400"};
const json kNew = {"--storageNode=s-0.s:8400", "--storageNode=s-1.s:8400", "--storageNode=s-2.s:8400"};

json template_patch() {
  return json::array({{{"op", "test"}, {"path", "/spec/template/spec/containers/0/args"}, {"value", kOld}},
                      {{"op", "replace"}, {"path", "/spec/template/spec/containers/0/args"}, {"value", kNew}},
                      {{"op", "add"},
                       {"path", "/spec/template/metadata/annotations/vmsync.io~1storage-nodes-hash"},
                       {"value", "h2"}}});
}

} // namespace

TEST_CASE("patch_reflected: a JSON patch is judged by its add/replace/remove operations, not by its tests") {
  const auto patch = template_patch();
  CHECK(patch_reflected(deployment(kNew, {{"vmsync.io/storage-nodes-hash", "h2"}, {"other", "x"}}),
                        kube::PatchType::Json, patch));
  // Not applied: the old list and no hash.
  CHECK_FALSE(patch_reflected(deployment(kOld, json::object()), kube::PatchType::Json, patch));
  // Half of it (the list, not the hash) is not the write fix sent.
  CHECK_FALSE(patch_reflected(deployment(kNew, json::object()), kube::PatchType::Json, patch));
  // An earlier repair's hash: not this one.
  CHECK_FALSE(
      patch_reflected(deployment(kNew, {{"vmsync.io/storage-nodes-hash", "h1"}}), kube::PatchType::Json, patch));
  // remove: applied when the path is gone.
  const auto remove = json::array({{{"op", "remove"}, {"path", "/metadata/resourceVersion"}}});
  CHECK_FALSE(patch_reflected(deployment(kNew, json::object()), kube::PatchType::Json, remove));
  CHECK(patch_reflected(json{{"metadata", json::object()}}, kube::PatchType::Json, remove));
  // Operations fix never sends, and malformed ones, decide nothing: not applied.
  CHECK_FALSE(patch_reflected(deployment(kNew, json::object()), kube::PatchType::Json,
                              json::array({{{"op", "move"}, {"from", "/a"}, {"path", "/b"}}})));
  CHECK_FALSE(patch_reflected(deployment(kNew, json::object()), kube::PatchType::Json,
                              json::array({{{"op", "add"}, {"path", "no-slash"}, {"value", 1}}})));
  CHECK_FALSE(patch_reflected(deployment(kNew, json::object()), kube::PatchType::Json, json::object()));
}

TEST_CASE("patch_reflected: a merge patch's resourceVersion is a precondition; null means absent") {
  const json cm_new = {{"metadata", {{"name", "vm-env"}, {"resourceVersion", "43"}}},
                       {"data", {{"VM_STORAGE_URLS", "a:8400,b:8400,c:8400"}, {"OTHER", "1"}}}};
  const json cm_old = {{"metadata", {{"name", "vm-env"}, {"resourceVersion", "42"}}},
                       {"data", {{"VM_STORAGE_URLS", "a:8400,b:8400"}, {"OTHER", "1"}}}};
  const json patch = {{"metadata", {{"resourceVersion", "42"}}},
                      {"data", {{"VM_STORAGE_URLS", "a:8400,b:8400,c:8400"}}}};
  CHECK(patch_reflected(cm_new, kube::PatchType::Merge, patch));
  CHECK_FALSE(patch_reflected(cm_old, kube::PatchType::Merge, patch));
  CHECK(patch_reflected(cm_new, kube::PatchType::Merge, json{{"data", {{"GONE", nullptr}}}}));
  CHECK_FALSE(patch_reflected(cm_new, kube::PatchType::Merge, json{{"data", {{"OTHER", nullptr}}}}));
  // A strategic merge patch of the restart annotation: maps as in a merge patch.
  const json restart = {
      {"spec", {{"template", {{"metadata", {{"annotations", {{"vmsync.io/storage-nodes-hash", "h2"}}}}}}}}}};
  CHECK(patch_reflected(deployment(kNew, {{"vmsync.io/storage-nodes-hash", "h2"}}), kube::PatchType::Strategic,
                        restart));
  CHECK_FALSE(patch_reflected(deployment(kNew, {{"vmsync.io/storage-nodes-hash", "h1"}}),
                              kube::PatchType::Strategic, restart));
  CHECK_FALSE(patch_reflected(json{{"spec", "not an object"}}, kube::PatchType::Strategic, restart));
  CHECK_FALSE(patch_reflected(cm_new, kube::PatchType::Merge, json::array()));
}

TEST_CASE("pod_deletion: gone, replaced or terminating is applied; the same pod running is not") {
  const json pod = {{"metadata", {{"name", "vmselect-0"}, {"uid", "u1"}}}};
  CHECK(pod_deletion(std::nullopt, "u1") == ReadBack::Applied);
  CHECK(pod_deletion(json{{"metadata", {{"name", "vmselect-0"}, {"uid", "u2"}}}}, "u1") == ReadBack::Applied);
  CHECK(
      pod_deletion(json{{"metadata",
                         {{"name", "vmselect-0"}, {"uid", "u1"}, {"deletionTimestamp", "2026-12-07T00:00:00Z"}}}},
                   "u1") == ReadBack::Applied);
  CHECK(pod_deletion(pod, "u1") == ReadBack::NotApplied);
}

TEST_CASE("created_opsrequest: the OpsRequest of this step, created after it was sent, not one already known") {
  Step s;
  s.action = Action::CreateOpsRequest;
  s.hash = "h2";
  s.body = {{"metadata", {{"generateName", "vm-vmsync-restart-vminsert-"}}}};
  const auto sent = *parse_time("2026-12-07T10:00:05Z");
  auto ops = [](const std::string &name, const std::string &hash, const std::string &created) {
    return json{{"metadata",
                 {{"name", name},
                  {"creationTimestamp", created},
                  {"annotations", {{"vmsync.io/storage-nodes-hash", hash}}}}}};
  };
  // Created in the second before the send counts (creationTimestamp has whole seconds).
  CHECK(created_opsrequest({ops("vm-vmsync-restart-vminsert-abcde", "h2", "2026-12-07T10:00:04Z")}, s, sent, {}) ==
        std::optional<std::string>("vm-vmsync-restart-vminsert-abcde"));
  // An earlier run's, another repair's, another component's, or one this run already made: none of them.
  CHECK_FALSE(
      created_opsrequest({ops("vm-vmsync-restart-vminsert-old01", "h2", "2026-12-07T09:00:00Z")}, s, sent, {}));
  CHECK_FALSE(
      created_opsrequest({ops("vm-vmsync-restart-vminsert-abcde", "h1", "2026-12-07T10:00:06Z")}, s, sent, {}));
  CHECK_FALSE(
      created_opsrequest({ops("vm-vmsync-restart-vmselect-abcde", "h2", "2026-12-07T10:00:06Z")}, s, sent, {}));
  CHECK_FALSE(created_opsrequest({ops("vm-vmsync-restart-vminsert-abcde", "h2", "2026-12-07T10:00:06Z")}, s, sent,
                                 {"vm-vmsync-restart-vminsert-abcde"}));
  // Of two, the newest.
  CHECK(created_opsrequest({ops("vm-vmsync-restart-vminsert-aaaaa", "h2", "2026-12-07T10:00:05Z"),
                            ops("vm-vmsync-restart-vminsert-bbbbb", "h2", "2026-12-07T10:00:07Z")},
                           s, sent, {}) == std::optional<std::string>("vm-vmsync-restart-vminsert-bbbbb"));
}
