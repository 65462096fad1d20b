"""PyTorch baseline for bench/elementwise_bench.cpp: the same element-wise maps, reductions, float16/bfloat16
conversions and channel ops on the same shapes, on CPU and (when available) CUDA, printed as the same JSON lines
as bench::report (GB/s over the same bytes moved)."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402


def bench(device, impl, reps):
    sync = sync_for(device)
    f = 4.0
    for n in (1 << 20, 1 << 24):
        shape = "n=%d" % n
        i = torch.arange(n, dtype=torch.float32, device=device)
        x = torch.sin(0.001 * i) + 0.25
        y0 = torch.sin(0.003 * i) - 0.5
        y = torch.empty_like(x)
        z = y0.clone()
        h = x.half()
        hb = torch.empty(n, dtype=torch.float16, device=device)
        bb = torch.empty(n, dtype=torch.bfloat16, device=device)
        report("add", impl, shape, time_it(lambda: torch.add(x, y0, out=y), reps, 1, sync), nbytes=3 * f * n)
        report("scale", impl, shape, time_it(lambda: torch.mul(x, 0.5, out=y), reps, 1, sync), nbytes=2 * f * n)
        report("axpy", impl, shape, time_it(lambda: z.add_(x, alpha=0.5), reps, 1, sync), nbytes=3 * f * n)
        report("sum", impl, shape, time_it(lambda: torch.sum(x), reps, 1, sync), nbytes=f * n)
        # torch has no fused sum of squares; x.square().sum() is what a grad-norm clip computes (via vector_norm)
        report("sum_squares", impl, shape, time_it(lambda: torch.linalg.vector_norm(x), reps, 1, sync), nbytes=f * n)
        report("float_to_half", impl, shape, time_it(lambda: hb.copy_(x), reps, 1, sync), nbytes=6.0 * n)
        report("half_to_float", impl, shape, time_it(lambda: y.copy_(h), reps, 1, sync), nbytes=6.0 * n)
        report("float_to_bfloat16", impl, shape, time_it(lambda: bb.copy_(x), reps, 1, sync), nbytes=6.0 * n)
    for (n, c, hw) in ((8, 64, 56 * 56), (16, 16, 254 * 254)):
        shape = "%dx%dx%d" % (n, c, hw)
        total = n * c * hw
        x = torch.sin(0.001 * torch.arange(total, dtype=torch.float32, device=device)).reshape(n, c, hw) + 0.25
        bias = torch.sin(0.7 * torch.arange(c, dtype=torch.float32, device=device))
        sums = torch.zeros(c, device=device)
        report("channel_sum", impl, shape, time_it(lambda: sums.add_(x.sum(dim=(0, 2))), reps, 1, sync),
               nbytes=f * total)
        report("add_channel_bias", impl, shape, time_it(lambda: x.add_(bias.view(1, c, 1)), reps, 1, sync),
               nbytes=2 * f * total)


if __name__ == "__main__":
    reps = int_args(20)[0]
    for device, impl in devices():
        bench(device, impl, reps)
