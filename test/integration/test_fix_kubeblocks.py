"""vmsync fix on KubeBlocks through KubeBlocks' own restart (issue 16 §5), the built binary against the control plane.

KubeBlocks 0.9 resolves a component's vars (VMSTORAGE_ADDR, into ConfigMap <cluster>-<comp>-env) only when that
component reconciles, and a vmstorage scale reconciles vmstorage alone (apecloud/kubeblocks issue #9253): after
`kcp fixture drift` on 0.9 both the env ConfigMaps and the running vminsert/vmselect pods hold the old list. The
repair is a Restart OpsRequest per component, which the control plane's KubeBlocks stand-in runs as KubeBlocks
does (test/cluster/README.md): phases, the vars resolved again from the vmstorage pod Services, the pods replaced
one at a time. vmsync must never edit the KubeBlocks-owned ConfigMap itself (unless --force-owned).
"""
import json
import os
import subprocess
import time

import conftest

from conftest import run_vmsync  # noqa: F401  (the module's helpers come from test_fix)
from test_fix import PORT, assert_serving, created, pods, plane_for, settled_snapshot, snapshot  # noqa: F401

OPS_09 = "opsrequests.apps.kubeblocks.io"
OPS_10 = "opsrequests.operations.kubeblocks.io"


def env_cm(cp, ns, role):
    """The env ConfigMap with its managedFields (kubectl hides them unless asked)."""
    return cp.get("configmap", "-n", ns, f"vm-{role}-env", "--show-managed-fields")


def kb_list(n, role):
    return ",".join(sorted(f"vm-vmstorage-{i}:{PORT[role]}" for i in range(n)))


def edited_by_vmsync(cm):
    """The managedFields entries of writes by vmsync (the API server names the manager after the User-Agent)."""
    assert cm["metadata"]["managedFields"], cm["metadata"]  # what the KubeBlocks stand-in wrote, at least
    return [m for m in cm["metadata"]["managedFields"] if m["manager"] == "vmsync"]


def restarts_by_role(cp, ns, kind):
    """vmsync's Restart OpsRequests in the namespace, by the component they restart."""
    out = {}
    for o in cp.get(kind, "-n", ns)["items"]:
        assert o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "vmsync", o["metadata"]
        (r,) = o["spec"]["restart"]
        assert r["componentName"] not in out, "two OpsRequests for one component"
        out[r["componentName"]] = o
    return out


