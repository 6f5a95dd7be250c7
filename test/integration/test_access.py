"""Finding and reaching the cluster as kubectl does (issue 3), with the built binary against the real control plane:
every auth method, KUBECONFIG merging, in-cluster mode, paging, and clean failures (403, unreachable, wrong CA).
`vmsync check` is the command used: it only needs API access."""
import base64
import json
import os
import re
import socket
import stat
import subprocess
import textwrap
import time

import pytest

from conftest import VMSYNC, assert_valid_report, run_vmsync

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def server_of(cp):
    return json.loads(open(os.path.join(cp.dir, "ready")).read())["server"]


def write_kubeconfig(path, server, user, ca=None, ca_data=None, namespace="default", extra_cluster=""):
    cluster = {"server": server}
    if ca:
        cluster["certificate-authority"] = ca
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "kcp", "cluster": cluster}],
           "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "c", "context": {"cluster": "kcp", "user": "u", "namespace": namespace}}],
           "current-context": "c"}
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


@pytest.fixture(scope="module")
def helm_ns(cp):
    ns = cp.new_namespace("acc")
    cp.deploy("helm", ns, "vm", storage=2, insert=1, select=1)
    return ns


def in_sync(r):
    assert r.rc == 0, r
    return True


def test_bearer_token(cp, helm_ns, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"token": cp.token}, ca=cp.ca, namespace=helm_ns)
    assert in_sync(run_vmsync("check", kubeconfig=str(kc)))


def test_token_file_relative_to_kubeconfig_folder(cp, helm_ns, tmp_path):
    (tmp_path / "tok").write_text(cp.token + "\n")
    import shutil
    shutil.copy(cp.ca, tmp_path / "ca.crt")
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"tokenFile": "tok"}, ca="ca.crt", namespace=helm_ns)
    assert in_sync(run_vmsync("check", kubeconfig=str(kc)))


def test_client_certificate_files(cp, helm_ns):
    r = run_vmsync("-n", helm_ns, "check", kubeconfig=cp.kubeconfig_cert)
    assert in_sync(r)


def test_client_certificate_data(cp, helm_ns):
    r = run_vmsync("-n", helm_ns, "check", kubeconfig=os.path.join(cp.dir, "kubeconfig-cert-data"))
    assert in_sync(r)


def test_flags_override_kubeconfig(cp, helm_ns, tmp_path):
    # A kubeconfig with a bad token; --token and --certificate-authority on the command line win.
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"token": "wrong"}, ca=cp.ca)
    r = run_vmsync("--token", cp.token, "-n", helm_ns, "check", kubeconfig=str(kc))
    assert in_sync(r)
    r = run_vmsync("-n", helm_ns, "check", kubeconfig=str(kc))
    assert r.rc == 2 and "401" in r.err or "credentials" in r.err, r


EXEC_PLUGIN = """#!/bin/sh
# Counts its calls and prints an ExecCredential that expires in {ttl} seconds.
echo call >> "{calls}"
[ -n "$KUBERNETES_EXEC_INFO" ] && echo "$KUBERNETES_EXEC_INFO" > "{info}"
exp=$(date -u -d "+{ttl} seconds" +%Y-%m-%dT%H:%M:%SZ)
cat <<JSON
{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
 "status":{{"token":"{token}","expirationTimestamp":"$exp"}}}}
JSON
"""


def test_exec_plugin_token_with_cluster_info(cp, helm_ns, tmp_path):
    plugin = tmp_path / "plugin.sh"
    calls, info = tmp_path / "calls", tmp_path / "info"
    plugin.write_text(EXEC_PLUGIN.format(ttl=3600, calls=calls, info=info, token=cp.token))
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "./plugin.sh",
                     "interactiveMode": "Never", "provideClusterInfo": True}}
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), user, ca=cp.ca, namespace=helm_ns)
    r = run_vmsync("-v", "check", kubeconfig=str(kc))
    assert in_sync(r)
    assert calls.read_text().count("call") == 1
    assert json.loads(info.read_text())["spec"]["cluster"]["server"] == server_of(cp)
    assert "plugin.sh" in r.err  # -v says that the kubeconfig made vmsync run a command
    assert cp.token not in r.err and cp.token not in r.out


