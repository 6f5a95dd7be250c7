"""Secret hygiene and trust: every command at the highest verbosity with a known token, client key and
exec-plugin output, none of which may appear in stdout, stderr, reports or Kubernetes Events; exec plugins run
without a shell, with our environment plus exec.env plus KUBERNETES_EXEC_INFO, and -v says when a kubeconfig
makes vmsync run a command.
"""
import base64
import json
import os
import stat
import subprocess
import tempfile
import textwrap

import pytest

from conftest import run_vmsync
from test_faults import cp, plane  # noqa: F401 (the fixture, reusing VMSYNC_TEST_CP_DIR when set)

VERBOSE = "-vvvvvvvv"  # the highest verbosity: every request, with headers
WRONG_TOKEN = "wrong-token-7f3c9a1e5b2d4c6e8a0b"
WRONG_PASSWORD = "wrong-password-0d9e8f7a6b5c"


def pem_body(pem):
    """The base64 lines of a PEM block: what a leak of the key would contain, whatever its framing."""
    return [l for l in pem.splitlines() if l and not l.startswith("-----") and len(l) >= 16]


def subcommands():
    r = run_vmsync("--help")
    return {name for name in ("check", "fix", "version") if f"\n  {name} " in r.out or f"\n  {name}\n" in r.out}


class Secrets:
    def __init__(self, cp):
        self.cp = cp
        self.dir = tempfile.mkdtemp(prefix="vmsync-secrets-")
        self.token = cp.token
        with open(os.path.join(cp.dir, "admin.key")) as f:
            self.key_pem = f.read()
        with open(os.path.join(cp.dir, "admin.crt")) as f:
            self.cert_pem = f.read()
        self.plugin_log = os.path.join(self.dir, "plugin.log")
        self.pwned = os.path.join(self.dir, "pwned")

    def values(self):
        """Every string that must never be printed."""
        out = [self.token, WRONG_TOKEN, WRONG_PASSWORD, base64.b64encode(self.key_pem.encode()).decode()[:40]]
        out += pem_body(self.key_pem)
        out += [json.dumps(self.exec_output("token"))[:60], json.dumps(self.exec_output("cert"))[:60]]
        return out

    def exec_output(self, kind):
        status = {"token": self.token} if kind == "token" else \
            {"clientCertificateData": self.cert_pem, "clientKeyData": self.key_pem}
        return {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                "status": {**status, "expirationTimestamp": "2099-01-01T00:00:00Z"}}

    def plugin(self, kind):
        """An exec plugin that records its argv and environment, then prints an ExecCredential."""
        path = os.path.join(self.dir, f"plugin-{kind}")
        with open(path, "w") as f:
            f.write(textwrap.dedent(f"""\
                #!/usr/bin/env python3
                import json, os, sys
                with open({self.plugin_log!r}, "a") as log:
                    log.write(json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ)}}) + "\\n")
                print(json.dumps({json.dumps(self.exec_output(kind))}))
                """))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def kubeconfig(self, name, user, ca=True):
        with open(os.path.join(self.cp.dir, "ready")) as f:
            server = json.load(f)["server"]
        cluster = {"server": server}
        if ca:
            cluster["certificate-authority"] = self.cp.ca
        doc = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
               "clusters": [{"name": "c", "cluster": cluster}],
               "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
               "users": [{"name": "u", "user": user}]}
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(doc, f)  # JSON is YAML
        return path

    def exec_user(self, kind, args=(), env=()):
        return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": self.plugin(kind),
                         "args": list(args), "env": [{"name": k, "value": v} for k, v in env],
                         "interactiveMode": "Never", "provideClusterInfo": True}}

    def assert_clean(self, r, what):
        for s in self.values():
            assert s not in r.out, f"{what}: a secret is in stdout\n{r}"
            assert s not in r.err, f"{what}: a secret is in stderr\n{r}"


@pytest.fixture(scope="module")
def secrets(cp):
    return Secrets(cp)


@pytest.fixture(scope="module")
def cluster_ns(cp):
    ns = cp.new_namespace("sec")
    cp.deploy("generic", ns, "vm", storage=2, insert=1, select=1)
    cp.drift("generic", ns, "vm", 3, extra=("--update-configmap",))
    return ns


