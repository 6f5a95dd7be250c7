#!/usr/bin/env bash
# Builds test/cluster/bin/kcp when it is missing or older than its sources.
# Reuses Go's module and build caches. Usage: test/cluster/build.sh [--force]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
BIN="$HERE/bin/kcp"
if [[ "${1:-}" != "--force" && -x "$BIN" ]]; then
  newer="$(find "$HERE/cmd" "$HERE/internal" "$HERE/go.mod" "$HERE/go.sum" -newer "$BIN" \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -not -name '*_test.go' -print -quit)"
  if [[ -z "$newer" ]]; then
    exit 0
  fi
fi
KV="$(awk '$1=="k8s.io/kubernetes"{print $2}' go.mod)"
MINOR="$(echo "$KV" | cut -d. -f2)"
LD="-s -w -X k8s.io/component-base/version.gitVersion=$KV -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean"
LD="$LD -X k8s.io/client-go/pkg/version.gitVersion=$KV -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$MINOR"
mkdir -p "$HERE/bin"
echo "kcp: building bin/kcp (Kubernetes $KV) ..." >&2
start=$(date +%s)
go build -ldflags "$LD" -o "$BIN.tmp" ./cmd/kcp
mv -f "$BIN.tmp" "$BIN"
echo "kcp: built in $(( $(date +%s) - start ))s" >&2
