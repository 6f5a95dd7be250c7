"""vmsync fix through the fault-injecting proxy, and interrupted by SIGTERM between steps.

Contract: a fault either costs a bounded retry (fix then heals the cluster: exit 0, check agrees), or fix stops
cleanly: exit 2, a `vmsync: error:` line naming the step or request and the fault, the steps applied and not
applied listed, never a crash or a sanitizer report, never past --timeout. Whatever it stopped at, the cluster
holds exactly the steps it reported (a step is reported as it starts, so the last one may or may not have
reached the server when the fault hit it), and a second fix, without faults, completes the repair.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import VMSYNC, run_vmsync
from test_faults import INTERNAL, FaultProxy, SLACK, cp, plane  # noqa: F401

HELM = "vm-victoria-metrics-cluster"
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|Segmentation")


def has_fix():
    return "fix" in run_vmsync("--help").out


pytestmark = pytest.mark.skipif(not has_fix(), reason="this vmsync has no fix subcommand")


@pytest.fixture(scope="module")
def proxy(cp):
    p = FaultProxy(cp)
    yield p
    p.stop()


@pytest.fixture
def drifted(cp, proxy):
    """A helm cluster scaled from 2 to 3 vmstorage nodes behind its consumers' backs."""
    proxy.rules()
    ns = cp.new_namespace("ffx")
    cp.deploy("helm", ns, "vm", storage=2, insert=1, select=1)
    cp.drift("helm", ns, "vm", 3)
    r = proxy.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 1, r
    return ns


def storage_args(cp, ns, role):
    d = cp.get("-n", ns, "deployment", f"{HELM}-{role}")
    args = d["spec"]["template"]["spec"]["containers"][0]["args"]
    return [a for a in args if "storageNode" in a]


def fix(proxy, ns, *extra, timeout=600):
    t0 = time.monotonic()
    r = run_vmsync("fix", "-n", ns, "--yes", "--timeout", "4m", *extra, kubeconfig=proxy.kubeconfig, timeout=timeout)
    r.elapsed = time.monotonic() - t0
    assert not SANITIZER.search(r.err), r
    assert INTERNAL not in r.err, r
    return r


def assert_heals(cp, proxy, ns):
    """A second fix without faults completes the repair, and check agrees."""
    proxy.rules()
    r = fix(proxy, ns, "--lock-wait", "90s")
    assert r.rc == 0, r
    r = proxy.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 0, r
    for role in ("vminsert", "vmselect"):
        assert len(storage_args(cp, ns, role)) == 3, "one --storageNode per node, all three"


def assert_clean_stop(r, *patterns):
    assert r.rc == 2, r
    errors = [l for l in r.err.splitlines() if l.startswith("vmsync: error: ")]
    assert errors, r
    assert any(all(re.search(p, l, re.I) for p in patterns) for l in errors), f"no error matches {patterns}\n{r}"


@pytest.mark.parametrize("rule", [
    {"fault": "status", "status": 429, "retryAfter": "1", "method": "PATCH", "times": 2},
    {"fault": "status", "status": 503, "method": "GET", "path": "/pods$", "times": 3},
    {"fault": "reset", "method": "GET", "path": "/deployments", "times": 1},
    {"fault": "latency", "delay": "500ms"},
], ids=["429-on-patch", "503-on-list", "reset-on-get", "latency"])
def test_fix_succeeds_through_retries(cp, proxy, drifted, rule):
    proxy.rules(rule)
    r = fix(proxy, drifted)
    assert r.rc == 0, r
    assert proxy.fired(rule["fault"]), "the fault was injected"
    r = proxy.vmsync("check", "-n", drifted)
    assert r.rc == 0, r


UNKNOWN = "\n  outcome unknown (it reached the server, whose answer was lost: it may have been applied):\n"
LOST = r"PATCH https://\S+: connection broken: .* \(not sent again: the server may have acted on it\)"


@pytest.mark.parametrize("rule,said", [
    ({"fault": "status", "status": 503, "method": "PATCH", "times": 1}, r"patch .*service unavailable"),
    ({"fault": "status", "status": 500, "method": "PATCH", "times": 1}, r"patch .*internal error"),
], ids=["503-on-patch", "500-on-patch"])
def test_fix_stops_cleanly_on_a_refused_write(cp, proxy, drifted, rule, said):
    """A PATCH the server answered with an error is not sent again: fix stops, says which and why, and lists it
    as not applied."""
    proxy.rules(rule)
    r = fix(proxy, drifted, "-o", "json")
    assert_clean_stop(r, said)
    assert len([e for e in proxy.log() if e["method"] == "PATCH"]) == 1, proxy.log()
    failed = re.search(r"vmsync: error: \S+: (.*?) failed: ", r.err).group(1)
    (cluster,) = [c for c in json.loads(r.out)["clusters"] if c["error"]]
    not_applied = r.err.split("\n  not applied:\n")[1] if "\n  not applied:\n" in r.err else ""
    assert UNKNOWN not in r.err, r
    assert not_applied.startswith(f"    - {failed}\n"), r
    assert cluster["outcomeUnknown"] is None, cluster
    if "\n  applied:\n" in r.err:  # steps before the failed one went through: say how to finish
        assert "running `vmsync fix` again resumes from the live state" in r.err, r
    assert_heals(cp, proxy, drifted)


