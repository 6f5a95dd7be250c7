#!/usr/bin/env bash
# The release archive for krew (deploy/krew/vmsync.yaml): kubectl-vmsync (the built vmsync, stripped) and
# kubectl_complete-vmsync, at the top of a reproducible tar.gz named vmsync_v<version>_linux_<arch>.tar.gz.
#   scripts/krew-archive.sh [BUILD_DIR [OUT_DIR]] [--manifest FILE]
# Prints the archive's path. With --manifest, FILE's version, uri and sha256 are set for this archive (uri keeps
# its base, only the file name and the release tag change).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
manifest=
args=()
while (($#)); do
  case $1 in
  --manifest) manifest=$2; shift 2 ;;
  *) args+=("$1"); shift ;;
  esac
done
build=${args[0]:-$root/build}
out=${args[1]:-$root/dist}
[ -x "$build/vmsync" ] || { echo "krew-archive: $build/vmsync is missing: build it first (scripts/build.sh)" >&2; exit 2; }
version=$("$build/vmsync" version | sed -n '1s/^vmsync //p')
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
name=vmsync_v${version}_linux_${arch}.tar.gz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -m 0755 "$build/vmsync" "$stage/kubectl-vmsync"
strip "$stage/kubectl-vmsync"
install -m 0755 "$root/completions/kubectl_complete-vmsync" "$stage/kubectl_complete-vmsync"
mkdir -p "$out"
tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - kubectl-vmsync kubectl_complete-vmsync |
  gzip -n -9 >"$out/$name"
if [ -n "$manifest" ]; then
  sum=$(sha256sum "$out/$name" | cut -d' ' -f1)
  sed -i -E -e "s|^(  version: ).*|\1v$version|" \
    -e "s|^(      uri: .*/download/)[^/]+/[^/]+$|\1v$version/$name|" \
    -e "s|^(      sha256: ).*|\1\"$sum\"|" "$manifest"
fi
echo "$out/$name"
