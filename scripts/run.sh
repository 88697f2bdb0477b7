#!/usr/bin/env bash
# Runs the whole system: installs dependencies, builds, creates a data
# directory with demo data on first use, starts kehud in the background and
# configures the kehu client so that `build/kehu customer list` works at once.
#
#   KEHU_DATA   data directory (default: ./kehu-data)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

scripts/deps.sh

echo "== building (build/)"
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target kehud kehu kehu-admin

data=${KEHU_DATA:-$root/kehu-data}
mkdir -p "$(dirname "$data")"
data=$(cd "$(dirname "$data")" && pwd)/$(basename "$data")
log=$data/kehud.log
pidfile=$data/kehud.pid
password_file=$data/admin-password

# --- first run: data directory, admin user, demo data ----------------------
if [[ ! -e "$data" ]]; then
  echo "== creating $data"
  password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
  if ! printf '%s\n' "$password" | build/kehu-admin init "$data" --admin admin; then
    rm -rf "$data"   # it did not exist before: leave nothing half-made
    echo "kehu-admin init failed" >&2
    exit 1
  fi
  (umask 077 && printf '%s\n' "$password" >"$password_file")
  chmod 600 "$password_file"
  echo "== adding 200 demo customers"
  build/kehu-admin seed "$data" --customers 200
fi
if [[ -r "$password_file" ]]; then
  password=$(head -n1 "$password_file")
else
  password=""
  echo "note: $password_file is missing: log in yourself with build/kehu login" >&2
fi

# --- stop a kehud started earlier from this data directory ----------------
if [[ -f "$pidfile" ]]; then
  old=$(cat "$pidfile")
  if [[ -n "$old" ]] && kill -0 "$old" 2>/dev/null &&
     tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q kehud; then
    echo "== stopping the running kehud (pid $old)"
    kill -TERM "$old"
    for ((i = 0; i < 100; i++)); do
      kill -0 "$old" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$old" 2>/dev/null; then
      echo "kehud (pid $old) did not stop within 10 s; stop it and run again" >&2
      exit 1
    fi
  fi
  rm -f "$pidfile"
fi

# --- start ---------------------------------------------------------------
echo "== starting kehud"
[[ -f "$log" ]] && mv -f "$log" "$log.1"
nohup "$root/build/kehud" --data "$data" >"$log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"

address=""
for ((i = 0; i < 150; i++)); do          # 150 x 0.1 s = 15 s
  line=$(grep -m1 -E '^kehud listening on [^ ]+:[0-9]+$' "$log" || true)
  if [[ -n "$line" ]]; then
    address=${line#kehud listening on }
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$address" ]]; then
  echo "kehud did not start. Last lines of $log:" >&2
  tail -n 20 "$log" >&2
  if grep -qiE 'in use|EADDRINUSE' "$log"; then
    listen=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*//p' "$data/kehud.conf" | head -n1)
    echo >&2
    echo "The address ${listen:-in $data/kehud.conf} is already taken by another program." >&2
    echo "Stop that program, or change 'listen' under [server] in $data/kehud.conf." >&2
  fi
  kill "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  exit 1
fi

# --- client configuration --------------------------------------------------
config_dir=${XDG_CONFIG_HOME:-$HOME/.config}/kehu
mkdir -p "$config_dir"
cat >"$config_dir/config" <<CONFIG
# written by kehu's scripts/run.sh
server = $address
ca = $data/tls/ca.crt
user = admin
CONFIG
logged_in=no
if [[ -n "$password" ]]; then
  if KEHU_PASSWORD=$password build/kehu login >/dev/null; then
    logged_in=yes
  else
    echo "warning: build/kehu login failed; see $log" >&2
  fi
fi

cat <<EOT

kehud is running (pid $pid).
  server address   $address
  admin user       admin
  admin password   ${password:-(unknown: $password_file is missing)}   (also in $password_file)
  data directory   $data
  server log       $log
  client config    $config_dir/config   (logged in: $logged_in)
  stop it with     kill \$(cat $pidfile)

Try, in any terminal:
  build/kehu customer list --limit 10
  build/kehu customer add --name "示例科技有限公司" --stage potential --industry 软件 --region 上海市
  build/kehu --json customer get \$(build/kehu --json customer list --limit 1 | jq -r '.items[0].id')
EOT
