"""vmsync check through a fault-injecting proxy (test/faults) in front of the real local control plane.

For every fault the contract is: either the command succeeds through bounded retries (and reports exactly what
it reports without the fault), or it fails cleanly: exit 2, `vmsync: error:` lines naming the request and the
fault, nothing else on stderr (no crash, no sanitizer report, no "error: internal:"), and never later than
--timeout / --request-timeout allow (with generous slack for a loaded machine).
"""
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import pytest

import conftest
from conftest import ROOT, run_vmsync

FAULTS_SRC = os.path.join(ROOT, "test", "faults")
FAULTS_BIN = os.path.join(os.environ.get("VMSYNC_FAULTS_BUILD_DIR", os.path.join(ROOT, "build-faults")), "faults")
SLACK = 8.0  # seconds of scheduling noise allowed past a bound (2 shared cores, sanitizer builds)
# How vmsync reports an exception it did not expect (src/cli/app.cpp): a bug, whatever the input. The word
# "internal" alone is no sign of one: a server's 500 answer is "internal error" and is quoted as such.
INTERNAL = "vmsync: error: internal: "


def build_faults():
    """go build of the proxy (stdlib only, no module downloads), when missing or older than its source."""
    src = [os.path.join(FAULTS_SRC, f) for f in os.listdir(FAULTS_SRC) if f.endswith((".go", ".mod"))]
    if os.path.exists(FAULTS_BIN) and os.path.getmtime(FAULTS_BIN) >= max(map(os.path.getmtime, src)):
        return
    os.makedirs(os.path.dirname(FAULTS_BIN), exist_ok=True)
    subprocess.run(["go", "build", "-o", FAULTS_BIN, "."], cwd=FAULTS_SRC, check=True, timeout=600)




def plane(crds, env):
    """conftest's session control plane for `crds`, or the running one named by $env (VMSYNC_TEST_CP_DIR)."""
    d = os.environ.get(env)
    return conftest.existing_plane(d) if d else conftest.plane(crds)


@pytest.fixture(scope="module")
def cp():
    return plane("kubeblocks-1.0,vm-operator", "VMSYNC_TEST_CP_DIR")


