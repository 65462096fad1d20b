#!/usr/bin/env bash
# Configures and builds vigil into ${VIGIL_BUILD_DIR:-build}. CUDA is auto-detected. Without a GPU on this machine
# the CUDA backend is compiled for one architecture (sm_90) only, to check that it builds; with a GPU, for the
# GPU present. Override with VIGIL_CUDA_ARCHS="75-real;80-real;86-real;89-real;90" (or leave it empty for the
# CMake default, which covers sm_75..sm_90 plus PTX).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VIGIL_BUILD_DIR:-build}
args=(-S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release)
if [ -n "${VIGIL_CUDA_ARCHS+x}" ]; then
  [ -n "$VIGIL_CUDA_ARCHS" ] && args+=("-DCMAKE_CUDA_ARCHITECTURES=$VIGIL_CUDA_ARCHS")
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  args+=(-DCMAKE_CUDA_ARCHITECTURES=native)
else
  args+=(-DCMAKE_CUDA_ARCHITECTURES=90)
fi
cmake "${args[@]}" ${VIGIL_CMAKE_ARGS:-} > "$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
grep -E '^-- vigil' "$BUILD.configure.log" || true
cmake --build "$BUILD" -j "${VIGIL_JOBS:-$(nproc)}"
