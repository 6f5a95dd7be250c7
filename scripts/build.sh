#!/usr/bin/env bash
# Configures and builds vmsync into build/ (or $VMSYNC_BUILD_DIR). Extra arguments go to cmake's configure step.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${VMSYNC_BUILD_DIR:-$root/build}
# ccache keys on paths relative to the checkout, so every clone on this machine (CI's clean clone too) shares the
# objects an earlier build made. Debug info then names the files relative to the checkout.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S "$root" -B "$build" -G Ninja -DVMSYNC_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