def heal_09(cp, ns, before, after):
    """Deploys KubeBlocks 0.9 with `before` vmstorage nodes, scales to `after`, and runs fix; returns the
    OpsRequests by role and the consumer pods afterwards."""
    cp.deploy("kubeblocks-0.9", ns, "vm", storage=before, insert=2, select=2)
    cp.drift("kubeblocks-0.9", ns, "vm", after)
    for role in PORT:  # 0.9 leaves the consumers' env ConfigMaps as they were
        assert env_cm(cp, ns, role)["data"]["VMSTORAGE_ADDR"] == kb_list(before, role)
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 1, r
    for c in r.json()["clusters"][0]["consumers"]:
        assert c["sourceDrift"]["drift"], c

    # The dry run shows the plan and writes nothing.
    snap = settled_snapshot(cp, ns)
    r = cp.vmsync("fix", "-n", ns, "--dry-run", "-o", "json")
    assert r.rc == 1, r
    (cluster,) = r.json()["clusters"]
    assert cluster["refusals"] == [] and cluster["errors"] == [], cluster
    first, second = ("vmselect", "vminsert") if after > before else ("vminsert", "vmselect")
    steps = [(s["action"], s["role"]) for s in cluster["steps"]]
    assert steps == [("create-opsrequest", first), ("wait", first), ("create-opsrequest", second),
                     ("wait", second)], cluster["steps"]
    body = cluster["steps"][0]["body"]
    assert body["apiVersion"] == "apps.kubeblocks.io/v1alpha1" and body["kind"] == "OpsRequest"
    assert body["spec"]["clusterName"] == "vm" and body["spec"]["type"] == "Restart"
    assert body["spec"]["restart"] == [{"componentName": first}]
    assert "KubeBlocks 0.9 resolves a component's vars only when that component reconciles" in \
        cluster["steps"][0]["reason"]
    r = cp.vmsync("fix", "-n", ns, "--dry-run=server", "-o", "json")
    assert r.rc == 1, r
    assert all(s["serverDryRun"] == {"accepted": True} for s in r.json()["clusters"][0]["steps"]
               if s["action"] != "wait"), r.out
    time.sleep(1)
    assert snapshot(cp, ns) == snap
    assert cp.get(OPS_09, "-n", ns)["items"] == []

    # The repair.
    old = {role: {p["metadata"]["uid"] for p in pods(cp, ns, "kubeblocks-0.9", role)} for role in PORT}
    cms = {role: env_cm(cp, ns, role)["metadata"]["resourceVersion"] for role in PORT}
    r = cp.vmsync("fix", "-n", ns, "--yes")
    assert r.rc == 0, r
    assert "verify: 1 cluster: 1 in sync" in r.out, r
    assert cp.vmsync("check", "-n", ns).rc == 0

    # KubeBlocks, not vmsync, wrote the ConfigMaps.
    for role in PORT:
        cm = env_cm(cp, ns, role)
        assert cm["data"]["VMSTORAGE_ADDR"] == kb_list(after, role)
        assert cm["metadata"]["resourceVersion"] != cms[role]
        assert edited_by_vmsync(cm) == [], cm["metadata"]["managedFields"]
    # Every consumer pod was replaced and serves the new list.
    new = {role: pods(cp, ns, "kubeblocks-0.9", role) for role in PORT}
    for role in PORT:
        assert not old[role] & {p["metadata"]["uid"] for p in new[role]}, f"{role} pods were not all replaced"
    assert_serving(cp, ns, "kubeblocks-0.9", after)

    # The order: the second component's OpsRequest was made only after the first one's Succeed, and its pods
    # were all made after the first component's.
    ops = restarts_by_role(cp, ns, OPS_09)
    assert sorted(ops) == ["vminsert", "vmselect"], ops
    for o in ops.values():
        assert o["status"]["phase"] == "Succeed", o["status"]
        assert o["metadata"]["name"].startswith(f"vm-vmsync-restart-{o['spec']['restart'][0]['componentName']}-")
    assert ops[first]["status"]["completionTimestamp"] <= ops[second]["metadata"]["creationTimestamp"], ops
    assert ops[first]["metadata"]["creationTimestamp"] <= ops[second]["metadata"]["creationTimestamp"]
    assert max(created(p) for p in new[first]) <= min(created(p) for p in new[second]), (
        [(p["metadata"]["name"], created(p)) for p in new[first] + new[second]])
    # KubeBlocks' own record of the restart: the annotation on the Cluster's component specs.
    cl = cp.get("clusters.apps.kubeblocks.io", "-n", ns, "vm")
    stamps = {c["name"]: c.get("annotations", {}).get("kubeblocks.io/restart") for c in cl["spec"]["componentSpecs"]}
    for role in PORT:
        assert stamps[role] == ops[role]["status"]["startTimestamp"], (stamps, ops[role]["status"])

    # A second fix has nothing to do.
    r = cp.vmsync("fix", "-n", ns, "--yes")
    assert r.rc == 0 and "nothing to do" in r.out, r
    return ops


def test_kubeblocks_09_scale_up_heals_through_restart_opsrequests(plane_for):
    cp = plane_for("kubeblocks-0.9")
    heal_09(cp, cp.new_namespace("kb09up"), 3, 4)


def test_kubeblocks_09_scale_down_restarts_vminsert_first(plane_for):
    cp = plane_for("kubeblocks-0.9")
    heal_09(cp, cp.new_namespace("kb09dn"), 4, 3)


