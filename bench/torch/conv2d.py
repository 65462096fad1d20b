"""PyTorch timings for the shapes of bench/conv2d_bench.cpp: forward, backward data and backward weight of
torch.nn.functional.conv2d on the CPU (1 and 2 threads) and, when available, CUDA (TF32 off). Prints one JSON line
per measurement in bench_util.h's format, impl "torch-cpu" / "torch-cuda".
Usage: python3 bench/torch/conv2d.py [--reps N] [--threads 1,2] [--set all|dense|depthwise]"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import report, sync_for, time_it  # noqa: E402


def shape_str(n, c_in, hw, c_out, k, stride, pad, groups):
    # Conv2dShape::str(): "NxCxHxW -> Cout kKHxKW sSHxSW pPHxPW dDHxDW gG"
    return "%dx%dx%dx%d -> %d k%dx%d s%dx%d p%dx%d d1x1 g%d" % (n, c_in, hw, hw, c_out, k, k, stride, stride, pad, pad,
                                                               groups)


DENSE = []
for n in (1, 2):
    DENSE += [(n, 3, 512, 16, 7, 2, 1, 1), (n, 16, 127, 32, 3, 1, 1, 1), (n, 32, 63, 64, 3, 1, 1, 1),
              (n, 64, 31, 128, 3, 1, 1, 1), (n, 128, 15, 256, 3, 1, 1, 1)]
DENSE.append((1, 64, 56, 64, 3, 1, 1, 1))
# Depthwise layers at batch 32 (groups == channels): MobileNetV2 56x56 3x3, EfficientNet 5x5 stride 2 and 7x7.
DEPTHWISE = [(32, 144, 56, 144, 3, 1, 1, 144), (32, 240, 28, 240, 5, 2, 2, 240), (32, 1152, 7, 1152, 5, 1, 2, 1152)]


def bench(device, impl, reps, suffix, shapes):
    sync = sync_for(device)
    for (n, c_in, hw, c_out, k, stride, pad, groups) in shapes:
        g = torch.Generator().manual_seed(0)
        x = (torch.rand(n, c_in, hw, hw, generator=g) * 2 - 1).to(device)
        w = (torch.rand(c_out, c_in // groups, k, k, generator=g) * 2 - 1).to(device)
        b = (torch.rand(c_out, generator=g) * 2 - 1).to(device)
        y = F.conv2d(x, w, b, stride=stride, padding=pad, groups=groups)
        dy = torch.rand(y.shape, generator=g).to(device) * 2 - 1
        oh, ow = y.shape[2], y.shape[3]
        flops = 2.0 * n * c_out * oh * ow * (c_in // groups) * k * k
        shape = shape_str(n, c_in, hw, c_out, k, stride, pad, groups) + suffix

        def conv_backward(mask):
            return torch.ops.aten.convolution_backward(dy, x, w, [c_out], [stride, stride], [pad, pad], [1, 1],
                                                       False, [0, 0], groups, mask)

        def forward():
            return F.conv2d(x, w, b, stride=stride, padding=pad, groups=groups)

        with torch.no_grad():
            report("conv2d_forward", impl, shape, time_it(forward, reps, 2, sync), flops)
            report("conv2d_backward_data", impl, shape,
                   time_it(lambda: conv_backward([True, False, False]), reps, 2, sync), flops)
            report("conv2d_backward_weight", impl, shape,
                   time_it(lambda: conv_backward([False, True, False]), reps, 2, sync), flops)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--set", choices=("all", "dense", "depthwise"), default="all")
    args = ap.parse_args()
    shapes = (DENSE if args.set != "depthwise" else []) + (DEPTHWISE if args.set != "dense" else [])
    for t in [int(v) for v in args.threads.split(",")]:
        torch.set_num_threads(t)
        bench("cpu", "torch-cpu", args.reps, " @%dt" % t, shapes)
    if torch.cuda.is_available():
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        bench("cuda", "torch-cuda", args.reps, "", shapes)


if __name__ == "__main__":
    main()
