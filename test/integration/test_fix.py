"""vmsync fix end to end: the built binary against the real local control plane, for every layout.

Each test deploys a VictoriaMetrics cluster in a fresh namespace exactly as upstream creates it (`kcp fixture`),
scales vmstorage behind the consumers' backs (`kcp fixture drift`), and asserts what fix plans, what it changes
(and what it leaves alone), that the controllers really replace the pods, that the replacement pods serve the new
list (`kcp flags`, the kubelet stand-in's /metrics), and that check agrees afterwards.

VMSYNC_TEST_CP_DIR / VMSYNC_TEST_CP09_DIR may name control planes already running (test/cluster/up DIR), to
iterate without starting new ones.
"""
import json
import os
import subprocess
import threading
import time

import pytest

import conftest
from conftest import run_vmsync

PORT = {"vminsert": 8400, "vmselect": 8401}
LAYOUTS = ["helm", "operator", "generic", "kubeblocks-1.0", "kubeblocks-0.9"]




@pytest.fixture
def plane_for(request):
    def get(layout):
        if layout == "kubeblocks-0.9":
            d = os.environ.get("VMSYNC_TEST_CP09_DIR")
            return conftest.existing_plane(d) if d else request.getfixturevalue("cp09")
        d = os.environ.get("VMSYNC_TEST_CP_DIR")
        return conftest.existing_plane(d) if d else request.getfixturevalue("cp")
    return get


def expected_nodes(layout, ns, n, role):
    port = PORT[role]
    if layout == "helm":
        s = "vm-victoria-metrics-cluster-vmstorage"
        return [f"{s}-{i}.{s}.{ns}.svc.cluster.local.:{port}" for i in range(n)]
    if layout == "operator":
        return [f"vmstorage-vm-{i}.vmstorage-vm.{ns}:{port}" for i in range(n)]
    if layout == "generic":
        return [f"vm-vmstorage-{i}.vm-vmstorage.{ns}.svc:{port}" for i in range(n)]
    return sorted(f"vm-vmstorage-{i}:{port}" for i in range(n))


def selector(layout, role):
    if layout == "helm":
        return f"app={role},app.kubernetes.io/instance=vm"
    if layout.startswith("kubeblocks"):
        return f"app.kubernetes.io/instance=vm,apps.kubeblocks.io/component-name={role}"
    return f"app.kubernetes.io/name={role},app.kubernetes.io/instance=vm"


def pods(cp, ns, layout, role):
    items = cp.get("pods", "-n", ns, "-l", selector(layout, role))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


KINDS = "deployments,statefulsets,configmaps,pods,services,leases,events"
CRD_KINDS = ("instancesets.workloads.kubeblocks.io", "clusters.apps.kubeblocks.io",
             "components.apps.kubeblocks.io", "vmclusters.operator.victoriametrics.com",
             "opsrequests.operations.kubeblocks.io", "opsrequests.apps.kubeblocks.io")


def snapshot(cp, ns):
    """kind/name -> resourceVersion of everything a fix could touch in the namespace."""
    out = {}
    items = cp.get(KINDS, "-n", ns)["items"]
    for kind in CRD_KINDS:
        r = cp.kubectl("get", kind, "-n", ns, "-o", "json", check=False)
        if r.strip():
            try:
                items += json.loads(r)["items"]
            except ValueError:
                pass
    for o in items:
        if o["kind"] == "Event" and "vmsync" not in (o.get("reportingComponent"), o.get("source", {}).get("component")):
            continue  # controllers' own events (scaling, ...) are not vmsync's doing
        out[f'{o["kind"]}/{o["metadata"]["name"]}'] = o["metadata"]["resourceVersion"]
    return out


def settled_snapshot(cp, ns, timeout=15):
    """A snapshot once the controllers have stopped writing status (two equal snapshots a second apart)."""
    prev = snapshot(cp, ns)
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(1)
        cur = snapshot(cp, ns)
        if cur == prev:
            return cur
        prev = cur
    return prev


def deploy_and_drift(cp, layout, ns, before, after, extra_drift=(), replicas=2):
    cp.deploy(layout, ns, "vm", storage=before, insert=replicas, select=replicas)
    cp.drift(layout, ns, "vm", after, extra=extra_drift)


def vmsync_ok(cp, *args, rc=(0,), timeout=300):
    r = cp.vmsync(*args, timeout=timeout)
    assert r.rc in rc, r
    return r


def created(p):
    return p["metadata"]["creationTimestamp"]


def assert_serving(cp, ns, layout, n):
    for role in PORT:
        ps = pods(cp, ns, layout, role)
        assert ps, role
        for p in ps:
            served = cp.flags(ns, p["metadata"]["name"]).split(",")
            assert sorted(served) == sorted(expected_nodes(layout, ns, n, role)), (p["metadata"]["name"], served)


# ---- heal, for every layout, up and down ------------------------------------------------------------------------

