"""check --probe (issue 17): what each vminsert/vmselect pod really runs with, read from its own /flags and
/metrics, through the built binary against the real control plane. The kubelet stand-in serves VictoriaMetrics'
pages per container (test/cluster/internal/vmflags); the API server's pod proxy runs behind the real
authentication and RBAC (test/cluster/internal/cp/podproxy.go)."""
import json
import os
import time

import pytest

from conftest import assert_valid_report
from test_access import server_of, write_kubeconfig


def pods_of(report, role=None):
    out = {}
    for c in report["clusters"]:
        for cons in c["consumers"]:
            if role and cons["role"] != role:
                continue
            for p in cons["pods"]:
                out[p["name"]] = p
    return out


@pytest.fixture(scope="module")
def kb_drift(cp):
    """KubeBlocks 1.0 after a vmstorage scale 3 -> 4: the env ConfigMaps are re-rendered, the pods keep running
    with the old list (what KubeBlocks does)."""
    ns = cp.new_namespace("probe")
    cp.deploy("kubeblocks-1.0", ns, "vm", storage=3, insert=2, select=1)
    cp.drift("kubeblocks-1.0", ns, "vm", 4, extra=("--update-configmap",))
    cp.wait_ready(ns, "apps.kubeblocks.io/component-name=vmstorage", 4)
    return ns


def test_without_probe_the_missing_nodes_are_unknown_and_no_page_is_read(cp, kb_drift):
    r = cp.vmsync("-vvvvvv", "check", "-n", kb_drift, "-o", "json")
    assert r.rc == 1, r
    pods = pods_of(r.report())
    assert {p["status"] for p in pods.values()} == {"Stale"}
    assert all(p["running"] is None and p["missing"] == [] for p in pods.values())
    assert all("observed" not in p for p in pods.values())
    assert "/proxy/" not in r.err  # no extra request without --probe


@pytest.mark.parametrize("mode", ["proxy", "direct"])
def test_probe_names_the_nodes_a_stale_kubeblocks_pod_lacks(cp, kb_drift, mode):
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    r = cp.vmsync("-vvvvvv", "check", "-n", kb_drift, f"--probe={mode}", "-o", "json")
    assert r.rc == 1, r
    rep = r.report()
    inserts, selects = pods_of(rep, "vminsert"), pods_of(rep, "vmselect")
    assert sorted(inserts) == ["vm-vminsert-0", "vm-vminsert-1"] and sorted(selects) == ["vm-vmselect-0"]
    old = [f"vm-vmstorage-{i}:84" for i in range(3)]
    for role, pods, port in (("vminsert", inserts, "8400"), ("vmselect", selects, "8401")):
        for name, p in pods.items():
            assert p["status"] == "Stale", p
            assert p["running"] == [a + port[2:] for a in old], p
            assert p["missing"] == [f"vm-vmstorage-3:{port}"], p
            assert p["unexpected"] == [] and p["unreachable"] == [], p
            o = p["observed"]
            assert o["via"] == mode and o["source"] == "/flags" and o["running"] == p["running"]
            assert o["at"] >= before and o["startedAt"] is not None and o["startedAt"] <= o["at"]
            assert o["version"] == f"{role}-v1.110.0-cluster"
            assert o["nodes"] == [{"addr": a, "reachable": True} for a in p["running"]]
            assert p["evidence"][0] == f"read from the pod's /flags at {o['at']} (via {mode})", p["evidence"]
            # observation and inference, both said
            assert "its spec could only tell that the process started before its list last changed" in p["evidence"]
            assert any(e.startswith("spec: container ") and "before configmap" in e for e in p["evidence"])
    proxied = [line for line in r.err.splitlines() if "/proxy/" in line]
    if mode == "proxy":
        # two pages per pod, through the API server
        assert len(proxied) == 6, r.err
        assert any(f"/api/v1/namespaces/{kb_drift}/pods/vm-vminsert-0:8480/proxy/flags 200" in l for l in proxied)
        assert any(f"/pods/vm-vmselect-0:8481/proxy/metrics 200" in l for l in proxied)
    else:
        assert proxied == [], r.err
    assert "warning" not in r.err