def test_fix_reads_back_a_lost_answer_and_goes_on_when_applied(cp, proxy, drifted):
    """The answer to a PATCH that the server applied is cut off: fix reads the Deployment back, finds the repaired
    list and its hash there, and goes on without sending it again; the run heals the cluster."""
    rule = {"fault": "truncate", "method": "PATCH", "times": 1, "bytes": 20}
    proxy.rules(rule)
    r = fix(proxy, drifted, "-o", "json")
    assert r.rc == 0, r
    assert proxy.fired("truncate"), proxy.log()
    (said,) = [l for l in r.err.splitlines() if "was lost" in l]
    assert re.search(r"read back, Deployment \S+/\S+ shows it was applied: going on$", said), said
    patches = [e for e in proxy.log() if e["method"] == "PATCH"]
    # Never sent again: each Deployment got two PATCHes, its repair and, at the end, the last-fix annotation.
    per_object = {}
    for e in patches:
        per_object[e["url"].split("?")[0]] = per_object.get(e["url"].split("?")[0], 0) + 1
    assert sorted(per_object.values()) == [2, 2], patches
    (cluster,) = json.loads(r.out)["clusters"]
    details = [s.get("detail", "") for s in cluster["applied"]]
    assert details.count("its answer was lost; read back, it was applied") == 1, cluster["applied"]
    assert cluster["error"] is None and cluster["outcomeUnknown"] is None, cluster
    r = proxy.vmsync("check", "-n", drifted)
    assert r.rc == 0, r


def test_fix_reads_back_a_lost_write_and_resends_when_not_applied(cp, proxy, drifted):
    """The connection is reset under a PATCH before the server saw it: read back, the Deployment still holds the
    old list, so fix plans again from live state and sends it once more; the run heals the cluster."""
    proxy.rules({"fault": "reset", "method": "PATCH", "times": 1})
    r = fix(proxy, drifted)
    assert r.rc == 0, r
    (said,) = [l for l in r.err.splitlines() if "shows it was not applied" in l]
    assert re.search(LOST + r"; read back, Deployment \S+/\S+ shows it was not applied; re-reading and planning "
                     r"again$", said), said
    patches = [e for e in proxy.log() if e["method"] == "PATCH"]
    assert patches[0]["fault"] == "reset" and patches[1]["url"] == patches[0]["url"], patches
    r = proxy.vmsync("check", "-n", drifted)
    assert r.rc == 0, r


def test_fix_lost_answer_that_cannot_be_read_back_is_of_unknown_outcome(cp, proxy, drifted):
    """Neither the answer nor the object can be read: the step is listed as of unknown outcome (not as not
    applied), fix stops cleanly, and a second run resumes from the live state."""
    proxy.rules({"fault": "reset", "method": "PATCH", "times": 1},
                {"fault": "status", "status": 403, "method": "GET", "path": "/deployments/[^/]+$", "times": 10})
    r = fix(proxy, drifted, "-o", "json")
    assert_clean_stop(r, LOST + r"; reading Deployment \S+ back to learn whether it was applied failed too: .*forbidden")
    assert len([e for e in proxy.log() if e["method"] == "PATCH"]) == 1, proxy.log()
    failed = re.search(r"vmsync: error: \S+: (.*?) failed: ", r.err).group(1)
    (cluster,) = [c for c in json.loads(r.out)["clusters"] if c["error"]]
    not_applied = r.err.split("\n  not applied:\n")[1] if "\n  not applied:\n" in r.err else ""
    assert UNKNOWN + f"    - {failed}\n" in r.err, r
    assert f"- {failed}\n" not in not_applied, r
    assert cluster["outcomeUnknown"] is not None, cluster
    assert cluster["outcomeUnknown"] not in cluster["notApplied"], cluster
    assert "running `vmsync fix` again resumes from the live state" in r.err, r
    assert_heals(cp, proxy, drifted)


def test_fix_stalled_poll_stops_within_timeout(cp, proxy, drifted):
    proxy.rules({"fault": "stall", "method": "GET", "path": "/pods$", "after": 4, "bytes": 10, "delay": "1h"})
    r = fix(proxy, drifted, "--request-timeout", "3s")
    assert_clean_stop(r, r"GET https://\S+/pods\?", r"timed out after 3s")
    assert_heals(cp, proxy, drifted)


