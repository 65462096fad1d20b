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
echo "== the seed network's layer table"
./"$BUILD"/infer/vigil model show seed | tail -4
echo "== kernel benchmarks beside PyTorch (ratio = torch ms / vigil ms)"
bash scripts/bench-ops.sh
