"""PIL timings for bench/decode_bench.cpp's work on the same files, printed in the same JSON-line format
(impl "torch-cpu"): decode (Image.open + convert("RGB")) and decode + the torchvision recipe for a PIL image
(Resize -> PIL BILINEAR resize, ToTensor, Normalize; torchvision itself is not a Debian package, so its two tensor
steps are written out with torch ops). One thread, like vigil's numbers.

Usage: /usr/bin/python3 bench/torch/decode.py [work dir written by decode_bench = /tmp/vigil_decode_bench] [reps=5]
"""
import glob
import io
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import time_it  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def decode(data):
    return Image.open(io.BytesIO(data)).convert("RGB")


def decode_preprocess(data, size):
    im = decode(data)
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BILINEAR)
    t = torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1).float().div(255)
    return t.sub(MEAN).div(STD)


def ms_per_image(files, fn, reps):
    def one_pass():
        for data in files:
            fn(data)

    return time_it(one_pass, reps, warmup=1)[0] / len(files)  # median of `reps` passes after one to warm up


def report(op, shape, ms, n):
    print(json.dumps({"op": op, "impl": "torch-cpu", "shape": shape, "ms": round(ms, 4),
                      "images_per_s": round(1000.0 / ms, 1), "files": n, "threads": 1, "decoder": "PIL"},
                     separators=(",", ":")), flush=True)


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/vigil_decode_bench"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(1)
    sets = [("cifar10-jpeg 32x32 -> 3x32x32", sorted(glob.glob(os.path.join(work, "cifar", "test", "*", "*.jpg")))[:500], 32),
            ("jpeg 512x512 -> 3x224x224", sorted(glob.glob(os.path.join(work, "jpeg512", "*.jpg"))), 224)]
    if not any(files for _, files, _ in sets):
        print("decode.py: no files in %s (run build/bench/decode_bench first)" % work, file=sys.stderr)
        return 0
    for shape, paths, size in sets:
        if not paths:
            continue
        files = [open(p, "rb").read() for p in paths]
        report("decode", shape, ms_per_image(files, decode, reps), len(files))
        report("decode_preprocess", shape, ms_per_image(files, lambda d: decode_preprocess(d, size), reps), len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