CASES = [(layout, direction) for layout in LAYOUTS for direction in ("up", "down")]


@pytest.mark.parametrize("layout,direction", CASES, ids=[f"{l}-{d}" for l, d in CASES])
def test_fix_heals(plane_for, layout, direction):
    cp = plane_for(layout)
    ns = cp.new_namespace("fix")
    before, after = (3, 4) if direction == "up" else (4, 3)
    cp.deploy(layout, ns, "vm", storage=before, insert=2, select=2)
    if direction == "down" and layout == "kubeblocks-1.0":
        # KubeBlocks 1.0 updates the env ConfigMaps itself, so what the pods run is unreadable and fix infers the
        # direction from pod ages: vmstorage pods made within 10 s of the change count as added nodes. A real
        # scale-down does not follow the deploy within seconds.
        time.sleep(11)
    cp.drift(layout, ns, "vm", after)
    # The operator reconciles vminsert itself; vmsync edits its Deployment only when told to.
    extra = ("--force-owned",) if layout == "operator" else ()
    assert cp.vmsync("check", "-n", ns).rc == 1

    # The dry run shows the plan, has the server check every request, and changes nothing.
    snap = settled_snapshot(cp, ns)
    r = vmsync_ok(cp, "fix", "-n", ns, "--dry-run=server", "-o", "json", *extra, rc=(1,))
    plan = r.json()
    assert plan["kind"] == "FixPlan" and plan["apiVersion"] == "vmsync.io/v1"
    (cluster,) = plan["clusters"]
    assert cluster["refusals"] == [] and cluster["errors"] == []
    steps = cluster["steps"]
    assert steps, r
    for s in steps:
        assert set(s) >= {"action", "target", "patchType", "body", "reason", "role", "canary"}
        if s["action"] != "wait":
            assert s["serverDryRun"] == {"accepted": True}, s
    roles = [s["role"] for s in steps]
    first = "vmselect" if direction == "up" else "vminsert"
    assert roles[0] == first, roles
    time.sleep(1)
    assert snapshot(cp, ns) == snap

    # The repair.
    old = {role: {p["metadata"]["uid"] for p in pods(cp, ns, layout, role)} for role in PORT}
    r = vmsync_ok(cp, "fix", "-n", ns, "--yes", *extra)
    assert "verify: 1 cluster: 1 in sync" in r.out, r
    assert cp.vmsync("check", "-n", ns).rc == 0
    new = {role: pods(cp, ns, layout, role) for role in PORT}
    for role in PORT:
        assert not old[role] & {p["metadata"]["uid"] for p in new[role]}, f"{role} pods were not all replaced"
    assert_serving(cp, ns, layout, after)

    # The safe order, from the pods' creation times.
    a, b = ("vmselect", "vminsert") if direction == "up" else ("vminsert", "vmselect")
    assert max(created(p) for p in new[a]) <= min(created(p) for p in new[b]), (
        [(p["metadata"]["name"], created(p)) for p in new[a] + new[b]])

    # Events name what changed.
    events = [e for e in cp.get("events", "-n", ns)["items"] if e.get("reportingComponent") == "vmsync"]
    assert events
    assert all(e["reason"] in ("VmsyncRepairedStorageNodes", "VmsyncRestarted") for e in events)
    # The Lease is released.
    assert not [l for l in cp.get("leases", "-n", ns)["items"] if l["metadata"]["name"].startswith("vmsync-fix-")]

    # A second fix has nothing to do and touches nothing.
    snap = settled_snapshot(cp, ns)
    r = vmsync_ok(cp, "fix", "-n", ns, "--yes", *extra)
    assert "nothing to do" in r.out, r
    time.sleep(1)
    assert snapshot(cp, ns) == snap


# ---- layout specifics --------------------------------------------------------------------------------------------

def test_helm_keeps_spelling_and_records_last_fix(plane_for):
    cp = plane_for("helm")
    ns = cp.new_namespace("fixh")
    deploy_and_drift(cp, "helm", ns, 3, 5)
    r = vmsync_ok(cp, "fix", "-n", ns, "--yes")
    assert "managed by Helm: the next `helm upgrade` must carry the new vmstorage replicaCount (5)" in r.out, r
    d = cp.get("deployment", "-n", ns, "vm-victoria-metrics-cluster-vminsert")
    args = d["spec"]["template"]["spec"]["containers"][0]["args"]
    nodes = [a for a in args if a.startswith("--storageNode=")]
    # One flag per node, FQDN with the trailing dot, where the first one was; the other flags kept.
    assert nodes == ["--storageNode=" + n for n in expected_nodes("helm", ns, 5, "vminsert")]
    assert args.index(nodes[0]) == 0 and "--envflag.enable=true" in args
    last = json.loads(d["metadata"]["annotations"]["vmsync.io/last-fix"])
    assert last["added"] == expected_nodes("helm", ns, 5, "vminsert")[3:] and last["removed"] == []
    assert d["spec"]["template"]["metadata"]["annotations"]["vmsync.io/storage-nodes-hash"] == last["hash"]


