#!/usr/bin/env python3
"""Writes seeds for fuzz_list_page from a live control plane: for each namespace, the answers to the list
requests `vmsync check -n NS` makes, in the order it makes them (as `-vvvvvv` logs them), separated as the target
expects. managedFields are dropped (vmsync never reads them) to keep the seeds small.

    fuzz/make_list_page_seeds.py KUBECONFIG OUTDIR NS...
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VMSYNC = os.environ.get("VMSYNC_BIN", os.path.join(ROOT, "build", "vmsync"))
KCP = os.path.join(ROOT, "test", "cluster", "bin", "kcp")
SEP = "\n#--- next answer ---\n"


def strip(obj):
    if isinstance(obj, dict):
        obj.get("metadata", {}).pop("managedFields", None)
        for v in obj.values():
            strip(v)
    elif isinstance(obj, list):
        for v in obj:
            strip(v)
    return obj


def main():
    kubeconfig, outdir, namespaces = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(outdir, exist_ok=True)
    for ns in namespaces:
        log = subprocess.run([VMSYNC, "--kubeconfig", kubeconfig, "check", "-n", ns, "-vvvvvv"],
                             capture_output=True, text=True).stderr
        paths = [m.group(1) for m in re.finditer(r"^GET https://[^/]+(/\S+\?\S+) \d+", log, re.M)]
        answers = []
        for p in paths:
            raw = subprocess.run([KCP, "kubectl", "--kubeconfig", kubeconfig, "get", "--raw", p],
                                 capture_output=True, text=True, check=True).stdout
            answers.append(json.dumps(strip(json.loads(raw)), separators=(",", ":")))
        with open(os.path.join(outdir, f"live-{ns}"), "w") as f:
            f.write(SEP.join(answers))


if __name__ == "__main__":
    main()
