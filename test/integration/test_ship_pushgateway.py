"""`vmsync check --pushgateway` against a real Prometheus Pushgateway (Debian's prometheus-pushgateway), started
by the test on a free loopback port; the pushed series are read back from the gateway's own /metrics page.
Offline checks (-f manifests) need no control plane; one test pushes a live check of the local control plane.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import ROOT, run_vmsync

PUSHGATEWAY = shutil.which("prometheus-pushgateway")
HELM_SCALED = os.path.join(ROOT, "test", "data", "manifests", "helm-scaled.yaml")
SAMPLE = re.compile(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gateway():
    if PUSHGATEWAY is None:
        pytest.fail("prometheus-pushgateway is not installed (scripts/install-deps.sh installs it)")
    port = free_port()
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=",
                          "--log.level=warn"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline or p.poll() is not None:
            log.seek(0)
            pytest.fail(f"pushgateway did not start: {log.read().decode()}")
        time.sleep(0.1)
    yield url
    p.terminate()
    p.wait(timeout=10)


def scrape(url):
    """{(name, frozenset(labels)): value} of every sample on the gateway's /metrics page."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, line
        name, labels, value = m.groups()
        out[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return out


def series(samples, name, **labels):
    want = set(labels.items())
    return {k: v for k, v in samples.items() if k[0] == name and want <= set(k[1])}


def value(samples, name, **labels):
    found = series(samples, name, **labels)
    assert len(found) == 1, (name, labels, found)
    return next(iter(found.values()))


def delete_group(url, path="/metrics/job/vmsync"):
    req = urllib.request.Request(url + path, method="DELETE")
    urllib.request.urlopen(req, timeout=5).close()


def test_offline_check_pushes_its_series(gateway):
    delete_group(gateway)
    before = time.time()
    r = run_vmsync("check", "-f", HELM_SCALED, "-n", "mon", "--pushgateway", gateway)
    assert r.rc == 1, r  # drift: the push does not change the exit status
    assert "CLUSTER" in r.out or "vminsert" in r.out  # -o table still goes to stdout
    s = scrape(gateway)
    job = {"job": "vmsync"}
    assert value(s, "vmsync_check_success", **job) == 1
    assert before - 1 <= value(s, "vmsync_check_timestamp_seconds", **job) <= time.time() + 1
    c = dict(job, namespace="mon", cluster="vm")
    assert value(s, "vmsync_cluster_status", status="Drift", **c) == 1
    assert value(s, "vmsync_cluster_status", status="InSync", **c) == 0
    assert value(s, "vmsync_storage_replicas_declared", **c) == 3
    for role in ("vminsert", "vmselect"):
        assert value(s, "vmsync_source_drift", role=role, **c) == 1
        assert value(s, "vmsync_missing_nodes", role=role, **c) >= 0
    # The gateway's own bookkeeping: the push was accepted as one group.
    assert value(s, "push_failure_time_seconds", **job) == 0
    assert value(s, "push_time_seconds", **job) >= before - 1


def test_push_replaces_the_group(gateway):
    delete_group(gateway)
    assert run_vmsync("check", "-f", HELM_SCALED, "-n", "mon", "-q", "--pushgateway", gateway).rc == 1
    assert series(scrape(gateway), "vmsync_cluster_status", cluster="vm")
    empty = tempfile.mkdtemp(prefix="vmsync-empty-")
    with open(os.path.join(empty, "other.yaml"), "w") as f:  # objects, but no VictoriaMetrics cluster
        f.write("apiVersion: v1\nkind: Service\nmetadata: {name: grafana}\n")
    r = run_vmsync("check", "-f", empty, "--allow-empty", "--pushgateway", gateway)
    assert r.rc == 0, r
    s = scrape(gateway)
    assert series(s, "vmsync_cluster_status") == {}, "series of a cluster that is gone must go with the next push"
    assert value(s, "vmsync_check_success", job="vmsync") == 1


def test_grouping_path_in_the_url(gateway):
    r = run_vmsync("check", "-f", HELM_SCALED, "-n", "mon", "-q", "--pushgateway",
                   gateway + "/metrics/job/vmsync-ci/instance/pipeline-7")
    assert r.rc == 1, r
    s = scrape(gateway)
    assert value(s, "vmsync_check_success", job="vmsync-ci", instance="pipeline-7") == 1
    delete_group(gateway, "/metrics/job/vmsync-ci/instance/pipeline-7")


def test_failed_check_pushes_check_success_0(gateway):
    delete_group(gateway)
    r = run_vmsync("check", "--pushgateway", gateway, "-o", "prometheus", kubeconfig="/nonexistent/kubeconfig")
    assert r.rc == 2, r
    assert "vmsync: error:" in r.err
    assert "vmsync_check_success 0" in r.out
    s = scrape(gateway)
    assert value(s, "vmsync_check_success", job="vmsync") == 0
    assert series(s, "vmsync_cluster_status") == {}


def test_unreachable_gateway_is_an_error_after_the_report(gateway):
    port = free_port()
    r = run_vmsync("check", "-f", HELM_SCALED, "-n", "mon", "-o", "json", "--pushgateway",
                   f"http://127.0.0.1:{port}")
    assert r.rc == 2, r
    assert r.json()["kind"] == "DriftReport"
    assert r.err.strip().splitlines()[-1].startswith(
        f"vmsync: error: pushgateway http://127.0.0.1:{port}/metrics/job/vmsync: "), r.err


def test_bad_url_is_a_usage_error(gateway):
    r = run_vmsync("check", "-f", HELM_SCALED, "--pushgateway", "pushgateway:9091")
    assert r.rc == 2
    assert r.err == ('vmsync: error: --pushgateway "pushgateway:9091": give an http:// or https:// URL, '
                     "e.g. http://pushgateway:9091\n")
    assert r.out == ""


def test_live_check_pushes_per_role_series(gateway, cp):
    ns = cp.new_namespace("push")
    cp.deploy("generic", ns, "vm", storage=2)
    cp.drift("generic", ns, "vm", 3)
    delete_group(gateway)
    r = cp.vmsync("check", "-n", ns, "-o", "prometheus", "--pushgateway", gateway)
    assert r.rc == 1, r
    s = scrape(gateway)
    c = {"job": "vmsync", "namespace": ns, "cluster": "vm-vmstorage"}
    assert value(s, "vmsync_storage_replicas_declared", **c) == 3
    assert value(s, "vmsync_storage_replicas_ready", **c) == 3
    for role in ("vminsert", "vmselect"):
        assert value(s, "vmsync_pods", role=role, **c) == 2
        assert value(s, "vmsync_stale_pods", role=role, **c) == 2
        assert value(s, "vmsync_missing_nodes", role=role, **c) == 1
        assert value(s, "vmsync_unexpected_nodes", role=role, **c) == 0
    # What was printed is what was pushed (plus the grouping labels job and, empty, instance).
    printed = {}
    for line in r.out.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            labels = frozenset(LABEL.findall(m.group(2) or "")) | {("job", "vmsync"), ("instance", "")}
            printed[(m.group(1), labels)] = float(m.group(3))
    pushed = {k: v for k, v in s.items() if k[0].startswith("vmsync_")}
    assert set(printed) == set(pushed)
