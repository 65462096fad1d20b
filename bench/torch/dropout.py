"""PyTorch baseline for bench/dropout_bench.cpp: inverted dropout (p=0.5) forward and backward on 1e6 and 1e7
floats, on CPU and (when available) CUDA, printed as the same JSON lines as bench::report."""
import json
import sys
import time

import torch
import torch.nn.functional as F


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


def bench(device, impl, reps):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    p = 0.5
    for n in (1000000, 10000000):
        shape = "n=%d,p=0.5" % n
        x = torch.rand(n, device=device) + 0.5
        dy = torch.rand(n, device=device)
        # Forward: x in, y out and a mask (torch keeps a bool mask for backward: 1 byte, like vigil's reserve).
        report("dropout_forward", impl, shape, time_it(lambda: F.dropout(x, p, training=True), sync, reps), 9.0 * n)
        # Backward: dx = dy * mask * scale from the saved mask (torch writes a fresh dx; vigil accumulates).
        _, mask = torch.native_dropout(x, p, True)
        scale = 1.0 / (1.0 - p)
        report("dropout_backward", impl, shape,
               time_it(lambda: torch.ops.aten.native_dropout_backward(dy, mask, scale), sync, reps), 9.0 * n)


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    bench("cpu", "torch-cpu", reps)
    if torch.cuda.is_available():
        bench("cuda", "torch-cuda", reps)
