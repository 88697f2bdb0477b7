#!/usr/bin/env bash
# Builds the Debian package kehu (kehud, kehu, kehu-admin, the systemd unit
# kehud.service, the maintainer scripts of packaging/debian/ and the docs)
# from a release build in build-pkg/ (no sanitizers), and prints its path:
#
#   scripts/package.sh [OUTDIR]        # default OUTDIR: build-pkg
#   sudo apt install ./build-pkg/kehu_*.deb
#
# The same by hand in any build directory: cmake --build DIR && cpack -G DEB
# (run in DIR). docs/operations.md#install-as-a-service-debian says what the
# package does when installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/deps.sh

out=${1:-build-pkg}
mkdir -p "$out"
out=$(cd "$out" && pwd)

echo "== release build (build-pkg)"
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack installs the three programs built
# here without building the tests first.
cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEHU_SANITIZE=OFF -DKEHU_FUZZ=OFF \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
cmake --build build-pkg -j2 --target kehud kehu kehu-admin

echo "== cpack -G DEB"
rm -f "$out"/kehu_*.deb
(cd build-pkg && cpack -G DEB -B "$out" >/dev/null)
rm -rf "$out/_CPack_Packages"
deb=$(ls "$out"/kehu_*.deb)
dpkg-deb -I "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\):/\1:/p'
echo "$deb"
