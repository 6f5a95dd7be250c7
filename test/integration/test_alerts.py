"""deploy/alerts tested three ways: promtool's rule unit tests (Debian's prometheus package), vmalert (Debian's
victoria-metrics package) evaluating the rule file against a real VictoriaMetrics holding series that vmsync
pushed, and the generated VMRule and PrometheusRule kept in step with their one source.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import yaml

import pytest

from conftest import ROOT, run_vmsync
from test_ship_victoriametrics import HELM_SCALED, PASSWORD, USER, VictoriaMetrics, free_port

ALERTS = os.path.join(ROOT, "deploy", "alerts")
RULES = os.path.join(ALERTS, "vmsync.rules.yaml")
PROMTOOL = shutil.which("promtool")
VMALERT = shutil.which("vmalert")


def need(tool, package):
    if tool is None:
        pytest.fail(f"{package} is not installed (scripts/install-deps.sh installs it)")


def test_generated_vmrule_and_prometheusrule_match_the_rule_file():
    r = subprocess.run([os.path.join(ROOT, "scripts", "alerts.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_promtool_rule_unit_tests():
    need(PROMTOOL, "prometheus (promtool)")
    r = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True)
    assert r.returncode == 0 and "SUCCESS: 6 rules found" in r.stdout, r
    r = subprocess.run([PROMTOOL, "test", "rules", os.path.join(ALERTS, "tests", "vmsync.rules.test.yaml")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_vmalert_validates_the_rule_file_with_metricsql():
    need(VMALERT, "victoria-metrics (vmalert)")
    r = subprocess.run([VMALERT, "-dryRun", f"-rule={RULES}", "-loggerLevel=ERROR"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def vm():
    v = VictoriaMetrics()
    yield v
    v.stop()


def alerts(url):
    with urllib.request.urlopen(url + "/api/v1/alerts", timeout=5) as r:
        return json.loads(r.read())["data"]["alerts"] or []


def test_vmalert_fires_on_the_series_vmsync_pushed(vm, tmp_path):
    """A drifted check pushed into VictoriaMetrics; vmalert evaluates the rule file (its `for` durations dropped:
    it evaluates in real time) and reports VmsyncClusterDrift firing for that cluster, and nothing else: an offline
    check sees no pods, so no node is missing from a pod's list, and the check itself succeeded."""
    need(VMALERT, "victoria-metrics (vmalert)")
    auth = tmp_path / "auth"
    auth.write_text(f"{USER}:{PASSWORD}")
    r = run_vmsync("check", "-f", HELM_SCALED, "-o", "json", "--push-url", vm.url, "--push-basic-auth-file", str(auth))
    assert r.rc == 1, r
    (cluster,) = json.loads(r.out)["clusters"]
    assert vm.export(f'vmsync_cluster_status{{cluster="{cluster["name"]}",status="Drift"}}')
    rules = tmp_path / "rules.yaml"
    subprocess.run([os.path.join(ROOT, "scripts", "alerts.py"), "--no-for", str(rules)], check=True)
    url = f"http://127.0.0.1:{free_port()}"
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([VMALERT, f"-rule={rules}", f"-datasource.url={vm.url}",
                          f"-datasource.basicAuth.username={USER}", f"-datasource.basicAuth.password={PASSWORD}",
                          "-notifier.url=http://127.0.0.1:1", "-evaluationInterval=1s", f"-httpListenAddr={url[7:]}",
                          "-loggerLevel=ERROR"], stdout=log, stderr=log)
    try:
        deadline = time.time() + 60
        firing = {}
        while time.time() < deadline:
            try:
                firing = {(a["name"], a["labels"].get("role", "")): a for a in alerts(url) if a["state"] == "firing"}
            except OSError:
                pass
            if ("VmsyncClusterDrift", "") in firing:
                time.sleep(3)  # a few more evaluations: nothing else may fire
                firing = {(a["name"], a["labels"].get("role", "")): a for a in alerts(url) if a["state"] == "firing"}
                break
            if p.poll() is not None:
                break
            time.sleep(0.5)
        log.seek(0)
        assert ("VmsyncClusterDrift", "") in firing, (firing, log.read().decode())
        drift = firing[("VmsyncClusterDrift", "")]
        assert drift["labels"]["cluster"] == cluster["name"] and drift["labels"]["namespace"] == cluster["namespace"]
        assert drift["labels"]["severity"] == "warning" and drift["labels"]["job"] == "vmsync", drift
        assert f"Run `vmsync check -n {cluster['namespace']} {cluster['name']}`" in drift["annotations"]["description"]
        assert vm.export("vmsync_missing_nodes") and all(s[1] == [0] for s in vm.export("vmsync_missing_nodes"))
        assert list(firing) == [("VmsyncClusterDrift", "")], firing
    finally:
        p.terminate()
        p.wait(timeout=10)


CRDS = os.path.join(ROOT, "test", "data", "crds")


def test_vmrule_and_prometheusrule_apply_server_side(cp):
    """The generated VMRule and PrometheusRule are accepted by the API server under their CRDs (strict field
    validation: a misspelt field is refused), and read back with the rule file's groups."""
    for crd in sorted(os.listdir(CRDS)):
        cp.kubectl("apply", "--server-side", "-f", os.path.join(CRDS, crd))
    cp.kubectl("wait", "--for=condition=Established", "--timeout=60s",
               "crd/vmrules.operator.victoriametrics.com", "crd/prometheusrules.monitoring.coreos.com")
    ns = cp.new_namespace("alerts")
    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    for name, resource in (("vmrule.yaml", "vmrule"), ("prometheusrule.yaml", "prometheusrule")):
        cp.kubectl("apply", "--server-side", "--validate=strict", "-n", ns, "-f", os.path.join(ALERTS, name))
        got = cp.get("-n", ns, resource, "vmsync")
        assert got["spec"]["groups"] == groups, resource
    # The CRDs do refuse what they do not define, so the acceptance above means something.
    with open(os.path.join(ALERTS, "vmrule.yaml")) as f:
        bad = f.read().replace("    - alert: VmsyncClusterDrift\n", "    - alert: VmsyncClusterDrift\n      forr: 1m\n")
    r = subprocess.run([os.path.join(ROOT, "test", "cluster", "bin", "kcp"), "kubectl", "--kubeconfig", cp.kubeconfig,
                        "apply", "--server-side", "--validate=strict", "-n", ns, "-f", "-"],
                       input=bad, capture_output=True, text=True)
    assert r.returncode != 0 and "forr" in r.stderr, r