def test_exec_plugin_missing_command_shows_install_hint(cp, tmp_path):
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-auth-plugin",
                     "interactiveMode": "Never", "installHint": "install it with: apt install no-such-auth-plugin"}}
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), user, ca=cp.ca)
    r = run_vmsync("check", kubeconfig=str(kc))
    assert r.rc == 2
    assert "install it with: apt install no-such-auth-plugin" in r.err, r


def test_auth_provider_names_replacement(cp, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"auth-provider": {"name": "gcp"}}, ca=cp.ca)
    r = run_vmsync("check", kubeconfig=str(kc))
    assert r.rc == 2 and "gke-gcloud-auth-plugin" in r.err, r


def test_kubeconfig_env_list_merges_first_wins(cp, helm_ns, tmp_path):
    # First file: context and user with the right token; second file: the cluster, plus a user of the same name
    # with a wrong token that must lose.
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                             "contexts": [{"name": "c", "context": {"cluster": "kcp", "user": "u", "namespace": helm_ns}}],
                             "users": [{"name": "u", "user": {"token": cp.token}}]}))
    b.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "other",
                             "clusters": [{"name": "kcp", "cluster": {"server": server_of(cp), "certificate-authority": cp.ca}}],
                             "users": [{"name": "u", "user": {"token": "wrong"}}]}))
    r = run_vmsync("check", env={"KUBECONFIG": f"{a}:{tmp_path / 'missing'}:{b}"})
    assert in_sync(r)