def test_probe_table_shows_the_missing_node(cp, kb_drift):
    r = cp.vmsync("check", "-n", kb_drift, "--probe=proxy")
    assert r.rc == 1, r
    rows = [l.split() for l in r.out.splitlines() if l.strip().startswith(("vminsert", "vmselect"))]
    assert rows == [["vminsert", "vm-vminsert-0", "Stale", "vm-vmstorage-3:8400", "-"],
                    ["vminsert", "vm-vminsert-1", "Stale", "vm-vmstorage-3:8400", "-"],
                    ["vmselect", "vm-vmselect-0", "Stale", "vm-vmstorage-3:8401", "-"]], r.out


def test_a_node_whose_pod_is_gone_is_unreachable(cp):
    """Scale 3 -> 2 without restarting consumers: they still list vm-vmstorage-2, whose pod is gone, and their
    /metrics say they cannot reach it."""
    ns = cp.new_namespace("probe")
    cp.deploy("kubeblocks-1.0", ns, "vm", storage=3, insert=1, select=1)
    cp.drift("kubeblocks-1.0", ns, "vm", 2, extra=("--update-configmap",))
    deadline = time.time() + 60
    while time.time() < deadline and len(cp.get("-n", ns, "pods", "-l",
                                                 "apps.kubeblocks.io/component-name=vmstorage")["items"]) != 2:
        time.sleep(0.3)
    r = cp.vmsync("check", "-n", ns, "--probe=proxy", "-o", "json")
    assert r.rc == 1, r
    for name, p in pods_of(r.report()).items():
        port = "8400" if "vminsert" in name else "8401"
        assert p["status"] == "Stale" and p["unexpected"] == [f"vm-vmstorage-2:{port}"], p
        assert p["unreachable"] == [f"vm-vmstorage-2:{port}"], p
        assert {n["addr"]: n["reachable"] for n in p["observed"]["nodes"]} == {
            f"vm-vmstorage-0:{port}": True, f"vm-vmstorage-1:{port}": True, f"vm-vmstorage-2:{port}": False}
        assert f"cannot reach vm-vmstorage-2:{port} (its /metrics)" in p["evidence"], p
    t = cp.vmsync("check", "-n", ns, "--probe=proxy")
    assert "vm-vmstorage-2:8400 [unreachable: vm-vmstorage-2:8400]" in t.out, t.out
    m = cp.vmsync("check", "-n", ns, "--probe=proxy", "-o", "prometheus")
    for role in ("vminsert", "vmselect"):
        assert f'vmsync_unreachable_nodes{{namespace="{ns}",cluster="vm",role="{role}"}} 1\n' in m.out, m.out
        assert f'vmsync_probed_pods{{namespace="{ns}",cluster="vm",role="{role}"}} 1\n' in m.out, m.out


def limited_kubeconfig(cp, ns, tmp_path, probe_role, sa=None):
    """A service account with deploy/namespaced's check role, and the probe role when asked."""
    sa = sa or "checker" + ("-probe" if probe_role else "")
    cp.kubectl("-n", ns, "create", "serviceaccount", sa)
    root = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "namespaced")
    for f, kind in (("role-check.yaml", "vmsync-check"), ("probe/role-probe.yaml", "vmsync-probe")):
        cp.kubectl("-n", ns, "apply", "-f", os.path.join(root, f))
    cp.kubectl("-n", ns, "create", "rolebinding", f"{sa}-check", "--role=vmsync-check", f"--serviceaccount={ns}:{sa}")
    if probe_role:
        cp.kubectl("-n", ns, "create", "rolebinding", f"{sa}-probe", "--role=vmsync-probe",
                   f"--serviceaccount={ns}:{sa}")
    token = cp.kubectl("-n", ns, "create", "token", sa).strip()
    return str(write_kubeconfig(tmp_path / f"kc-{sa}", server_of(cp), {"token": token}, ca=cp.ca, namespace=ns))


