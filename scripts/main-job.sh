#!/usr/bin/env bash
# The main job, as far as it exists today: build vigil (CUDA when present), show what this build and machine
# have, and run the kernel benchmarks on this machine's backends (CPU; GPU when present). Training on
# Fashion-MNIST and classification land with the train/classify commands.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VIGIL_BUILD_DIR:-build}
bash scripts/build.sh
echo "== vigil info"
./"$BUILD"/infer/vigil info
echo "== kernel benchmarks (JSON lines: op, implementation, shape, median ms, GFLOP/s, GB/s)"
for b in "$BUILD"/bench/*_bench; do
  [ -x "$b" ] || continue
  "$b" --quick
done