def test_in_cluster_service_account(cp, helm_ns, tmp_path):
    """In-cluster mode with a TokenRequest token, in a private mount namespace where the service-account
    folder exists, and the environment variables a pod would have."""
    cp.kubectl("-n", helm_ns, "create", "serviceaccount", "vmsync-ic")
    cp.kubectl("create", "clusterrole", f"vmsync-ic-{helm_ns}", "--verb=get,list",
               "--resource=pods,configmaps,statefulsets.apps,deployments.apps,instancesets.workloads.kubeblocks.io,"
               "clusters.apps.kubeblocks.io,vmclusters.operator.victoriametrics.com")
    cp.kubectl("create", "clusterrolebinding", f"vmsync-ic-{helm_ns}", f"--clusterrole=vmsync-ic-{helm_ns}",
               f"--serviceaccount={helm_ns}:vmsync-ic")
    token = cp.kubectl("-n", helm_ns, "create", "token", "vmsync-ic").strip()
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(token)
    (sa / "namespace").write_text(helm_ns)
    (sa / "ca.crt").write_text(open(cp.ca).read())
    port = server_of(cp).rsplit(":", 1)[1]
    script = (f"mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && "
              f"ln -s {sa} /run/secrets/kubernetes.io/serviceaccount && exec {VMSYNC} check -o json")
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update({"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port})
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                       text=True, env=env, timeout=120)
    if p.returncode != 0 and "unshare" in p.stderr and "Operation not permitted" in p.stderr:
        pytest.skip("no mount namespaces here: " + p.stderr.strip())
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert [c["namespace"] for c in rep["clusters"]] == [helm_ns]  # namespace from the service-account folder


def test_paging_across_many_pages(cp, tmp_path):
    ns = cp.new_namespace("page")
    cp.deploy("generic", ns, "vm", storage=7, insert=3, select=3)
    full = cp.vmsync("check", "-n", ns, "-o", "json")
    paged = cp.vmsync("-v", "check", "-n", ns, "-o", "json", "--chunk-size", "2")
    assert full.rc == 0 and paged.rc == 0, paged
    assert paged.json() == full.json()
    n_full = int(full.err.split(" requests")[0].rsplit(" ", 1)[-1]) if " requests" in full.err else None
    n_paged = int(paged.err.split(" requests")[0].rsplit(" ", 1)[-1])
    assert n_paged > 6, paged.err  # 7 storage pods in pages of 2 alone take 4 requests


def test_page_sizes_by_kind_of_list(cp):
    """Label-selected lists page at 5000 (each further page makes the server scan the kind), whole kinds at 500
    as kubectl; --chunk-size sets both. Read from vmsync's own request log against the real API server."""
    ns = cp.new_namespace("limit")
    cp.deploy("generic", ns, "vm", storage=2)

    def limits(*extra):
        r = cp.vmsync("-vvvvvv", "check", "-n", ns, "-o", "json", *extra)
        assert r.rc == 0, r
        lists = [line.split()[1] for line in r.err.splitlines()
                 if line.startswith("GET ") and "limit=" in line and "/namespaces/" + ns + "/" in line
                 and "fieldSelector=" not in line]  # ConfigMaps by name: one object, whatever the limit
        assert lists, r.err
        by_kind = {}
        for url in lists:
            kind = url.split("?")[0].rsplit("/", 1)[-1]
            q = url.split("?", 1)[1]
            limit = [kv.split("=")[1] for kv in q.split("&") if kv.startswith("limit=")][0]
            by_kind.setdefault((kind, "labelSelector=" in q), set()).add(limit)
        return by_kind

    got = limits()
    assert got[("statefulsets", False)] == {"500"} and got[("deployments", False)] == {"500"}, got
    assert got[("pods", True)] == {"5000"}, got
    got = limits("--chunk-size", "7")
    assert all(v == {"7"} for v in got.values()), sorted(got.items())


def test_forbidden_names_missing_permission(cp, tmp_path):
    ns = cp.new_namespace("deny")
    cp.kubectl("-n", ns, "create", "serviceaccount", "nobody")
    token = cp.kubectl("-n", ns, "create", "token", "nobody").strip()
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"token": token}, ca=cp.ca, namespace=ns)
    r = run_vmsync("check", kubeconfig=str(kc))
    assert r.rc == 2, r
    assert "forbidden" in r.err.lower() and "cannot list" in r.err, r
    assert f"system:serviceaccount:{ns}:nobody" in r.err
    assert token not in r.err + r.out
    # One error, the report's own: no made-up cluster row ("ns/   generic   Error"), no cluster named "".
    (line,) = r.err.splitlines()
    assert line.startswith(f'vmsync: error: cannot list ') and f'in namespace "{ns}"' in line, r.err
    assert r.out.splitlines()[0] == "error: " + line[len("vmsync: error: "):], r.out
    assert "generic" not in r.out, r.out
    j = run_vmsync("check", "-o", "json", kubeconfig=str(kc))
    assert j.rc == 2 and j.err == r.err, j
    rep = assert_valid_report(j.json())
    assert rep["clusters"] == [] and rep["errors"] == [line[len("vmsync: error: "):]], rep
    # Every hint names a file that exists.
    hints = re.findall(r"see (\S+?)\)", r.err)
    assert hints, r.err
    for path in hints:
        assert os.path.isfile(os.path.join(ROOT, path)), path


def test_unreachable_server_fails_in_bounded_time(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    kc = write_kubeconfig(tmp_path / "kc", f"https://127.0.0.1:{port}", {"token": "x"})
    t = time.time()
    r = run_vmsync("check", "--request-timeout", "5s", kubeconfig=str(kc))
    assert r.rc == 2, r
    assert time.time() - t < 30
    assert f"127.0.0.1:{port}" in r.err and r.err.count("\n") == 1, r


def test_wrong_ca_says_tls_verification_failed(cp, tmp_path):
    other = tmp_path / "other-ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(tmp_path / "k"), "-out", str(other), "-subj", "/CN=other", "-days", "1"],
                   check=True, capture_output=True)
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"token": cp.token}, ca=str(other))
    r = run_vmsync("check", kubeconfig=str(kc))
    assert r.rc == 2, r
    assert "TLS" in r.err and "verif" in r.err, r
    r = run_vmsync("--insecure-skip-tls-verify", "check", kubeconfig=str(kc))
    assert "warning" in r.err and "insecure" in r.err.lower(), r