def test_generic_configmap_only_pods_stale(plane_for):
    """The ConfigMap is already right; only the pods started before it changed: restart, no patch."""
    cp = plane_for("generic")
    ns = cp.new_namespace("fixg")
    deploy_and_drift(cp, "generic", ns, 3, 4, extra_drift=("--update-configmap",))
    r = vmsync_ok(cp, "fix", "-n", ns, "--dry-run=client", "-o", "json", rc=(1,))
    actions = [s["action"] for s in r.json()["clusters"][0]["steps"]]
    assert "patch-configmap" not in actions and actions.count("restart-rollout") == 2, actions
    cms = {n: cp.get("configmap", "-n", ns, n)["metadata"]["resourceVersion"]
           for n in ("vm-vminsert-config", "vm-vmselect-config")}
    vmsync_ok(cp, "fix", "-n", ns, "--yes")
    assert cp.vmsync("check", "-n", ns).rc == 0
    assert_serving(cp, ns, "generic", 4)
    for n, rv in cms.items():
        assert cp.get("configmap", "-n", ns, n)["metadata"]["resourceVersion"] == rv


def test_fix_with_relation_on_the_command_line(plane_for):
    """A generic layout without the vmsync.io annotations: --relation names it for one run, as check takes it."""
    cp = plane_for("generic")
    ns = cp.new_namespace("fixrel")
    deploy_and_drift(cp, "generic", ns, 3, 4)
    for d in ("vm-vminsert", "vm-vmselect"):
        cp.kubectl("-n", ns, "annotate", "deployment", d, "vmsync.io/storage-workload-", "vmsync.io/role-")
    # Unannotated, the consumers are not found at all: nothing to fix.
    snap = settled_snapshot(cp, ns)
    r = vmsync_ok(cp, "fix", "-n", ns, "--yes")
    time.sleep(1)
    assert snapshot(cp, ns) == snap, r
    rel = ["--relation", "consumer=deployment/vm-vminsert,storage=statefulset/vm-vmstorage,role=vminsert",
           "--relation=consumer=deployment/vm-vmselect,storage=statefulset/vm-vmstorage,role=vmselect"]
    r = vmsync_ok(cp, "fix", "-n", ns, *rel, "--dry-run=server", "-o", "json", rc=(1,))
    (cluster,) = r.json()["clusters"]
    steps = cluster["steps"]
    assert [s["action"] for s in steps if s["action"] != "wait"] == [
        "patch-configmap", "restart-rollout", "patch-configmap", "restart-rollout"], steps
    assert [s["role"] for s in steps][0] == "vmselect"  # nodes were added: vmselect first
    assert all(s["serverDryRun"] == {"accepted": True} for s in steps if s["action"] != "wait"), steps
    r = vmsync_ok(cp, "fix", "-n", ns, *rel, "--yes")
    assert "verify: 1 cluster: 1 in sync" in r.out, r
    assert cp.vmsync("check", "-n", ns, *rel).rc == 0
    assert_serving(cp, ns, "generic", 4)
    # The same syntax errors as check, before any request (the server here does not exist).
    for cmd in ("check", "fix"):
        r = run_vmsync("--server", "https://127.0.0.1:9", cmd, "--relation", "consumer=deployment/vm-vminsert")
        assert r.rc == 2, r
        assert r.err == ('vmsync: error: --relation "consumer=deployment/vm-vminsert": needs consumer=<kind>/<name> '
                         "and storage=<kind>/<name>\n"), r


def test_operator_owned_refused_without_force_owned(plane_for):
    cp = plane_for("operator")
    ns = cp.new_namespace("fixo")
    deploy_and_drift(cp, "operator", ns, 3, 4)
    ins = cp.get("deployment", "-n", ns, "vminsert-vm")
    sel_sts = cp.get("statefulset", "-n", ns, "vmselect-vm")
    r = cp.vmsync("fix", "-n", ns, "--yes")
    assert r.rc == 1, r
    assert "Deployment " + ns + "/vminsert-vm is owned by VMCluster vm" in r.err, r
    assert "--force-owned" in r.err
    # The operator's Deployment is untouched; the OnDelete vmselect pods were replaced, one at a time, the
    # StatefulSet itself not edited (deleting its pods is the operator's own way).
    assert cp.get("deployment", "-n", ns, "vminsert-vm")["metadata"]["resourceVersion"] == \
        ins["metadata"]["resourceVersion"]
    after = cp.get("statefulset", "-n", ns, "vmselect-vm")
    assert after["metadata"]["generation"] == sel_sts["metadata"]["generation"]
    assert after["spec"]["template"] == sel_sts["spec"]["template"]
    sel = sorted(pods(cp, ns, "operator", "vmselect"), key=created)
    assert created(sel[0]) <= created(sel[-1])
    for p in sel:
        assert cp.flags(ns, p["metadata"]["name"]).split(",") == expected_nodes("operator", ns, 4, "vmselect")
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    cons = {c["role"]: c for c in r.json()["clusters"][0]["consumers"]}
    assert all(p["status"] == "InSync" for p in cons["vmselect"]["pods"])
    assert all(p["status"] == "Stale" for p in cons["vminsert"]["pods"])