def test_fix_tls_breaks_mid_run(cp, proxy, drifted):
    """The connection dies after the first write and every new one fails its handshake."""
    proxy.rules({"fault": "reset", "method": "GET", "path": "/pods$", "after": 2, "times": 1},
                {"fault": "tls-garbage"})
    r = fix(proxy, drifted)
    assert_clean_stop(r, r"TLS handshake with https://\S+ failed|cannot connect to https://")
    assert r.elapsed < 4 * 60 + 120 + SLACK
    assert_heals(cp, proxy, drifted)


def reported_steps(stderr, ns):
    """The steps fix said it started, in order: lines "<ns>/<cluster>: <step>"."""
    return [l.split(": ", 1)[1] for l in stderr.splitlines() if l.startswith(f"{ns}/vm: ")]


@pytest.mark.parametrize("after_steps", [1, 2])
def test_sigterm_between_steps(cp, proxy, drifted, after_steps):
    ns = drifted
    proxy.rules()
    plan = run_vmsync("fix", "-n", ns, "--dry-run=client", "-o", "json", kubeconfig=proxy.kubeconfig)
    assert plan.rc == 1, plan
    steps = [s for s in plan.json()["clusters"][0]["steps"] if s["action"] != "wait"]
    assert len(steps) >= after_steps
    before = {role: storage_args(cp, ns, role) for role in ("vminsert", "vmselect")}

    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["NO_COLOR"] = "1"
    p = subprocess.Popen([VMSYNC, "--kubeconfig", proxy.kubeconfig, "fix", "-n", ns, "--yes", "--timeout", "4m"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    err_lines = []
    while len(seen) < after_steps:
        line = p.stderr.readline()
        if not line:
            break
        err_lines.append(line)
        if line.startswith(f"{ns}/vm: "):
            seen.append(line)
    # Hold every later read for 5s, so that fix is surely still running (waiting on the step reported last,
    # which has been sent or is being sent) when the signal comes: on an idle machine the test cluster rolls
    # out so fast that fix could otherwise finish within the second, and there would be nothing to interrupt.
    proxy.rules({"fault": "latency", "delay": "5s", "method": "GET"})
    time.sleep(1.0)
    assert p.poll() is None, "fix ended before it could be interrupted"
    p.send_signal(signal.SIGTERM)
    out, rest = p.communicate(timeout=120)
    stderr = "".join(err_lines) + rest
    assert not SANITIZER.search(stderr), stderr
    assert p.returncode in (2, -signal.SIGTERM, 128 + signal.SIGTERM), (p.returncode, stderr)
    reported = reported_steps(stderr, ns)
    assert len(reported) >= after_steps, stderr

    # Exactly the reported steps are applied: a consumer whose patch was reported has the repaired template (or
    # its patch was in flight), one whose patch was not reported is untouched.
    for role in ("vminsert", "vmselect"):
        now = storage_args(cp, ns, role)
        patched = any(f"{HELM}-{role}" in s and s.startswith("patch") for s in reported)
        if not patched:
            assert now == before[role], f"{role} changed without being reported\n{stderr}"
        elif now == before[role]:
            last = reported[-1]
            assert f"{HELM}-{role}" in last, f"{role}: reported patch not applied and not the last step\n{stderr}"
    assert_heals(cp, proxy, ns)


def test_fix_reads_back_a_lost_opsrequest_creation_and_does_not_restart_twice(cp, proxy):
    """KubeBlocks 1.0 with --restart=opsrequest: the answer to the POST that creates vmselect's Restart is cut off.
    fix lists the OpsRequests, finds the one it made (its generateName and the plan's hash, created since it was
    sent), waits for that one and goes on: one Restart per component, never two, and the cluster heals."""
    proxy.rules()
    ns = cp.new_namespace("ffxo")
    cp.deploy("kubeblocks-1.0", ns, "vm", storage=2, insert=1, select=1)
    cp.drift("kubeblocks-1.0", ns, "vm", 3)
    proxy.rules({"fault": "truncate", "method": "POST", "path": "/opsrequests$", "times": 1, "bytes": 20})
    r = fix(proxy, ns, "--restart=opsrequest", "-o", "json")
    assert r.rc == 0, r
    assert proxy.fired("truncate"), proxy.log()
    (said,) = [l for l in r.err.splitlines() if "was lost" in l]
    assert re.search(r"read back, OpsRequest \S+/vm-vmsync-restart-vmselect- shows it was applied: going on$",
                     said), said
    ops = cp.get("opsrequests.operations.kubeblocks.io", "-n", ns)["items"]
    assert sorted(o["metadata"]["labels"]["apps.kubeblocks.io/component-name"] for o in ops) == ["vminsert",
                                                                                                 "vmselect"], ops
    assert all(o["status"]["phase"] == "Succeed" for o in ops), [o["status"] for o in ops]
    (cluster,) = json.loads(r.out)["clusters"]
    lost = [s for s in cluster["applied"] if "answer was lost" in s.get("detail", "")]
    assert len(lost) == 1 and lost[0]["detail"].startswith("created vm-vmsync-restart-vmselect-"), cluster["applied"]
    assert proxy.vmsync("check", "-n", ns).rc == 0
