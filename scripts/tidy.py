#!/usr/bin/env python3
"""clang-tidy over src/ with the repository's .clang-tidy; any finding fails (WarningsAsErrors: '*').

    scripts/tidy.py [FILE ...]     default: every tracked src/**/*.cpp

Like ccache, it remembers which files were clean: the key of a file is the SHA-256 of its preprocessed text
(every header it includes, as compiled), its compile flags, .clang-tidy and clang-tidy's version, so a file is
checked again whenever anything that could change a finding changed. Only clean results are kept; a file with
findings is checked every time. The cache is ${VMSYNC_TIDY_CACHE:-~/.cache/vmsync/clang-tidy}; delete it (or
set VMSYNC_TIDY_CACHE to an empty directory) for a full run. Nothing in CI depends on it: a cold run checks every
file (about 10 minutes on 2 cores). The compile database is build-tidy/ (clang, configured here).
"""
import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("VMSYNC_TIDY_BUILD_DIR", os.path.join(ROOT, "build-tidy"))
CACHE = os.environ.get("VMSYNC_TIDY_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vmsync", "clang-tidy")
TIDY = os.environ.get("CLANG_TIDY", "clang-tidy")


def configure():
    env = dict(os.environ, CC="clang", CXX="clang++")
    subprocess.run(["cmake", "-S", ROOT, "-B", BUILD, "-G", "Ninja", "-DVMSYNC_BUILD_TESTS=OFF"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    # Generated sources (the version file) must exist for the files that include them.
    subprocess.run(["cmake", "--build", BUILD, "--target", "vmsync_version_info"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(BUILD, "compile_commands.json")) as f:
        return {os.path.realpath(e["file"]): e for e in json.load(f)}


def key_of(entry, salt):
    """The cache key of one file: its preprocessed text and flags, plus the salt (config and tool version)."""
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    out = []
    skip = False
    for a in args:  # drop "-o X" and "-c"; preprocess to stdout instead
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    pre = subprocess.run(out + ["-E", "-P"], cwd=entry["directory"], capture_output=True, check=False)
    if pre.returncode != 0:
        return None  # cannot preprocess: let clang-tidy say why
    # Independent of where the checkout is (CI's clean clone is elsewhere): paths below the root are relative.
    h = hashlib.sha256(salt)
    h.update(" ".join(out).replace(ROOT, "@ROOT@").encode())
    h.update(pre.stdout.replace(ROOT.encode(), b"@ROOT@"))
    return h.hexdigest()


def tidy(path):
    p = subprocess.run([TIDY, "-p", BUILD, "--quiet", path], capture_output=True, text=True, check=False)
    return p.returncode, p.stdout + p.stderr


def main():
    db = configure()
    files = sys.argv[1:] or subprocess.run(["git", "ls-files", "src/*.cpp"], cwd=ROOT, capture_output=True,
                                           text=True, check=True).stdout.split()
    paths = [os.path.realpath(os.path.join(ROOT, f)) for f in files]
    missing = [p for p in paths if p not in db]
    if missing:
        print("not in the compile database: " + ", ".join(missing), file=sys.stderr)
        return 1
    with open(os.path.join(ROOT, ".clang-tidy"), "rb") as f:
        salt = f.read()
    salt += subprocess.run([TIDY, "--version"], capture_output=True, check=True).stdout
    os.makedirs(CACHE, exist_ok=True)
    jobs = int(os.environ.get("VMSYNC_JOBS", "0")) or os.cpu_count() or 2
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        keys = dict(zip(paths, pool.map(lambda p: key_of(db[p], salt), paths)))
        todo = [p for p in paths if keys[p] is None or not os.path.exists(os.path.join(CACHE, keys[p]))]
        failed = []
        for p, (rc, out) in zip(todo, pool.map(tidy, todo)):
            rel = os.path.relpath(p, ROOT)
            if rc == 0:
                if keys[p] is not None:
                    with open(os.path.join(CACHE, keys[p]), "w") as f:
                        f.write(rel + "\n")
                continue
            failed.append(rel)
            lines = [l for l in out.splitlines() if "warning:" in l or "error:" in l]
            print("\n".join(lines) if lines else out.strip(), file=sys.stderr)
    print(f"clang-tidy: {len(paths)} files, {len(paths) - len(todo)} clean in the cache, {len(todo)} checked, "
          f"{len(failed)} with findings ({time.monotonic() - start:.0f} s)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
