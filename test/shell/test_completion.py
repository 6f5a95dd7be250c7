"""Shell completion, end to end: the scripts in completions/ loaded by bash (with bash-completion), zsh and fish
as installed ones are, a Tab pressed, and the candidates each shell would offer compared with what they must be.
Contexts come from a kubeconfig written here; its server is unreachable, so this also proves that completion
stays quick and silent when the API is not there. (Namespaces and cluster names from a live API server:
test/integration/test_ship_completion.py.)
"""
import os
import subprocess
import tempfile
import time

import pytest

import shells

SHELLS = ["bash", "zsh", "fish"]
FORMATS = ["json", "junit", "prometheus", "sarif", "table", "wide", "yaml"]
CONTEXTS = ["arn:aws:eks:eu-west-1:123456789012:cluster/prod", "dev", "staging"]

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: unreachable
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: dev
  context: {cluster: unreachable, user: u, namespace: team-a}
- name: staging
  context: {cluster: unreachable, user: u}
- name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
  context: {cluster: unreachable, user: u}
users:
- name: u
  user: {token: not-a-real-token}
"""


@pytest.fixture(scope="module")
def env():
    tmp = tempfile.mkdtemp(prefix="vmsync-completion-")
    bindir = shells.layout(tmp)
    kubeconfig = os.path.join(tmp, "kubeconfig")
    with open(kubeconfig, "w") as f:
        f.write(KUBECONFIG)
    os.makedirs(os.path.join(tmp, "files", "sub"))
    open(os.path.join(tmp, "files", "kubeconfig-a.yaml"), "w").close()
    return {"tmp": tmp, "bindir": bindir, "kubeconfig": kubeconfig,
            "env": shells.base_env(tmp, bindir)}


@pytest.fixture(scope="module", params=SHELLS)
def shell(request, env):
    s = shells.open_shell(request.param, env["env"], env["tmp"])
    s.kind = request.param
    yield s
    s.close()


def offered(shell, line):
    return shells.normalized(shell.kind, line, shell.complete(line))


# --- the protocol itself ----------------------------------------------------------------------------------------

def complete_raw(env, *words):
    r = subprocess.run([shells.VMSYNC, "__complete", *words], capture_output=True, text=True, env=env["env"],
                       timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return r.stdout


def test_protocol_one_candidate_with_description(env):
    assert complete_raw(env, "check", "--out") == (
        "--output\tOutput format: table, wide, json, yaml, junit (CI test results), prometheus (metrics) or sarif\n"
        ":nofiles\n")


def test_protocol_value_of_file_option_asks_for_files(env):
    assert complete_raw(env, "--kubeconfig", "") == ":files\n"


def test_protocol_hidden_commands_are_not_offered(env):
    out = complete_raw(env, "")
    names = [l.split("\t")[0] for l in out.splitlines()]
    assert {"check", "version"} <= set(names) and names[-1] == ":nofiles"
    assert not any(n.startswith("__") for n in names)


def test_protocol_flags_take_no_value(env):
    # After a flag comes the next word of the command, not the flag's value.
    assert complete_raw(env, "check", "-A", "--su") == (
        "--summary\tOne row per vminsert/vmselect workload instead of one per pod\n:nofiles\n")
    assert complete_raw(env, "check", "--all-namespaces", "-q", "") == ":nofiles\n"
    assert complete_raw(env, "--insecure-skip-tls-verify", "ch") == (
        "check\tReport, per vminsert/vmselect pod, drift of its vmstorage list\n:nofiles\n")


def test_protocol_optional_flag_value_after_equals(env):
    # --dry-run[=none|client|server]: its values only after '=', as kubectl takes them.
    assert complete_raw(env, "fix", "--dry-run=") == (
        "--dry-run=none\n--dry-run=client\n--dry-run=server\n:nofiles\n")
    assert complete_raw(env, "fix", "--dry-run=s") == "--dry-run=server\n:nofiles\n"


def test_protocol_contexts_from_KUBECONFIG_variable(env):
    e = dict(env["env"], KUBECONFIG=env["kubeconfig"])
    r = subprocess.run([shells.VMSYNC, "__complete", "--context", "s"], capture_output=True, text=True, env=e,
                       timeout=30)
    assert r.stdout == "staging\n:nofiles\n"


def test_protocol_unreachable_api_is_quick_and_silent(env):
    start = time.time()
    out = complete_raw(env, "--kubeconfig", env["kubeconfig"], "check", "-n", "")
    # The context's namespace comes from the kubeconfig even when the API cannot be reached.
    assert out == "team-a\n:nofiles\n"
    assert time.time() - start < 5


# --- each shell ------------------------------------------------------------------------------------------------

def test_subcommand(shell):
    assert offered(shell, "vmsync ch") == ["check"]


def test_subcommands_listed(shell):
    got = offered(shell, "vmsync ")
    assert "check" in got and "version" in got
    assert not [c for c in got if c.startswith("__")]


def test_long_option(shell):
    assert offered(shell, "vmsync check --out") == ["--output"]


def test_options_include_global_ones(shell):
    got = offered(shell, "vmsync check --")
    for opt in ("--all-namespaces", "--output", "--exit-zero", "--pushgateway", "--context", "--namespace",
                "--kubeconfig", "--help"):
        assert opt in got, (opt, got)


def test_output_formats(shell):
    assert offered(shell, "vmsync check -o ") == FORMATS


def test_output_formats_after_equals(shell):
    assert offered(shell, "vmsync check --output=j") == ["--output=json", "--output=junit"]


def test_color_choices(shell):
    assert offered(shell, "vmsync --color ") == ["always", "auto", "never"]


def test_contexts_from_kubeconfig(shell, env):
    assert offered(shell, f"vmsync --kubeconfig {env['kubeconfig']} --context ") == CONTEXTS


def test_context_with_colons(shell, env):
    assert offered(shell, f"vmsync --kubeconfig {env['kubeconfig']} check --context arn:aws:") == [CONTEXTS[0]]


def test_kubeconfig_value_completes_files(shell, env):
    base = os.path.join(env["tmp"], "files")
    line = f"vmsync --kubeconfig {base}/kube"
    if shell.kind == "zsh":
        # _files hands compadd one path component at a time (the folder part goes in -W/-p).
        assert "kubeconfig-a.yaml" in shell.complete(line)
    else:
        assert offered(shell, line) == [f"{base}/kubeconfig-a.yaml"]


def test_namespace_falls_back_to_kubeconfig_when_api_unreachable(shell, env):
    start = time.time()
    assert offered(shell, f"vmsync --kubeconfig {env['kubeconfig']} check -n ") == ["team-a"]
    assert time.time() - start < 8