def test_forbidden_probe_warns_once_and_keeps_the_inferred_verdicts(cp, kb_drift, tmp_path):
    kc = limited_kubeconfig(cp, kb_drift, tmp_path, probe_role=False)
    r = cp.vmsync("check", "--probe=proxy", "-o", "json", kubeconfig=kc)
    assert r.rc == 1, r  # drift, as inferred: a forbidden probe is no error
    rep = r.report()
    warnings = [l for l in r.err.splitlines() if l.startswith("vmsync: warning:")]
    assert warnings == ["vmsync: warning: --probe: reading pods through the API server (pods/proxy get) is "
                        "forbidden for 3 of 3 pods; their verdicts are inferred from their specs (grant the vmsync "
                        "probe role, deploy/README.md, or run --probe=direct in the cluster)"], r.err
    assert rep["warnings"] == [w.removeprefix("vmsync: warning: ") for w in warnings]
    for p in pods_of(rep).values():
        assert p["status"] == "Stale" and p["running"] is None and "observed" not in p, p
        assert p["evidence"][-1] == ("probe: reading its /flags and /metrics through the API server is forbidden (RBAC: "
                                     "pods/proxy get); the verdict is inferred from the spec"), p
    # --probe=require: an unprobed pod is an error
    r = cp.vmsync("check", "--probe=require", "-o", "json", kubeconfig=kc)
    assert r.rc == 2, r
    assert (f"vmsync: error: {kb_drift}/vm: pod vm-vminsert-0 (vm-vminsert) could not be probed and --probe=require "
            "was given: reading its /flags and /metrics through the API server is forbidden (RBAC: pods/proxy get)") in r.err, r.err


def test_probe_role_allows_the_probe(cp, kb_drift, tmp_path):
    kc = limited_kubeconfig(cp, kb_drift, tmp_path, probe_role=True)
    r = cp.vmsync("check", "--probe=require", "-o", "json", kubeconfig=kc)
    assert r.rc == 1, r
    assert "warning" not in r.err
    assert all(p["missing"] for p in pods_of(r.report()).values())


def test_auth_keys_and_an_older_list_source(cp):
    """A Helm vminsert with -metricsAuthKey: its /metrics answer 401 (as VictoriaMetrics' CheckAuthFlag does), the
    list still comes from /flags; with -flagsAuthKey too, nothing can be read and the verdict is the inferred one,
    with the reason."""
    ns = cp.new_namespace("probe")
    cp.deploy("helm", ns, "vm", storage=2, insert=1, select=1)
    dep = "vm-victoria-metrics-cluster-vminsert"

    def add_arg(arg):
        cp.kubectl("-n", ns, "patch", "deployment", dep, "--type=json",
                   "-p", json.dumps([{"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": arg}]))
        cp.wait_workload_ready(ns, "deployment", dep)

    add_arg("-metricsAuthKey=topsecret")
    r = cp.vmsync("check", "-n", ns, "--probe=proxy", "-o", "json")
    assert r.rc == 0, r
    (p,) = pods_of(r.report(), "vminsert").values()
    assert p["status"] == "InSync" and p["observed"]["source"] == "/flags" and p["observed"]["nodes"] is None, p
    assert "probe: its /metrics answered 401 Unauthorized (-metricsAuthKey protects it)" in p["evidence"], p
    assert "topsecret" not in r.out + r.err

    add_arg("-flagsAuthKey=topsecret")
    r = cp.vmsync("check", "-n", ns, "--probe=proxy", "-o", "json")
    assert r.rc == 0, r  # a probe that cannot read a pod changes no exit code
    (p,) = pods_of(r.report(), "vminsert").values()
    assert p["status"] == "InSync" and "observed" not in p, p
    assert p["evidence"][-1] == ("probe: its /flags answered 401 Unauthorized (-flagsAuthKey protects it); its "
                                 "/metrics answered 401 Unauthorized (-metricsAuthKey protects it); the verdict is "
                                 "inferred from the spec"), p
    assert "warning" not in r.err
    r = cp.vmsync("check", "-n", ns, "--probe=require")
    assert r.rc == 2 and "could not be probed and --probe=require was given" in r.err, r


