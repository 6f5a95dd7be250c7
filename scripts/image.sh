#!/usr/bin/env bash
# Builds vmsync's container image from the Containerfile without a registry, with Debian's tools:
#   scripts/image.sh [BUILD_DIR]          (default build/; the shipped build's vmsync goes into the image)
# Writes BUILD_DIR/image/vmsync-image.tar, an OCI archive of localhost/vmsync:<version>, and prints its path. Load it
# with `podman load -i` or push it with `skopeo copy oci-archive:BUILD_DIR/image/vmsync-image.tar docker://REG/vmsync:TAG`.
#
# How: the Containerfile's two registry-bound stages are replaced (buildah bud --build-context): `runtime-base` by
# a root filesystem that mmdebstrap makes from deploy/image/runtime-packages (Debian 12, only those packages and
# their dependencies, no shell), and `build` by a directory holding the built vmsync, stripped. The runtime stage,
# its labels, user and entrypoint are the Containerfile's. buildah runs with the vfs driver and chroot isolation
# (no overlay, fuse or user namespaces needed) in a private store under the cache.
#
# Cached under ${VMSYNC_IMAGE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/vmsync-image}: the base by the package list, the
# mirror and mmdebstrap's version (VMSYNC_IMAGE_REFRESH=1 builds it again, e.g. for Debian's security updates); the
# image by the base, the Containerfile, the binary and the labels. A second run with the same inputs builds nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
cache=${VMSYNC_IMAGE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vmsync-image}
mirror=${VMSYNC_IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${VMSYNC_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
say() { echo "image: $*" >&2; }
die() { echo "image: error: $*" >&2; exit 2; }

for t in mmdebstrap buildah skopeo; do
  command -v "$t" >/dev/null || die "$t is missing: install it (VMSYNC_DEPS=image bash scripts/install-deps.sh)"
done
[ -x "$build/vmsync" ] || die "$build/vmsync is missing: build it first (bash scripts/build.sh)"
version=$("$build/vmsync" version | sed -n '1s/^vmsync //p')
revision=$("$build/vmsync" version | sed -n '2s/^git commit //p')
source_url=$(sed -n 's/^ARG SOURCE=//p' "$root/Containerfile")
image=localhost/vmsync:$version
mkdir -p "$cache" "$build/image"
hash() { sha256sum | cut -c1-24; }

# 1. The runtime base: mmdebstrap's extract variant unpacks the listed packages and their dependencies and runs
#    no maintainer script; the extract hook does what ca-certificates' would (the bundle) and adds the image's users.
packages=$(grep -v '^#' "$root/deploy/image/runtime-packages" | paste -sd, -)
hook='set -e; r=$1; rm -rf "$r"/usr/share/doc "$r"/usr/share/man "$r"/usr/share/info "$r"/usr/share/locale "$r"/usr/share/lintian
mkdir -p "$r"/etc/ssl/certs "$r"/tmp && chmod 1777 "$r"/tmp
cat "$r"/usr/share/ca-certificates/mozilla/*.crt >"$r"/etc/ssl/certs/ca-certificates.crt
printf "root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin\n" >"$r"/etc/passwd
printf "root:x:0:\nnonroot:x:65532:\n" >"$r"/etc/group'
mm=(mmdebstrap --quiet --variant=extract --mode=root --format=tar --include="$packages" --extract-hook="$hook")
base_key=$(printf '%s\n' "${mm[@]}" "$mirror" "$security" "$(mmdebstrap --version)" | hash)
base_tar=$cache/base-$base_key.tar
if [ ! -s "$base_tar" ] || [ -n "${VMSYNC_IMAGE_REFRESH:-}" ]; then
  say "building the runtime base ($packages) with mmdebstrap"
  SOURCE_DATE_EPOCH=0 "${mm[@]}" bookworm "$base_tar.$$.tmp" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main" </dev/null
  mv "$base_tar.$$.tmp" "$base_tar" # a concurrent build of the same base writes its own temporary file
  rm -f "$cache"/image-*.tar
fi

B=(buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)
base_image=localhost/vmsync-runtime-base:$base_key
if ! "${B[@]}" inspect --type image "$base_image" >/dev/null 2>&1 || [ -n "${VMSYNC_IMAGE_REFRESH:-}" ]; then
  say "packing the runtime base as $base_image"
  ctr=$("${B[@]}" from scratch)
  "${B[@]}" add --quiet "$ctr" "$base_tar" / >/dev/null
  "${B[@]}" commit --quiet --rm "$ctr" "$base_image" >/dev/null
fi

# 2. The image: the Containerfile, its build stage replaced by the stripped binary.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$build/vmsync" "$stage/out/vmsync"
strip "$stage/out/vmsync"
image_key=$( (echo "$base_key $version $revision $source_url"; cat "$root/Containerfile" "$stage/out/vmsync") | hash)
archive=$cache/image-$image_key.tar
if [ ! -s "$archive" ]; then
  say "building $image from the Containerfile with buildah"
  "${B[@]}" bud --quiet --isolation chroot --layers=false \
    --build-context build="$stage" --build-context runtime-base="container-image://$base_image" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    -f "$root/Containerfile" -t "$image" "$root" >/dev/null
  skopeo copy --quiet "containers-storage:[vfs@$cache/storage+$cache/run]$image" "oci-archive:$archive.$$.tmp:$image"
  mv "$archive.$$.tmp" "$archive"
  "${B[@]}" rmi "$image" >/dev/null 2>&1 || true
else
  say "$image is cached ($archive)"
fi
cp "$archive" "$build/image/vmsync-image.tar"
echo "$build/image/vmsync-image.tar"
