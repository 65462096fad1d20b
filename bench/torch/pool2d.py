"""PyTorch timings for the shapes of bench/pool2d_bench.cpp, printed in the same JSON-line format.

Usage: /usr/bin/python3 bench/torch/pool2d.py [batch=8] [reps=10] [threads=os.cpu_count()]
Backward times the autograd backward of the pooling alone (PyTorch's max pool saves argmax indices in the
forward; vigil recomputes them in the backward)."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def time_it(fn, reps, warmup=2, cuda=False):
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[0]


def report(op, impl, shape, t, flops, nbytes):
    med, mn = t
    print(json.dumps({"op": op, "impl": impl, "shape": shape, "ms": round(med, 4), "min_ms": round(mn, 4),
                      "gflops": round(flops / (med * 1e6), 2) if flops else 0.0,
                      "gbps": round(nbytes / (med * 1e6), 2) if nbytes else 0.0}, separators=(",", ":")),
          flush=True)


def bench_pool(dev, impl, n, c, h, w, kind, k, s, p, reps):
    x = (torch.rand(n, c, h, w, device=dev) * 2 - 1).requires_grad_(True)
    pool = (lambda t: F.max_pool2d(t, k, s, p)) if kind == "max" else (lambda t: F.avg_pool2d(t, k, s, p))
    name = "%dx%dx%dx%d %s %dx%d/%d pad %d" % (n, c, h, w, kind, k, k, s, p)
    cuda = dev == "cuda"
    with torch.no_grad():
        y = pool(x)
        t = time_it(lambda: pool(x), reps, cuda=cuda)
    report("pool2d_forward", impl, name, t, 0, 4.0 * (x.numel() + y.numel()))
    y = pool(x)
    dy = torch.rand_like(y)
    t = time_it(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), reps, cuda=cuda)
    report("pool2d_backward", impl, name, t, 0, 4.0 * (3 * x.numel() + y.numel()))


def bench_global(dev, impl, n, c, hw, reps):
    side = int(round(hw ** 0.5))
    x = (torch.rand(n, c, side, hw // side, device=dev) * 2 - 1).requires_grad_(True)
    name = "%dx%dx%d" % (n, c, hw)
    cuda = dev == "cuda"
    with torch.no_grad():
        t = time_it(lambda: F.adaptive_avg_pool2d(x, 1), reps, cuda=cuda)
    report("global_avg_pool_forward", impl, name, t, float(x.numel()), 4.0 * (x.numel() + n * c))
    y = F.adaptive_avg_pool2d(x, 1)
    dy = torch.rand_like(y)
    t = time_it(lambda: torch.autograd.grad(y, x, dy, retain_graph=True), reps, cuda=cuda)
    report("global_avg_pool_backward", impl, name, t, 0, 4.0 * (2 * x.numel() + n * c))


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    print("torch %s, batch %d, %d reps, %d CPU threads" % (torch.__version__, batch, reps, threads), file=sys.stderr)
    devices = [("cpu", "torch-cpu")] + ([("cuda", "torch-cuda")] if torch.cuda.is_available() else [])
    for dev, impl in devices:
        for c, hw in ((16, 253), (32, 126), (64, 63), (128, 31), (256, 15)):
            bench_pool(dev, impl, batch, c, hw, hw, "max", 2, 2, 0, reps)
        bench_pool(dev, impl, batch, 64, 112, 112, "max", 3, 2, 1, reps)
        bench_pool(dev, impl, batch, 64, 56, 56, "avg", 3, 1, 1, reps)
        bench_global(dev, impl, batch, 256, 49, reps)


if __name__ == "__main__":
    main()
