"""vmsync as a kubectl plugin, with the real kubectl: kubectl-vmsync and kubectl_complete-vmsync laid out as
`cmake --install` lays them out (a link kubectl-vmsync -> vmsync and the completion script, in one bin folder on
PATH), driven through the kubectl built into kcp (k8s.io/kubectl's NewDefaultKubectlCommand of the control plane's
Kubernetes release, the code of every kubectl binary): `kubectl plugin list`, `kubectl vmsync ...` against the
control plane, its usage lines and errors, and completion through `kubectl __complete vmsync ...`.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import KCP, ROOT, VMSYNC


@pytest.fixture(scope="module")
def plugin(cp):
    tmp = tempfile.mkdtemp(prefix="vmsync-plugin-")
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    os.symlink(VMSYNC, os.path.join(bindir, "kubectl-vmsync"))
    shutil.copy(os.path.join(ROOT, "completions", "kubectl_complete-vmsync"), bindir)
    # kubectl is kcp's, under the name kubectl (kubectl plugin list looks for plugins as it does for kubectl).
    with open(os.path.join(bindir, "kubectl"), "w") as f:
        f.write(f'#!/bin/sh\nexec "{KCP}" kubectl "$@"\n')
    os.chmod(os.path.join(bindir, "kubectl"), 0o755)
    ns = cp.new_namespace("plugin")
    cp.deploy("helm", ns, "vm", storage=1, insert=1, select=1)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": tmp, "KUBECONFIG": cp.kubeconfig, "LANG": "C.UTF-8"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    yield {"bin": bindir, "env": env, "ns": ns}
    shutil.rmtree(tmp, ignore_errors=True)


def kubectl(plugin, *args):
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=plugin["env"], timeout=120)


def test_plugin_list_finds_it(plugin):
    r = kubectl(plugin, "plugin", "list")
    assert r.returncode == 0, r.stderr
    assert os.path.join(plugin["bin"], "kubectl-vmsync") in r.stdout.splitlines()
    assert "kubectl_complete" not in r.stdout  # not a plugin: kubectl's completion helper


def test_version_through_kubectl(plugin):
    r = kubectl(plugin, "vmsync", "version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == subprocess.run([VMSYNC, "version"], capture_output=True, text=True, check=True).stdout


def test_check_through_kubectl(plugin):
    r = kubectl(plugin, "vmsync", "check", "-n", plugin["ns"], "--no-headers")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{plugin['ns']}/vm ")


def test_usage_and_errors_say_kubectl_vmsync(plugin):
    r = kubectl(plugin, "vmsync", "check", "--no-such-flag")
    assert r.returncode == 2
    assert r.stderr.startswith("kubectl vmsync: error: ")
    assert r.stderr.rstrip().endswith("Run 'kubectl vmsync --help' for usage.")
    assert "vmsync: error" not in r.stderr.replace("kubectl vmsync: error", "")
    r = kubectl(plugin, "vmsync", "check", "nosuch", "-n", plugin["ns"])
    assert r.returncode == 2
    assert r.stderr.startswith("kubectl vmsync: error: ") and "nosuch" in r.stderr, r.stderr
    r = kubectl(plugin, "vmsync", "check", "--help")
    assert r.returncode == 0
    assert "kubectl vmsync check" in r.stdout.split("\n\n")[0] + r.stdout, r.stdout
    # Run as vmsync, the same binary says vmsync.
    r = subprocess.run([VMSYNC, "check", "--no-such-flag"], capture_output=True, text=True)
    assert r.stderr.startswith("vmsync: error: ") and "Run 'vmsync --help'" in r.stderr


def complete(plugin, *words):
    r = kubectl(plugin, "__complete", "vmsync", *words)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    return [line.split("\t")[0] for line in lines[:-1]], lines[-1]


def test_completion_through_kubectl(plugin):
    values, directive = complete(plugin, "")
    assert {"check", "fix", "version"} <= set(values) and "__complete" not in values
    assert directive == ":4"  # cobra's ShellCompDirectiveNoFileComp: no file names among commands
    values, directive = complete(plugin, "check", "--out")
    assert values == ["--output"] and directive == ":4"
    values, _ = complete(plugin, "check", "-o", "")
    assert {"table", "wide", "json", "yaml"} <= set(values)
    values, directive = complete(plugin, "check", "-f", "")
    assert values == [] and directive == ":0"  # file names: ShellCompDirectiveDefault
    # From the live control plane, through KUBECONFIG as kubectl passes its environment on.
    values, _ = complete(plugin, "check", "-n", plugin["ns"][:-1])
    assert plugin["ns"] in values
