#!/usr/bin/env bash
# Builds vigil and runs the whole test suite with ctest. GPU test instances skip (with the reason) when no usable
# GPU is present. Prints ctest's summary ("100% tests passed, 0 tests failed out of N").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VIGIL_BUILD_DIR:-build}
bash scripts/build.sh
./"$BUILD"/infer/vigil info
cd "$BUILD"
ctest --output-on-failure -j "${VIGIL_JOBS:-$(nproc)}" --timeout 900
