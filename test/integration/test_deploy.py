"""deploy/: the manifests on the real local control plane, and vmsync running in-cluster with their service accounts.

- Every manifest passes server-side validation (`apply --dry-run=server`), then is applied; the CronJobs' pods are
  admitted in a namespace that enforces the "restricted" Pod Security Standard.
- vmsync runs in in-cluster mode, exactly as in a pod: KUBERNETES_SERVICE_HOST/PORT set, no kubeconfig, and the
  service account's TokenRequest token, the CA and the namespace in /var/run/secrets/kubernetes.io/serviceaccount.
  That folder is a tmpfs mounted in a private mount namespace (unshare), so nothing on this machine changes.
  Without unshare (not root), a kubeconfig carrying the same token is used instead, and the test says so.
- check succeeds with the check role, in every namespace (ClusterRole) and in one (Role); anything beyond the
  role (Secrets, patches) is 403.
- Every request check (and fix, once it exists) sends, as logged by -v=6, is allowed by the role's rules: a test
  fails as soon as the code starts using an API the role does not grant.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import pytest
import yaml

from conftest import KCP, ROOT, VMSYNC, run_vmsync

DEPLOY = os.path.join(ROOT, "deploy")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IN_CLUSTER = os.geteuid() == 0 and shutil.which("unshare") is not None


# --- helpers -----------------------------------------------------------------------------------------------------

def kustomize(path):
    r = subprocess.run([KCP, "kubectl", "kustomize", path], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def by_kind(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert found, (kind, name)
    return found if name is None else found[0]


def apply(cp, text, *extra):
    """kubectl apply -f - ; returns (stdout, stderr)."""
    r = subprocess.run([KCP, "kubectl", "--kubeconfig", cp.kubeconfig, "apply", "-f", "-", *extra], input=text,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"apply {' '.join(extra)}: {r.stderr}"
    return r.stdout, r.stderr


def server_port(cp):
    with open(cp.kubeconfig) as f:
        server = yaml.safe_load(f)["clusters"][0]["cluster"]["server"]
    host, port = re.match(r"https://([^:/]+):(\d+)", server).groups()
    return host, port


def run_in_cluster(cp, token, namespace, *args, timeout=300):
    """vmsync as a pod runs it: in-cluster config from the service-account folder (see the module docstring)."""
    host, port = server_port(cp)
    sa = tempfile.mkdtemp(prefix="vmsync-sa-")
    with open(os.path.join(sa, "token"), "w") as f:
        f.write(token)
    with open(os.path.join(sa, "namespace"), "w") as f:
        f.write(namespace)
    shutil.copy(cp.ca, os.path.join(sa, "ca.crt"))
    env = {"PATH": "/usr/bin:/bin", "HOME": sa, "NO_COLOR": "1", "KUBERNETES_SERVICE_HOST": host,
           "KUBERNETES_SERVICE_PORT": port}
    try:
        if IN_CLUSTER:
            # /var/run is /run on Debian: a fresh tmpfs there holds only the service-account folder.
            script = ('mount -t tmpfs tmpfs /run && mkdir -p "$1" && cp "$2"/token "$2"/ca.crt "$2"/namespace "$1"/ '
                      '&& shift 2 && exec "$@"')
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", SA_DIR, sa,
                   VMSYNC, *args]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
            return Completed(p)
        print("not root or no unshare: using a kubeconfig with the service account's token, not in-cluster mode")
        kc = os.path.join(sa, "kubeconfig")
        with open(kc, "w") as f:
            yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "sa",
                            "clusters": [{"name": "c", "cluster": {"server": f"https://{host}:{port}",
                                                                   "certificate-authority": cp.ca}}],
                            "users": [{"name": "sa", "user": {"token": token}}],
                            "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa",
                                                                    "namespace": namespace}}]}, f)
        return Completed(subprocess.run([VMSYNC, "--kubeconfig", kc, *args], capture_output=True, text=True,
                                        env=env, timeout=timeout))
    finally:
        shutil.rmtree(sa, ignore_errors=True)


class Completed:
    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def kubectl_as(cp, token, *args):
    return subprocess.run([KCP, "kubectl", "--kubeconfig", cp.kubeconfig, "--token", token, *args],
                          capture_output=True, text=True, timeout=60)


def can_i(cp, token, verb, resource, *extra):
    r = kubectl_as(cp, token, "auth", "can-i", verb, resource, *extra)
    return r.stdout.strip() == "yes"


# Requests as the client logs them at -v=6: "GET https://host:port/path?query 200 OK in 3 milliseconds".
REQUEST = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) https?://[^/\s]+(/\S*) (\d{3})\b", re.M)
VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def requests_in(stderr):
    """(verb, group, resource, namespace, name) per resource request; discovery (non-resource) paths left out."""
    out = []
    for method, url, _status in REQUEST.findall(stderr):
        path, _, query = url.partition("?")
        parts = [p for p in path.split("/") if p]
        if parts[0] == "api":
            group, rest = "", parts[2:]
        elif parts[0] == "apis":
            group, rest = parts[1], parts[3:]
        else:
            raise AssertionError(f"unexpected path {url}")
        if not rest:
            continue  # /api/v1, /apis/<group>/<version>: discovery, granted to everyone by system:discovery
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        resource = rest[0] + ("/" + rest[2] if len(rest) > 2 else "")
        name = rest[1] if len(rest) > 1 else None
        if method == "GET":
            verb = "watch" if "watch=true" in query or "watch=1" in query else ("get" if name else "list")
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = VERBS[method]
        out.append((verb, group, resource, ns, name))
    return out


def allowed(rules, verb, group, resource, name):
    for r in rules:
        if not ({group, "*"} & set(r.get("apiGroups", []))):
            continue
        if not ({resource, "*"} & set(r.get("resources", []))):
            continue
        if not ({verb, "*"} & set(r.get("verbs", []))):
            continue
        if r.get("resourceNames") and name not in r["resourceNames"]:
            continue
        return True
    return False


def denied_requests(rules, stderr):
    reqs = requests_in(stderr)
    assert reqs, "no requests in the log: was -v=6 request logging removed?\n" + stderr[-2000:]
    return sorted({(v, g, r) for v, g, r, _ns, n in reqs if not allowed(rules, v, g, r, n)})


def fix_available():
    return subprocess.run([VMSYNC, "fix", "--help"], capture_output=True).returncode == 0


# --- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clusters(cp):
    """A namespace with a VictoriaMetrics cluster of every layout the control plane has CRDs for; helm drifted.
    Names differ per layout: generic and KubeBlocks would both name their storage pods <name>-vmstorage-<i>."""
    ns = cp.new_namespace("ship")
    small = dict(storage=2, insert=1, select=1)
    cp.deploy("helm", ns, "vm", **small)
    cp.deploy("operator", ns, "vm", **small)
    cp.deploy("generic", ns, "gen", **small)
    cp.deploy("kubeblocks-1.0", ns, "kb", **small)
    cp.drift("helm", ns, "vm", 3)
    return ns


@pytest.fixture(scope="module")
def cluster_wide(cp):
    """deploy/cluster: namespace first (namespaced objects cannot be dry-run into a namespace that does not exist),
    then every object through server-side validation, then applied."""
    text = kustomize(os.path.join(DEPLOY, "cluster"))
    objects = docs(text)
    namespace = yaml.safe_dump(by_kind(objects, "Namespace", "vmsync"))
    results = {"dry-run-namespace": apply(cp, namespace, "--dry-run=server")}
    apply(cp, namespace)
    results["dry-run"] = apply(cp, text, "--dry-run=server")
    results["apply"] = apply(cp, text)
    return {"objects": objects, "results": results}


@pytest.fixture(scope="module")
def namespaced(cp, clusters):
    """deploy/namespaced in the clusters' namespace, through an overlay that sets it (as the README says)."""
    overlay = tempfile.mkdtemp(prefix="vmsync-overlay-")
    with open(os.path.join(overlay, "kustomization.yaml"), "w") as f:
        f.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                f"namespace: {clusters}\nresources:\n  - {os.path.relpath(os.path.join(DEPLOY, 'namespaced'), overlay)}\n")
    text = kustomize(overlay)
    shutil.rmtree(overlay)
    results = {"dry-run": apply(cp, text, "--dry-run=server"), "apply": apply(cp, text)}
    return {"objects": docs(text), "results": results, "namespace": clusters}


