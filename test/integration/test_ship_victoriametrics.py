"""`vmsync check --push-url` into a real VictoriaMetrics (Debian's victoria-metrics package, single-node), started
by the test on a free loopback port with basic authentication; the pushed series are read back through its own
export and query APIs, with their labels and timestamps. Offline checks (-f manifests) need no control plane.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, run_vmsync

VICTORIA_METRICS = shutil.which("victoria-metrics")
HELM_SCALED = os.path.join(ROOT, "test", "data", "manifests", "helm-scaled.yaml")
USER, PASSWORD = "vmsync", "s3cret-push"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VictoriaMetrics:
    def __init__(self):
        if VICTORIA_METRICS is None:
            pytest.fail("victoria-metrics is not installed (scripts/install-deps.sh installs it)")
        self.dir = tempfile.mkdtemp(prefix="vmsync-vm-")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(
            [VICTORIA_METRICS, f"-storageDataPath={self.dir}/data", f"-httpListenAddr={self.url[7:]}",
             f"-httpAuth.username={USER}", f"-httpAuth.password={PASSWORD}", "-search.latencyOffset=0s",
             "-search.disableCache", "-loggerLevel=WARN"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while True:
            try:
                self.get("/health")
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.log.seek(0)
                    pytest.fail(f"victoria-metrics did not start: {self.log.read()}")
                time.sleep(0.1)

    def get(self, path, **query):
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        req = urllib.request.Request(url, headers={
            "Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def export(self, match):
        """Every series matching `match`: [(labels, [values], [timestamps ms])]. Freshly imported samples become
        searchable once flushed, and a new series once its index entry is registered: poll a few seconds."""
        deadline = time.time() + 15
        while True:
            self.get("/internal/force_flush")
            out = []
            for line in self.get("/api/v1/export", **{"match[]": match}).splitlines():
                s = json.loads(line)
                out.append((s["metric"], s["values"], s["timestamps"]))
            if out or time.time() > deadline:
                return out
            time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def vm():
    v = VictoriaMetrics()
    yield v
    v.stop()


@pytest.fixture
def basic_auth_file(tmp_path):
    f = tmp_path / "push-auth"
    f.write_text(f"{USER}:{PASSWORD}\n")
    return str(f)


def test_push_url_writes_the_series_with_labels_and_the_checks_time(vm, basic_auth_file):
    t0 = int(time.time() * 1000)
    r = run_vmsync("check", "-f", HELM_SCALED, "--push-url", vm.url, "--push-basic-auth-file", basic_auth_file,
                   "-o", "prometheus")
    t1 = int(time.time() * 1000)
    assert r.rc == 1, r  # the manifests drift; the push does not change the verdict
    assert PASSWORD not in r.out + r.err
    status = vm.export('vmsync_cluster_status{status="Drift"}')
    assert len(status) == 1, status
    labels, values, stamps = status[0]
    assert labels["job"] == "vmsync" and labels["cluster"] and labels["namespace"], labels
    assert values == [1] and t0 <= stamps[0] <= t1, (stamps, t0, t1)
    # Every sample of the run has the same timestamp: the one on the -o prometheus page.
    printed = float([l for l in r.out.splitlines() if l.startswith("vmsync_check_timestamp_seconds ")][0].split()[1])
    assert stamps[0] == round(printed * 1000), (stamps, printed)
    for name in ("vmsync_check_success", "vmsync_stale_pods", "vmsync_missing_nodes"):
        series = vm.export(name)
        assert series and all(s[2][-1] == stamps[0] for s in series), (name, series)
    # The query API answers too (what vmalert and Grafana read).
    # (A new series reaches the query path's index a moment after it is searchable by export: poll.)
    deadline = time.time() + 15
    while True:
        answer = json.loads(vm.get("/api/v1/query", query='vmsync_check_success{job="vmsync"}',
                                   time=stamps[0] / 1000 + 1))
        if answer["data"]["result"] or time.time() > deadline:
            break
        time.sleep(0.2)
    assert [float(x["value"][1]) for x in answer["data"]["result"]] == [1.0], answer


def test_push_url_job_from_the_query_and_credentials_from_the_environment(vm):
    r = run_vmsync("check", "-f", HELM_SCALED, "-q", "--push-url", vm.url + "/?extra_label=job=nightly",
                   env={"VMSYNC_PUSH_BASIC_AUTH": f"{USER}:{PASSWORD}"})
    assert r.rc == 1, r
    series = vm.export('vmsync_check_success{job="nightly"}')
    assert len(series) == 1 and series[0][1][-1] == 1, series


def test_failed_check_is_pushed_as_check_success_0(vm, basic_auth_file, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    t0 = int(time.time() * 1000)
    r = run_vmsync("check", "-f", str(empty), "--push-url", vm.url + "/?extra_label=job=failing",
                   "--push-basic-auth-file", basic_auth_file)
    assert r.rc == 2, r
    series = vm.export('vmsync_check_success{job="failing"}')
    assert len(series) == 1 and series[0][1] == [0] and series[0][2][0] >= t0, series


def test_rejected_push_is_one_error_naming_the_server_without_the_secret(vm, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text(f"{USER}:not-the-password")
    r = run_vmsync("check", "-f", HELM_SCALED, "-q", "--push-url", vm.url, "--push-basic-auth-file", str(wrong))
    assert r.rc == 2, r
    errors = [l for l in r.err.splitlines() if l.startswith("vmsync: error: ")]
    assert errors == [f"vmsync: error: VictoriaMetrics {vm.url}/api/v1/import/prometheus?extra_label=job%3Dvmsync: "
                      "POST answered 401 Unauthorized"] or (
        len(errors) == 1 and errors[0].startswith(f"vmsync: error: VictoriaMetrics {vm.url}/api/v1/import/prometheus"
                                                  "?extra_label=job%3Dvmsync: POST answered 401 Unauthorized")), r
    assert "not-the-password" not in r.err + r.out
    # A file that is not user:password, and both kinds of credentials at once, are usage errors before any read.
    r = run_vmsync("check", "-f", HELM_SCALED, "-q", "--push-url", vm.url, "--push-basic-auth-file", str(wrong),
                   "--push-bearer-token-file", str(wrong))
    assert r.rc == 2 and "--push-bearer-token-file and --push-basic-auth-file: give one of them" in r.err, r
