"""The command line as a kubectl user meets it, through the built binary and with no cluster: help, `help`,
did-you-mean, kubectl's spellings (`-n=x`, one value per `-f`, `-R`), and errors in our words, never CLI11's.
Checks that need a cluster read rendered manifests (`check -f`); the live ones are in test/integration.
"""
import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import termios

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VMSYNC = os.environ.get("VMSYNC_BIN", os.path.join(ROOT, "build", "vmsync"))
HELM = os.path.join(ROOT, "test", "data", "manifests", "helm-scaled.yaml")
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8", "NO_COLOR": "1"}
USAGE = "Run 'vmsync --help' for usage.\n"
COMMANDS = ["version", "check", "fix", "help"]


def vmsync(*args, input=None):
    return subprocess.run([VMSYNC, *args], capture_output=True, text=True, env=ENV, timeout=30, input=input)


def error(r):
    """The one error line, after checking that it is the only output and the exit is 2."""
    assert r.returncode == 2 and r.stdout == "", r
    return r.stderr.splitlines()[0]


# --- help ------------------------------------------------------------------------------------------------------

def test_plain_vmsync_prints_the_help_and_exits_2():
    r = vmsync()
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr == vmsync("--help").stdout
    assert "Usage: vmsync [flags] COMMAND" in r.stderr


def test_help_flag_exits_0():
    r = vmsync("--help")
    assert r.returncode == 0 and r.stderr == "", r
    for c in COMMANDS:
        assert re.search(rf"^  {c} ", r.stdout, re.M), c


@pytest.mark.parametrize("command", ["check", "fix", "version"])
def test_help_command_is_the_commands_help(command):
    r = vmsync("help", command)
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout == vmsync(command, "--help").stdout
    assert r.stdout.startswith(vmsync(command, "-h").stdout[:40])
    assert vmsync("help").stdout == vmsync("--help").stdout


def test_help_of_an_unknown_command_suggests_one():
    assert error(vmsync("help", "chek")) == 'vmsync: error: unknown command "chek" for "vmsync help" (did you mean check?)'


@pytest.mark.parametrize("command", ["check", "fix"])
def test_command_help_has_examples_and_points_to_global_flags(command):
    out = vmsync(command, "--help").stdout
    examples = out.split("\nExamples:\n", 1)[1]
    assert re.search(rf"^  vmsync {command}\b", examples, re.M), out
    assert "Global flags (cluster access as in kubectl, -v, --color) are listed by `vmsync\n--help`" in out


@pytest.mark.parametrize("command", [[], ["check"], ["fix"], ["version"], ["help"]])
def test_help_shows_no_cli11_internals(command):
    out = vmsync(*command, "--help").stdout
    for internal in ("TEXT", "ENUM", "INT", "NONNEGATIVE", "{", "}", "->", " OR "):
        assert internal not in out, (internal, out)


def test_durations_are_typed_duration():
    for command, flags in ((["check"], ["--timeout"]), (["fix"], ["--timeout", "--lock-wait"]),
                           ([], ["--request-timeout"])):
        out = vmsync(*command, "--help").stdout
        for f in flags:
            assert re.search(rf"^  {f} DURATION ", out, re.M), (f, out)


def test_choices_read_as_kubectl_writes_them():
    assert re.search(r"^  --color auto\|always\|never ", vmsync("--help").stdout, re.M)
    assert re.search(r"^  -o,--output table\|wide\|json\|yaml\|junit\|prometheus\|sarif$",
                     vmsync("check", "--help").stdout, re.M)


@pytest.mark.parametrize("command", [[], ["check"], ["fix"]])
def test_help_wraps_at_80_columns_without_a_terminal(command):
    out = vmsync(*command, "--help").stdout
    # Only a single word too long for any line (the --relation syntax) may pass the width.
    long = [line for line in out.splitlines() if len(line) > 80 and " " in line.strip()]
    assert long == [], long


