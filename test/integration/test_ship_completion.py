"""Completion of namespaces and VictoriaMetrics cluster names from a live API server, in bash, zsh and fish.
(Everything that needs no cluster: test/shell/test_completion.py, which this reuses.)"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "shell"))
import shells  # noqa: E402


@pytest.fixture(scope="module")
def world(cp):
    ns_a = cp.new_namespace("compa")
    ns_b = cp.new_namespace("compb")
    cp.deploy("helm", ns_a, "vm", storage=1, insert=1, select=1)
    cp.deploy("generic", ns_a, "gen", storage=1, insert=1, select=1)
    cp.deploy("operator", ns_b, "metrics", storage=1, insert=1, select=1)
    tmp = tempfile.mkdtemp(prefix="vmsync-completion-live-")
    bindir = shells.layout(tmp)
    yield {"tmp": tmp, "env": shells.base_env(tmp, bindir, {"KUBECONFIG": cp.kubeconfig}), "a": ns_a, "b": ns_b}
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module", params=["bash", "zsh", "fish"])
def shell(request, world):
    s = shells.open_shell(request.param, world["env"], world["tmp"])
    s.kind = request.param
    yield s
    s.close()


def offered(shell, line):
    return shells.normalized(shell.kind, line, shell.complete(line))


def test_namespaces_from_the_api(shell, world):
    got = offered(shell, "vmsync check -n ")
    for ns in (world["a"], world["b"], "default", "kube-system"):
        assert ns in got, (ns, got)


def test_namespace_prefix(shell, world):
    assert offered(shell, "vmsync check --namespace compb") == [world["b"]]


def test_cluster_names_in_a_namespace(shell, world):
    assert offered(shell, f"vmsync check -n {world['a']} ") == ["gen-vmstorage", "vm"]


def test_cluster_names_in_every_namespace(shell, world):
    got = offered(shell, "vmsync check -A ")
    assert {"gen-vmstorage", "vm", "metrics"} <= set(got), got


def test_cluster_names_follow_the_namespace_flag_in_any_form(shell, world):
    assert offered(shell, f"vmsync --namespace={world['b']} check ") == ["metrics"]
    assert offered(shell, f"vmsync check --namespace={world['b']} m") == ["metrics"]


def test_completion_is_quick(world):
    start = time.time()
    r = subprocess.run([shells.VMSYNC, "__complete", "check", "-A", ""], capture_output=True, text=True,
                       env=world["env"], timeout=30)
    assert r.returncode == 0 and r.stderr == ""
    assert time.time() - start < 3