def test_kubeblocks_09_failed_restart_is_reported(plane_for):
    """A Restart that KubeBlocks fails stops fix with one error naming the OpsRequest and why; the next component
    is not restarted and the KubeBlocks-owned ConfigMap is left to KubeBlocks."""
    cp = plane_for("kubeblocks-0.9")
    for outcome, hook in (("Failed", "kcp.vmsync.io/fail-restart"), ("Cancelled", "kcp.vmsync.io/cancel-restart")):
        ns = cp.new_namespace("kb09f")
        cp.deploy("kubeblocks-0.9", ns, "vm", storage=3, insert=2, select=2)
        cp.drift("kubeblocks-0.9", ns, "vm", 4)
        cp.kubectl("-n", ns, "annotate", "clusters.apps.kubeblocks.io", "vm", f"{hook}=vmselect")
        ins_cm = env_cm(cp, ns, "vminsert")
        r = cp.vmsync("fix", "-n", ns, "--yes", timeout=240)
        assert r.rc == 2, r
        ops = restarts_by_role(cp, ns, OPS_09)
        assert list(ops) == ["vmselect"], ops  # vminsert's was never made
        name = ops["vmselect"]["metadata"]["name"]
        assert ops["vmselect"]["status"]["phase"] == outcome
        line = [ln for ln in r.err.splitlines() if ln.startswith("vmsync: error:")]
        assert len(line) == 1, r.err
        assert line[0].startswith(f"vmsync: error: {ns}/vm: wait OpsRequest {ns}/vm-vmsync-restart-vmselect- failed: "
                                  f"KubeBlocks Restart OpsRequest {ns}/{name} ended {outcome}"), r.err
        assert line[0].endswith(f"the pods of InstanceSet {ns}/vm-vmselect were not all restarted (kubectl describe "
                                f"opsrequest -n {ns} {name}), and running `vmsync fix` again makes a new one"), r.err
        if outcome == "Failed":
            assert (f"ended Failed: Failed to process OpsRequest: {name} in cluster: vm, more detailed informations "
                    f"in status.components; Pod/vm-vmselect-0: Failed to restart pod vm-vmselect-0") in line[0], r.err
        assert "create-opsrequest OpsRequest " + ns + "/vm-vmsync-restart-vminsert-" in r.err, r.err  # not applied
        after = env_cm(cp, ns, "vminsert")
        assert after["metadata"]["resourceVersion"] == ins_cm["metadata"]["resourceVersion"]
        assert edited_by_vmsync(after) == [] and edited_by_vmsync(env_cm(cp, ns, "vmselect")) == []
        assert cp.vmsync("check", "-n", ns).rc == 1


def test_kubeblocks_09_aborted_restart_is_reported(plane_for):
    """KubeBlocks aborts a Restart when a newer Restart of the same component starts (abortEarlierOpsRequestWithSameKind):
    fix, waiting for its own, reports it Aborted with KubeBlocks' reason and stops."""
    cp = plane_for("kubeblocks-0.9")
    ns = cp.new_namespace("kb09a")
    cp.deploy("kubeblocks-0.9", ns, "vm", storage=3, insert=2, select=2)
    cp.drift("kubeblocks-0.9", ns, "vm", 4)
    # The stand-in holds the Cluster's Restarts until both exist, so the order does not depend on its speed.
    cp.kubectl("-n", ns, "annotate", "clusters.apps.kubeblocks.io", "vm", "kcp.vmsync.io/hold-restarts=true")
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["NO_COLOR"] = "1"
    proc = subprocess.Popen([conftest.VMSYNC, "--kubeconfig", cp.kubeconfig, "fix", "-n", ns, "--yes"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 60
        while not cp.get(OPS_09, "-n", ns)["items"]:
            assert time.time() < deadline and proc.poll() is None, "fix made no OpsRequest"
            time.sleep(0.5)
        time.sleep(1.1)  # a later creationTimestamp (whole seconds) than vmsync's
        cp.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "apps.kubeblocks.io/v1alpha1", "kind": "OpsRequest",
            "metadata": {"name": "someone-restarts-vmselect", "namespace": ns},
            "spec": {"clusterName": "vm", "type": "Restart", "restart": [{"componentName": "vmselect"}]}}))
        cp.kubectl("-n", ns, "annotate", "clusters.apps.kubeblocks.io", "vm", "kcp.vmsync.io/hold-restarts-")
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, (out, err)
    mine = [o for o in cp.get(OPS_09, "-n", ns)["items"] if o["metadata"]["name"] != "someone-restarts-vmselect"]
    assert [o["spec"]["restart"][0]["componentName"] for o in mine] == ["vmselect"], mine
    name = mine[0]["metadata"]["name"]
    assert mine[0]["status"]["phase"] == "Aborted"
    line = [ln for ln in err.splitlines() if ln.startswith("vmsync: error:")]
    assert len(line) == 1, err
    assert (f"KubeBlocks Restart OpsRequest {ns}/{name} ended Aborted: Aborted as a result of the latest "
            f'opsRequest "{name}" being overridden; the pods of InstanceSet {ns}/vm-vmselect were not all '
            "restarted") in line[0], err


