#!/usr/bin/env bash
# Every test, from a fresh Debian machine (as root, as CI runs it). The stages:
#   build        vmsync as shipped (gcc, RelWithDebInfo, warnings as errors, build/);
#   unit         ctest in build/: the unit cases, the man page, the completions in real shells, the install, the
#                krew manifest;
#   image        the container image from the Containerfile, built without a registry (scripts/image.sh: mmdebstrap,
#                buildah; cached under $XDG_CACHE_HOME/vmsync-image) and tested (test/image): config, size budget,
#                vmsync run in it on a read-only root;
#   tidy         clang-tidy with the repository's .clang-tidy over src/, which must report nothing
#                (scripts/tidy.py; it skips files whose preprocessed text is unchanged since they were last clean);
#   kcp          the local control plane (test/cluster/bin/kcp) built from k8s.io/kubernetes;
#   cluster      the control plane's own tests (test/cluster/test.sh);
#   asan-build   one clang build (build-asan/) of vmsync, its unit tests and the libFuzzer targets, all with
#                AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage instrumentation, warnings as
#                errors, as a unity build at -O1: the core is compiled once for the sanitizer tests and the fuzzers;
#   asan-unit    ctest in build-asan/ (the unit cases and the shipped-files tests, under the sanitizers);
#   integration  every integration and end-to-end file against the sanitizer binary (build-asan/vmsync) and the
#                control plane; any sanitizer report fails the test that met it (exit code 86, none of vmsync's);
#   smoke        a subset of the integration files against the shipped binary (build/vmsync);
#   bench        a smoke run of the fleet benchmark (bench/run --small) with build/vmsync: a small fleet, checks
#                only that vmsync and the kubectl + jq peer report the same drift pod for pod; no timing is asserted;
#   fuzz         each libFuzzer target for VMSYNC_FUZZ_SECONDS (default 20) seconds from the committed seed corpus
#                (build-asan/); a crash, hang or leak fails it.
# They run in four lanes at once, so the CPU-bound builds overlap each other and the wait-bound tests against the
# control plane overlap clang-tidy and the fuzzers (2 cores):
#   build -> unit -> image -> smoke -> bench       kcp -> cluster       asan-build -> asan-unit -> integration
#   tidy -> fuzz (after asan-build)
# The builds that the integration stage waits for (kcp, asan-build) run at normal priority, the rest niced.
# Each stage writes its output to a log that is printed whole when the stage ends (build/test-logs/); the table of
# stage durations is printed at the end, pass or fail. A failed stage skips the stages after it in its lane (and
# those waiting for it); the other lanes run to their end, so one run reports every failure.
# VMSYNC_TEST_STAGES picks a subset, e.g. "unit tidy" or "integration"; the builds a picked stage needs are added.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all_stages="build unit image tidy kcp cluster asan-build asan-unit integration smoke bench fuzz"
declare -A needs=([unit]=build [image]=build [smoke]="build kcp" [bench]="build kcp" [cluster]=kcp [asan-unit]=asan-build
  [integration]="asan-build kcp" [fuzz]=asan-build)
# The integration test files: all of them (VMSYNC_INTEGRATION_TESTS="a.py b.py::test_x" runs a subset).
VMSYNC_INTEGRATION_TESTS=${VMSYNC_INTEGRATION_TESTS:-$(cd "$root/test/integration" && echo test_*.py)} # every file: a new one cannot be left out
# What the shipped binary runs besides the unit tests and the benchmark: every layout checked and fixed end to end.
VMSYNC_SMOKE_TESTS=${VMSYNC_SMOKE_TESTS:-"test_check.py::test_layout_in_sync_then_scale_up_then_down test_fix.py::test_fix_heals"}

declare -A want=()
for s in ${VMSYNC_TEST_STAGES:-$all_stages}; do
  [[ " $all_stages " == *" $s "* ]] || { echo "scripts/test.sh: unknown stage $s (stages: $all_stages)" >&2; exit 2; }
  want[$s]=1
  for n in ${needs[$s]:-}; do want[$n]=1; done
done
has() { [[ -n "${want[$1]:-}" ]]; }

logs=$root/build/test-logs
rm -rf "$logs"
mkdir -p "$logs"
t0=$(date +%s)
say() { printf '\n==> %s (+%ss)\n' "$*" "$(($(date +%s) - t0))" >&2; }