class FaultProxy:
    """One proxy process in front of `cp`, with a kubeconfig that sends vmsync through it."""

    def __init__(self, cp, http2=True):
        build_faults()
        self.cp = cp
        self.dir = tempfile.mkdtemp(prefix="vmsync-faults-")
        with open(os.path.join(cp.dir, "ready")) as f:
            upstream = json.load(f)["server"]
        self.proc = subprocess.Popen([FAULTS_BIN, "-upstream", upstream, "-upstream-ca", cp.ca, "-dir", self.dir,
                                      f"-http2={'true' if http2 else 'false'}"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("faults ready"), line
        self.addr = open(os.path.join(self.dir, "addr")).read().strip()
        self.control = "http://" + open(os.path.join(self.dir, "control")).read().strip()
        self.ca = os.path.join(self.dir, "ca.crt")
        self.server = f"https://{self.addr}"
        self.kubeconfig = self.write_kubeconfig("kubeconfig", self.ca)

    def write_kubeconfig(self, name, ca, token=None):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: faults
  cluster: {{server: "{self.server}", certificate-authority: "{ca}"}}
users:
- name: admin
  user: {{token: "{token or self.cp.token}"}}
contexts:
- name: faults
  context: {{cluster: faults, user: admin, namespace: default}}
current-context: faults
""")
        return path

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def rules(self, *rules):
        self._call("POST", "/reset")
        self._call("PUT", "/rules", list(rules))

    def log(self):
        return json.loads(self._call("GET", "/log") or b"[]") or []

    def fired(self, fault):
        return [e for e in self.log() if e["fault"] == fault]

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def vmsync(self, *args, timeout=300):
        t0 = time.monotonic()
        r = run_vmsync(*args, kubeconfig=self.kubeconfig, timeout=timeout)
        r.elapsed = time.monotonic() - t0
        return r


@pytest.fixture(scope="module")
def proxy(cp):
    p = FaultProxy(cp)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def proxy_h1(cp):
    p = FaultProxy(cp, http2=False)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def target(cp, proxy):
    """A helm cluster scaled behind its consumers' backs (drift: exit 1), and the report check gives for it
    without any fault."""
    ns = cp.new_namespace("flt")
    cp.deploy("helm", ns, "vm", storage=3, insert=1, select=1)
    cp.drift("helm", ns, "vm", 4)
    proxy.rules()
    r = proxy.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 1, r
    return ns, r.json()


def assert_clean_failure(r, *patterns, bound=None):
    """Exit 2; every stderr line is a vmsync error or warning line; some error line matches all patterns."""
    assert r.rc == 2, r
    lines = r.err.splitlines()
    assert lines, r
    bad = [l for l in lines if not l.startswith(("vmsync: error: ", "vmsync: warning: "))]
    assert not bad, f"unexpected stderr lines: {bad}\n{r}"
    assert not any(l.startswith(INTERNAL) for l in lines), r
    errors = [l for l in lines if l.startswith("vmsync: error: ")]
    assert any(all(re.search(p, l, re.I) for p in patterns) for l in errors), f"no error line matches {patterns}:\n{r}"
    if bound is not None:
        assert r.elapsed < bound + SLACK, f"took {r.elapsed:.1f}s, bound {bound}s\n{r}"


def assert_same_report(r, expected):
    assert r.rc == 1, r
    got = r.json()
    assert got["clusters"] == expected["clusters"], r
    assert got["summary"] == expected["summary"]


def requests_to(proxy, pattern):
    return [e for e in proxy.log() if e["method"] and re.search(pattern, e["url"])]


# --- latency --------------------------------------------------------------------------------------------------

def test_latency_within_limits_succeeds(proxy, target):
    ns, expected = target
    proxy.rules({"fault": "latency", "delay": "700ms"})
    r = proxy.vmsync("check", "-n", ns, "-o", "json", "--request-timeout", "5s")
    assert_same_report(r, expected)
    assert r.elapsed >= 0.7


def test_latency_past_request_timeout_fails_naming_request(proxy, target):
    ns, _ = target
    proxy.rules({"fault": "latency", "delay": "30s", "path": "/statefulsets$"})
    r = proxy.vmsync("check", "-n", ns, "-o", "json", "--request-timeout", "2s")
    assert_clean_failure(r, r"GET https://\S+/statefulsets\?limit=\d+", r"timed out after 2s", bound=2)


def test_latency_past_overall_timeout_fails(proxy, target):
    ns, _ = target
    proxy.rules({"fault": "latency", "delay": "60s", "path": "/deployments$"})
    r = proxy.vmsync("check", "-n", ns, "--timeout", "4s")
    assert_clean_failure(r, r"GET https://\S+/deployments", r"timed out", bound=4)


# --- 429 and 5xx ----------------------------------------------------------------------------------------------

def test_429_with_retry_after_is_retried_after_waiting(proxy, target):
    ns, expected = target
    proxy.rules({"fault": "status", "status": 429, "retryAfter": "1", "path": "/statefulsets$", "times": 2})
    r = proxy.vmsync("check", "-n", ns, "-o", "json")
    assert_same_report(r, expected)
    assert len(requests_to(proxy, r"/statefulsets\?")) == 3
    assert r.elapsed >= 2.0, "Retry-After: 1 twice means at least 2s of waiting"


def test_429_forever_stops_at_the_deadline(proxy, target):
    ns, _ = target
    proxy.rules({"fault": "status", "status": 429, "retryAfter": "1", "path": "/statefulsets$"})
    r = proxy.vmsync("check", "-n", ns, "--timeout", "5s")
    assert_clean_failure(r, r"cannot list statefulsets.apps in namespace", r"too many requests", r"deadline",
                         bound=5)


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_a_few_times_is_retried(proxy, target, status):
    ns, expected = target
    proxy.rules({"fault": "status", "status": status, "path": "/pods$", "times": 3})
    r = proxy.vmsync("check", "-n", ns, "-o", "json")
    assert_same_report(r, expected)
    assert len(proxy.fired("status")) == 3


@pytest.mark.parametrize("status,said", [(500, "internal error"), (503, "service unavailable")])
def test_5xx_forever_fails_within_the_timeout(proxy, target, status, said):
    ns, _ = target
    proxy.rules({"fault": "status", "status": status, "path": "/deployments$"})
    r = proxy.vmsync("check", "-n", ns, "--timeout", "6s")
    assert_clean_failure(r, r"cannot list deployments.apps", said, bound=6)
    assert 2 <= len(proxy.fired("status")) <= 11  # bounded retries (10 at most, as client-go)


# --- broken connections and bodies ----------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["reset", "truncate", "corrupt"])
def test_broken_once_is_retried(proxy, target, fault):
    ns, expected = target
    proxy.rules({"fault": fault, "path": "/statefulsets$", "times": 1, "bytes": 40})
    r = proxy.vmsync("check", "-n", ns, "-o", "json")
    assert_same_report(r, expected)
    assert len(proxy.fired(fault)) == 1


@pytest.mark.parametrize("fault", ["reset", "truncate", "corrupt"])
def test_broken_always_fails_naming_request(proxy, target, fault):
    ns, _ = target
    proxy.rules({"fault": fault, "path": "/statefulsets$", "bytes": 40})
    r = proxy.vmsync("check", "-n", ns, "--timeout", "20s")
    assert_clean_failure(r, r"GET https://\S+/statefulsets|cannot connect", r"broken|reset|closed|stream|TLS|recv|send",
                         bound=20)
    # vmsync's own policy for a GET: two transport retries, then give up, and say so.
    assert re.search(r"\(gave up after 3 attempts\)$", r.err.splitlines()[-1]), r
    # On the wire there may be more: libcurl itself resends a request whose reused connection died before any
    # answer came back, on a fresh connection, at most 5 times (harmless for a GET; writes get a connection of
    # their own, where it does not). Still bounded: 3 attempts of at most 6 sends each.
    assert 3 <= len(proxy.fired(fault)) <= 3 * 6, proxy.fired(fault)


@pytest.mark.parametrize("fault", ["reset", "truncate"])
def test_broken_over_http1(proxy_h1, cp, target, fault):
    ns, expected = target
    proxy_h1.rules({"fault": fault, "path": "/deployments$", "times": 1, "bytes": 40})
    r = proxy_h1.vmsync("check", "-n", ns, "-o", "json")
    assert_same_report(r, expected)
    proxy_h1.rules({"fault": fault, "path": "/deployments$", "bytes": 40})
    r = proxy_h1.vmsync("check", "-n", ns, "--timeout", "20s")
    assert_clean_failure(r, r"GET https://\S+/deployments", r"broken|reset|closed|partial", bound=20)


def test_stalled_body_hits_request_timeout(proxy, target):
    ns, _ = target
    proxy.rules({"fault": "stall", "path": "/pods$", "bytes": 30, "delay": "1h"})
    r = proxy.vmsync("check", "-n", ns, "--request-timeout", "3s")
    assert_clean_failure(r, r"GET https://\S+/pods\?", r"timed out after 3s", bound=3)


def test_stalled_body_hits_overall_timeout(proxy, target):
    ns, _ = target
    proxy.rules({"fault": "stall", "path": "/pods$", "bytes": 30, "delay": "1h"})
    r = proxy.vmsync("check", "-n", ns, "--timeout", "5s")
    assert_clean_failure(r, r"GET https://\S+/pods\?", r"timed out", bound=5)


# --- continue tokens ------------------------------------------------------------------------------------------

def chunk_size_supported():
    r = run_vmsync("check", "--help")
    return "--chunk-size" in r.out


def test_expired_continue_token_restarts_the_list(proxy, target):
    if not chunk_size_supported():
        pytest.skip("this vmsync has no --chunk-size")
    ns, expected = target
    proxy.rules({"fault": "status", "status": 410, "path": "/pods$", "query": "continue=", "times": 1})
    r = proxy.vmsync("check", "-n", ns, "-o", "json", "--chunk-size", "2")
    assert_same_report(r, expected)
    assert len(proxy.fired("status")) == 1
    first_pages = [e for e in requests_to(proxy, r"/pods\?") if "continue=" not in e["url"]]
    assert len(first_pages) >= 2, "the list whose token expired started again from its first page"


def test_continue_token_expiring_forever_fails(proxy, target):
    if not chunk_size_supported():
        pytest.skip("this vmsync has no --chunk-size")
    ns, _ = target
    proxy.rules({"fault": "status", "status": 410, "path": "/pods$", "query": "continue="})
    r = proxy.vmsync("check", "-n", ns, "--chunk-size", "2", "--timeout", "30s")
    assert_clean_failure(r, r"cannot list pods in namespace", r"gone|expired", r"restarted 3 times", bound=30)


# --- TLS ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault,said", [
    ("tls-wrong-ca", r"TLS verification of https://\S+: certificate signed by unknown authority \(set "
                     r"--certificate-authority or certificate-authority-data\)$"),
    ("tls-expired", r"TLS verification of https://\S+: .*expired"),
    ("tls-wrong-name", r"TLS verification of https://\S+: .*(not valid for|match)"),
    ("tls-garbage", r"TLS handshake with https://\S+ failed"),
    ("tls-close", r"(TLS handshake with|cannot connect to) https://\S+"),
])
def test_broken_tls_fails_at_once(proxy, target, fault, said):
    ns, _ = target
    proxy.rules({"fault": fault})
    r = proxy.vmsync("check", "-n", ns, "--timeout", "20s")
    assert_clean_failure(r, said, bound=20)


def test_wrong_ca_file_fails_with_verification_error(proxy, target):
    ns, _ = target
    proxy.rules()
    kc = proxy.write_kubeconfig("kubeconfig-wrong-ca", os.path.join(proxy.dir, "other-ca.crt"))
    t0 = time.monotonic()
    r = run_vmsync("check", "-n", ns, kubeconfig=kc)
    r.elapsed = time.monotonic() - t0
    assert_clean_failure(r, r"TLS verification of https://\S+", bound=10)


def test_tls_verified_by_default_insecure_is_warned(proxy, target):
    """No CA at all: the system store does not know the proxy's CA, so vmsync refuses; with
    --insecure-skip-tls-verify it connects and says on stderr that verification is off."""
    ns, expected = target
    proxy.rules()
    kc = os.path.join(proxy.dir, "kubeconfig-no-ca")
    with open(kc, "w") as f:
        f.write(open(proxy.kubeconfig).read().replace(f', certificate-authority: "{proxy.ca}"', ""))
    r = run_vmsync("check", "-n", ns, kubeconfig=kc)
    assert r.rc == 2 and "TLS verification of" in r.err, r
    r = run_vmsync("check", "-n", ns, "-o", "json", "--insecure-skip-tls-verify", kubeconfig=kc)
    assert r.rc == 1, r
    assert "vmsync: warning: TLS verification of " in r.err and "is disabled" in r.err, r
    assert r.json()["clusters"] == expected["clusters"]


# --- faults on check --probe's page requests (issue 17) ---------------------------------------------------------
# The probe is best effort: whatever happens to a pod's /flags or /metrics, the verdicts and the exit code are
# those check gives without it, each pod's evidence says what happened, nothing is retried, and a slow pod costs
# at most --probe-timeout.

def probed(r, expected):
    assert r.rc == 1, r  # the target's drift, as without the fault
    assert INTERNAL not in r.err and "vmsync: error:" not in r.err, r.err
    rep = conftest.assert_valid_report(r.json())
    want = {p["name"]: p["status"] for c in expected["clusters"] for cons in c["consumers"] for p in cons["pods"]}
    pods = {p["name"]: p for c in rep["clusters"] for cons in c["consumers"] for p in cons["pods"]}
    assert {n: p["status"] for n, p in pods.items()} == want
    return pods


@pytest.mark.parametrize("fault,said", [
    ({"fault": "latency", "delay": "20s"}, "its /metrics did not answer within 2000 ms"),
    ({"fault": "status", "status": 500}, "its /metrics answered 500 Internal Server Error"),
    ({"fault": "status", "status": 503}, "the API server could not reach its /metrics"),
])
def test_probe_metrics_fault_keeps_the_list_from_flags(proxy, target, fault, said):
    ns, expected = target
    proxy.rules({**fault, "path": r"/proxy/metrics$"})
    r = proxy.vmsync("check", "-n", ns, "--probe=proxy", "--probe-timeout=2s", "-o", "json")
    pods = probed(r, expected)
    for p in pods.values():
        assert p["observed"]["source"] == "/flags" and p["observed"]["nodes"] is None, p
        assert p["running"] == p["observed"]["running"]
        assert any(e.startswith("probe: " + said) for e in p["evidence"]), p["evidence"]
    assert r.elapsed < 2 + SLACK
    if fault["fault"] == "status":  # (a delayed request is logged when its delay is over)
        assert len(proxy.fired("status")) == len(pods)  # never retried


@pytest.mark.parametrize("fault", [{"fault": "reset"}, {"fault": "truncate", "bytes": 10}])
def test_probe_broken_pages_are_never_read_in_part(proxy, target, fault):
    ns, expected = target
    proxy.rules({**fault, "path": r"/proxy/(flags|metrics)$"})
    r = proxy.vmsync("check", "-n", ns, "--probe=proxy", "-o", "json")
    pods = probed(r, expected)
    for p in pods.values():
        assert "observed" not in p, p
        assert p["evidence"][-1].startswith("probe: its /flags could not be read"), p["evidence"]
        assert p["evidence"][-1].endswith("; the verdict is inferred from the spec"), p["evidence"]
