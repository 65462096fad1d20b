"""PyTorch timings for the shapes of bench/pad2d_bench.cpp (2-D zero padding), printed in the same JSON-line format.

Usage: /usr/bin/python3 bench/torch/pad2d.py [batch=8] [reps=10] [threads=os.cpu_count()]
Backward times the autograd backward of F.pad alone (torch writes a fresh dx; vigil accumulates into dx)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402

# (c, h, w, top, bottom, left, right), as in bench/pad2d_bench.cpp.
LAYERS = ((3, 224, 224, 0, 1, 0, 1), (96, 112, 112, 0, 1, 0, 1), (144, 56, 56, 1, 2, 1, 2),
          (240, 28, 28, 0, 1, 0, 1))


def bench_pad(dev, impl, n, c, h, w, top, bottom, left, right, reps):
    x = (torch.rand(n, c, h, w, device=dev) * 2 - 1).requires_grad_(True)
    pads = (left, right, top, bottom)
    name = "%dx%dx%dx%d pad t%d b%d l%d r%d" % (n, c, h, w, top, bottom, left, right)
    sync = sync_for(dev)
    with torch.no_grad():
        y = F.pad(x, pads)
        t = time_it(lambda: F.pad(x, pads), reps, sync=sync)
    report("pad2d_forward", impl, name, t, 0, 4.0 * (x.numel() + y.numel()))
    y = F.pad(x, pads)
    dy = torch.rand_like(y)
    t = time_it(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), reps, sync=sync)
    report("pad2d_backward", impl, name, t, 0, 4.0 * 3 * x.numel())


def main():
    batch, reps, threads = int_args(8, 10, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    print("torch %s, batch %d, %d reps, %d CPU threads" % (torch.__version__, batch, reps, threads), file=sys.stderr)
    for dev, impl in devices():
        for layer in LAYERS:
            bench_pad(dev, impl, batch, *layer, reps)


if __name__ == "__main__":
    main()
