"""PyTorch baseline for bench/optim_bench.cpp: one optimizer step (SGD; SGD with momentum, Nesterov and weight
decay; Adam; AdamW) over the same parameter counts, on CPU and (when available) CUDA, printed as the same JSON
lines as bench::report (GB/s over the same bytes of parameters, gradients and state)."""
import json
import sys
import time

import torch


def time_it(fn, sync, reps, warmup=1):
    for _ in range(warmup):
        fn()
    sync()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    return ms[len(ms) // 2], ms[0]


def report(op, impl, shape, t, bytes_moved):
    med, mn = t
    print(json.dumps({"op": op, "impl": impl, "shape": shape, "ms": round(med, 4), "min_ms": round(mn, 4),
                      "gflops": 0.0, "gbps": round(bytes_moved / (med * 1e6), 2)}, separators=(",", ":")))
    sys.stdout.flush()


CONFIGS = [
    ("sgd_step", torch.optim.SGD, {"lr": 0.01}, 3),
    ("sgd_step_nesterov", torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}, 5),
    ("adam_step", torch.optim.Adam, {"lr": 1e-3, "weight_decay": 1e-4}, 7),
    ("adamw_step", torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 1e-2}, 7),
]


def bench(device, impl, reps):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    seed_net = 16 * 3 * 49 + 9 * (16 * 32 + 32 * 64 + 64 * 128 + 128 * 256)
    for n in (seed_net, 1 << 22, 11689512):
        i = torch.arange(n, dtype=torch.float32, device=device)
        for op, cls, params, floats_per_param in CONFIGS:
            p = torch.nn.Parameter(0.5 * torch.sin(0.001 * i))
            p.grad = 0.5 * torch.sin(0.0037 * i) + 0.1
            opt = cls([p], **params)  # the default (single-tensor on CPU) implementation
            report(op, impl, "n=%d" % n, time_it(opt.step, sync, reps), 4.0 * floats_per_param * n)


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with torch.no_grad():
        bench("cpu", "torch-cpu", reps)
        if torch.cuda.is_available():
            bench("cuda", "torch-cuda", reps)
