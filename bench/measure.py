#!/usr/bin/env python3
"""Measures vmsync against its floor and its peer on a populated control plane (see bench/README.md).

  measure.py run --kcp-dir DIR --vmsync BIN --label L --cluster NS/NAME [--runs 5] [--peer] --out results.jsonl
  measure.py report results.jsonl        (the Markdown tables of bench/README.md)

Subjects, run in turn in every round so that load from other processes falls on all of them alike:
  a   the floor: curl replaying exactly the requests the preceding vmsync -A run made (URLs from its -v=6 log,
      continue tokens included) over one HTTP/2 connection, all at once, gzip, bodies discarded;
  b   the peer: kubectl get sts,deploy,pods,cm,instancesets,vmclusters -A -o json | jq -f peer/drift.jq
      (in the first --peer-runs rounds only, when given: at 1x one run takes minutes on 2 cores);
  c   vmsync check -A -o json;
  d   vmsync check -n NS NAME -o json, and d0, its floor (curl replaying d's requests, as a).
Wall time from fork to exit; CPU (user+sys) and peak RSS of each process from GNU time; requests and bytes
received from vmsync's own counters (-v), curl's -w, and for kubectl the -v=6 log of its last timed run, replayed
with curl.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KCP = os.path.join(ROOT, "test", "cluster", "bin", "kcp")

REQ_LINE = re.compile(r"^GET (https://\S+) (\d{3})\b")
KUBECTL_REQ = re.compile(r'"?(?:GET|Response)"?.*?(https://[^\s"]+).*?(?:status|\s)"?(\d{3})\b')
COUNTERS = re.compile(r"vmsync: (\d+) requests, (\d+) bytes received, (\d+) connection")


class Proc:
    """One finished process: wall seconds, CPU seconds, peak RSS (KiB), exit code, stdout, stderr."""

    def __init__(self, wall, cpu, rss_kib, code, out, err):
        self.wall, self.cpu, self.rss_kib, self.code, self.out, self.err = wall, cpu, rss_kib, code, out, err


# CPU and peak RSS come from GNU time, not from wait4() here: Linux carries a process's RSS high-water mark over
# fork and exec, so a child forked from this Python (~25 MiB) would never report less than Python's size. time
# is small, and it reports its child's own figures.
TIME = ["/usr/bin/time", "-f", "%M %U %S"]


def timed(argv, report):
    return TIME + ["-o", report] + argv


def read_time(report):
    with open(report) as f:
        rss, user, sys_ = f.read().split()[-3:]  # a killed child adds a line before the figures
    return int(rss), float(user) + float(sys_)


def run(argv, stdin=None, env=None):
    """Runs argv; returns a Proc with its wall time, and its own CPU time and peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".time") as rep:
        start = time.perf_counter()
        p = subprocess.Popen(timed(argv, rep.name), stdin=stdin, stdout=out, stderr=err, env=env)
        p.wait()
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        rss, cpu = read_time(rep.name)
        return Proc(wall, cpu, rss, p.returncode, out.read().decode(), err.read().decode())


