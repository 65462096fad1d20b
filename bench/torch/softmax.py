"""PyTorch timings for the shapes of bench/softmax_bench.cpp, printed in the same JSON-line format.

Usage: /usr/bin/python3 bench/torch/softmax.py [rows=256] [reps=10] [threads=os.cpu_count()]
The softmax / log-softmax backward times call ATen's backward kernels directly (no autograd overhead);
cross_entropy_forward is F.cross_entropy (log-softmax + NLL, no probabilities kept) and its backward the
autograd gradient of that loss."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402


def bench_shape(dev, impl, rows, cols, reps):
    sync = sync_for(dev)
    n = rows * cols
    shape = "%dx%d" % (rows, cols)
    x = (torch.rand(rows, cols, device=dev) * 2 - 1) * 5
    dy = torch.rand(rows, cols, device=dev) * 2 - 1
    labels = (torch.arange(rows, device=dev) * 7919) % cols
    fwd_bytes, bwd_bytes, ce_bwd_bytes = 4.0 * 2 * n, 4.0 * 4 * n, 4.0 * 3 * n
    with torch.no_grad():
        y = torch.softmax(x, 1)
        ylog = torch.log_softmax(x, 1)
        report("softmax_forward", impl, shape, time_it(lambda: torch.softmax(x, 1), reps, sync=sync), 0, fwd_bytes)
        report("softmax_backward", impl, shape,
               time_it(lambda: torch._softmax_backward_data(dy, y, 1, x.dtype), reps, sync=sync), 0, bwd_bytes)
        report("log_softmax_forward", impl, shape, time_it(lambda: torch.log_softmax(x, 1), reps, sync=sync), 0,
               fwd_bytes)
        report("log_softmax_backward", impl, shape,
               time_it(lambda: torch._log_softmax_backward_data(dy, ylog, 1, x.dtype), reps, sync=sync), 0,
               bwd_bytes)
        report("cross_entropy_forward", impl, shape,
               time_it(lambda: F.cross_entropy(x, labels), reps, sync=sync), 0, fwd_bytes)
    logits = x.clone().requires_grad_(True)
    loss = F.cross_entropy(logits, labels)
    report("cross_entropy_backward", impl, shape,
           time_it(lambda: torch.autograd.grad(loss, logits, retain_graph=True), reps, sync=sync), 0, ce_bwd_bytes)


def main():
    rows, reps, threads = int_args(256, 10, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    print("torch %s, rows %d, %d reps, %d CPU threads" % (torch.__version__, rows, reps, threads), file=sys.stderr)
    for dev, impl in devices():
        for cols in (3, 10, 1000):
            bench_shape(dev, impl, rows, cols, reps)


if __name__ == "__main__":
    main()
