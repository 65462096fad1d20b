"""PyTorch timings for the shapes of bench/softmax_bench.cpp, printed in the same JSON-line format.

Usage: /usr/bin/python3 bench/torch/softmax.py [rows=256] [reps=10] [threads=os.cpu_count()]
The softmax / log-softmax backward times call ATen's backward kernels directly (no autograd overhead);
cross_entropy_forward is F.cross_entropy (log-softmax + NLL, no probabilities kept) and its backward the
autograd gradient of that loss."""
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


def bench_shape(dev, impl, rows, cols, reps):
    cuda = dev == "cuda"
    n = rows * cols
    shape = "%dx%d" % (rows, cols)
    x = (torch.rand(rows, cols, device=dev) * 2 - 1) * 5
    dy = torch.rand(rows, cols, device=dev) * 2 - 1
    labels = (torch.arange(rows, device=dev) * 7919) % cols
    fwd_bytes, bwd_bytes, ce_bwd_bytes = 4.0 * 2 * n, 4.0 * 4 * n, 4.0 * 3 * n
    with torch.no_grad():
        y = torch.softmax(x, 1)
        ylog = torch.log_softmax(x, 1)
        report("softmax_forward", impl, shape, time_it(lambda: torch.softmax(x, 1), reps, cuda=cuda), 0, fwd_bytes)
        report("softmax_backward", impl, shape,
               time_it(lambda: torch._softmax_backward_data(dy, y, 1, x.dtype), reps, cuda=cuda), 0, bwd_bytes)
        report("log_softmax_forward", impl, shape, time_it(lambda: torch.log_softmax(x, 1), reps, cuda=cuda), 0,
               fwd_bytes)
        report("log_softmax_backward", impl, shape,
               time_it(lambda: torch._log_softmax_backward_data(dy, ylog, 1, x.dtype), reps, cuda=cuda), 0,
               bwd_bytes)
        report("cross_entropy_forward", impl, shape,
               time_it(lambda: F.cross_entropy(x, labels), reps, cuda=cuda), 0, fwd_bytes)
    logits = x.clone().requires_grad_(True)
    loss = F.cross_entropy(logits, labels)
    report("cross_entropy_backward", impl, shape,
           time_it(lambda: torch.autograd.grad(loss, logits, retain_graph=True), reps, cuda=cuda), 0, ce_bwd_bytes)


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    print("torch %s, rows %d, %d reps, %d CPU threads" % (torch.__version__, rows, reps, threads), file=sys.stderr)
    devices = [("cpu", "torch-cpu")] + ([("cuda", "torch-cuda")] if torch.cuda.is_available() else [])
    for dev, impl in devices:
        for cols in (3, 10, 1000):
            bench_shape(dev, impl, rows, cols, reps)


if __name__ == "__main__":
    main()