def run_pipeline(first, second, env=None):
    """first | second, each measured on its own; wall time of the whole pipeline."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err1, tempfile.TemporaryFile() as err2, \
            tempfile.NamedTemporaryFile(suffix=".time") as rep1, tempfile.NamedTemporaryFile(suffix=".time") as rep2:
        start = time.perf_counter()
        a = subprocess.Popen(timed(first, rep1.name), stdout=subprocess.PIPE, stderr=err1, env=env)
        b = subprocess.Popen(timed(second, rep2.name), stdin=a.stdout, stdout=out, stderr=err2, env=env)
        a.stdout.close()
        a.wait()
        b.wait()
        wall = time.perf_counter() - start
        out.seek(0)
        err1.seek(0)
        err2.seek(0)
        procs = []
        for p, e, rep in ((a, err1, rep1), (b, err2, rep2)):
            rss, cpu = read_time(rep.name)
            procs.append(Proc(wall, cpu, rss, p.returncode, "", e.read().decode()))
        return wall, procs, out.read().decode()


class Cluster:
    def __init__(self, kcp_dir):
        self.dir = kcp_dir
        self.kubeconfig = os.path.join(kcp_dir, "kubeconfig")
        self.ca = os.path.join(kcp_dir, "ca.crt")
        with open(os.path.join(kcp_dir, "admin-token")) as f:
            self.token = f.read().strip()


def curl_replay(cluster, urls, workdir, accept="application/json"):
    """Fetches `urls` with one curl over one HTTP/2 connection, all in parallel, bodies discarded."""
    cfg = os.path.join(workdir, "curl.cfg")
    fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the token
    with os.fdopen(fd, "w") as f:
        f.write("http2\nsilent\nshow-error\ncompressed\nparallel\nparallel-max = 250\n")
        f.write(f'cacert = "{cluster.ca}"\n')
        f.write(f'header = "Authorization: Bearer {cluster.token}"\n')
        f.write(f'header = "Accept: {accept}"\n')
        f.write('write-out = "%{http_code} %{size_download} %{num_connects} %{size_header}\\n"\n')
        for u in urls:
            f.write(f'url = "{u}"\noutput = "/dev/null"\n')
    p = run(["curl", "-K", cfg])
    lines = [l.split() for l in p.out.splitlines() if l.strip()]
    bad = [l for l in lines if not l[0].startswith("2")]
    if p.code != 0 or bad or len(lines) != len(urls):
        raise SystemExit(f"curl replay failed (exit {p.code}, {len(bad)} non-2xx of {len(lines)}): {p.err[:500]}")
    return p, {"requests": len(lines), "bytes": sum(int(l[1]) + int(l[3]) for l in lines),  # body + headers, as vmsync
               "connections": sum(int(l[2]) for l in lines)}


def vmsync(args, binary, cluster, verbosity):
    p = run([binary, "--kubeconfig", cluster.kubeconfig, f"--verbose={verbosity}", "check", "-o", "json", *args])
    if p.code not in (0, 1):  # 1: drift found; 2: an error
        raise SystemExit(f"vmsync {' '.join(args)} failed with exit {p.code}: {p.err[-1000:]}")
    m = COUNTERS.search(p.err)
    if not m:
        raise SystemExit(f"vmsync printed no counters: {p.err[-500:]}")
    urls = [m2.group(1) for m2 in map(REQ_LINE.match, p.err.splitlines()) if m2]
    return p, {"requests": int(m.group(1)), "bytes": int(m.group(2)), "connections": int(m.group(3))}, urls


PEER_TYPES = "statefulsets,deployments,pods,configmaps,instancesets.workloads.kubeblocks.io," \
             "vmclusters.operator.victoriametrics.com"


def peer_argv(kubectl, cluster, verbosity=0):
    argv = shlex.split(kubectl) + ["--kubeconfig", cluster.kubeconfig, "get", PEER_TYPES, "-A", "-o", "json",
                                   "--show-managed-fields"]
    if verbosity:
        argv.append(f"-v={verbosity}")
    return argv


def peer(kubectl, cluster, env):
    """One timed run of the peer; kubectl logs its requests (-v=6, one line each) for peer_requests."""
    wall, (k, j), out = run_pipeline(peer_argv(kubectl, cluster, 6),
                                     ["jq", "-c", "-f", os.path.join(HERE, "peer", "drift.jq")], env=env)
    if k.code != 0 or j.code != 0:
        raise SystemExit(f"peer failed: kubectl exit {k.code} {k.err[-500:]} jq exit {j.code} {j.err[-500:]}")
    return wall, k, j, out


def peer_requests(kubectl_log, cluster, workdir):
    """kubectl's requests from the -v=6 log of a timed run, and their bytes by replaying them with curl (untimed)."""
    urls = []
    for line in kubectl_log.splitlines():
        m = re.search(r'verb="GET" url="(https://[^"]+)" status="(\d{3})', line) or \
            re.search(r'GET (https://\S+) (\d{3})', line)
        if m:
            urls.append(m.group(1))
    if not urls:
        raise SystemExit(f"no requests in kubectl's -v=6 log: {kubectl_log[-500:]}")
    _, st = curl_replay(cluster, urls, workdir)
    return {"requests": len(urls), "bytes": st["bytes"], "connections": None}


