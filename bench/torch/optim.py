"""PyTorch baseline for bench/optim_bench.cpp: one optimizer step (SGD; SGD with momentum, Nesterov and weight
decay; Adam; AdamW) over the same parameter counts, on CPU and (when available) CUDA, printed as the same JSON
lines as bench::report (GB/s over the same bytes of parameters, gradients and state)."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import devices, int_args, report, sync_for, time_it  # noqa: E402


CONFIGS = [
    ("sgd_step", torch.optim.SGD, {"lr": 0.01}, 3),
    ("sgd_step_nesterov", torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}, 5),
    ("adam_step", torch.optim.Adam, {"lr": 1e-3, "weight_decay": 1e-4}, 7),
    ("adamw_step", torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 1e-2}, 7),
]


def bench(device, impl, reps):
    sync = sync_for(device)
    seed_net = 16 * 3 * 49 + 9 * (16 * 32 + 32 * 64 + 64 * 128 + 128 * 256)
    for n in (seed_net, 1 << 22, 11689512):
        i = torch.arange(n, dtype=torch.float32, device=device)
        for op, cls, params, floats_per_param in CONFIGS:
            p = torch.nn.Parameter(0.5 * torch.sin(0.001 * i))
            p.grad = 0.5 * torch.sin(0.0037 * i) + 0.1
            opt = cls([p], **params)  # the default (single-tensor on CPU) implementation
            report(op, impl, "n=%d" % n, time_it(opt.step, reps, 1, sync), nbytes=4.0 * floats_per_param * n)


if __name__ == "__main__":
    reps = int_args(20)[0]
    with torch.no_grad():
        for device, impl in devices():
            bench(device, impl, reps)