def token(cp, ns, sa):
    return cp.kubectl("-n", ns, "create", "token", sa, "--duration", "1h").strip()


# --- the manifests -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["cluster", "namespaced"])
def test_every_manifest_is_in_its_kustomization(variant):
    d = os.path.join(DEPLOY, variant)
    with open(os.path.join(d, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    files = sorted(f for f in os.listdir(d) if f.endswith(".yaml") and f != "kustomization.yaml")
    assert sorted(k["resources"]) == files
    # The image scripts/image.sh builds (localhost/vmsync:<version>; test/image/test_image.py checks the build's name).
    assert k["images"] == [{"name": "vmsync", "newName": "localhost/vmsync", "newTag": k["images"][0]["newTag"]}]


def test_cluster_manifests_validate_and_apply(cluster_wide):
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in cluster_wide["objects"])
    assert kinds == [("ClusterRole", "vmsync-check"), ("ClusterRole", "vmsync-fix"),
                     ("ClusterRoleBinding", "vmsync-check"), ("ClusterRoleBinding", "vmsync-fix"),
                     ("CronJob", "vmsync-check"), ("CronJob", "vmsync-fix"), ("Namespace", "vmsync"),
                     ("ServiceAccount", "vmsync-check"), ("ServiceAccount", "vmsync-fix")]
    for step, (out, err) in cluster_wide["results"].items():
        assert "Warning" not in err, (step, err)  # e.g. "would violate PodSecurity"
    assert "(server dry run)" in cluster_wide["results"]["dry-run"][0]


def test_namespaced_manifests_validate_and_apply(namespaced):
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in namespaced["objects"])
    assert kinds == [("CronJob", "vmsync-check"), ("CronJob", "vmsync-fix"), ("Role", "vmsync-check"),
                     ("Role", "vmsync-fix"), ("RoleBinding", "vmsync-check"), ("RoleBinding", "vmsync-fix"),
                     ("ServiceAccount", "vmsync-check"), ("ServiceAccount", "vmsync-fix")]
    for o in namespaced["objects"]:
        assert o["metadata"]["namespace"] == namespaced["namespace"]
    for b in by_kind(namespaced["objects"], "RoleBinding"):
        assert b["subjects"][0]["namespace"] == namespaced["namespace"]
    assert "(server dry run)" in namespaced["results"]["dry-run"][0]


