#!/usr/bin/env bash
# The Debian package (docs/operations.md#install-as-a-service-debian): a
# separate, unsanitized build of kehud, kehu and kehu-admin in the test's
# temporary directory (the compiler, build type and -Werror of $KEHU_BUILD;
# $KEHU_BUILD itself is not touched), packaged with `cpack -G DEB`, then:
#   - dpkg-deb -c: the three programs in /usr/bin, the unit in
#     /lib/systemd/system, README.md and operations.md in /usr/share/doc/kehu,
#     kehu's Chinese messages in /usr/share/locale, and nothing else;
#   - dpkg-deb -I: Package, Version, Depends (adduser and the runtime
#     libraries), the maintainer scripts, executable and as in
#     packaging/debian/;
#   - the maintainer scripts run with every command that would change the
#     machine replaced by a recorder: postinst makes the kehu user and group
#     and /var/lib/kehu (0700, kehu's) only when missing, never runs
#     kehu-admin init and prints the commands to run; postrm purge removes the
#     user, never the data directory;
#   - the unit's directives (the hardening of docs/operations.md),
#     `systemd-analyze verify` and `systemd-analyze security --offline` when
#     systemd-analyze is installed (else that check is skipped, saying so);
#   - `cmake --install --prefix /opt/kehu` names /opt/kehu/bin/kehud in the unit;
#   - the package unpacked with dpkg -x: the installed programs answer
#     --version and --help (kehu's in Chinese under LANG=zh_CN.UTF-8, from the
#     catalogue beside its bin directory, when that locale is installed), and
#     the installed kehu-admin, kehud and kehu init, serve and query a data
#     directory.
# Skipped (exit 77, SKIP_RETURN_CODE in tests/CMakeLists.txt) when cmake,
# cpack or dpkg-deb is missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

skip() {
  note "SKIP: $*"
  exit 77
}
for tool in cmake cpack dpkg-deb; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (Debian: apt-get install cmake dpkg)"
done

cache=$KEHU_BUILD/CMakeCache.txt
[[ -f "$cache" ]] || fail "$cache not found: KEHU_BUILD must be a configured build directory"
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$cache" | head -n1; }
cc=$(cache_get CMAKE_C_COMPILER)
build_type=$(cache_get CMAKE_BUILD_TYPE)
werror=$(cache_get KEHU_WERROR)
version=$(sed -n 's/^project(kehu VERSION \([0-9.]*\).*/\1/p' "$KEHU_SRC/CMakeLists.txt")
[[ -n "$version" ]] || fail "no project(kehu VERSION ...) in $KEHU_SRC/CMakeLists.txt"

# --- build and package ------------------------------------------------------
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack installs without building the
# tests first (its "preinstall" step would build target all).
build=$KEHU_TMP/build
limit=$(kehu_scaled 100)
configure=(cmake -S "$KEHU_SRC" -B "$build" -DKEHU_SANITIZE=OFF -DKEHU_FUZZ=OFF
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON)
[[ -n "$cc" ]] && configure+=(-DCMAKE_C_COMPILER="$cc")
[[ -n "$build_type" ]] && configure+=(-DCMAKE_BUILD_TYPE="$build_type")
[[ -n "$werror" ]] && configure+=(-DKEHU_WERROR="$werror")
if ! timeout "$limit" "${configure[@]}" >"$KEHU_TMP/configure.log" 2>&1; then
  tail -n 30 "$KEHU_TMP/configure.log" >&2
  fail "configuring a package build failed (log above)"
fi
if ! timeout "$limit" cmake --build "$build" -j2 --target kehud kehu kehu-admin \
     >"$KEHU_TMP/build.log" 2>&1; then
  tail -n 30 "$KEHU_TMP/build.log" >&2
  fail "building kehud, kehu and kehu-admin for the package failed or took over $limit s (log above)"
fi
if grep -q 'warning:' "$KEHU_TMP/build.log"; then
  grep 'warning:' "$KEHU_TMP/build.log" >&2
  fail "the package build has compiler warnings"
fi
out=$KEHU_TMP/out
if ! (cd "$build" && timeout "$limit" cpack -G DEB -B "$out") >"$KEHU_TMP/cpack.log" 2>&1; then
  cat "$KEHU_TMP/cpack.log" >&2
  fail "cpack -G DEB failed (log above)"
