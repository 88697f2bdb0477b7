#!/usr/bin/env bash
# Installs dependencies, builds kehu twice and runs every test:
#   build-asan/  AddressSanitizer + UBSan, -Werror: unit, fuzz-replay and
#                integration tests run here (ctest)
#   build/       the normal build, -Werror, so build/kehud etc. exist
#   build-fuzz/  clang + libFuzzer: each fuzz target runs KEHU_FUZZ_SECONDS
#                (default 60) from its corpus; a crash fails the run
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/deps.sh --fuzz

jobs=2

echo "== sanitizer build (build-asan)"
cmake -S . -B build-asan -DKEHU_SANITIZE=ON -DKEHU_WERROR=ON
cmake --build build-asan -j"$jobs"

echo "== normal build (build)"
cmake -S . -B build -DKEHU_WERROR=ON -DKEHU_SANITIZE=OFF
cmake --build build -j"$jobs"

echo "== fuzz targets (build-fuzz, clang + libFuzzer, ${KEHU_FUZZ_SECONDS:-60} s each)"
CC=clang cmake -S . -B build-fuzz -DKEHU_FUZZ=ON -DKEHU_SANITIZE=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_frame fuzz_validate fuzz_request
tests/fuzz/run.sh build-fuzz "${KEHU_FUZZ_SECONDS:-60}"

echo "== tests (build-asan)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir build-asan --output-on-failure -j"$jobs"
