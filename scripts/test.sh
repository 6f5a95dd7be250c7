#!/usr/bin/env bash
# Every test, from a fresh Debian machine (as root, as CI runs it):
#   1. dependencies (Debian packages; Go modules through the module proxy),
#   2. vmsync built with warnings as errors, and its unit tests (ctest),
#   3. the local control plane (test/cluster) built from k8s.io/kubernetes, and its own tests,
#   4. the integration and end-to-end tests of the built vmsync binary against that control plane.
# Set VMSYNC_TEST_STAGES to a subset ("unit cluster integration") to run part of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stages=${VMSYNC_TEST_STAGES:-"unit cluster integration"}
has() { [[ " $stages " == *" $1 "* ]]; }
step() { printf '\n==> %s\n' "$*" >&2; }

step "dependencies"
bash scripts/install-deps.sh

if has unit; then
  step "build (warnings as errors) and unit tests"
  bash scripts/build.sh
  (cd build && ctest --output-on-failure -j2)
fi

if has cluster; then
  step "local control plane: build and its own tests"
  bash test/cluster/test.sh
fi

if has integration; then
  step "integration and end-to-end tests of the vmsync binary"
  [ -x build/vmsync ] || bash scripts/build.sh
  test/cluster/build.sh
  (cd test/integration && VMSYNC_BIN="$root/build/vmsync" python3 -m pytest -q -p no:cacheprovider)
fi
step "all tests passed"