def test_discovery_pods_are_judged_by_the_nodes_they_use(cp):
    """srv+ discovery (VictoriaMetrics Enterprise): without the probe such pods are only "Discovery"; with it,
    their /metrics name the nodes the SRV records gave them (the stand-in resolves them as cluster DNS would: the
    Ready pods of the Service), compared with the storage workload's."""
    from test_check import GENERIC_STS_CONSUMER
    ns = cp.new_namespace("probe")
    cp.deploy("generic", ns, "vm", storage=2)
    srv = f"-storageNode=srv+_vmselect._tcp.vm-vmstorage.{ns}.svc"
    cp.kubectl("-n", ns, "apply", "-f", "-", input=GENERIC_STS_CONSUMER.replace(
        "vmsync.io/storage-workload", "vmsync.io/role: vmselect\n    vmsync.io/storage-workload") % f'"{srv}"')
    cp.wait_ready(ns, "app=sel", 2)

    def sel_pods(*extra):
        r = cp.vmsync("check", "-n", ns, "-o", "json", *extra)
        cons = [c for c in r.report()["clusters"][0]["consumers"] if c["workload"]["name"] == "sel"][0]
        return r, cons["pods"]

    r, pods = sel_pods()
    assert [p["status"] for p in pods] == ["Discovery", "Discovery"]
    r, pods = sel_pods("--probe=proxy")
    assert r.rc == 0, r
    nodes = [f"vm-vmstorage-{i}.vm-vmstorage.{ns}.svc.cluster.local.:8401" for i in range(2)]
    for p in pods:
        assert p["status"] == "InSync" and p["running"] == nodes, p
        assert p["evidence"][0].startswith("automatic discovery: uses the nodes its /metrics at "), p
    # A third vmstorage that is not Ready yet: the SRV records do not name it, so the pods do not use it.
    # (OnDelete: the running storage pods are not replaced; only the new one gets the delay.)
    cp.kubectl("-n", ns, "patch", "statefulset", "vm-vmstorage", "--type=merge", "-p", json.dumps(
        {"spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": None},
                  "template": {"metadata": {"annotations": {"kcp.vmsync.io/ready-delay": "300s"}}}}}))
    cp.kubectl("-n", ns, "scale", "statefulset", "vm-vmstorage", "--replicas=3")
    deadline = time.time() + 60
    while time.time() < deadline and not [p for p in cp.get("-n", ns, "pods", "-l", "app=vm-vmstorage")["items"]
                                          if p["metadata"]["name"] == "vm-vmstorage-2" and p["status"].get("podIP")]:
        time.sleep(0.3)
    r, pods = sel_pods("--probe=proxy")
    assert r.rc == 1, r
    for p in pods:
        assert p["status"] == "Stale" and p["running"] == nodes, p
        assert len(p["missing"]) == 1 and p["missing"][0].startswith("vm-vmstorage-2."), p


def test_auto_is_direct_in_a_pod_and_needs_no_proxy_rights(cp, kb_drift, tmp_path):
    """In-cluster (the service-account folder and KUBERNETES_SERVICE_* of a pod), bare --probe reads the pods at
    their IPs: the check role alone is enough, and the pods never see the token."""
    from test_deploy import IN_CLUSTER, run_in_cluster
    if not IN_CLUSTER:
        pytest.skip("needs root and unshare for in-cluster mode")
    limited_kubeconfig(cp, kb_drift, tmp_path, probe_role=False, sa="checker-ic")
    token = cp.kubectl("-n", kb_drift, "create", "token", "checker-ic").strip()
    r = run_in_cluster(cp, token, kb_drift, "check", "--probe", "-o", "json")
    assert r.rc == 1, r
    assert "warning" not in r.err, r.err
    pods = pods_of(assert_valid_report(r.json()))
    assert {p["observed"]["via"] for p in pods.values()} == {"direct"}
    assert all(p["missing"] for p in pods.values())


def test_fix_with_probe_plans_and_verifies_from_the_pods_pages(cp):
    """KubeBlocks 1.0 after a vmstorage scale: fix --probe restarts the pods (the pages say what they lack) and
    its verification reads the restarted pods' pages: every one runs the 4 nodes."""
    ns = cp.new_namespace("probefix")
    cp.deploy("kubeblocks-1.0", ns, "vm", storage=3, insert=1, select=1)
    cp.drift("kubeblocks-1.0", ns, "vm", 4, extra=("--update-configmap",))
    cp.wait_ready(ns, "apps.kubeblocks.io/component-name=vmstorage", 4)
    r = cp.vmsync("fix", "-n", ns, "--dry-run=client", "--probe=proxy", "-o", "json")
    assert r.rc == 1, r
    r = cp.vmsync("fix", "-n", ns, "--yes", "--probe=proxy", "-o", "json")
    assert r.rc == 0, r
    verified = assert_valid_report(r.json()["verified"])
    pods = pods_of(verified)
    assert len(pods) == 2
    for name, p in pods.items():
        port = "8400" if "vminsert" in name else "8401"
        assert p["status"] == "InSync" and p["observed"]["via"] == "proxy", p
        assert p["observed"]["running"] == [f"vm-vmstorage-{i}:{port}" for i in range(4)], p