def test_help_wraps_at_the_terminals_width():
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    p = subprocess.run([VMSYNC, "check", "--help"], stdout=child, stderr=subprocess.PIPE, env=ENV, timeout=30)
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    lines = out.decode().replace("\r\n", "\n").splitlines()
    assert p.returncode == 0
    assert max(len(line) for line in lines if " " in line.strip()) > 80
    assert [line for line in lines if len(line) > 120 and " " in line.strip()] == []


# --- mistakes, in our words ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,line", [
    (["chek"], 'unknown command "chek" for "vmsync" (did you mean check?)'),
    (["deploy"], 'unknown command "deploy" for "vmsync"'),
    (["check", "--colr", "never"], "unknown flag: --colr (did you mean --color?)"),
    (["check", "--namspace=x"], "unknown flag: --namspace=x (did you mean --namespace?)"),
    (["fix", "--dryrun"], "unknown flag: --dryrun (did you mean --dry-run?)"),
    (["-o", "json", "check"], '-o is a flag of "vmsync check": give it after the command'),
    (["version", "extra"], '"vmsync version" takes no arguments, got "extra"'),
    (["check", "-o", "bogus"], '--output "bogus" is not one of table, wide, json, yaml, junit, prometheus, sarif'),
    (["fix", "-o", "table"], '--output "table" is not one of text, json'),
    (["check", "--color", "1"], '--color "1" is not one of auto, always, never'),
    (["check", "--chunk-size", "-1"], '--chunk-size "-1" is not a whole number >= 0'),
    (["check", "--chunk-size", "lots"], '--chunk-size "lots" is not a whole number >= 0'),
    (["check", "json", "-o"], "flag needs an argument: --output"),
    (["fix", "--dry-run=bogus"], '--dry-run "bogus" is not one of none, client, server'),
    (["fix", "--restart", "now"], '--restart "now" is not one of auto, delete-pods, opsrequest'),
])
def test_command_line_mistakes(args, line):
    r = vmsync(*args)
    assert error(r) == f"vmsync: error: {line}", r
    assert r.stderr == f"vmsync: error: {line}\n{USAGE}", r


@pytest.mark.parametrize("args", [
    ["check", "-f", HELM, "--timeout", "-1s"],  # offline: the timeout is never used, and still checked
    ["check", "--server", "https://127.0.0.1:1", "--timeout", "-1s"],
    ["fix", "--server", "https://127.0.0.1:1", "--timeout", "-1s"],
    ["--request-timeout", "-1s", "check", "-f", HELM],
    ["fix", "--lock-wait", "-1s"],
])
def test_negative_duration_is_refused_in_every_mode(args):
    flag = next(a for a in args if a in ("--timeout", "--request-timeout", "--lock-wait"))
    assert error(vmsync(*args)) == f'vmsync: error: {flag} "-1s": a duration cannot be negative (0: no limit)'


@pytest.mark.parametrize("value", ["10 s", "soon", "1d"])
def test_bad_duration_is_refused_before_connecting(value):
    assert error(vmsync("check", "--server", "https://127.0.0.1:1", "--timeout", value)) == (
        f'vmsync: error: --timeout "{value}": not a duration (use e.g. 30s, 2m, 1h30m, 500ms)')


# --- kubectl's spellings ---------------------------------------------------------------------------------------

def report(*args):
    r = vmsync("check", *args)
    assert r.returncode == 1 and r.stderr == "", r
    return json.loads(r.stdout)


def test_short_options_with_equals():
    d = report("-n=monitoring", "-o=json", f"-f={HELM}")
    assert [(c["namespace"], c["name"]) for c in d["clusters"]] == [("monitoring", "vm")]
    # The global flag before the command, too; the long forms as before.
    r = vmsync("-n=monitoring", "check", "-f", HELM, "--output=json")
    assert json.loads(r.stdout)["clusters"][0]["namespace"] == "monitoring"


def test_filename_takes_one_value_per_use(tmp_path):
    # As kubectl: the word after -f FILE is a cluster name, not a second file.
    assert [c["name"] for c in report("-f", HELM, "vm", "-o", "json")["clusters"]] == ["vm"]
    assert error(vmsync("check", "-f", HELM, "nope")) == (
        f'vmsync: error: no VictoriaMetrics cluster "nope" in {HELM} (`vmsync check -f` without a name lists them)')
    # Two files take two -f.
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated}\n")
    assert len(report("-f", HELM, "-f", str(other), "-o", "json")["clusters"]) == 1