# stage NAME CMD...: runs CMD with its output in NAME.log; prints the log when done; NAME.ok or NAME.failed.
stage() {
  local name=$1 start rc=0
  shift
  start=$(date +%s)
  say "$name: started"
  "$@" >"$logs/$name.log" 2>&1 </dev/null || rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$((start - t0))" "$(($(date +%s) - start))" "$rc" >>"$logs/times.tsv"
  {
    flock 9
    say "$name: $([ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - start))s; its output:"
    sed "s/^/[$name] /" "$logs/$name.log" >&2
  } 9>"$logs/.print-lock"
  if [ $rc -eq 0 ]; then touch "$logs/$name.ok"; else touch "$logs/$name.failed"; fi
  return $rc
}
# after NAME...: waits for stages this run has; fails when one of them failed.
after() {
  local n
  for n; do
    has "$n" || continue
    until [ -e "$logs/$n.ok" ]; do
      [ ! -e "$logs/$n.failed" ] || return 1
      sleep 2
    done
  done
}
maybe() { if has "$1"; then stage "$@"; fi; }

# --- what each stage runs ---------------------------------------------------------------------------------------
asan_env() {
  # A sanitizer finding must fail the test that met it: its exit code is none of vmsync's (0, 1, 2).
  export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:abort_on_error=0:detect_leaks=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=86:print_stacktrace=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=86}
}
do_build() { nice -n 5 bash scripts/build.sh; }
do_unit() { (cd build && ctest --output-on-failure -j2); }
do_image() {
  (cd test/image && VMSYNC_BUILD_DIR="$root/build" nice -n 5 python3 -m pytest -q -p no:cacheprovider test_image.py)
}
do_tidy() { nice -n 10 python3 scripts/tidy.py; }
do_kcp() { test/cluster/build.sh; }
do_cluster() { bash test/cluster/test.sh; }
do_asan_build() {
  # -O1 and line tables only: what ASan's documentation recommends for reports with usable stacks, at a fraction
  # of -O2 -g's compile time; the unity build parses the heavy headers (nlohmann/json, fmt, CLI11, doctest) once
  # per batch instead of once per file. The shipped configuration (build/) stays file by file.
  CC=clang CXX=clang++ VMSYNC_BUILD_DIR="$root/build-asan" bash scripts/build.sh -DVMSYNC_SANITIZE=ON -DVMSYNC_FUZZ=ON \
    -DCMAKE_UNITY_BUILD=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" &&
    cmake --build build-asan -j"$(nproc)" --target vmsync_fuzz
}
do_asan_unit() { asan_env && (cd build-asan && ctest --output-on-failure -j2); }
pytest_files() { # pytest_files BINARY FILES...
  local bin=$1
  shift
  (cd test/integration && VMSYNC_BIN="$bin" python3 -m pytest -q -p no:cacheprovider --durations=15 "$@")
}
do_integration() { asan_env && pytest_files "$root/build-asan/vmsync" ${VMSYNC_INTEGRATION_TESTS}; }
do_smoke() { pytest_files "$root/build/vmsync" ${VMSYNC_SMOKE_TESTS}; }
do_bench() { bench/run --small --vmsync "$root/build/vmsync"; }
do_fuzz() { VMSYNC_FUZZ_BUILD_DIR="$root/build-asan" nice -n 10 bash fuzz/run.sh all "${VMSYNC_FUZZ_SECONDS:-20}"; }

summary() {
  local rc=$?
  wait 2>/dev/null || true
  {
    printf '\n==> stage durations (seconds; start is from the beginning of the run)\n'
    printf '%-12s %6s %9s  %s\n' stage start duration result
    if [ -f "$logs/times.tsv" ]; then
      sort -t$'\t' -k2,2n "$logs/times.tsv" | while IFS=$'\t' read -r n s d r; do
        printf '%-12s %6s %9s  %s\n' "$n" "$s" "$d" "$([ "$r" = 0 ] && echo passed || echo "FAILED ($r)")"
      done
    fi
    printf '%-12s %6s %9s  %s\n' total 0 "$(($(date +%s) - t0))" "$([ $rc -eq 0 ] && echo passed || echo FAILED)"
  } >&2
  exit $rc
}

# --- the run ----------------------------------------------------------------------------------------------------
say "dependencies"
bash scripts/install-deps.sh $(has image && echo image || true)
trap summary EXIT

pids=()
(maybe build do_build && after build && maybe unit do_unit && maybe image do_image && after kcp && maybe smoke do_smoke &&
  maybe bench do_bench) &
pids+=($!)
(maybe kcp do_kcp && maybe cluster do_cluster) &
pids+=($!)
(maybe asan-build do_asan_build && maybe asan-unit do_asan_unit && after kcp && maybe integration do_integration) &
pids+=($!)
(maybe tidy do_tidy && after asan-build && maybe fuzz do_fuzz) &
pids+=($!)

# Every lane runs to its end even when another failed, so one run reports every failing stage.
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if ((failed)) || ls "$logs"/*.failed >/dev/null 2>&1; then
  say "FAILED: $(cd "$logs" && ls ./*.failed 2>/dev/null | sed 's,^\./,,; s/\.failed$//' | tr '\n' ' ')"
  exit 1
fi
say "all tests passed"