def summary(values):
    s = sorted(values)
    return {"median": statistics.median(s), "min": s[0], "max": s[-1], "n": len(s)}


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cmd_run(a):
    cluster = Cluster(a.kcp_dir)
    a.workdir = a.workdir or tempfile.mkdtemp(prefix="vmsync-bench-")
    ns, name = a.cluster.split("/")
    env = dict(os.environ, KUBECACHEDIR=os.path.join(a.workdir, "kube-cache"))
    os.makedirs(a.workdir, exist_ok=True)
    samples = {k: {"wall": [], "cpu": [], "rss_kib": []} for k in ("a", "b", "b_kubectl", "b_jq", "c", "d", "d0")}
    counters = {}
    loads = []
    # Warm-up, untimed: page cache, the API server's watch cache, and kubectl's discovery cache (filled by
    # `kubectl api-resources`, not by a whole peer run: at 1x that reads 600+ MiB and takes minutes on 2 cores).
    vmsync(["-A"], a.vmsync, cluster, 6)
    if a.peer:
        run(shlex.split(a.kubectl) + ["--kubeconfig", cluster.kubeconfig, "api-resources"], env=env)
    peer_runs = a.runs if a.peer_runs is None else min(a.peer_runs, a.runs)
    kubectl_log = ""
    for i in range(a.runs):
        loads.append(loadavg())
        pc, cc, urls = vmsync(["-A"], a.vmsync, cluster, 6)
        pa, ca = curl_replay(cluster, urls, a.workdir)
        pd, cd, durls = vmsync(["-n", ns, name], a.vmsync, cluster, 6)
        pd0, cd0 = curl_replay(cluster, durls, a.workdir)
        for key, p in (("c", pc), ("a", pa), ("d", pd), ("d0", pd0)):
            samples[key]["wall"].append(p.wall)
            samples[key]["cpu"].append(p.cpu)
            samples[key]["rss_kib"].append(p.rss_kib)
        counters.update(c=cc, a=ca, d=cd, d0=cd0)
        if a.peer and i < peer_runs:
            wall, k, j, _ = peer(a.kubectl, cluster, env)
            kubectl_log = k.err
            samples["b"]["wall"].append(wall)
            samples["b"]["cpu"].append(k.cpu + j.cpu)
            samples["b"]["rss_kib"].append(max(k.rss_kib, j.rss_kib))
            for key, p in (("b_kubectl", k), ("b_jq", j)):
                samples[key]["wall"].append(wall)
                samples[key]["cpu"].append(p.cpu)
                samples[key]["rss_kib"].append(p.rss_kib)
        print(f"  round {i + 1}/{a.runs}: a {pa.wall:.3f}s  c {pc.wall:.3f}s  d {pd.wall:.3f}s  d0 {pd0.wall:.3f}s"
              + (f"  b {samples['b']['wall'][-1]:.2f}s" if a.peer and i < peer_runs else "")
              + f"  (load {loads[-1]:.1f})",
              file=sys.stderr, flush=True)
    if a.peer:
        counters["b"] = peer_requests(kubectl_log, cluster, a.workdir)
    rec = {"label": a.label, "cluster": a.cluster, "runs": a.runs, "load": summary(loads), "counters": counters,
           "fleet": json.loads(a.fleet) if a.fleet else None,
           "results": {k: {m: summary(v) for m, v in s.items()} for k, s in samples.items() if s["wall"]}}
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")


def fmt_s(x):
    return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def fmt_stat(st, f):
    return f"{f(st['median'])} ({f(st['min'])}–{f(st['max'])})"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def human_bytes(n):
    return f"{n / 1048576:.1f} MiB" if n >= 1048576 else f"{n / 1024:.0f} KiB"


NAMES = {"a": "(a) floor: curl, vmsync's -A requests", "b": "(b) peer: kubectl + jq",
         "b_kubectl": "  of which kubectl", "b_jq": "  of which jq", "c": "(c) vmsync check -A",
         "d": "(d) vmsync check -n NS NAME", "d0": "(d0) floor of (d): curl, its requests"}