def test_kubeblocks_09_force_owned_patches_the_configmap(plane_for):
    """With --force-owned vmsync writes the env ConfigMap itself and deletes the pods, no OpsRequest."""
    cp = plane_for("kubeblocks-0.9")
    ns = cp.new_namespace("kb09fo")
    cp.deploy("kubeblocks-0.9", ns, "vm", storage=3, insert=2, select=2)
    cp.drift("kubeblocks-0.9", ns, "vm", 4)
    r = cp.vmsync("fix", "-n", ns, "--yes", "--force-owned")
    assert r.rc == 0, r
    assert cp.get(OPS_09, "-n", ns)["items"] == []
    for role in PORT:
        cm = env_cm(cp, ns, role)
        assert cm["data"]["VMSTORAGE_ADDR"] == kb_list(4, role) and edited_by_vmsync(cm), cm["metadata"]
    assert_serving(cp, ns, "kubeblocks-0.9", 4)


def test_kubeblocks_10_restart_opsrequest_heals_end_to_end(plane_for):
    """KubeBlocks 1.0 with --restart=opsrequest: one Restart per component, vmselect's first, each run as
    KubeBlocks runs it (phases, the Cluster's restart annotation, progress), the pods serving the new list."""
    cp = plane_for("kubeblocks-1.0")
    ns = cp.new_namespace("kb10o")
    cp.deploy("kubeblocks-1.0", ns, "vm", storage=3, insert=2, select=2)
    cp.drift("kubeblocks-1.0", ns, "vm", 4)
    old = {role: {p["metadata"]["uid"] for p in pods(cp, ns, "kubeblocks-1.0", role)} for role in PORT}
    r = cp.vmsync("fix", "-n", ns, "--yes", "--restart=opsrequest")
    assert r.rc == 0 and "verify: 1 cluster: 1 in sync" in r.out, r
    assert cp.vmsync("check", "-n", ns).rc == 0
    ops = restarts_by_role(cp, ns, OPS_10)
    assert sorted(ops) == ["vminsert", "vmselect"]
    assert ops["vmselect"]["status"]["completionTimestamp"] <= ops["vminsert"]["metadata"]["creationTimestamp"]
    cl = cp.get("clusters.apps.kubeblocks.io", "-n", ns, "vm")
    stamps = {c["name"]: c.get("annotations", {}).get("kubeblocks.io/restart") for c in cl["spec"]["componentSpecs"]}
    for role, o in ops.items():
        st = o["status"]
        assert st["phase"] == "Succeed" and st["progress"] == "2/2", st
        assert stamps[role] == st["startTimestamp"], (stamps, st)
        assert {c["type"] for c in st["conditions"]} >= {"Validated", "Restarting", "Succeed"}, st["conditions"]
        assert all(d["status"] == "Succeed" for d in st["components"][role]["progressDetails"]), st
    new = {role: pods(cp, ns, "kubeblocks-1.0", role) for role in PORT}
    for role in PORT:
        assert not old[role] & {p["metadata"]["uid"] for p in new[role]}, f"{role} pods were not all replaced"
    assert max(created(p) for p in new["vmselect"]) <= min(created(p) for p in new["vminsert"])
    for role in PORT:
        assert edited_by_vmsync(env_cm(cp, ns, role)) == []
    assert_serving(cp, ns, "kubeblocks-1.0", 4)


def test_kubeblocks_09_check_json_names_the_stale_configmap(plane_for):
    """check on 0.9 after a vmstorage scale: the env ConfigMap is the wrong source (what fix then repairs)."""
    cp = plane_for("kubeblocks-0.9")
    ns = cp.new_namespace("kb09c")
    cp.deploy("kubeblocks-0.9", ns, "vm", storage=3, insert=2, select=2)
    cp.drift("kubeblocks-0.9", ns, "vm", 5)
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 1, r
    for c in r.json()["clusters"][0]["consumers"]:
        role = c["role"]
        assert c["sourceDrift"] == {"drift": True, "missing": [f"vm-vmstorage-3:{PORT[role]}",
                                                                f"vm-vmstorage-4:{PORT[role]}"],
                                    "unexpected": []}, json.dumps(c, indent=1)