@pytest.mark.parametrize("mode,args", [("check", ["check", "-A", "--exit-zero", "-o", "json"]),
                                       ("fix", ["fix", "-A", "--yes"])])
def test_cronjob_spec(cluster_wide, mode, args):
    cj = by_kind(cluster_wide["objects"], "CronJob", f"vmsync-{mode}")
    spec = cj["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == f"vmsync-{mode}"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (c,) = pod["containers"]
    assert c["image"] == "localhost/vmsync:" + cj_tag(cluster_wide)
    assert c["command"] == ["vmsync"] and c["args"] == args
    assert set(c["resources"]) == {"requests", "limits"}
    assert set(c["resources"]["limits"]) == {"cpu", "memory"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False


def cj_tag(cluster_wide):
    with open(os.path.join(DEPLOY, "cluster", "kustomization.yaml")) as f:
        return yaml.safe_load(f)["images"][0]["newTag"]


@pytest.mark.parametrize("mode", ["check", "fix"])
def test_cronjob_pods_pass_restricted_pod_security(cp, cluster_wide, mode):
    """A Job made from the CronJob gets its pod created in a namespace enforcing "restricted"."""
    job = f"{mode}-{uuid.uuid4().hex[:5]}"
    cp.kubectl("-n", "vmsync", "create", "job", job, f"--from=cronjob/vmsync-{mode}")
    import time
    deadline = time.time() + 60
    while time.time() < deadline:
        pods = cp.get("pods", "-n", "vmsync", "-l", f"job-name={job}")["items"]
        if pods:
            break
        time.sleep(0.5)
    events = cp.kubectl("-n", "vmsync", "get", "events", "--field-selector", f"involvedObject.name={job}")
    assert pods, f"no pod for job {job}: {events}"
    assert "violates PodSecurity" not in events


def test_role_variants_grant_the_same_rules(cluster_wide, namespaced):
    for mode in ("check", "fix"):
        cr = by_kind(cluster_wide["objects"], "ClusterRole", f"vmsync-{mode}")["rules"]
        r = by_kind(namespaced["objects"], "Role", f"vmsync-{mode}")["rules"]
        assert cr == r, mode


def test_fix_role_includes_check_role(cluster_wide):
    check = by_kind(cluster_wide["objects"], "ClusterRole", "vmsync-check")["rules"]
    fix = by_kind(cluster_wide["objects"], "ClusterRole", "vmsync-fix")["rules"]
    for rule in check:
        for g in rule["apiGroups"]:
            for res in rule["resources"]:
                for v in rule["verbs"]:
                    assert allowed(fix, v, g, res, None), (v, g, res)


def test_check_role_is_read_only(cluster_wide):
    for rule in by_kind(cluster_wide["objects"], "ClusterRole", "vmsync-check")["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        assert "secrets" not in rule["resources"] and "*" not in rule["resources"], rule


# --- vmsync in the cluster ---------------------------------------------------------------------------------------

def test_check_in_cluster_with_the_check_role(cp, cluster_wide, clusters):
    t = token(cp, "vmsync", "vmsync-check")
    r = run_in_cluster(cp, t, "vmsync", "check", "-A", "--exit-zero", "-o", "json")
    assert r.rc == 0, r
    report = r.json()
    assert report["summary"]["errors"] == 0, r
    mine = {(c["layout"], c["name"]): c["status"] for c in report["clusters"] if c["namespace"] == clusters}
    assert mine == {("helm", "vm"): "Drift", ("operator", "vm"): "InSync", ("generic", "gen-vmstorage"): "InSync",
                    ("kubeblocks", "kb"): "InSync"}
    assert t not in r.out + r.err
    if IN_CLUSTER:
        v = run_in_cluster(cp, t, "vmsync", "-v", "check", "-A", "-q")
        assert "in-cluster" in v.err, v


def test_check_role_gets_403_beyond_the_role(cp, cluster_wide):
    t = token(cp, "vmsync", "vmsync-check")
    r = kubectl_as(cp, t, "get", "secrets", "-A")
    assert r.returncode != 0 and "Forbidden" in r.stderr, r.stderr
    assert "system:serviceaccount:vmsync:vmsync-check" in r.stderr
    assert not can_i(cp, t, "patch", "statefulsets.apps", "-A")
    assert not can_i(cp, t, "delete", "pods", "-A")
    assert not can_i(cp, t, "get", "pods", "-A")
    assert can_i(cp, t, "list", "pods", "-A")


def test_fix_role_can_what_fix_does_and_no_more(cp, cluster_wide):
    t = token(cp, "vmsync", "vmsync-fix")
    assert can_i(cp, t, "patch", "statefulsets.apps", "-A")
    assert can_i(cp, t, "patch", "configmaps", "-A")
    assert can_i(cp, t, "delete", "pods", "-A")
    assert can_i(cp, t, "create", "opsrequests.operations.kubeblocks.io", "-A")
    assert can_i(cp, t, "patch", "leases.coordination.k8s.io", "-A")
    assert can_i(cp, t, "get", "opsrequests.operations.kubeblocks.io", "-A")
    assert not can_i(cp, t, "delete", "statefulsets.apps", "-A")
    assert not can_i(cp, t, "patch", "vmclusters.operator.victoriametrics.com", "-A")
    r = kubectl_as(cp, t, "get", "secrets", "-A")
    assert r.returncode != 0 and "Forbidden" in r.stderr


def test_namespaced_check_role_checks_its_namespace_only(cp, namespaced):
    ns = namespaced["namespace"]
    t = token(cp, ns, "vmsync-check")
    r = run_in_cluster(cp, t, ns, "check", "--exit-zero", "-o", "json")
    assert r.rc == 0, r
    report = r.json()
    assert {c["namespace"] for c in report["clusters"]} == {ns}
    assert len(report["clusters"]) == 4 and report["summary"]["errors"] == 0
    # -A beyond a Role: the cluster-wide lists and the namespace list are denied, so vmsync checks the namespace
    # of its context (the pod's) and exits 2 saying the others could not be seen.
    r = run_in_cluster(cp, t, ns, "check", "-A", "-o", "json")
    assert r.rc == 2, r
    assert f'only namespace "{ns}" (the context\'s) was checked' in r.err, r.err
    assert 'cannot list resource "namespaces"' in r.err, r.err
    assert len([c for c in r.json()["clusters"] if c["namespace"] == ns and c["status"] != "Error"]) == 4, r
    r = kubectl_as(cp, t, "get", "secrets", "-n", ns)
    assert r.returncode != 0 and "Forbidden" in r.stderr


def test_every_request_of_check_is_granted_by_the_check_role(cp, cluster_wide, clusters):
    """check run as admin (so nothing is refused) with request logging: each request must be one the role allows.
    Scoped to one namespace and to all, so that both URL shapes are covered."""
    rules = by_kind(cluster_wide["objects"], "ClusterRole", "vmsync-check")["rules"]
    for scope in (["-A"], ["-n", clusters]):
        r = cp.vmsync("-vvvvvv", "check", *scope, "-q")
        assert r.rc in (0, 1), r
        assert denied_requests(rules, r.err) == [], "check uses APIs deploy/*/vmsync-check does not grant"
    # The generic layout's ConfigMaps are read by name (fieldSelector), the rest by label: both are lists.
    verbs = {v for v, *_ in requests_in(r.err)}
    assert verbs == {"list"}, verbs


def test_request_classifier():
    log = ("GET https://127.0.0.1:6443/apis/apps/v1/statefulsets?limit=500 200 OK in 3 milliseconds\n"
           "GET https://127.0.0.1:6443/apis/workloads.kubeblocks.io/v1 200 OK in 1 milliseconds\n"
           "GET https://127.0.0.1:6443/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dx 200 OK in 1 "
           "milliseconds\n"
           "PATCH https://127.0.0.1:6443/apis/apps/v1/namespaces/a/deployments/d 200 OK in 1 milliseconds\n"
           "DELETE https://127.0.0.1:6443/api/v1/namespaces/a/pods/p 200 OK in 1 milliseconds\n"
           "GET https://127.0.0.1:6443/api/v1/namespaces/a/pods/p/proxy/metrics 200 OK in 1 milliseconds\n")
    assert requests_in(log) == [("list", "apps", "statefulsets", None, None),
                                ("list", "", "configmaps", "a", None),
                                ("patch", "apps", "deployments", "a", "d"),
                                ("delete", "", "pods", "a", "p"),
                                ("get", "", "pods/proxy", "a", "p")]
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "get"]}]
    assert allowed(rules, "get", "", "pods", "p")
    assert not allowed(rules, "get", "", "pods/proxy", "p")
    assert not allowed(rules, "list", "apps", "pods", None)


