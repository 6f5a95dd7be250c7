"""Hostile and broken input, each through the built binary: what vmsync does with it is the contract of the
bad-input table (docs/bad-input.md); every row there names its test here or in test_faults.py."""
import json
import re
import os
import tempfile
import time

import pytest

from conftest import run_vmsync
from test_faults import INTERNAL, cp, plane  # noqa: F401 (the fixture, reusing VMSYNC_TEST_CP_DIR when set)


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def one_error(r):
    """Exit 2 with exactly one stderr line, a `vmsync: error:` line; returns its text after the prefix."""
    assert r.rc == 2, r
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmsync: error: "), r
    assert not lines[0].startswith(INTERNAL), r
    return lines[0][len("vmsync: error: "):]


def server_of(cp):
    with open(os.path.join(cp.dir, "ready")) as f:
        return json.load(f)["server"]


def kubeconfig_with_user(tmp, cp, user_yaml):
    return write(tmp, "kc", f"""apiVersion: v1
clusters: [{{name: c, cluster: {{server: "{server_of(cp)}", certificate-authority: "{cp.ca}"}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
users: [{{name: u, user: {user_yaml}}}]
""")


# --- kubeconfig and credentials -------------------------------------------------------------------------------

def test_malformed_kubeconfig_yaml(tmp_path):
    kc = write(str(tmp_path), "kc", "clusters: [\n")
    assert one_error(run_vmsync("check", kubeconfig=kc)) == \
        f"kubeconfig {kc}: invalid YAML at line 2, column 1: end of sequence flow not found"


def test_malformed_kubeconfig_types(tmp_path):
    kc = write(str(tmp_path), "kc", "apiVersion: v1\nclusters: {a: b}\n")
    assert one_error(run_vmsync("check", kubeconfig=kc)) == f"kubeconfig {kc}: clusters: expected a list"


@pytest.mark.parametrize("server", ["https://", "https:///api", "https://:6443"])
def test_kubeconfig_server_without_host(tmp_path, server):
    """Found by fuzz_kubeconfig: "https://" used to load as "https:" and fail later, in curl, naming nothing."""
    kc = write(str(tmp_path), "kc", f"""clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
contexts: [{{name: c, context: {{cluster: c}}}}]
current-context: c
""")
    assert one_error(run_vmsync("check", kubeconfig=kc)) == \
        f'kubeconfig {kc}: cluster "c": server "{server}" has no host (set it to https://HOST:PORT)'
    assert one_error(run_vmsync("check", "--server", server, env={"HOME": str(tmp_path)})) == \
        f'--server: server "{server}" has no host (set it to https://HOST:PORT)'


def test_kubeconfig_alias_cycle_in_exec_extension(tmp_path):
    """Found by fuzz_kubeconfig: an alias inside the node it names overflowed the stack (a crash)."""
    kc = write(str(tmp_path), "kc", """apiVersion: v1
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: &b {x: [*b]}
contexts: [{name: c, context: {cluster: c}}]
current-context: c
""")
    assert one_error(run_vmsync("check", kubeconfig=kc)) == (
        f'kubeconfig {kc}: cluster "c": extension client.authentication.k8s.io/exec: line 8, column 18: '
        "an alias refers to a node that contains it (an alias cycle)")


def test_kubeconfig_context_naming_missing_user(tmp_path, cp):
    kc = write(str(tmp_path), "kc", f"""clusters: [{{name: c, cluster: {{server: "{server_of(cp)}"}}}}]
contexts: [{{name: c, context: {{cluster: c, user: ghost}}}}]
current-context: c
""")
    assert one_error(run_vmsync("check", kubeconfig=kc)) == \
        f'kubeconfig {kc}: context "c": user "ghost" not found (no users defined)'


@pytest.mark.parametrize("provider,replacement", [
    ("gcp", "use the exec plugin gke-gcloud-auth-plugin instead"),
    ("azure", "use the exec plugin kubelogin instead"),
    ("oidc", "use the exec plugin kubelogin instead"),
    ("something", "use an exec credential plugin instead")])
def test_unknown_auth_provider(tmp_path, cp, provider, replacement):
    kc = kubeconfig_with_user(str(tmp_path), cp, f"{{auth-provider: {{name: {provider}, config: {{x: y}}}}}}")
    msg = one_error(run_vmsync("check", kubeconfig=kc))
    assert msg.startswith(f'kubeconfig {kc}: user "u": auth-provider "{provider}" is no longer supported by '
                          f'Kubernetes clients; {replacement}'), msg