@pytest.mark.parametrize("layout", ["kubeblocks-1.0", "kubeblocks-0.9"])
def test_kubeblocks_opsrequest_accepted_by_the_crd(plane_for, layout):
    cp = plane_for(layout)
    ns = cp.new_namespace("fixk")
    deploy_and_drift(cp, layout, ns, 3, 4, replicas=3)
    r = vmsync_ok(cp, "fix", "-n", ns, "--yes", "--restart=opsrequest")
    assert cp.vmsync("check", "-n", ns).rc == 0
    kind = "opsrequests.operations.kubeblocks.io" if layout == "kubeblocks-1.0" else "opsrequests.apps.kubeblocks.io"
    ops = cp.get(kind, "-n", ns)["items"]
    assert sorted(o["spec"]["restart"][0]["componentName"] for o in ops) == ["vminsert", "vmselect"], r
    for o in ops:
        assert o["spec"]["type"] == "Restart" and o["spec"]["clusterName"] == "vm"
        assert o["status"]["phase"] == "Succeed"
    assert_serving(cp, ns, layout, 4)


class PodWatch:
    """Every pod of the consumers that the API server reports created while it runs (kubectl get -w), by name."""

    def __init__(self, cp, ns, selector):
        self.known = {p["metadata"]["uid"] for p in cp.get("pods", "-n", ns, "-l", selector)["items"]}
        self.created = {}
        self.proc = subprocess.Popen([conftest.KCP, "kubectl", "--kubeconfig", cp.kubeconfig, "get", "pods", "-n", ns,
                                      "-l", selector, "--watch", "--output-watch-events", "-o", "json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        # The first events are the pods that already exist: once one is seen, the watch is established.
        assert self.started.wait(30), "kubectl watch did not start"

    def _read(self):
        for line in self.proc.stdout:  # one event per line: {"type": ..., "object": {...}}
            if not line.strip():
                continue
            ev = json.loads(line)
            self.started.set()
            pod = ev["object"]
            if pod["metadata"]["uid"] not in self.known:
                self.known.add(pod["metadata"]["uid"])
                self.created.setdefault(pod["metadata"]["name"], []).append(pod["metadata"]["uid"])

    def stop(self):
        time.sleep(1)  # the last events in flight
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.thread.join(timeout=30)
        return self.created


@pytest.mark.parametrize("layout", ["kubeblocks-1.0", "kubeblocks-0.9"])
def test_kubeblocks_auto_restarts_each_stale_pod_once(plane_for, layout):
    """The default (--restart=auto): the canary pod, then each other stale pod, deleted one at a time; no Restart
    OpsRequest after the canary, which would replace the canary a second time."""
    cp = plane_for(layout)
    ns = cp.new_namespace("fixk1")
    # On 0.9 the env ConfigMaps keep the old list after a vmstorage scale (a Restart OpsRequest is then the repair,
    # test_fix_kubeblocks.py); here they were rewritten by a reconcile of those components, so only pods are stale.
    deploy_and_drift(cp, layout, ns, 3, 4, replicas=3,
                     extra_drift=("--update-configmap",) if layout == "kubeblocks-0.9" else ())
    r = vmsync_ok(cp, "fix", "-n", ns, "--dry-run", "-o", "json", rc=(1,))
    steps = r.json()["clusters"][0]["steps"]
    deleted = [s["target"]["name"] for s in steps if s["action"] == "delete-pod"]
    assert sorted(deleted) == sorted(f"vm-{role}-{i}" for role in PORT for i in range(3)), steps
    assert "create-opsrequest" not in [s["action"] for s in steps]

    watch = PodWatch(cp, ns, "app.kubernetes.io/instance=vm,apps.kubeblocks.io/component-name in (vminsert,vmselect)")
    try:
        vmsync_ok(cp, "fix", "-n", ns, "--yes")
    finally:
        created = watch.stop()
    # Each of the six stale pods was replaced exactly once: one new pod (uid) per name, no more.
    assert {name: len(uids) for name, uids in created.items()} == {name: 1 for name in deleted}, created
    assert cp.vmsync("check", "-n", ns).rc == 0
    kind = "opsrequests.operations.kubeblocks.io" if layout == "kubeblocks-1.0" else "opsrequests.apps.kubeblocks.io"
    assert cp.get(kind, "-n", ns)["items"] == []
    assert_serving(cp, ns, layout, 4)


def test_kubeblocks_delete_pods(plane_for):
    cp = plane_for("kubeblocks-1.0")
    ns = cp.new_namespace("fixkd")
    deploy_and_drift(cp, "kubeblocks-1.0", ns, 3, 4, replicas=3)
    r = vmsync_ok(cp, "fix", "-n", ns, "--dry-run=client", "--restart=delete-pods", "-o", "json", rc=(1,))
    actions = [s["action"] for s in r.json()["clusters"][0]["steps"]]
    assert actions.count("delete-pod") == 6 and "create-opsrequest" not in actions
    vmsync_ok(cp, "fix", "-n", ns, "--yes", "--restart=delete-pods")
    assert cp.vmsync("check", "-n", ns).rc == 0
    assert cp.get("opsrequests.operations.kubeblocks.io", "-n", ns)["items"] == []


def test_refused_while_vmstorage_not_ready(plane_for):
    cp = plane_for("generic")
    ns = cp.new_namespace("fixr")
    deploy_and_drift(cp, "generic", ns, 3, 3, extra_drift=())
    # A vmstorage that cannot become Ready: scale up with a pod that never gets Ready.
    cp.kubectl("patch", "statefulset", "-n", ns, "vm-vmstorage", "--type=merge", "-p",
               json.dumps({"spec": {"replicas": 4,
                                    "template": {"metadata": {"annotations": {"kcp.vmsync.io/ready-delay": "1h"}}}}}),
               check=False)
    time.sleep(3)
    r = cp.vmsync("fix", "-n", ns, "--yes")
    if "declared pods Ready" not in r.out + r.err:
        pytest.skip("vmstorage became Ready before fix ran")
    assert r.rc == 1, r
    assert "(--force acts anyway)" in r.out


# ---- concurrency, conflicts, failures --------------------------------------------------------------------------

def test_second_fix_exits_naming_the_lease_holder(plane_for):
    cp = plane_for("generic")
    ns = cp.new_namespace("fixl")
    deploy_and_drift(cp, "generic", ns, 3, 4)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    cp.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "vmsync-fix-vm-vmstorage", "namespace": ns},
        "spec": {"holderIdentity": "other-host-42", "leaseDurationSeconds": 60, "renewTime": now,
                 "acquireTime": now}}))
    snap = {k: v for k, v in settled_snapshot(cp, ns).items() if not k.startswith("Lease/")}
    r = cp.vmsync("fix", "-n", ns, "--yes")
    assert r.rc == 2, r
    assert "holder other-host-42" in r.err, r
    t0 = time.time()
    r = cp.vmsync("fix", "-n", ns, "--yes", "--lock-wait=3s")
    assert r.rc == 2 and time.time() - t0 >= 3, r
    assert {k: v for k, v in snapshot(cp, ns).items() if not k.startswith("Lease/")} == snap
    cp.kubectl("delete", "lease", "-n", ns, "vmsync-fix-vm-vmstorage")
    vmsync_ok(cp, "fix", "-n", ns, "--yes")