def test_directories_are_read_one_level_deep_unless_recursive(tmp_path):
    top = tmp_path / "rendered"
    (top / "charts" / "vm").mkdir(parents=True)
    shutil.copy(HELM, top / "charts" / "vm" / "all.yml")
    (top / "README.md").write_text("# not a manifest\n")
    (top / "values.json").write_text('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "values"}}')
    r = vmsync("check", "-f", str(top))
    assert error(r) == f"vmsync: error: no VictoriaMetrics cluster in {top} (--allow-empty accepts that)"
    for flag in ("-R", "--recursive"):
        assert [c["name"] for c in report("-f", str(top), flag, "-o", "json")["clusters"]] == ["vm"]


# --- reports that tools can read, even when the check fails ----------------------------------------------------

BROKEN = os.path.join(ROOT, "test", "data", "manifests", "broken.yaml")
BROKEN_LINE = f"{BROKEN}: line 4, column 1: end of sequence flow not found"
REFUSED = "cannot connect to https://127.0.0.1:1: connection refused (gave up after 3 attempts)"


@pytest.mark.parametrize("args,message", [
    (["-f", BROKEN], BROKEN_LINE),
    (["--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify", "--request-timeout", "2s"], REFUSED),
])
def test_a_failed_check_still_writes_a_valid_document(args, message):
    import xml.etree.ElementTree as ET

    import jsonschema
    import yaml

    with open(os.path.join(ROOT, "docs", "report-schema.json")) as f:
        schema = json.load(f)
    for fmt in ("json", "yaml", "junit", "sarif", "prometheus"):
        r = vmsync("check", *args, "-o", fmt)
        assert r.returncode == 2, (fmt, r)
        assert [line for line in r.stderr.splitlines() if line.startswith("vmsync: error:")] == [
            f"vmsync: error: {message}"], (fmt, r.stderr)
        if fmt in ("json", "yaml"):
            doc = json.loads(r.stdout) if fmt == "json" else yaml.safe_load(r.stdout)
            jsonschema.validate(doc, schema)
            assert doc["clusters"] == [] and doc["errors"] == [message], doc
            assert doc["summary"]["errors"] == 1
        elif fmt == "junit":
            suites = ET.fromstring(r.stdout)
            assert suites.get("errors") == "1", r.stdout
            (err,) = suites.iter("error")
            assert err.get("message") == message
        elif fmt == "sarif":
            run = json.loads(r.stdout)["runs"][0]
            assert run["invocations"][0]["executionSuccessful"] is False
            assert [res["message"]["text"] for res in run["results"]] == [message]
        else:
            assert "vmsync_check_success 0" in r.stdout, r.stdout
    # The table is for people: the error line on stderr is all; -q prints nothing.
    for extra in ([], ["-q"]):
        r = vmsync("check", *args, *extra)
        assert r.returncode == 2 and r.stdout == "", r


def test_no_headers_drops_only_header_lines():
    full = vmsync("check", "-f", HELM)
    r = vmsync("check", "-f", HELM, "--no-headers")
    assert r.returncode == full.returncode == 1, r
    # Offline there are no pods: the lines that explain the drift are all there is, and they stay.
    notes = [line.strip() for line in full.stdout.splitlines() if line.startswith("  ")]
    assert notes and [line.split("   ", 1)[1] for line in r.stdout.splitlines()] == notes, r.stdout
    assert all(line.startswith("default/vm   ") for line in r.stdout.splitlines())
    assert "1 cluster:" not in r.stdout and "ROLE" not in r.stdout


def test_a_failed_push_is_one_error():
    r = vmsync("check", "-f", HELM, "-q", "--pushgateway", "http://127.0.0.1:1")
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr == ("vmsync: error: pushgateway http://127.0.0.1:1/metrics/job/vmsync: cannot connect to "
                        "http://127.0.0.1:1: connection refused\n"), r.stderr


