#!/usr/bin/env bash
# Installs what kehu needs to build and test on Debian 12 (`--fuzz`: also
# clang for the fuzz targets), and makes sure the zh_CN.UTF-8 locale exists
# (kehu's Chinese messages are tested under it). Idempotent: when every
# package is installed and the locale is there it only asks dpkg and
# `locale -a` and returns.
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
  gettext locales libncurses-dev tmux
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

# `locale -a` writes zh_CN.utf8 for zh_CN.UTF-8. (Read whole first: grep -q
# stopping early would fail the pipe under pipefail.)
have_zh_locale() {
  local all
  command -v locale >/dev/null || return 1
  all=$(locale -a 2>/dev/null) || return 1
  grep -qix 'zh_CN\.utf-\?8' <<<"$all"
}

if ((${#missing[@]} == 0)) && have_zh_locale; then
  exit 0
fi

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
if ((${#missing[@]} > 0)); then
  echo "deps.sh: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! have_zh_locale; then
  echo "deps.sh: generating the zh_CN.UTF-8 locale" >&2
  if ! grep -qx 'zh_CN\.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
    if grep -qE '^# *zh_CN\.UTF-8 UTF-8$' /etc/locale.gen 2>/dev/null; then
      "${sudo_cmd[@]}" sed -i -E 's/^# *(zh_CN\.UTF-8 UTF-8)$/\1/' /etc/locale.gen
    else
      echo 'zh_CN.UTF-8 UTF-8' | "${sudo_cmd[@]}" tee -a /etc/locale.gen >/dev/null
    fi
  fi
  "${sudo_cmd[@]}" locale-gen
  have_zh_locale || { echo "deps.sh: the zh_CN.UTF-8 locale is still missing after locale-gen" >&2; exit 1; }
fi