def test_two_concurrent_fixes(plane_for):
    cp = plane_for("helm")
    ns = cp.new_namespace("fixc")
    deploy_and_drift(cp, "helm", ns, 3, 4)
    results = [None, None]

    def run(i, args):
        results[i] = cp.vmsync("fix", "-n", ns, "--yes", *args)

    threads = [threading.Thread(target=run, args=(0, ())),
               threading.Thread(target=run, args=(1, ("--lock-wait=3m",)))]
    threads[0].start()
    time.sleep(0.3)
    threads[1].start()
    for t in threads:
        t.join()
    # Both end healed: one did the work, the other waited for its Lease and then found nothing (or the rest) to do.
    assert results[0].rc == 0, results[0]
    assert results[1].rc == 0, results[1]
    assert cp.vmsync("check", "-n", ns).rc == 0
    repaired = [e for e in cp.get("events", "-n", ns)["items"] if e["reason"] == "VmsyncRepairedStorageNodes"]
    assert len(repaired) == 2  # vminsert and vmselect, each once


def test_conflict_between_plan_and_apply(plane_for):
    """vminsert's template changes while vmselect rolls: its JSON patch `test` fails, fix re-reads and re-plans."""
    cp = plane_for("helm")
    ns = cp.new_namespace("fixx")
    cp.deploy("helm", ns, "vm", storage=3, insert=2, select=2)
    # Slow vmselect pods down, so that there is time to change vminsert while fix waits for them.
    cp.kubectl("patch", "deployment", "-n", ns, "vm-victoria-metrics-cluster-vmselect", "--type=merge", "-p",
               json.dumps({"spec": {"template": {"metadata": {"annotations": {"kcp.vmsync.io/ready-delay": "4s"}}}}}))
    cp.kubectl("rollout", "status", "deployment", "-n", ns, "vm-victoria-metrics-cluster-vmselect", "--timeout=2m")
    cp.drift("helm", ns, "vm", 4)
    proc = subprocess.Popen([conftest.VMSYNC, "--kubeconfig", cp.kubeconfig, "fix", "-n", ns, "--yes"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    deadline = time.time() + 60
    while time.time() < deadline:
        d = cp.get("deployment", "-n", ns, "vm-victoria-metrics-cluster-vmselect")
        if "vmsync.io/storage-nodes-hash" in (d["spec"]["template"]["metadata"].get("annotations") or {}):
            break
        time.sleep(0.2)
    cp.kubectl("patch", "deployment", "-n", ns, "vm-victoria-metrics-cluster-vminsert", "--type=json", "-p",
               json.dumps([{"op": "add", "path": "/spec/template/spec/containers/0/args/-",
                            "value": "--maxLabelsPerTimeseries=40"}]))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert "conflicted" in err and "re-reading and planning again" in err, err
    args = cp.get("deployment", "-n", ns, "vm-victoria-metrics-cluster-vminsert")["spec"]["template"]["spec"][
        "containers"][0]["args"]
    assert "--maxLabelsPerTimeseries=40" in args
    assert [a for a in args if a.startswith("--storageNode=")] == \
        ["--storageNode=" + n for n in expected_nodes("helm", ns, 4, "vminsert")]
    assert cp.vmsync("check", "-n", ns).rc == 0


def sa_kubeconfig(cp, ns, name, rules, tmp_path):
    cp.kubectl("create", "serviceaccount", "-n", ns, name)
    cp.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": name, "namespace": ns}, "rules": rules}))
    cp.kubectl("create", "rolebinding", "-n", ns, name, f"--role={name}", f"--serviceaccount={ns}:{name}")
    token = cp.kubectl("create", "token", "-n", ns, name).strip()
    server = cp.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").strip()
    path = tmp_path / f"{name}.kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "kcp", "cluster": {"server": server, "certificate-authority": cp.ca}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "kcp", "user": name, "namespace": ns}}]}))
    return str(path)


READ_RULES = [
    {"apiGroups": [""], "resources": ["pods", "configmaps", "services"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list"]},
    {"apiGroups": ["workloads.kubeblocks.io"], "resources": ["instancesets"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps.kubeblocks.io"], "resources": ["clusters"], "verbs": ["get", "list"]},
    {"apiGroups": ["operator.victoriametrics.com"], "resources": ["vmclusters"], "verbs": ["get", "list"]},
    {"apiGroups": ["operations.kubeblocks.io", "apps.kubeblocks.io"], "resources": ["opsrequests"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "patch", "delete"]},
]


def test_half_way_failure_and_resume(plane_for, tmp_path):
    """A service account may patch vmselect's ConfigMap and roll the Deployments but not vminsert's ConfigMap:
    fix stops there, says what was and was not applied, and a second fix resumes with only what is left."""
    cp = plane_for("generic")
    ns = cp.new_namespace("fixf")
    deploy_and_drift(cp, "generic", ns, 3, 4)
    rules = READ_RULES + [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["vm-vmselect-config"], "verbs": ["patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
    ]
    kc = sa_kubeconfig(cp, ns, "fixer", rules, tmp_path)
    r = run_vmsync("fix", "-n", ns, "--yes", kubeconfig=kc)
    assert r.rc == 2, r
    assert "patch-configmap ConfigMap " + ns + "/vm-vminsert-config failed" in r.err, r
    applied = r.err.split("  applied:")[1].split("  not applied:")[0]
    not_applied = r.err.split("  not applied:")[1]
    assert "patch-configmap ConfigMap " + ns + "/vm-vmselect-config" in applied
    assert "restart-rollout Deployment " + ns + "/vm-vmselect" in applied
    assert "patch-configmap ConfigMap " + ns + "/vm-vminsert-config" in not_applied
    assert "restart-rollout Deployment " + ns + "/vm-vminsert" in not_applied
    # vmselect is healed, vminsert untouched.
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    cons = {c["role"]: c for c in r.json()["clusters"][0]["consumers"]}
    assert all(p["status"] == "InSync" for p in cons["vmselect"]["pods"])
    assert cons["vminsert"]["sourceDrift"]
    # Resume (with the rights): the plan only has vminsert's steps left.
    r = vmsync_ok(cp, "fix", "-n", ns, "--dry-run=client", "-o", "json", rc=(1,))
    assert {s["role"] for s in r.json()["clusters"][0]["steps"]} == {"vminsert"}
    vmsync_ok(cp, "fix", "-n", ns, "--yes")
    assert cp.vmsync("check", "-n", ns).rc == 0


def test_dry_run_server_reports_refused_requests(plane_for, tmp_path):
    cp = plane_for("generic")
    ns = cp.new_namespace("fixd")
    deploy_and_drift(cp, "generic", ns, 3, 4)
    kc = sa_kubeconfig(cp, ns, "reader", READ_RULES, tmp_path)
    r = run_vmsync("fix", "-n", ns, "--dry-run=server", kubeconfig=kc)
    assert r.rc == 2, r
    assert "the server would refuse patch-configmap ConfigMap " + ns + "/vm-vmselect-config" in r.err, r
    assert "server dry run (dryRun=All): 0 of 4 requests accepted" in r.out
    # --dry-run alone is server (issue 5), unlike kubectl's client.
    r = run_vmsync("fix", "-n", ns, "--dry-run", kubeconfig=kc)
    assert r.rc == 2, r
    assert "server dry run (dryRun=All): 0 of 4 requests accepted" in r.out, r
    # --dry-run=client sends nothing, so it cannot know.
    r = run_vmsync("fix", "-n", ns, "--dry-run=client", kubeconfig=kc)
    assert r.rc == 1, r
    assert "client dry run: nothing was sent to the server" in r.out, r
    assert "serverDryRun" not in run_vmsync("fix", "-n", ns, "--dry-run=client", "-o", "json", kubeconfig=kc).out
    # --dry-run=none is no dry run: the reader cannot patch, so the real attempt fails.
    r = run_vmsync("fix", "-n", ns, "--dry-run=none", "--yes", kubeconfig=kc)
    assert r.rc == 2 and "forbidden" in r.err.lower(), r


def test_nothing_to_do_touches_nothing(plane_for):
    cp = plane_for("generic")
    ns = cp.new_namespace("fixn")
    cp.deploy("generic", ns, "vm")
    snap = settled_snapshot(cp, ns)
    r = vmsync_ok(cp, "fix", "-n", ns, "--yes")
    assert "nothing to do" in r.out
    r = vmsync_ok(cp, "fix", "-n", ns, "--dry-run")
    time.sleep(1)
    assert snapshot(cp, ns) == snap


# The least a fixer needs, per namespace (a ClusterRole with the same rules serves -A). deploy/ has no manifests
# yet; this is the role they should carry.
FIX_RULES = READ_RULES + [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["patch"]},
    {"apiGroups": ["operations.kubeblocks.io", "apps.kubeblocks.io"], "resources": ["opsrequests"],
     "verbs": ["create"]},
]


@pytest.mark.parametrize("layout", ["generic", "kubeblocks-1.0", "kubeblocks-0.9"])
def test_fix_role_suffices(plane_for, layout, tmp_path):
    # (kubeblocks-0.9: the repair is a Restart OpsRequest per component, made and followed with these rules)
    cp = plane_for(layout)
    ns = cp.new_namespace("fixrole")
    deploy_and_drift(cp, layout, ns, 3, 4, replicas=3)
    kc = sa_kubeconfig(cp, ns, "fixer", FIX_RULES, tmp_path)
    r = run_vmsync("fix", "-n", ns, "--yes", kubeconfig=kc)
    assert r.rc == 0, r
    assert "warning" not in r.err, r  # Events and the last-fix annotation were allowed too
    assert run_vmsync("check", "-n", ns, kubeconfig=kc).rc == 0
    # ...and nothing more: it cannot, say, delete a Deployment or read Secrets.
    denied = run_vmsync("check", "-n", "default", kubeconfig=kc)
    assert denied.rc == 2, denied


def test_named_cluster_not_found_is_an_error(plane_for):
    """Issue 16 §2, live: a cluster named on the command line that the namespace does not hold is an error naming
    it and the namespace, as kubectl's NotFound is, never "nothing to do"; nothing is touched."""
    cp = plane_for("generic")
    ns = cp.new_namespace("fixnf")
    deploy_and_drift(cp, "generic", ns, 3, 4)
    snap = settled_snapshot(cp, ns)
    want = (f'vmsync: error: no VictoriaMetrics cluster "nope" in namespace "{ns}" (try -A, or `vmsync check` to '
            "list them)\n")
    for args in (["fix", "--yes"], ["fix", "--dry-run=client"], ["check"]):
        r = cp.vmsync(*args, "-n", ns, "nope")
        assert (r.rc, r.err, r.out) == (2, want, ""), r
    r = cp.vmsync("fix", "--yes", "-A", "nope")
    assert (r.rc, r.err) == (2, 'vmsync: error: no VictoriaMetrics cluster "nope" in any namespace (try -A, or '
                                '`vmsync check` to list them)\n'), r
    time.sleep(1)
    assert snapshot(cp, ns) == snap


def test_fix_all_namespaces_reads_opsrequests_namespace_by_namespace(plane_for, tmp_path):
    """Issue 16 §6: a fixer who may list OpsRequests only in the namespaces of its RoleBindings (everything else
    cluster-wide) runs fix -A. The OpsRequest vmsync made that is still in progress there is read namespace by
    namespace and waited for, not restarted over; where even that list is forbidden, the namespace is an error
    naming the permission and is left alone, never planned as if nothing ran."""
    layout = "kubeblocks-1.0"
    cp = plane_for(layout)
    ns = cp.new_namespace("fixops")
    deploy_and_drift(cp, layout, ns, 3, 4, replicas=3)
    held = "vm-vmsync-restart-vminsert-held"
    cp.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "operations.kubeblocks.io/v1alpha1", "kind": "OpsRequest",
        "metadata": {"name": held, "namespace": ns,
                     "labels": {"app.kubernetes.io/instance": "vm", "app.kubernetes.io/managed-by": "vmsync",
                                "apps.kubeblocks.io/component-name": "vminsert"},
                     # the stand-in leaves it Pending, however fast it would run it (test/cluster/README.md)
                     "annotations": {"kcp.vmsync.io/hold": "true"}},
        "spec": {"clusterName": "vm", "type": "Restart", "restart": [{"componentName": "vminsert"}]}}))
    ops_rule = {"apiGroups": ["operations.kubeblocks.io"], "resources": ["opsrequests"], "verbs": ["get", "list"]}
    kc = sa_kubeconfig(cp, ns, "fixer", [ops_rule], tmp_path)
    cluster_role = f"fixops-{ns}"  # cluster-scoped: one per test namespace
    cp.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": cluster_role},
        "rules": [r for r in FIX_RULES if "opsrequests" not in r["resources"]]}))
    cp.kubectl("create", "clusterrolebinding", cluster_role, f"--clusterrole={cluster_role}",
               f"--serviceaccount={ns}:fixer")
    assert "no" == cp.kubectl("auth", "can-i", "list", "opsrequests.operations.kubeblocks.io", "-A",
                              f"--as=system:serviceaccount:{ns}:fixer", check=False).strip()

    def plan_of_ns():
        # Other tests' clusters share the plane; the exit code is theirs too, this namespace's plan is ours.
        r = run_vmsync("fix", "-A", "--dry-run=client", "-o", "json", kubeconfig=kc)
        assert r.rc in (1, 2), r
        (mine,) = [c for c in r.json()["clusters"] if c["namespace"] == ns]
        return mine

    mine = plan_of_ns()
    assert mine["errors"] == [], mine
    vminsert = [s for s in mine["steps"] if s["role"] == "vminsert"]
    assert [(s["action"], s["target"]["name"]) for s in vminsert] == [("wait", held)], mine
    assert "delete-pod" in [s["action"] for s in mine["steps"] if s["role"] == "vmselect"], mine

    # Without the right to list them in the namespace either: an error naming it, and no step.
    cp.kubectl("delete", "rolebinding", "-n", ns, "fixer")
    mine = plan_of_ns()
    assert mine["steps"] == [], mine
    assert len(mine["errors"]) == 1 and mine["errors"][0].startswith(
        f'may not list opsrequests.operations.kubeblocks.io in namespace "{ns}": fix waits for a Restart OpsRequest '
        "still running there before it restarts pods"), mine
    r = run_vmsync("fix", "-n", ns, "--yes", kubeconfig=kc)
    assert r.rc == 2 and f'error: may not list opsrequests.operations.kubeblocks.io in namespace "{ns}"' in r.out, r
    assert len(pods(cp, ns, layout, "vmselect")) == 3 and cp.vmsync("check", "-n", ns).rc == 1