def test_unknown_exec_api_version(tmp_path, cp):
    kc = kubeconfig_with_user(str(tmp_path), cp,
                              "{exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}")
    assert one_error(run_vmsync("check", kubeconfig=kc)) == (
        f'kubeconfig {kc}: user "u": exec.apiVersion "client.authentication.k8s.io/v1alpha1" is not supported '
        '(use client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1)')


def test_wrong_ca(tmp_path, cp):
    other = os.path.join(cp.dir, "admin.crt")  # a certificate, but not of the CA that signed the server's
    t0 = time.monotonic()
    r = run_vmsync("check", "--certificate-authority", other, kubeconfig=cp.kubeconfig)
    assert time.monotonic() - t0 < 30
    msg = one_error(r)
    assert msg.startswith(f"TLS verification of {server_of(cp)}: "), msg
    assert "(set --certificate-authority or certificate-authority-data)" in msg, msg


def test_expired_or_revoked_token(tmp_path, cp):
    kc = kubeconfig_with_user(str(tmp_path), cp, '{token: "expired-token-0123456789abcdef"}')
    assert one_error(run_vmsync("check", kubeconfig=kc)) == (
        f"credentials rejected by {server_of(cp)}: token expired or invalid (refresh your kubeconfig credentials)")


def test_unreachable_server_bounded(tmp_path):
    kc = write(str(tmp_path), "kc", """clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c}}]
current-context: c
""")
    t0 = time.monotonic()
    msg = one_error(run_vmsync("check", kubeconfig=kc))
    assert time.monotonic() - t0 < 30
    assert msg.startswith("cannot connect to https://127.0.0.1:1: connection refused"), msg


# --- cluster contents -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cp_bare():
    return plane("", "VMSYNC_TEST_CP_BARE_DIR")


def test_missing_crds_are_layouts_absent(cp_bare):
    """No KubeBlocks and no operator CRDs: those layouts simply do not exist; the others are still checked."""
    ns = cp_bare.new_namespace("bare")
    cp_bare.deploy("helm", ns, "vm", storage=2, insert=1, select=1)
    r = cp_bare.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 0, r
    assert [c["layout"] for c in r.json()["clusters"]] == ["helm"]
    assert r.err == ""


@pytest.fixture
def generic(cp):
    ns = cp.new_namespace("bad")
    cp.deploy("generic", ns, "vm", storage=3, insert=1, select=1)
    return ns


def set_list(cp, ns, role, value):
    cp.kubectl("-n", ns, "patch", "configmap", f"vm-{role}-config", "--type", "merge",
               "-p", json.dumps({"data": {"VM_STORAGE_URLS": value}}))


def consumer(report, role):
    return next(c for c in report["clusters"][0]["consumers"] if c["role"] == role)


def test_duplicate_and_empty_entries(cp, generic):
    ns = generic
    n = [f"vm-vmstorage-{i}.vm-vmstorage.{ns}.svc:8400" for i in range(3)]
    set_list(cp, ns, "vminsert", ",".join([n[0], "", n[1], n[1], n[2]]))
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 1, r
    c = consumer(r.json(), "vminsert")
    assert c["sourceDrift"]["drift"] is True
    assert c["duplicates"] == [n[1]]
    # The source always; a pod too if it started after the patch (the Deployment may still have been replacing
    # a pod when the fixture reported Ready), since it then runs with the new list.
    assert c["emptyEntries"][0] == "source entry 2 of 5 is empty", c
    assert all(re.fullmatch(r"pod \S+ entry 2 of 5 is empty", e) for e in c["emptyEntries"][1:]), c
    table = cp.vmsync("check", "-n", ns).out
    assert f"duplicate entries: {n[1]}" in table and "source entry 2 of 5 is empty" in table


