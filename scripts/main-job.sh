#!/usr/bin/env bash
# The main job: build vigil (CUDA when present), show the build and machine, train the fmnist model on Fashion-MNIST
# (Debian's dataset-fashion-mnist) for a few minutes -- a 20,000-image subset for 2 epochs on CPU, the full set for
# 5 epochs on a GPU -- calibrate it on the validation split, evaluate it on the 10,000 test images (JSON + HTML
# report), classify some exported test images, and time the model and the kernels beside PyTorch. Outputs go to
# ${VIGIL_RUN_DIR:-runs/fmnist}.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VIGIL_BUILD_DIR:-build}
RUN=${VIGIL_RUN_DIR:-runs/fmnist}
bash scripts/build.sh
VIGIL=./"$BUILD"/infer/vigil
echo "== vigil info"
$VIGIL info
echo "== the fmnist model"
$VIGIL model show fmnist | tail -4
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  size=(--epochs 5)
else
  size=(--epochs 2 --limit-train 20000 --limit-val 2000)
fi
echo "== training on Fashion-MNIST (${size[*]}) into $RUN"
rm -rf "$RUN"
$VIGIL train --data /usr/share/datasets/fashion-mnist --model fmnist --out "$RUN" --device auto \
  --optimizer adam --lr 2e-3 --augment false --seed 1 "${size[@]}"
echo "== calibrating on the run's validation split (temperature + thresholds for 95% precision, written into a copy)"
$VIGIL calibrate --model "$RUN/model.safetensors" --data "$RUN/manifest.csv" --split val \
  --out "$RUN/model.calibrated.safetensors" --json "$RUN/calibration.json"
echo "== evaluating the calibrated model on the test split (report: $RUN/evaluation.html)"
$VIGIL evaluate --model "$RUN/model.calibrated.safetensors" --data "$RUN/manifest.csv" --split test \
  --json "$RUN/evaluation.json" --html "$RUN/evaluation.html" | sed -n 1,3p
echo "== classifying 20 exported test images"
$VIGIL data export --data /usr/share/datasets/fashion-mnist --split test --count 20 --out "$RUN/samples"
$VIGIL classify --model "$RUN/model.calibrated.safetensors" "$RUN/samples" --jsonl "$RUN/samples.jsonl"
echo "== inference speed (model only, beside PyTorch when Debian's python3-torch is installed)"
$VIGIL bench --model "$RUN/model.safetensors" --batch 1,64 --seconds 2 --torch
echo "== kernel benchmarks beside PyTorch (ratio = torch ms / vigil ms)"
bash scripts/bench-ops.sh
echo "done: reports at $RUN/report.html and $RUN/evaluation.html, models at $RUN/model.safetensors (+ .calibrated)"
