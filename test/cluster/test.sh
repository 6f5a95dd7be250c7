#!/usr/bin/env bash
# Tests of the kcp control plane itself: starts one (up --crds all), runs
# `go test ./...` in test/cluster against it (unit + e2e; the KubeBlocks 0.9
# test starts a second control plane), then stops it (down).
# Extra arguments go to `go test` (e.g. -run TestFixture -v).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/kcp-test.XXXXXX")"
DIR="$TMP/cp"
cleanup() { KCP_KEEP_LOG=${KCP_KEEP_LOG:-} "$HERE/down" "$DIR" || true; rmdir "$TMP" 2>/dev/null || true; }
trap cleanup EXIT
"$HERE/up" "$DIR" --crds all
pid="$(cat "$DIR/pid")"
cd "$HERE"
status=0
KCP_DIR="$DIR" go test -count=1 -timeout 25m "$@" ./... || status=$?
rss_kb="$(awk '/VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
echo "kcp: control plane RSS after the tests: $((rss_kb / 1024)) MiB" >&2
exit "$status"