def test_fix_asks_on_a_terminal_and_refuses_without_one(plane_for):
    """Confirmation depends on stdin only: `vmsync fix | tee log` still asks (on the terminal, not on stdout);
    with no terminal at all (a script, a CronJob) there is no one to ask, so fix refuses without --yes."""
    import fcntl
    import pty
    import re
    import termios

    cp = plane_for("generic")
    ns = cp.new_namespace("fixtty")
    deploy_and_drift(cp, "generic", ns, 2, 3)
    before = settled_snapshot(cp, ns)

    r = cp.vmsync("fix", "-n", ns)
    assert r.rc == 2, r
    assert re.fullmatch(r"vmsync: error: \d+ steps to apply to 1 cluster and no terminal to confirm on: pass --yes "
                        r"to apply them \(--dry-run to only see them\)\n", r.err), r.err
    assert "patch-" in r.out or "restart" in r.out, r.out  # the plan was shown
    assert "Apply these" not in r.out + r.err

    main, child = pty.openpty()

    def controlling_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    os.write(main, b"n\n")
    p = subprocess.run([conftest.VMSYNC, "--kubeconfig", cp.kubeconfig, "fix", "-n", ns], stdin=child,
                       capture_output=True, text=True, timeout=120, preexec_fn=controlling_terminal,
                       env={**os.environ, "NO_COLOR": "1"})
    os.close(child)
    tty = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    os.close(main)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert re.search(r"Apply these \d+ steps to 1 cluster\? \[y/N\] ", tty.decode()), tty
    assert "Apply these" not in p.stdout + p.stderr, p
    assert p.stderr == "vmsync: nothing applied\n", p.stderr
    assert settled_snapshot(cp, ns) == before