def cmd_report(a):
    recs = [json.loads(l) for l in open(a.results) if l.strip()]
    for rec in recs:
        r, c = rec["results"], rec["counters"]
        print(f"\n#### {rec['label']}\n")
        if rec.get("fleet"):
            fl = rec["fleet"]
            print(f"Fleet: {fl.get('vm_clusters')} VictoriaMetrics clusters ({fl.get('drifted')} drifted), "
                  f"{fl.get('vm_pods', '?')} VictoriaMetrics pods, {fl.get('unrelated_pods', '?')} unrelated pods "
                  f"(this step of the fleet built in {fl.get('seconds', 0):.0f} s); "
                  f"{rec['runs']} rounds, load average {rec['load']['median']:.1f} "
                  f"({rec['load']['min']:.1f}–{rec['load']['max']:.1f}) on 2 cores.\n")
        print("| subject | wall, median (min–max) | CPU user+sys | peak RSS | requests | received |")
        print("| --- | --- | --- | --- | --- | --- |")
        for k in ("a", "c", "b", "b_kubectl", "b_jq", "d0", "d"):
            if k not in r:
                continue
            cnt = c.get(k) or c.get(k.split("_")[0]) if not k.startswith("b_") else None
            reqs = str(cnt["requests"]) if cnt else ""
            recv = human_bytes(cnt["bytes"]) if cnt else ""
            if k == "b" and cnt:
                reqs += " (replayed for bytes)"
            wall = "(the pipeline's)" if k.startswith("b_") else fmt_stat(r[k]['wall'], fmt_s)
            name = NAMES[k] + (f" ({r[k]['wall']['n']} rounds)" if r[k]['wall']['n'] != rec["runs"] else "")
            print(f"| {name} | {wall} | {fmt_stat(r[k]['cpu'], fmt_s)} | "
                  f"{fmt_stat(r[k]['rss_kib'], mib)} | {reqs} | {recv} |")
        med = lambda k: r[k]["wall"]["median"]
        lines = [f"(c)/(a) = {med('c') / med('a'):.2f}x (target ≤ 1.25x)"]
        if "b" in r:
            lines.append(f"(b)/(c) = {med('b') / med('c'):.1f}x (target ≥ 10x)")
        lines.append(f"(d)/(d0) = {med('d') / med('d0'):.2f}x (target ≤ 1.5x), (d)−(d0) = "
                     f"{(med('d') - med('d0')) * 1000:.0f} ms (target < 50 ms)")
        lines.append(f"peak RSS of (c) = {mib(r['c']['rss_kib']['median'])} (target < 64 MiB)")
        print("\n" + "; ".join(lines) + ".")
    if len(recs) > 1:
        # How (c) grows with the fleet: time, memory, requests and bytes per fleet size.
        print("\n#### Scaling of (c) vmsync check -A\n")
        print("| fleet | VictoriaMetrics pods | unrelated pods | wall (c) | (c)/(a) | peak RSS (c) | requests | received |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for rec in recs:
            r, c, fl = rec["results"], rec["counters"], rec.get("fleet") or {}
            print(f"| {rec['label'].split(':')[0]} | {fl.get('vm_pods', '?')} | {fl.get('unrelated_pods', '?')} | "
                  f"{fmt_stat(r['c']['wall'], fmt_s)} | {r['c']['wall']['median'] / r['a']['wall']['median']:.2f}x | "
                  f"{fmt_stat(r['c']['rss_kib'], mib)} | {c['c']['requests']} | {human_bytes(c['c']['bytes'])} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--kcp-dir", required=True)
    r.add_argument("--vmsync", required=True)
    r.add_argument("--kubectl", default=f"{KCP} kubectl")
    r.add_argument("--label", required=True)
    r.add_argument("--cluster", required=True, help="NS/NAME for (d)")
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--peer", action="store_true", help="also measure (b)")
    r.add_argument("--peer-runs", type=int, default=None, help="measure (b) in the first N rounds only")
    r.add_argument("--fleet", default="", help="the fleet's summary (JSON), recorded with the results")
    r.add_argument("--workdir", default=None, help="scratch files (default: a new temporary directory)")
    r.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("results")
    a = ap.parse_args()
    (cmd_run if a.cmd == "run" else cmd_report)(a)


if __name__ == "__main__":
    main()
