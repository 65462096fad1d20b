"""PyTorch timings for batch norm (training forward, eval forward, training backward) on the shapes of
bench/batchnorm_bench.cpp, printed in bench::report's JSON line format. Usage: batchnorm.py [reps]"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402

SHAPES = [(8, 64, 56, 56), (8, 256, 14, 14)]
EPS, MOMENTUM = 1e-5, 0.1


def bench(device, impl, reps):
    sync = sync_for(device)
    for n, c, h, w in SHAPES:
        shape = "%dx%dx%dx%d" % (n, c, h, w)
        total = n * c * h * w
        g = torch.Generator().manual_seed(1)
        x = (torch.rand(n, c, h, w, generator=g) * 4 - 2).to(device)
        dy = (torch.rand(n, c, h, w, generator=g) * 2 - 1).to(device)
        gamma = (torch.rand(c, generator=g) + 0.5).to(device)
        beta = (torch.rand(c, generator=g) * 2 - 1).to(device)
        rm = (torch.rand(c, generator=g) - 0.5).to(device)
        rv = (torch.rand(c, generator=g) + 0.5).to(device)
        with torch.no_grad():
            t = time_it(lambda: F.batch_norm(x, rm, rv, gamma, beta, True, MOMENTUM, EPS), reps, sync=sync)
            report("batchnorm_fwd_train", impl, shape, t, nbytes=8.0 * total)
            t = time_it(lambda: F.batch_norm(x, rm, rv, gamma, beta, False, MOMENTUM, EPS), reps, sync=sync)
            report("batchnorm_fwd_eval", impl, shape, t, nbytes=8.0 * total)
            _, save_mean, save_invstd = torch.native_batch_norm(x, gamma, beta, rm, rv, True, MOMENTUM, EPS)
            t = time_it(lambda: torch.ops.aten.native_batch_norm_backward(
                dy, x, gamma, rm, rv, save_mean, save_invstd, True, EPS, [True, True, True]), reps, sync=sync)
            report("batchnorm_bwd", impl, shape, t, nbytes=16.0 * total)


def main():
    reps = int_args(20)[0]
    print("torch %s, %d CPU threads" % (torch.__version__, torch.get_num_threads()), file=sys.stderr)
    for device, impl in devices():
        bench(device, impl, reps)


if __name__ == "__main__":
    main()