fi
debs=("$out"/kehu_*.deb)
((${#debs[@]} == 1)) && [[ -f "${debs[0]}" ]] || fail "cpack made no single kehu_*.deb in $out: $(ls "$out")"
deb=${debs[0]}
expect_eq "kehu_${version}_$(dpkg-deb -f "$deb" Architecture).deb" "$(basename "$deb")" "package file name"

# --- contents -----------------------------------------------------------------
dpkg-deb -c "$deb" >"$KEHU_TMP/contents" || fail "dpkg-deb -c $deb failed"
# "MODE OWNER PATH" of every file (directories left out)
files=$(awk '$1 !~ /^d/ { print $1, $2, $6 }' "$KEHU_TMP/contents" | sort)
want=$(sort <<EOF
-rw-r--r-- root/root ./lib/systemd/system/kehud.service
-rw-r--r-- root/root ./usr/share/doc/kehu/README.md
-rw-r--r-- root/root ./usr/share/doc/kehu/operations.md
-rw-r--r-- root/root ./usr/share/locale/zh_CN/LC_MESSAGES/kehu.mo
-rwxr-xr-x root/root ./usr/bin/kehu
-rwxr-xr-x root/root ./usr/bin/kehu-admin
-rwxr-xr-x root/root ./usr/bin/kehud
EOF
)
[[ "$files" == "$want" ]] || fail "dpkg-deb -c: the package's files are not the expected ones
expected:
$want
got:
$files"

# --- control --------------------------------------------------------------------
dpkg-deb -I "$deb" >"$KEHU_TMP/info" || fail "dpkg-deb -I $deb failed"
expect_eq kehu "$(dpkg-deb -f "$deb" Package)" "Package"
expect_eq "$version" "$(dpkg-deb -f "$deb" Version)" "Version"
depends=$(dpkg-deb -f "$deb" Depends)
[[ -n "$depends" ]] || fail "dpkg-deb -I: no Depends: $(cat "$KEHU_TMP/info")"
for lib in adduser libc6 libuv1 liblmdb0 libprotobuf-c1 libmbedtls14 libargon2-1 libinih1; do
  [[ ",$depends," =~ [,\ ]${lib}[\ ,] ]] || fail "Depends lacks $lib: $depends"
done
[[ "$depends" != *libasan* && "$depends" != *libubsan* ]] || fail "Depends names a sanitizer runtime: $depends"
for script in postinst prerm postrm; do
  grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$script +#!/bin/sh" "$KEHU_TMP/info" ||
    fail "dpkg-deb -I does not list an executable $script (#!/bin/sh): $(cat "$KEHU_TMP/info")"
done
control=$KEHU_TMP/control
dpkg-deb -e "$deb" "$control" || fail "dpkg-deb -e $deb failed"
for script in postinst prerm postrm; do
  cmp -s "$control/$script" "$KEHU_SRC/packaging/debian/$script" ||
    fail "the package's $script differs from packaging/debian/$script"
  sh -n "$control/$script" || fail "$script: sh -n found a syntax error"
done

# --- the maintainer scripts, dry -------------------------------------------------
# Every command that would change the machine (users, files under /var and
# /etc, systemd) is a stub that records its arguments in $calls. getent answers
# from $KEHU_TMP/accounts; ls answers "empty" for /var/lib/kehu.
stubs=$KEHU_TMP/stubs
calls=$KEHU_TMP/calls
mkdir -p "$stubs"
for cmd in adduser addgroup deluser delgroup install chown chmod rm systemctl kehu-admin kehud; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$cmd" "$calls" >"$stubs/$cmd"
done
cat >"$stubs/getent" <<EOF
#!/bin/sh
grep -qx "\$1 \$2" "$KEHU_TMP/accounts"
EOF
cat >"$stubs/ls" <<EOF
#!/bin/sh
echo "ls \$*" >>"$calls"
EOF
chmod +x "$stubs"/*
run_script() {   # run_script NAME ARGS...: stdout in $KEHU_TMP/script.out
  : >"$calls"
  PATH=$stubs:/usr/bin:/bin sh "$control/$1" "${@:2}" >"$KEHU_TMP/script.out" 2>&1 ||
    fail "$1 $* exited non-zero: $(cat "$KEHU_TMP/script.out")"
}
dry_datadir_state=absent
[[ -e /var/lib/kehu ]] && dry_datadir_state=present

: >"$KEHU_TMP/accounts"   # a machine without kehu
run_script postinst configure
grep -qx 'addgroup --system --quiet kehu' "$calls" || fail "postinst did not add the group kehu: $(cat "$calls")"
grep -qE '^adduser --system .*--ingroup kehu --home /var/lib/kehu .*kehu$' "$calls" ||
  fail "postinst did not add the system user kehu (home /var/lib/kehu): $(cat "$calls")"
if [[ $dry_datadir_state == absent ]]; then
  grep -qx 'install -d -o kehu -g kehu -m 0700 /var/lib/kehu' "$calls" ||
    fail "postinst did not create /var/lib/kehu 0700 owned by kehu: $(cat "$calls")"
else
  note "/var/lib/kehu exists on this machine: postinst's creation of it was not checked"
fi
if grep -qE '^(kehu-admin|kehud)' "$calls"; then
  fail "postinst ran kehu-admin or kehud: $(cat "$calls")"
fi
grep -qF 'sudo -u kehu kehu-admin init /var/lib/kehu --admin admin' "$KEHU_TMP/script.out" ||
  fail "postinst did not print the init command: $(cat "$KEHU_TMP/script.out")"
grep -qF 'systemctl enable --now kehud' "$KEHU_TMP/script.out" ||
  fail "postinst did not print 'systemctl enable --now kehud': $(cat "$KEHU_TMP/script.out")"

printf 'group kehu\npasswd kehu\n' >"$KEHU_TMP/accounts"   # installed before: idempotent
run_script postinst configure "$version"
if grep -qE '^(adduser|addgroup)' "$calls"; then
  fail "postinst added kehu again although it exists: $(cat "$calls")"
fi

run_script prerm remove
run_script postrm remove
if grep -qE '^(deluser|delgroup)' "$calls"; then fail "postrm remove removed the user: $(cat "$calls")"; fi
run_script postrm purge
grep -qx 'deluser --system --quiet kehu' "$calls" || fail "postrm purge did not remove the user kehu: $(cat "$calls")"
if grep -E '^(rm|chown|chmod)' "$calls" | grep -q /var/lib/kehu; then
  fail "postrm purge touched the data directory: $(cat "$calls")"
fi
grep -qE '^rm -f /etc/systemd/system/multi-user.target.wants/kehud.service$' "$calls" ||
  fail "postrm purge did not remove the enable link: $(cat "$calls")"

# --- the unit -------------------------------------------------------------------
root=$KEHU_TMP/root
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x $deb failed"
unit=$root/lib/systemd/system/kehud.service
# "Key=value" lines, comments and sections left out
directives=$(grep -E '^[A-Za-z]+=' "$unit")
has() { grep -qxF "$1" <<<"$directives" || fail "kehud.service lacks '$1'"; }
has 'User=kehu'
has 'Group=kehu'
has 'ExecStart=/usr/bin/kehud --data /var/lib/kehu'
has 'ExecReload=/bin/kill -HUP $MAINPID'
has 'ProtectSystem=strict'
has 'ReadWritePaths=/var/lib/kehu'
has 'NoNewPrivileges=yes'
has 'PrivateTmp=yes'
has 'ProtectHome=yes'
has 'Restart=on-failure'
has 'KillSignal=SIGTERM'
has 'ProtectKernelTunables=yes'
has 'ProtectKernelModules=yes'
has 'ProtectControlGroups=yes'
has 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'
has 'WantedBy=multi-user.target'
grep -qE '^TimeoutStopSec=[0-9]+' <<<"$directives" || fail "kehud.service has no TimeoutStopSec="
# enough descriptors for the default max_connections (kehud keeps 64 for itself)
max_conn=$(sed -n 's/.*cfg->max_connections = \([0-9]*\);.*/\1/p' "$KEHU_SRC/core/config.c")
[[ -n "$max_conn" ]] || fail "no default max_connections in core/config.c"
nofile=$(sed -n 's/^LimitNOFILE=\([0-9]*\)$/\1/p' <<<"$directives")
[[ -n "$nofile" ]] && ((nofile >= max_conn + 64)) ||
  fail "LimitNOFILE='$nofile' is below the default max_connections ($max_conn) + 64"
# what kehud needs must stay allowed: fork/exec of kehu-admin, TCP
if grep -E '^SystemCallFilter=~' <<<"$directives" | grep -qE '@process|@network-io|execve'; then
  fail "kehud.service forbids fork/exec or networking (scheduled backups run kehu-admin)"
fi
if grep -qE '^(NoExecPaths|ExecPaths|IPAddressDeny)=' <<<"$directives"; then
  fail "kehud.service restricts exec paths or addresses: $(grep -E '^(NoExecPaths|ExecPaths|IPAddressDeny)=' <<<"$directives")"
fi
grep -qE '^#.*ReadWritePaths=/' "$unit" || fail "kehud.service does not say how to add a backup directory to ReadWritePaths"

if command -v systemd-analyze >/dev/null; then
  # verify wants ExecStart's program to exist: the unpacked one stands in
  mkdir -p "$KEHU_TMP/verify"
  sed "s#^ExecStart=/usr/bin/kehud #ExecStart=$root/usr/bin/kehud #" "$unit" >"$KEHU_TMP/verify/kehud.service"
  # verify exits 0 after warnings (unknown keys, bad values): any output fails
  if ! systemd-analyze verify "$KEHU_TMP/verify/kehud.service" >"$KEHU_TMP/verify.out" 2>&1 ||
     [[ -s "$KEHU_TMP/verify.out" ]]; then
    fail "systemd-analyze verify kehud.service: $(cat "$KEHU_TMP/verify.out")"
  fi
  if systemd-analyze security --offline=yes "$unit" >"$KEHU_TMP/security.out" 2>&1; then
    level=$(sed -n 's/.*Overall exposure level for kehud.service: \([0-9.]*\).*/\1/p' "$KEHU_TMP/security.out")
    [[ -n "$level" ]] || fail "systemd-analyze security printed no exposure level: $(tail -n 5 "$KEHU_TMP/security.out")"
    awk -v l="$level" 'BEGIN { exit !(l < 3.0) }' ||
      fail "systemd-analyze security: exposure level $level, expected below 3.0: $(grep -E '^✗' "$KEHU_TMP/security.out")"
    note "systemd-analyze security: exposure level $level"
  else
    note "systemd-analyze security --offline is not supported here: exposure level not checked"
  fi
else
  note "SKIP (this check only): systemd-analyze is not installed, kehud.service not verified by systemd"
fi

# --- another prefix ----------------------------------------------------------------
DESTDIR=$KEHU_TMP/opt-root timeout "$limit" cmake --install "$build" --prefix /opt/kehu \
  >"$KEHU_TMP/install.log" 2>&1 || fail "cmake --install --prefix /opt/kehu failed: $(cat "$KEHU_TMP/install.log")"
for f in opt/kehu/bin/kehud opt/kehu/bin/kehu opt/kehu/bin/kehu-admin lib/systemd/system/kehud.service \
         opt/kehu/share/doc/kehu/operations.md opt/kehu/share/locale/zh_CN/LC_MESSAGES/kehu.mo; do
  [[ -f "$KEHU_TMP/opt-root/$f" ]] || fail "cmake --install --prefix /opt/kehu did not install /$f"
done
grep -qx 'ExecStart=/opt/kehu/bin/kehud --data /var/lib/kehu' "$KEHU_TMP/opt-root/lib/systemd/system/kehud.service" ||
  fail "installed under /opt/kehu, the unit does not start /opt/kehu/bin/kehud: $(grep ExecStart= "$KEHU_TMP/opt-root/lib/systemd/system/kehud.service")"

# --- the unpacked programs ------------------------------------------------------------
bin=$root/usr/bin
expect_exit 0 timeout "$KEHU_CMD_TIMEOUT" "$bin/kehud" --version
expect_eq "kehud $version" "$OUT" "kehud --version"
expect_exit 0 timeout "$KEHU_CMD_TIMEOUT" "$bin/kehu" --version
expect_eq "kehu $version" "$OUT" "kehu --version"
expect_exit 0 timeout "$KEHU_CMD_TIMEOUT" "$bin/kehu-admin" --help
expect_match '^usage: kehu-admin' "$OUT" "kehu-admin --help"
# not /usr/share/locale (the package is not installed): ../share/locale
# from the unpacked bin directory
locales=$(locale -a 2>/dev/null) || true
if grep -qix 'zh_CN\.utf-\?8' <<<"$locales"; then
  expect_exit 0 env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=zh_CN.UTF-8 \
    timeout "$KEHU_CMD_TIMEOUT" "$bin/kehu" --help
  expect_match '^用法：kehu' "$OUT" "the unpacked kehu --help under LANG=zh_CN.UTF-8"
else
  note "SKIP (this check only): no zh_CN.UTF-8 locale (scripts/deps.sh makes it), the unpacked kehu's Chinese not checked"
fi
# the lib.sh helpers on the installed programs: init, serve, query, stop
KEHU_BUILD=$bin
kehu_start_server
expect_exit 0 env KEHU_PASSWORD=adminpass "$bin/kehu" --user admin whoami
expect_match 'admin' "$OUT" "kehu whoami"
kehu_stop_server
exit 0
