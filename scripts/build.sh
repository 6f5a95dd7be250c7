#!/usr/bin/env bash
# Configures and builds vmsync into build/ (or $VMSYNC_BUILD_DIR). Extra arguments go to cmake's configure step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VMSYNC_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DVMSYNC_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
