"""PyTorch timings for the shapes of bench/pool2d_bench.cpp, printed in the same JSON-line format.

Usage: /usr/bin/python3 bench/torch/pool2d.py [batch=8] [reps=10] [threads=os.cpu_count()]
Backward times the autograd backward of the pooling alone (PyTorch's max pool saves argmax indices in the
forward; vigil recomputes them in the backward)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402


def bench_pool(dev, impl, n, c, h, w, kind, k, s, p, reps):
    x = (torch.rand(n, c, h, w, device=dev) * 2 - 1).requires_grad_(True)
    pool = (lambda t: F.max_pool2d(t, k, s, p)) if kind == "max" else (lambda t: F.avg_pool2d(t, k, s, p))
    name = "%dx%dx%dx%d %s %dx%d/%d pad %d" % (n, c, h, w, kind, k, k, s, p)
    sync = sync_for(dev)
    with torch.no_grad():
        y = pool(x)
        t = time_it(lambda: pool(x), reps, sync=sync)
    report("pool2d_forward", impl, name, t, 0, 4.0 * (x.numel() + y.numel()))
    y = pool(x)
    dy = torch.rand_like(y)
    t = time_it(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), reps, sync=sync)
    report("pool2d_backward", impl, name, t, 0, 4.0 * (3 * x.numel() + y.numel()))


def bench_global(dev, impl, n, c, hw, reps):
    side = int(round(hw ** 0.5))
    x = (torch.rand(n, c, side, hw // side, device=dev) * 2 - 1).requires_grad_(True)
    name = "%dx%dx%d" % (n, c, hw)
    sync = sync_for(dev)
    with torch.no_grad():
        t = time_it(lambda: F.adaptive_avg_pool2d(x, 1), reps, sync=sync)
    report("global_avg_pool_forward", impl, name, t, float(x.numel()), 4.0 * (x.numel() + n * c))
    y = F.adaptive_avg_pool2d(x, 1)
    dy = torch.rand_like(y)
    t = time_it(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), reps, sync=sync)
    report("global_avg_pool_backward", impl, name, t, 0, 4.0 * (2 * x.numel() + n * c))


def main():
    batch, reps, threads = int_args(8, 10, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    print("torch %s, batch %d, %d reps, %d CPU threads" % (torch.__version__, batch, reps, threads), file=sys.stderr)
    for dev, impl in devices():
        for c, hw in ((16, 253), (32, 126), (64, 63), (128, 31), (256, 15)):
            bench_pool(dev, impl, batch, c, hw, hw, "max", 2, 2, 0, reps)
        bench_pool(dev, impl, batch, 64, 112, 112, "max", 3, 2, 1, reps)
        bench_pool(dev, impl, batch, 64, 56, 56, "avg", 3, 1, 1, reps)
        bench_global(dev, impl, batch, 256, 49, reps)


if __name__ == "__main__":
    main()
