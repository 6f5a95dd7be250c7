#!/usr/bin/env bash
# Runs one libFuzzer target (or `all`) for a number of seconds each:
#   fuzz/run.sh TARGET SECONDS        TARGET: kubeconfig, exec_credential, storage_nodes, list_page,
#                                     list_page_parser, manifests, vm_pages, all
# Builds build-fuzz/ with clang (-DVMSYNC_FUZZ=ON) when needed. The committed seeds (fuzz/corpus/TARGET) are
# copied into build-fuzz/corpus/TARGET, which keeps growing across runs; the source tree is never written.
# A crash, leak, sanitizer report, hang (one input over VMSYNC_FUZZ_TIMEOUT, default 60 s: generous, the
# machine may be loaded) or memory blow-up (-rss_limit_mb) leaves the input in
# build-fuzz/artifacts/TARGET/ and fails the script. Fix it, then keep the input in fuzz/regressions/TARGET/
# (test/unit/fuzz/test_fuzz_corpus.cpp replays it) and pin the fix in test/unit/fuzz/test_fuzz_regressions.cpp.
# Prints one line per target: seconds run, executions, corpus size, and appends it to build-fuzz/fuzz-stats.tsv
# (time, target, seconds, executions, corpus entries). VMSYNC_FUZZ_NO_BUILD=1 skips the build step (for several
# run.sh at once).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fuzz/run.sh TARGET|all SECONDS}
seconds=${2:?usage: fuzz/run.sh TARGET|all SECONDS}
build=${VMSYNC_FUZZ_BUILD_DIR:-$root/build-fuzz}
all_targets=(kubeconfig exec_credential storage_nodes list_page list_page_parser manifests vm_pages)

# As scripts/build.sh: ccache keys on paths relative to the checkout, so a clean clone reuses earlier objects.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
if [ -z "${VMSYNC_FUZZ_NO_BUILD:-}" ] && [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DVMSYNC_FUZZ=ON -DVMSYNC_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
[ -n "${VMSYNC_FUZZ_NO_BUILD:-}" ] || cmake --build "$build" -j"${VMSYNC_JOBS:-2}" --target vmsync_fuzz >/dev/null

# Inputs larger than any realistic one only slow the search; list pages and manifests need room.
max_len() {
  case $1 in
    list_page|list_page_parser|manifests) echo 65536 ;;
    *) echo 8192 ;;
  esac
}

run_one() {
  local t=$1 corpus="$build/corpus/$1" artifacts="$build/artifacts/$1/" log="$build/fuzz-$1.log"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$root/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  local rc=0 start
  start=$(date +%s)
  "$build/fuzz_$t" -max_total_time="$seconds" -timeout="${VMSYNC_FUZZ_TIMEOUT:-60}" -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1 || rc=$?
  local execs elapsed=$(($(date +%s) - start))
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$log" | tail -1)
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$elapsed" "${execs:-0}" "$(ls "$corpus" | wc -l)" \
    >>"$build/fuzz-stats.tsv"
  printf 'fuzz %-16s %5ss  %10s executions  %5s corpus entries  %s\n' "$t" "$elapsed" "${execs:-?}" \
    "$(ls "$corpus" | wc -l)" "$([ $rc -eq 0 ] && echo ok || echo "FAILED (see $log)")"
  if [ $rc -ne 0 ]; then
    grep -E "ERROR|FUZZ FINDING|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
  fi
  return $rc
}

failed=0
if [ "$target" = all ]; then
  for t in "${all_targets[@]}"; do run_one "$t" || failed=1; done
else
  run_one "$target" || failed=1
fi
exit $failed
