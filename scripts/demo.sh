#!/usr/bin/env bash
# The demo: builds vmsync and the local control plane, deploys a VictoriaMetrics cluster (the Helm chart's
# layout), scales vmstorage behind the consumers' backs, then shows check (drift), check --probe (what each pod
# says it runs with), fix --dry-run (the plan),
# fix (with progress) and check (in sync). Tears everything down at the end or on Ctrl-C.
# DEMO_LAYOUT=helm|generic|operator|kubeblocks-1.0|kubeblocks-0.9 picks another layout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
layout=${DEMO_LAYOUT:-helm}
ns=monitoring

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@" || echo "(exit status $?)"; }

bash scripts/install-deps.sh
bash scripts/build.sh
test/cluster/build.sh

dir=$(mktemp -d "${TMPDIR:-/tmp}/vmsync-demo.XXXXXX")
cleanup() { test/cluster/down "$dir/cp" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

crds=all
[ "$layout" = kubeblocks-0.9 ] && crds=kubeblocks-0.9
test/cluster/up "$dir/cp" --crds "$crds"
export KUBECONFIG="$dir/cp/kubeconfig"
kcp=test/cluster/bin/kcp
vmsync=build/vmsync

$kcp kubectl create namespace "$ns" >/dev/null
$kcp kubectl config set-context --current --namespace "$ns" >/dev/null
say "kcp fixture deploy --layout $layout --name vm --storage 3   # a VictoriaMetrics cluster, as upstream creates it"
$kcp fixture deploy -n "$ns" --layout "$layout" --name vm --storage 3 --insert 2 --select 2 --wait | tail -1
run $vmsync check

say "kcp fixture drift --storage 5   # vmstorage scaled behind the consumers' backs"
$kcp fixture drift -n "$ns" --layout "$layout" --name vm --storage 5 --update-configmap | tail -1
run $vmsync check
# Each pod asked for its own /flags and /metrics: with KubeBlocks 1.0, where only the pod knows its old list,
# MISSING now names the nodes it lacks.
run $vmsync check --probe
run $vmsync fix --dry-run=server
run $vmsync fix --yes
run $vmsync check
say "kcp flags   # what one vminsert pod really runs with, read from its /metrics"
pod=$($kcp kubectl get pods -o name | grep -m1 vminsert | cut -d/ -f2)
$kcp flags -n "$ns" "$pod"