def command_lines(ns):
    """Every command, in every output format, at the highest verbosity."""
    lines = [["version", VERBOSE]]
    for o in ("table", "wide", "json", "yaml", "junit", "prometheus", "sarif"):
        lines.append(["check", "-n", ns, "-o", o, VERBOSE])
    lines += [["check", "-A", "-o", "json", VERBOSE], ["check", "-n", ns, "no-such-cluster", VERBOSE]]
    if "fix" in subcommands():
        # --dry-run=server: every request is sent (dryRun=All), so every request is logged too.
        lines += [["fix", "-n", ns, "--dry-run=server", VERBOSE],
                  ["fix", "-n", ns, "-o", "json", "--dry-run=server", VERBOSE]]
    return lines


@pytest.mark.parametrize("auth", ["token", "token-flag", "cert-files", "cert-data", "exec-token", "exec-cert"])
def test_no_secret_in_any_output(cp, secrets, cluster_ns, auth):
    s = secrets
    extra = []
    if auth == "token":
        kc = s.kubeconfig("kc-token", {"token": s.token})
    elif auth == "token-flag":
        kc = s.kubeconfig("kc-flag", {})
        extra = ["--token", s.token]
    elif auth == "cert-files":
        kc = s.kubeconfig("kc-cert", {"client-certificate": os.path.join(cp.dir, "admin.crt"),
                                      "client-key": os.path.join(cp.dir, "admin.key")})
    elif auth == "cert-data":
        kc = s.kubeconfig("kc-cert-data", {
            "client-certificate-data": base64.b64encode(s.cert_pem.encode()).decode(),
            "client-key-data": base64.b64encode(s.key_pem.encode()).decode()})
    else:
        kc = s.kubeconfig(f"kc-{auth}", s.exec_user(auth.split("-")[1]))
    for args in command_lines(cluster_ns):
        r = run_vmsync(*extra, *args, kubeconfig=kc)
        assert r.rc in (0, 1, 2), r
        if args[0] == "check" and "-A" in args:
            # Every namespace: the control plane is shared with other tests, whose deliberately broken clusters
            # make the exit code 2. That the credentials work shows in our cluster's entry: read, and not in
            # sync. Unknown is as good as Drift here: when a pod started in the same second as its ConfigMap
            # changed, vmsync rightly cannot tell which list it runs with (a race of the fixture).
            ours = [c for c in r.json()["clusters"] if c["namespace"] == cluster_ns]
            assert len(ours) == 1 and ours[0]["status"] in ("Drift", "Unknown"), r
        elif args[0] == "check" and "no-such-cluster" not in args:
            assert r.rc == 1, r  # the credentials work: the drift (or, by the race above, Unknown) is seen
        s.assert_clean(r, f"{auth}: vmsync {' '.join(args)}")


@pytest.mark.parametrize("auth", ["bad-token", "bad-basic", "bad-exec"])
def test_rejected_credentials_are_not_quoted(cp, secrets, cluster_ns, auth):
    s = secrets
    if auth == "bad-token":
        kc = s.kubeconfig("kc-bad-token", {"token": WRONG_TOKEN})
    elif auth == "bad-basic":
        kc = s.kubeconfig("kc-bad-basic", {"username": "admin", "password": WRONG_PASSWORD})
    else:
        # The plugin answers, but in the wrong apiVersion: the error names the plugin, never its output.
        user = s.exec_user("token")
        user["exec"]["apiVersion"] = "client.authentication.k8s.io/v1beta1"
        kc = s.kubeconfig("kc-bad-exec", user)
    r = run_vmsync("check", "-n", cluster_ns, VERBOSE, kubeconfig=kc)
    assert r.rc == 2, r
    s.assert_clean(r, auth)
    errors = [l for l in r.err.splitlines() if l.startswith("vmsync: error:")]
    assert errors, r
    if auth != "bad-exec":
        assert "credentials rejected" in errors[-1], r
    else:
        assert 'exec credential plugin "' in errors[-1] and "apiVersion" in errors[-1], r


