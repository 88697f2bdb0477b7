#!/usr/bin/env bash
# Installs what kehu needs to build and test on Debian 12 (`--fuzz`: also
# clang for the fuzz targets). Idempotent: when every package is already
# installed it only asks dpkg and returns.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev liblmdb-dev lmdb-utils
  libprotobuf-c-dev protobuf-c-compiler
  libmbedtls-dev libargon2-dev
  libcmocka-dev libcjson-dev libinih-dev libutf8proc-dev
  libxlsxwriter-dev
  libcsv-dev libzip-dev libexpat1-dev nettle-dev
  jq openssl ca-certificates python3
  python3-protobuf protobuf-compiler python3-openpyxl python3-prometheus-client
  dpkg-dev file
)
# The tests also build the libFuzzer targets, which need clang.
if [[ "${1:-}" == "--fuzz" ]]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