def test_unparsable_storage_node_entries(cp, generic):
    ns = generic
    good = [f"vm-vmstorage-{i}.vm-vmstorage.{ns}.svc:8400" for i in (1, 2)]
    bad = [f"vm-vmstorage-0.vm-vmstorage.{ns}.svc:notaport", "[::1:8400", "a b:8400", "x:99999"]
    set_list(cp, ns, "vminsert", ",".join(bad + good))
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 1, r
    sd = consumer(r.json(), "vminsert")["sourceDrift"]
    # Not addresses: compared as plain strings, so each is unexpected and the node it meant is missing.
    assert sd["missing"] == [f"vm-vmstorage-0.vm-vmstorage.{ns}.svc:8400"]
    assert sorted(sd["unexpected"]) == sorted(bad)


def test_storage_node_flag_without_value(cp, generic):
    ns = generic
    cp.kubectl("-n", ns, "patch", "deployment", "vm-vmselect", "--type", "json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": ["-storageNode"]}]))
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc in (1, 2), r
    assert INTERNAL not in r.err, r


def test_consumer_with_no_storage(cp, generic):
    ns = generic
    cp.kubectl("-n", ns, "annotate", "deployment", "vm-vmselect", "--overwrite",
               "vmsync.io/storage-workload=statefulset/nowhere")
    r = cp.vmsync("check", "-n", ns)
    assert r.rc == 2, r
    assert r.err.splitlines() == [f"vmsync: error: {ns}/nowhere: Deployment {ns}/vm-vmselect names storage "
                                  "statefulset/nowhere, which does not exist (only StatefulSets can be storage in "
                                  "the generic layout)"], r


def test_malformed_annotation_is_a_cluster_error(cp, generic):
    ns = generic
    cp.kubectl("-n", ns, "annotate", "deployment", "vm-vmselect", "--overwrite", "vmsync.io/exclude-ordinals=one")
    r = cp.vmsync("check", "-n", ns)
    assert r.rc == 2, r
    assert f'vmsync: error: {ns}/vm-vmselect: Deployment {ns}/vm-vmselect: ordinal list "one": "one" is not a ' \
           "non-negative integer" in r.err, r


def test_storage_with_zero_replicas(cp, generic):
    ns = generic
    cp.kubectl("-n", ns, "scale", "statefulset", "vm-vmstorage", "--replicas", "0")
    r = cp.vmsync("check", "-n", ns, "-o", "json")
    assert r.rc == 1, r
    cl = r.json()["clusters"][0]
    assert cl["storage"]["declaredReplicas"] == 0
    for role in ("vminsert", "vmselect"):
        c = consumer(r.json(), role)
        assert c["expected"] == [] and len(c["sourceDrift"]["unexpected"]) == 3


# --- offline manifests (check -f) -----------------------------------------------------------------------------

@pytest.mark.parametrize("name,text,expected", [
    ("invalid-yaml", "kind: [\n", "{path}: line 2, column 1: end of sequence flow not found"),
    ("metadata-not-a-map", "apiVersion: apps/v1\nkind: Deployment\nmetadata: oops\n",
     "{path}: Deployment: metadata is not a mapping"),
    ("number-out-of-range", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 1e999}\n", None),
    ("alias-cycle", "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: x, again: [*m]}\n",
     "{path}: line 3, column 31: an alias refers to a node that contains it (an alias cycle)"),
])
def test_malformed_manifests(tmp_path, name, text, expected):
    path = write(str(tmp_path), name + ".yaml", text)
    # --allow-empty: the ConfigMap that parses is no cluster, which is not what this test is about.
    r = run_vmsync("check", "-f", path, "-o", "json", "--allow-empty")
    if expected is None:
        assert r.rc == 0, r
        return
    assert one_error(r) == expected.format(path=path)


def test_manifest_with_absurd_replicas_is_refused(tmp_path):
    """A replica count no cluster has would make vmsync list a billion nodes; it is an error on that cluster."""
    path = write(str(tmp_path), "huge.yaml", """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: vmstorage
  namespace: default
  annotations: {}
spec:
  replicas: 2000000000
  serviceName: vmstorage
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vminsert
  namespace: default
  annotations: {vmsync.io/storage-workload: statefulset/vmstorage, vmsync.io/role: vminsert}
spec:
  template:
    spec:
      containers: [{name: vminsert, args: ["-storageNode=vmstorage-0.vmstorage.default:8400"]}]
""")
    t0 = time.monotonic()
    r = run_vmsync("check", "-f", path, "-o", "json", timeout=60)
    assert time.monotonic() - t0 < 20, "no billion-entry lists"
    assert r.rc == 2, r
    assert "replicas 2000000000" in r.err, r