# --- fix (once `vmsync fix` exists) ------------------------------------------------------------------------------

@pytest.fixture
def need_fix():
    if not fix_available():
        pytest.skip("`vmsync fix` is not in this build yet (issue 5)")


def test_fix_in_cluster_with_the_fix_role(cp, cluster_wide, clusters, need_fix):
    t = token(cp, "vmsync", "vmsync-fix")
    r = run_in_cluster(cp, t, "vmsync", "-vvvvvv", "fix", "-n", clusters, "--yes", timeout=900)
    assert r.rc == 0, r
    rules = by_kind(cluster_wide["objects"], "ClusterRole", "vmsync-fix")["rules"]
    assert denied_requests(rules, r.err) == [], "fix uses APIs deploy/*/vmsync-fix does not grant"
    after = cp.vmsync("check", "-n", clusters, "-o", "json")
    assert after.rc == 0, after


def test_fix_with_the_check_role_is_refused(cp, cluster_wide, clusters, need_fix):
    cp.drift("generic", clusters, "gen", 3)
    t = token(cp, "vmsync", "vmsync-check")
    r = run_in_cluster(cp, t, "vmsync", "fix", "-n", clusters, "--yes", timeout=900)
    assert r.rc == 2, r
    # The check role may not list OpsRequests, so a namespace with KubeBlocks clusters is refused as fix reads it
    # (a plan error, on stdout); a write the role does not grant is forbidden on stderr.
    assert "forbidden" in (r.out + r.err).lower(), r
