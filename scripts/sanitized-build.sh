#!/usr/bin/env bash
# Configures (once) and builds vigil with clang, AddressSanitizer and UndefinedBehaviorSanitizer (any UB report is
# fatal) and libFuzzer instrumentation into ${VIGIL_SAN_BUILD:-build-san}: CPU only, tests and libFuzzer targets
# on, benchmarks off. Used by scripts/sanitize.sh (the test suite) and scripts/fuzz.sh (the fuzz targets).
# usage: scripts/sanitized-build.sh [TARGET...]     (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VIGIL_SAN_BUILD:-build-san}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer"
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_FUZZ=ON \
    -DVIGIL_CUDA=OFF -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="$SAN -gline-tables-only" > "$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log"; exit 1; }
fi
if [ $# -gt 0 ]; then
  targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  cmake --build "$BUILD" "${targets[@]}" -j "${VIGIL_JOBS:-$(nproc)}"
else
  cmake --build "$BUILD" -j "${VIGIL_JOBS:-$(nproc)}"
fi
