"""PyTorch timings for the shapes of bench/gemm_bench.cpp: C = op(A) @ op(B) on CPU (and CUDA when present).

Usage: /usr/bin/python3 bench/torch/gemm.py [reps]   (prints one JSON line per measurement, like bench_util.h)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402

CASES = [
    ("square512", False, False, 512, 512, 512),
    ("square1024", False, False, 1024, 1024, 1024),
    ("square2048", False, False, 2048, 2048, 2048),
    ("fc1_fwd", False, True, 30, 768, 12544),
    ("fc1_bwd_data", False, False, 30, 12544, 768),
    ("fc1_bwd_weight", True, False, 768, 12544, 30),
    ("fc2_fwd", False, True, 30, 128, 768),
    ("fc2_bwd_data", False, False, 30, 768, 128),
    ("fc2_bwd_weight", True, False, 128, 768, 30),
]


def main():
    reps = int_args(10)[0]
    torch.backends.cuda.matmul.allow_tf32 = False  # FP32 math, as vigil's kernels and cuBLAS baseline
    targets = devices()
    print("torch %s, %d CPU threads%s" % (torch.__version__, torch.get_num_threads(),
                                           ", CUDA " + torch.cuda.get_device_name() if len(targets) > 1 else ""),
          file=sys.stderr)
    g = torch.Generator().manual_seed(0)
    for name, ta, tb, m, n, k in CASES:
        # Stored layouts as in the C++ benchmark: A is (K, M) when ta, B is (N, K) when tb.
        a_host = torch.rand(*((k, m) if ta else (m, k)), generator=g) * 2 - 1
        b_host = torch.rand(*((n, k) if tb else (k, n)), generator=g) * 2 - 1
        shape = "%s %s%s M%d N%d K%d" % (name, "T" if ta else "N", "T" if tb else "N", m, n, k)
        flops, nbytes = 2.0 * m * n * k, 4.0 * (m * k + k * n + m * n)
        for dev, impl in targets:
            a, b = a_host.to(dev), b_host.to(dev)
            c = torch.empty(m, n, device=dev)
            op_a = a.t() if ta else a
            op_b = b.t() if tb else b
            t = time_it(lambda: torch.matmul(op_a, op_b, out=c), reps, 2, sync_for(dev))
            report("gemm", impl, shape, t, flops, nbytes)


if __name__ == "__main__":
    main()
