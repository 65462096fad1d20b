"""PyTorch baseline for bench/elementwise_bench.cpp: the same element-wise maps, reductions, float16/bfloat16
conversions and channel ops on the same shapes, on CPU and (when available) CUDA, printed as the same JSON lines
as bench::report (GB/s over the same bytes moved)."""
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


def bench(device, impl, reps):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
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
        report("add", impl, shape, time_it(lambda: torch.add(x, y0, out=y), sync, reps), 3 * f * n)
        report("scale", impl, shape, time_it(lambda: torch.mul(x, 0.5, out=y), sync, reps), 2 * f * n)
        report("axpy", impl, shape, time_it(lambda: z.add_(x, alpha=0.5), sync, reps), 3 * f * n)
        report("sum", impl, shape, time_it(lambda: torch.sum(x), sync, reps), f * n)
        # torch has no fused sum of squares; x.square().sum() is what a grad-norm clip computes (via vector_norm)
        report("sum_squares", impl, shape, time_it(lambda: torch.linalg.vector_norm(x), sync, reps), f * n)
        report("float_to_half", impl, shape, time_it(lambda: hb.copy_(x), sync, reps), 6.0 * n)
        report("half_to_float", impl, shape, time_it(lambda: y.copy_(h), sync, reps), 6.0 * n)
        report("float_to_bfloat16", impl, shape, time_it(lambda: bb.copy_(x), sync, reps), 6.0 * n)
    for (n, c, hw) in ((8, 64, 56 * 56), (16, 16, 254 * 254)):
        shape = "%dx%dx%d" % (n, c, hw)
        total = n * c * hw
        x = torch.sin(0.001 * torch.arange(total, dtype=torch.float32, device=device)).reshape(n, c, hw) + 0.25
        bias = torch.sin(0.7 * torch.arange(c, dtype=torch.float32, device=device))
        sums = torch.zeros(c, device=device)
        report("channel_sum", impl, shape, time_it(lambda: sums.add_(x.sum(dim=(0, 2))), sync, reps), f * total)
        report("add_channel_bias", impl, shape, time_it(lambda: x.add_(bias.view(1, c, 1)), sync, reps),
               2 * f * total)


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    bench("cpu", "torch-cpu", reps)
    if torch.cuda.is_available():
        bench("cuda", "torch-cuda", reps)
