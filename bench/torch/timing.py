"""Shared timing, JSON-line output and device list for the PyTorch baselines in bench/torch (imported; prints nothing).

time_it and report mirror bench/bench_util.h's bench::time_it and bench::report (same fields, same rounding)."""
import json
import sys
import time

import torch


def no_sync():
    pass


def sync_for(device):
    """The callable that waits for `device`'s queued work: torch.cuda.synchronize on CUDA, a no-op on the CPU."""
    return torch.cuda.synchronize if device == "cuda" else no_sync


def int_args(*defaults):
    """The script's optional positional int arguments: sys.argv[1], sys.argv[2], ... or, where absent, defaults."""
    return [int(sys.argv[i]) if len(sys.argv) > i else d for i, d in enumerate(defaults, start=1)]


def devices():
    """The (device, impl) pairs to time: the CPU always, CUDA when torch can use it."""
    out = [("cpu", "torch-cpu")]
    if torch.cuda.is_available():
        out.append(("cuda", "torch-cuda"))
    return out


def time_it(fn, reps, warmup=2, sync=no_sync):
    """Runs fn `warmup` times, then `reps` timed runs, each followed by sync(); returns (median ms, min ms)."""
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


def report(op, impl, shape, t, flops=0.0, nbytes=0.0):
    """One JSON line like bench::report: ms and min_ms to 4 places, GFLOP/s and GB/s (over the median) to 2, or
    0.0 where flops / nbytes is 0."""
    med, mn = t
    print(json.dumps({"op": op, "impl": impl, "shape": shape, "ms": round(med, 4), "min_ms": round(mn, 4),
                      "gflops": round(flops / (med * 1e6), 2) if flops > 0 else 0.0,
                      "gbps": round(nbytes / (med * 1e6), 2) if nbytes > 0 else 0.0}, separators=(",", ":")),
          flush=True)
