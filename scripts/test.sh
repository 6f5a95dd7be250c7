#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: dependencies, build with warnings as errors, unit tests,
# then the integration tests of the built binary against the real local control plane.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure)
