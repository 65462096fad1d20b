"""PyTorch baseline for bench/dropout_bench.cpp: inverted dropout (p=0.5) forward and backward on 1e6 and 1e7
floats, on CPU and (when available) CUDA, printed as the same JSON lines as bench::report."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402


def bench(device, impl, reps):
    sync = sync_for(device)
    p = 0.5
    for n in (1000000, 10000000):
        shape = "n=%d,p=0.5" % n
        x = torch.rand(n, device=device) + 0.5
        dy = torch.rand(n, device=device)
        # Forward: x in, y out and a mask (torch keeps a bool mask for backward: 1 byte, like vigil's reserve).
        report("dropout_forward", impl, shape, time_it(lambda: F.dropout(x, p, training=True), reps, 1, sync),
               nbytes=9.0 * n)
        # Backward: dx = dy * mask * scale from the saved mask (torch writes a fresh dx; vigil accumulates).
        _, mask = torch.native_dropout(x, p, True)
        scale = 1.0 / (1.0 - p)
        report("dropout_backward", impl, shape,
               time_it(lambda: torch.ops.aten.native_dropout_backward(dy, mask, scale), reps, 1, sync),
               nbytes=9.0 * n)


if __name__ == "__main__":
    reps = int_args(10)[0]
    for device, impl in devices():
        bench(device, impl, reps)