def test_no_secret_in_events(cp, secrets, cluster_ns):
    """After every command above (fix included, when it exists) nothing vmsync wrote as an Event holds a secret."""
    kc = secrets.kubeconfig("kc-events", {"token": secrets.token})
    if "fix" in subcommands():
        r = run_vmsync("fix", "-n", cluster_ns, VERBOSE, "--yes", kubeconfig=kc)
        secrets.assert_clean(r, "fix")
    events = cp.kubectl("get", "events", "-A", "-o", "json")
    for s in secrets.values():
        assert s not in events


def test_exec_plugin_runs_without_a_shell_with_kubectls_environment(cp, secrets, cluster_ns):
    s = secrets
    hostile = [f"; touch {s.pwned}", f"$(touch {s.pwned})", f"`touch {s.pwned}`", "a b", "*", "$HOME", "'\""]
    kc = s.kubeconfig("kc-exec-env", s.exec_user("token", args=hostile, env=[("FROM_EXEC_ENV", "yes"),
                                                                             ("OVERRIDDEN", "by-exec-env")]))
    if os.path.exists(s.plugin_log):
        os.remove(s.plugin_log)
    r = run_vmsync("check", "-n", cluster_ns, "-v", kubeconfig=kc, env={"FROM_PARENT": "1", "OVERRIDDEN": "parent"})
    assert r.rc in (0, 1), r
    assert not os.path.exists(s.pwned), "a shell interpreted the plugin's arguments"
    with open(s.plugin_log) as f:
        runs = [json.loads(l) for l in f]
    assert len(runs) == 1, "the credential is cached until it expires"
    assert runs[0]["argv"] == hostile, "arguments arrive exactly as written"
    env = runs[0]["env"]
    assert env["FROM_PARENT"] == "1" and env["FROM_EXEC_ENV"] == "yes" and env["OVERRIDDEN"] == "by-exec-env"
    info = json.loads(env["KUBERNETES_EXEC_INFO"])
    assert info["apiVersion"] == "client.authentication.k8s.io/v1" and info["kind"] == "ExecCredential"
    assert info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"].startswith("https://127.0.0.1:")
    # -v says that the kubeconfig made vmsync run a command, and which.
    assert f'running exec credential plugin "{s.plugin("token")}" from kubeconfig' in r.err, r
    s.assert_clean(r, "exec -v")


def test_exec_plugin_missing_shows_install_hint(cp, secrets, cluster_ns):
    user = secrets.exec_user("token")
    user["exec"]["command"] = "vmsync-test-no-such-plugin"
    user["exec"]["installHint"] = "install it with: apt-get install no-such-plugin"
    kc = secrets.kubeconfig("kc-exec-missing", user)
    r = run_vmsync("check", "-n", cluster_ns, kubeconfig=kc)
    assert r.rc == 2, r
    assert r.err.strip().splitlines()[-1] == (
        'vmsync: error: exec credential plugin "vmsync-test-no-such-plugin" (user "u"): command not found; '
        'install it with: apt-get install no-such-plugin'), r


def test_no_command_runs_without_exec_and_none_is_announced(cp, secrets, cluster_ns):
    kc = secrets.kubeconfig("kc-plain", {"token": secrets.token})
    r = run_vmsync("check", "-n", cluster_ns, "-v", kubeconfig=kc)
    assert r.rc in (0, 1), r
    assert "exec credential plugin" not in r.err


def test_insecure_skip_tls_verify_in_kubeconfig_is_warned(cp, secrets, cluster_ns):
    kc = secrets.kubeconfig("kc-insecure", {"token": secrets.token}, ca=False)
    r = run_vmsync("check", "-n", cluster_ns, kubeconfig=kc)
    assert r.rc == 2 and "TLS verification of" in r.err, "TLS is verified by default\n" + repr(r)
    with open(kc) as f:
        doc = json.load(f)
    doc["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    with open(kc, "w") as f:
        json.dump(doc, f)
    r = run_vmsync("check", "-n", cluster_ns, kubeconfig=kc)
    assert r.rc in (0, 1), r
    assert r.err.startswith("vmsync: warning: TLS verification of https://127.0.0.1:"), r
    assert "is disabled (insecure-skip-tls-verify)" in r.err
