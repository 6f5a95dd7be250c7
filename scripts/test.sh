#!/usr/bin/env bash
# Every test, from a fresh Debian machine (as root, as CI runs it), in this order:
#   1. unit: dependencies (Debian packages; Go modules through the module proxy), vmsync built with warnings as
#      errors, and its unit tests (ctest: unit cases, man page, completions, install);
#   2. tidy: clang-tidy with the repository's .clang-tidy over src/, which must report nothing
#      (scripts/tidy.py; it skips files whose preprocessed text is unchanged since they were last clean);
#   3. cluster: the local control plane (test/cluster) built from k8s.io/kubernetes, and its own tests;
#   4. integration: the integration and end-to-end tests of the built vmsync binary against that control plane;
#   5. bench: a smoke run of the fleet benchmark (bench/run --small): a small fleet, checks only that it runs and
#      that vmsync and the kubectl + jq peer report the same drift pod for pod; no timing is asserted;
#   6. asan: the unit tests and every integration file of stage 4 again, with vmsync built with AddressSanitizer
#      and UndefinedBehaviorSanitizer (build-asan/); any sanitizer report fails the test that met it;
#   7. fuzz: each libFuzzer target for VMSYNC_FUZZ_SECONDS (default 20) seconds (build-fuzz/, clang), from the
#      committed seed corpus; a crash, hang or leak fails it.
# Set VMSYNC_TEST_STAGES to a subset ("unit tidy cluster integration bench asan fuzz") to run part of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stages=${VMSYNC_TEST_STAGES:-"unit tidy cluster integration bench asan fuzz"}
has() { [[ " $stages " == *" $1 "* ]]; }
# The integration test files run by default (each passed on the development machine before it was listed here).
VMSYNC_INTEGRATION_TESTS=${VMSYNC_INTEGRATION_TESTS:-"test_check.py test_access.py test_fix.py test_deploy.py test_ship_completion.py test_ship_pushgateway.py test_ship_reports.py test_faults.py test_faults_bad_input.py test_faults_fix.py test_secrets.py"}
step() { printf '\n==> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

step "dependencies"
bash scripts/install-deps.sh

if has unit; then
  step "build (warnings as errors) and unit tests"
  bash scripts/build.sh
  (cd build && ctest --output-on-failure -j2)
fi

if has tidy; then
  step "clang-tidy over src/ (.clang-tidy; no findings allowed)"
  python3 scripts/tidy.py
fi

if has cluster; then
  step "local control plane: build and its own tests"
  bash test/cluster/test.sh
fi

if has integration; then
  step "integration and end-to-end tests of the vmsync binary"
  [ -x build/vmsync ] || bash scripts/build.sh
  test/cluster/build.sh
  (cd test/integration && VMSYNC_BIN="$root/build/vmsync" python3 -m pytest -q -p no:cacheprovider ${VMSYNC_INTEGRATION_TESTS})
fi

if has bench; then
  step "benchmark smoke run (bench/run --small; the drift of vmsync and the peer must match, timings are not checked)"
  [ -x build/vmsync ] || bash scripts/build.sh
  bench/run --small --vmsync "$root/build/vmsync"
fi

if has asan; then
  step "unit and integration tests built with ASan and UBSan (build-asan)"
  # A sanitizer finding must fail the test that met it: its exit code is none of vmsync's (0, 1, 2).
  export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:abort_on_error=0:detect_leaks=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=86:print_stacktrace=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=86}
  VMSYNC_BUILD_DIR="$root/build-asan" bash scripts/build.sh -DVMSYNC_SANITIZE=ON
  (cd build-asan && ctest --output-on-failure -j2)
  test/cluster/build.sh
  # The same integration files as above, now against the sanitizer build of the binary.
  (cd test/integration && VMSYNC_BIN="$root/build-asan/vmsync" python3 -m pytest -q -p no:cacheprovider ${VMSYNC_INTEGRATION_TESTS})
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

if has fuzz; then
  step "fuzz each libFuzzer target for ${VMSYNC_FUZZ_SECONDS:-20}s (build-fuzz)"
  bash fuzz/run.sh all "${VMSYNC_FUZZ_SECONDS:-20}"
fi

step "all tests passed"
