"""The /metrics and /flags parser (src/core/model/vm_pages.cpp) on the pages of a real VictoriaMetrics process.

Debian's `victoria-metrics` package (single-node; scripts/install-deps.sh installs it) writes the same `flag{...}`
and `vm_app_*` lines as vminsert and vmselect. The test starts it on loopback, saves its pages, and runs the unit
test case that parses them with the real parser (skipped in plain unit runs), fed in chunks as curl hands them.
"""
import os
import socket
import subprocess
import time
import urllib.request

from conftest import VMSYNC

VM = "/usr/bin/victoria-metrics"
UNIT = os.path.join(os.path.dirname(VMSYNC), "test", "vmsync_unit_tests")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, deadline):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def test_parser_reads_a_real_victoriametrics(tmp_path):
    assert os.path.exists(VM), "Debian's victoria-metrics is missing: run scripts/install-deps.sh"
    assert os.path.exists(UNIT), f"{UNIT} is missing: build the vmsync_unit_tests target"
    listen = f"127.0.0.1:{free_port()}"
    before = int(time.time())
    proc = subprocess.Popen([VM, f"-httpListenAddr={listen}", f"-storageDataPath={tmp_path / 'data'}",
                             "-retentionPeriod=2d", "-search.maxQueryLen=20000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        metrics = fetch(f"http://{listen}/metrics", deadline)
        flags = fetch(f"http://{listen}/flags", deadline)
        after = int(time.time())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "metrics").write_bytes(metrics)
    (pages / "flags").write_bytes(flags)
    (pages / "listen").write_text(listen)
    (pages / "started-after").write_text(str(before))
    (pages / "started-before").write_text(str(after))
    assert b'-retentionPeriod="2d"' in flags  # the page is what the parser is meant to read
    r = subprocess.run([UNIT, "--no-skip", "-tc=VmPageParser: the pages of a real VictoriaMetrics process"],
                       env={**os.environ, "VMSYNC_VM_PAGES": str(pages)}, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout, r.stdout
