#!/usr/bin/env bash
# Builds vigil and runs the whole test suite: the Release build's ctest suite (GPU test instances skip, with the
# reason, when no usable GPU is present), then the same CPU suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (scripts/sanitize.sh), then each libFuzzer target for VIGIL_FUZZ_SECONDS (default 60) on its seed corpus
# (scripts/fuzz.sh), then the hand-written CUDA kernels' `/cuda` test instances on the CPU through the CUDA emulator
# (scripts/cuda-emulation.sh; VIGIL_EMU_SCHEDULES, default "forward" here). VIGIL_SANITIZE=0 runs only the Release
# suite. Each ctest pass prints its summary
# ("100% tests passed, 0 tests failed out of N"); the first failing phase stops the script.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VIGIL_BUILD_DIR:-build}
bash scripts/build.sh
./"$BUILD"/infer/vigil info
(cd "$BUILD" && ctest --output-on-failure -j "${VIGIL_JOBS:-$(nproc)}" --timeout 900)
if [ "${VIGIL_SANITIZE:-1}" != 0 ]; then
  echo "== the CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer"
  bash scripts/sanitize.sh
  echo "== fuzz smoke run: ${VIGIL_FUZZ_SECONDS:-60} s per target"
  bash scripts/fuzz.sh "${VIGIL_FUZZ_SECONDS:-60}"
  echo "== the CUDA kernels on the CPU through the emulator"
  VIGIL_EMU_SCHEDULES=${VIGIL_EMU_SCHEDULES:-forward} bash scripts/cuda-emulation.sh
fi