def test_malformed_kubeconfig_names_the_file(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text("apiVersion: v1\nclusters: [\n")
    r = run_vmsync("check", kubeconfig=str(kc))
    assert r.rc == 2 and str(kc) in r.err and r.err.count("\n") == 1, r


# What check reads, granted per namespace by a Role (no cluster-wide list anywhere).
CHECK_ROLE_RULES = [
    {"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list"]},
    {"apiGroups": ["workloads.kubeblocks.io"], "resources": ["instancesets"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps.kubeblocks.io"], "resources": ["clusters"], "verbs": ["get", "list"]},
    {"apiGroups": ["operator.victoriametrics.com"], "resources": ["vmclusters"], "verbs": ["get", "list"]},
]


def apply_json(cp, doc):
    cp.kubectl("apply", "-f", "-", input=json.dumps(doc))


def test_all_namespaces_for_a_user_bound_to_one_namespace(cp, helm_ns, tmp_path):
    """-A by a ServiceAccount with a RoleBinding in one namespace: lists over all namespaces are forbidden, so
    vmsync reads namespace by namespace what it may, reports the rest as errors and exits 2 (as for -n on a
    forbidden namespace), never one cluster-wide 403 for everything."""
    other = cp.new_namespace("acc-other")
    cp.deploy("generic", other, "vm", storage=2, insert=1, select=1)
    sa = "vmsync-one-ns"
    cp.kubectl("-n", helm_ns, "create", "serviceaccount", sa)
    apply_json(cp, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": sa, "namespace": helm_ns}, "rules": CHECK_ROLE_RULES})
    cp.kubectl("-n", helm_ns, "create", "rolebinding", sa, f"--role={sa}", f"--serviceaccount={helm_ns}:{sa}")
    token = cp.kubectl("-n", helm_ns, "create", "token", sa).strip()
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"token": token}, ca=cp.ca, namespace=helm_ns)

    # 1. Not even namespaces may be listed: only the context's namespace is known. It is checked, and the report
    #    says that the others could not be seen.
    r = run_vmsync("check", "-A", "-o", "json", kubeconfig=str(kc))
    assert r.rc == 2, r
    rep = assert_valid_report(r.json())
    assert [(c["namespace"], c["name"], c["status"]) for c in rep["clusters"]] == [(helm_ns, "vm", "InSync")], rep
    (unseen,) = rep["errors"]  # the report's own error: it belongs to no cluster
    assert unseen.startswith(
        f'-A: listing all namespaces is forbidden too, so only namespace "{helm_ns}" (the context\'s) was checked'), rep
    assert "in all namespaces" not in r.err  # the cluster-wide 403 is answered by the fallback, not reported
    assert r.err.count("vmsync: error:") == 1, r.err

    # 2. With the right to list namespaces (a common small ClusterRole): every other namespace is tried and, being
    #    forbidden, named as an error; the allowed one is checked.
    cp.kubectl("create", "clusterrole", f"{sa}-{helm_ns}-ns", "--verb=list", "--resource=namespaces")
    cp.kubectl("create", "clusterrolebinding", f"{sa}-{helm_ns}-ns", f"--clusterrole={sa}-{helm_ns}-ns",
               f"--serviceaccount={helm_ns}:{sa}")
    r = run_vmsync("check", "-A", "-o", "json", kubeconfig=str(kc))
    assert r.rc == 2, r
    rep = assert_valid_report(r.json())
    assert [(c["namespace"], c["name"], c["status"]) for c in rep["clusters"]] == [(helm_ns, "vm", "InSync")], rep
    # Each forbidden namespace is one of the report's own errors, naming it.
    (denied,) = [e for e in rep["errors"] if f'namespace "{other}"' in e]
    assert "forbidden" in denied.lower(), denied
    assert [e for e in rep["errors"] if 'namespace "default"' in e] and [
        e for e in rep["errors"] if 'namespace "kube-system"' in e], rep
    assert not [e for e in rep["errors"] if e.startswith("-A:")], rep  # nothing unseen this time
    assert f"vmsync: error: {other}/: " not in r.err and f"{other}" in r.err, r.err
    assert token not in r.err + r.out

    # 3. A second RoleBinding, in the other namespace: both are checked.
    apply_json(cp, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": sa, "namespace": other}, "rules": CHECK_ROLE_RULES})
    cp.kubectl("-n", other, "create", "rolebinding", sa, f"--role={sa}", f"--serviceaccount={helm_ns}:{sa}")
    r = run_vmsync("check", "-A", "-o", "json", kubeconfig=str(kc))
    rep = assert_valid_report(r.json())
    ok = sorted((c["namespace"], c["name"], c["status"]) for c in rep["clusters"])
    assert ok == sorted([(helm_ns, "vm", "InSync"), (other, "vm-vmstorage", "InSync")]), rep
    assert r.rc == 2, r  # the namespaces still forbidden (default, kube-system, ...) are errors

    # The table for people: the checked clusters, then one error line per forbidden namespace.
    r = run_vmsync("check", "-A", kubeconfig=str(kc))
    assert r.rc == 2, r
    assert f"{helm_ns}/vm" in r.out and f"{other}/vm-vmstorage" in r.out, r


def test_requests_do_not_grow_with_generic_clusters(cp_bare, tmp_path):
    """-A over more generic clusters than vmsync reads ConfigMaps for by name: their pods are one list over all
    namespaces and their ConfigMaps (two per cluster) one list of all ConfigMaps, so the requests do not grow with
    the clusters, and the report is the one `-n` gives namespace by namespace (which reads them by name). A user
    who may list ConfigMaps only in those namespaces (RoleBindings; the rest cluster-wide) gets the same report:
    the forbidden list over all namespaces is replaced by the reads by name, and is not an error."""
    cp = cp_bare
    nss = [cp.new_namespace("few") for _ in range(5)]
    for ns in nss:
        cp.deploy("generic", ns, "vm", storage=1, insert=1, select=1)
    cp.drift("generic", nss[0], "vm", 2, extra=("--update-configmap",))

    def pods(r):
        return sorted((c["namespace"], c["name"], con["role"], p["name"], p["status"], tuple(p.get("missing", [])))
                      for c in r.json()["clusters"] if c["namespace"] in nss
                      for con in c["consumers"] for p in con["pods"])

    def errors(r):
        return [e for c in r.json()["clusters"] if c["namespace"] in nss for e in c["errors"]]

    def gets(r):
        return [line.split()[1] for line in r.err.splitlines() if line.startswith("GET ")]

    one_by_one = []
    for ns in nss:
        r = cp.vmsync("-vvvvvv", "check", "-n", ns, "-o", "json")
        assert r.rc in (0, 1) and not errors(r), r
        assert [u for u in gets(r) if "fieldSelector=metadata.name" in u], r.err  # two ConfigMaps: by name
        one_by_one += pods(r)
    one_by_one.sort()
    assert len({p[:2] for p in one_by_one}) == 5 and len(one_by_one) == 10, one_by_one
    assert {p[4] for p in one_by_one if p[0] == nss[0]} == {"Stale"}, one_by_one  # the ConfigMap changed after

    r = cp.vmsync("-vvvvvv", "check", "-A", "-o", "json")
    assert r.rc in (1, 2) and not errors(r), r  # other tests' clusters share this plane
    assert [u for u in gets(r) if "/namespaces/" in u] == [], r.err
    assert len([u for u in gets(r) if "/api/v1/configmaps?" in u]) >= 1
    assert pods(r) == one_by_one

    sa = "vmsync-cm-by-ns"
    cp.kubectl("-n", nss[0], "create", "serviceaccount", sa)
    no_cm = [dict(rule, resources=[x for x in rule["resources"] if x != "configmaps"]) for rule in CHECK_ROLE_RULES]
    apply_json(cp, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": sa}, "rules": no_cm})
    cp.kubectl("create", "clusterrolebinding", sa, f"--clusterrole={sa}", f"--serviceaccount={nss[0]}:{sa}")
    for ns in nss:
        cp.kubectl("-n", ns, "create", "role", sa, "--verb=list", "--resource=configmaps")
        cp.kubectl("-n", ns, "create", "rolebinding", sa, f"--role={sa}", f"--serviceaccount={nss[0]}:{sa}")
    token = cp.kubectl("-n", nss[0], "create", "token", sa).strip()
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"token": token}, ca=cp.ca, namespace=nss[0])
    r = run_vmsync("-vvvvvv", "check", "-A", "-o", "json", kubeconfig=str(kc))
    assert r.rc in (1, 2) and not errors(r), r
    assert [line for line in r.err.splitlines() if line.startswith("GET ") and "/api/v1/configmaps?" in line
            and " 403 " in line], r.err
    assert [u for u in gets(r) if "fieldSelector=metadata.name" in u and f"/namespaces/{nss[1]}/" in u], r.err
    assert pods(r) == one_by_one


def test_impersonation_runs_as_the_service_account(cp, helm_ns, tmp_path):
    """--as (kubectl's Impersonate-User header): an admin runs check as the ServiceAccount deploy/ would create,
    before installing it, and sees exactly what that account may see; an account without the impersonate
    permission is refused by the API server."""
    sa = "vmsync-as"
    cp.kubectl("-n", helm_ns, "create", "serviceaccount", sa)
    apply_json(cp, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": sa, "namespace": helm_ns}, "rules": CHECK_ROLE_RULES})
    cp.kubectl("-n", helm_ns, "create", "rolebinding", sa, f"--role={sa}", f"--serviceaccount={helm_ns}:{sa}")
    user = f"system:serviceaccount:{helm_ns}:{sa}"

    # Allowed in its namespace: the same report as the admin's.
    admin = run_vmsync("check", "-n", helm_ns, "-o", "json", kubeconfig=cp.kubeconfig)
    r = run_vmsync("check", "-n", helm_ns, "-o", "json", "--as", user, kubeconfig=cp.kubeconfig)
    assert r.rc == admin.rc and r.rc in (0, 1), r
    assert r.json()["clusters"] == admin.json()["clusters"]
    # kubectl's other connection flags are accepted alongside.
    r = run_vmsync("--as", user, "--disable-compression", "--cache-dir", str(tmp_path / "cache"), "check", "-n",
                   helm_ns, "-o", "json", kubeconfig=cp.kubeconfig)
    assert r.rc == admin.rc and r.json()["clusters"] == admin.json()["clusters"], r
    assert not (tmp_path / "cache").exists()

    # Elsewhere the impersonated account is forbidden, and the error names it.
    r = run_vmsync("check", "-n", "kube-system", "--as", user, "--as-group", "system:serviceaccounts",
                   kubeconfig=cp.kubeconfig)
    assert r.rc == 2, r
    assert "forbidden" in r.err and f'User "{user}"' in r.err, r.err

    # An account that may not impersonate is refused by the server.
    cp.kubectl("-n", helm_ns, "create", "serviceaccount", "no-impersonate")
    token = cp.kubectl("-n", helm_ns, "create", "token", "no-impersonate").strip()
    kc = write_kubeconfig(tmp_path / "kc", server_of(cp), {"token": token}, ca=cp.ca, namespace=helm_ns)
    r = run_vmsync("check", "--as", user, kubeconfig=str(kc))
    assert r.rc == 2 and "impersonate" in r.err, r
    assert token not in r.err + r.out

    # Groups or a uid without a user: refused before any request, as kubectl does.
    r = run_vmsync("check", "--as-group", "system:masters", kubeconfig=cp.kubeconfig)
    assert r.rc == 2 and r.err == ("vmsync: error: impersonating groups or a uid needs a user to impersonate: give "
                                   "--as too (or `as` in the kubeconfig user)\n"), r
