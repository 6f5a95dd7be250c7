"""Integration tests: the built vmsync binary against the real local control plane (test/cluster).

Each test module gets a control plane from a session-wide pool keyed by CRD set (KubeBlocks 0.9 and 1.0 define
the same CRDs, so they need separate control planes). Fixtures are deployed with `kcp fixture`, exactly as
upstream would create them; assertions read the cluster back with the kubectl built into kcp.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import jsonschema
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VMSYNC = os.environ.get("VMSYNC_BIN", os.path.join(ROOT, "build", "vmsync"))
CLUSTER_DIR = os.path.join(ROOT, "test", "cluster")
KCP = os.path.join(CLUSTER_DIR, "bin", "kcp")


with open(os.path.join(ROOT, "docs", "report-schema.json")) as _f:
    REPORT_SCHEMA = json.load(_f)
jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
_REPORT_VALIDATOR = jsonschema.Draft202012Validator(REPORT_SCHEMA)


def assert_valid_report(doc):
    """Fails with every schema violation of a DriftReport (docs/report-schema.json), each with its JSON path."""
    errors = sorted(_REPORT_VALIDATOR.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "report does not match docs/report-schema.json:\n" + "\n".join(
        f"  {e.json_path}: {e.message}" for e in errors)
    return doc


class ControlPlane:
    def __init__(self, crds):
        self.dir = tempfile.mkdtemp(prefix="vmsync-cp-")
        self.crds = crds
        args = [os.path.join(CLUSTER_DIR, "up"), self.dir]
        if crds:
            args += ["--crds", crds]
        subprocess.run(args, check=True, timeout=900)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.kubeconfig_cert = os.path.join(self.dir, "kubeconfig-cert")
        self.ca = os.path.join(self.dir, "ca.crt")
        with open(os.path.join(self.dir, "admin-token")) as f:
            self.token = f.read().strip()

    def down(self):
        subprocess.run([os.path.join(CLUSTER_DIR, "down"), self.dir], check=False, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- helpers -------------------------------------------------------------------------------------------
    def kubectl(self, *args, input=None, check=True):
        r = subprocess.run([KCP, "kubectl", "--kubeconfig", self.kubeconfig, *args], input=input,
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {r.stderr}")
        return r.stdout

    def get(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args))

    def fixture(self, *args):
        r = subprocess.run([KCP, "fixture", *args[:1], "--kubeconfig", self.kubeconfig, *args[1:]],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError(f"kcp fixture {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r.stdout

    def deploy(self, layout, ns, name, storage=3, insert=2, select=2, extra=()):
        return self.fixture("deploy", "-n", ns, "--layout", layout, "--name", name, "--storage", str(storage),
                            "--insert", str(insert), "--select", str(select), "--wait", *extra)

    def drift(self, layout, ns, name, storage, extra=()):
        if "--update-configmap" in extra:
            # Timestamps have whole seconds: a ConfigMap changed in the second its pods started cannot be ordered
            # against their start, and vmsync rightly calls such pods Unknown. The pods started before deploy()
            # returned, so a change one second later is unambiguously after it.
            time.sleep(1.1)
        return self.fixture("drift", "-n", ns, "--layout", layout, "--name", name, "--storage", str(storage),
                            *extra)

    def flags(self, ns, pod):
        r = subprocess.run([KCP, "flags", "--kubeconfig", self.kubeconfig, "-n", ns, pod], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def wait_ready(self, ns, selector, count, timeout=90):
        """Waits until `count` pods matching `selector` exist, none terminating, all Ready."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            pods = self.get("-n", ns, "pods", "-l", selector)["items"]
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            ready = [p for p in live if any(c["type"] == "Ready" and c["status"] == "True"
                                            for c in p.get("status", {}).get("conditions", []))]
            if len(live) == count and len(ready) == count:
                return live
            time.sleep(0.5)
        raise AssertionError(f"pods {selector} in {ns} not Ready in {timeout}s")

    def wait_workload_ready(self, ns, kind, name, timeout=90):
        """Waits until a Deployment's or StatefulSet's own pods (by its selector, its replica count) are all Ready.

        Unlike `kubectl rollout status`, this cannot return on a status the controller has not updated yet."""
        w = self.get("-n", ns, kind, name)
        selector = ",".join(f"{k}={v}" for k, v in sorted(w["spec"]["selector"]["matchLabels"].items()))
        return self.wait_ready(ns, selector, w["spec"].get("replicas", 1), timeout=timeout)

    def new_namespace(self, prefix="t"):
        ns = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.kubectl("create", "namespace", ns)
        return ns

    def vmsync(self, *args, kubeconfig=None, env=None, input=None, timeout=300):
        return run_vmsync(*args, kubeconfig=kubeconfig or self.kubeconfig, env=env, input=input, timeout=timeout)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def report(self):
        """stdout as a DriftReport (check -o json), validated against docs/report-schema.json."""
        return assert_valid_report(self.json())

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def run_vmsync(*args, kubeconfig=None, env=None, input=None, timeout=300):
    e = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
    e["HOME"] = e.get("VMSYNC_TEST_HOME", tempfile.gettempdir())
    e["NO_COLOR"] = "1"
    if env:
        e.update(env)
    cmd = [VMSYNC]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    cmd += list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, input=input, timeout=timeout)
    return Result(p)


_planes = {}


def plane(crds):
    if crds not in _planes:
        _planes[crds] = ControlPlane(crds)
    return _planes[crds]


@pytest.fixture(scope="session")
def cp():
    """Control plane with KubeBlocks 1.0 and VM operator CRDs."""
    return plane("kubeblocks-1.0,vm-operator")


@pytest.fixture(scope="session")
def cp09():
    """Control plane with KubeBlocks 0.9 CRDs."""
    return plane("kubeblocks-0.9")


@pytest.fixture(scope="session")
def cp_bare():
    """Control plane with no CRDs at all (no KubeBlocks, no operator)."""
    return plane("")


def pytest_sessionfinish(session, exitstatus):
    for p in _planes.values():
        p.down()


def existing_plane(path):
    """A control plane already running (test/cluster/up DIR), to iterate without starting new ones."""
    cp = object.__new__(ControlPlane)
    cp.dir = path
    cp.crds = None
    cp.kubeconfig = os.path.join(path, "kubeconfig")
    cp.kubeconfig_cert = os.path.join(path, "kubeconfig-cert")
    cp.ca = os.path.join(path, "ca.crt")
    with open(os.path.join(path, "admin-token")) as f:
        cp.token = f.read().strip()
    return cp
