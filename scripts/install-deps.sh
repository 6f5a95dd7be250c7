#!/usr/bin/env bash
# Installs what building and testing vmsync needs on Debian 12, as root. Idempotent: does nothing when all is there.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config git ccache mold
  libcli11-dev libcurl4-openssl-dev libssl-dev zlib1g-dev nlohmann-json3-dev libsimdjson-dev libmimalloc-dev libfmt-dev doctest-dev libyaml-cpp-dev
  clang clang-tidy libclang-rt-14-dev
  mandoc man-db bash-completion zsh fish
  prometheus-pushgateway victoria-metrics jq hyperfine curl time
  python3 python3-pytest python3-yaml python3-jsonschema python3-pexpect dpkg-dev
  golang-go
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The machine's own Go (newer than Debian's) is used when present; Debian's golang-go is only a fallback.
if command -v go >/dev/null 2>&1; then
  missing=("${missing[@]/golang-go}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -q >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