# --- time: --request-timeout bounds one request, --timeout the whole command ------------------------------------

@pytest.mark.parametrize("command", [["check"], ["fix", "--yes"]])
def test_a_command_never_outlives_its_timeout(command):
    import socket
    import time

    # A server that accepts connections and never answers (not even the TLS handshake).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    server = f"https://127.0.0.1:{silent.getsockname()[1]}"
    try:
        start = time.time()
        r = vmsync("--server", server, "--insecure-skip-tls-verify", "--request-timeout", "2s", *command,
                   "--timeout", "3s")
        took = time.time() - start
        # Retries included: 3 attempts of 2s would be 6s and more (fix used to allow --timeout + 2m).
        assert r.returncode == 2 and r.stdout == "", r
        assert 2.5 < took < 4.5, took
        last = r.stderr.splitlines()[-1]  # which request, and how, depends on the machine's load
        assert last.startswith("vmsync: error: ") and server in last, r.stderr
    finally:
        silent.close()


# --- -l applies to -f input as to the cluster --------------------------------------------------------------------

def test_selector_applies_to_manifests():
    d = report("-f", HELM, "-l", "app.kubernetes.io/instance=vm", "-o", "json")
    assert [c["name"] for c in d["clusters"]] == ["vm"]
    assert len(report("-f", HELM, "-l", "app.kubernetes.io/instance in (vm, other),!zone", "-o", "json")[
        "clusters"]) == 1
    # A selector that selects none of the workloads: no cluster, as live.
    assert error(vmsync("check", "-f", HELM, "-l", "app.kubernetes.io/instance=other")) == (
        f"vmsync: error: no VictoriaMetrics cluster in {HELM} (--allow-empty accepts that)")


@pytest.mark.parametrize("args", [["check", "-f", HELM], ["check", "--server", "https://127.0.0.1:1"],
                                  ["fix", "--server", "https://127.0.0.1:1"]])
def test_invalid_selector_is_refused_in_every_mode(args):
    assert error(vmsync(*args, "-l", "a=b=c")) == (
        "vmsync: error: -l \"a=b=c\": unable to parse requirement: \"a=b=c\": found '=' in the value, expected: "
        "',' or 'end of string'")


# --- offline reports say what is known offline -------------------------------------------------------------------

def test_offline_report_leaves_out_pods_and_gives_the_counts():
    r = vmsync("check", "-f", HELM)
    assert r.returncode == 1, r
    first = r.stdout.splitlines()[0]
    assert first == "default/vm   helm   Drift   storage statefulset/vm-victoria-metrics-cluster-vmstorage declares 3"
    assert "ready" not in r.stdout and "pods exist" not in r.stdout, r.stdout
    assert ("vminsert deployment/vm-victoria-metrics-cluster-vminsert: args of container vminsert is wrong "
            "(vmstorage declares 3, the list has 2): missing ") in r.stdout, r.stdout
    storage = report("-f", HELM, "-o", "json")["clusters"][0]["storage"]
    assert "readyReplicas" not in storage and "existingPods" not in storage and storage["declaredReplicas"] == 3
    metrics = vmsync("check", "-f", HELM, "-o", "prometheus").stdout
    assert "vmsync_storage_replicas_declared{" in metrics and "vmsync_storage_replicas_ready{" not in metrics


def test_an_unrendered_helm_chart_gets_a_hint(tmp_path):
    chart = tmp_path / "vm"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: vm\nversion: 0.1.0\n")
    template = chart / "templates" / "vmstorage.yaml"
    template.write_text("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}-vmstorage\n"
                        "spec:\n  replicas: {{ .Values.vmstorage.replicaCount }}\n")
    hint = "render the chart first: helm template NAME CHART | vmsync check -f -"
    assert error(vmsync("check", "-f", str(chart))) == (
        f"vmsync: error: {chart} is a Helm chart (it holds Chart.yaml), not rendered manifests: {hint}")
    line = error(vmsync("check", "-f", str(template)))
    assert line.startswith(f"vmsync: error: {template}: line 4, column ") and line.endswith(
        f"(it holds Helm template syntax: {hint})"), line
