"""PyTorch timings for batch norm (training forward, eval forward, training backward) on the shapes of
bench/batchnorm_bench.cpp, printed in bench::report's JSON line format. Usage: batchnorm.py [reps]"""
import json
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = [(8, 64, 56, 56), (8, 256, 14, 14)]
EPS, MOMENTUM = 1e-5, 0.1


def time_it(fn, sync, reps, warmup=2):
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


def report(op, impl, shape, t, nbytes):
    med, mn = t
    print(json.dumps({"op": op, "impl": impl, "shape": shape, "ms": round(med, 4), "min_ms": round(mn, 4),
                      "gflops": 0.0, "gbps": round(nbytes / (med * 1e6), 2)}, separators=(",", ":")))
    sys.stdout.flush()


def bench(device, impl, reps):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
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
            t = time_it(lambda: F.batch_norm(x, rm, rv, gamma, beta, True, MOMENTUM, EPS), sync, reps)
            report("batchnorm_fwd_train", impl, shape, t, 8.0 * total)
            t = time_it(lambda: F.batch_norm(x, rm, rv, gamma, beta, False, MOMENTUM, EPS), sync, reps)
            report("batchnorm_fwd_eval", impl, shape, t, 8.0 * total)
            _, save_mean, save_invstd = torch.native_batch_norm(x, gamma, beta, rm, rv, True, MOMENTUM, EPS)
            t = time_it(lambda: torch.ops.aten.native_batch_norm_backward(
                dy, x, gamma, rm, rv, save_mean, save_invstd, True, EPS, [True, True, True]), sync, reps)
            report("batchnorm_bwd", impl, shape, t, 16.0 * total)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print("torch %s, %d CPU threads" % (torch.__version__, torch.get_num_threads()), file=sys.stderr)
    bench("cpu", "torch-cpu", reps)
    if torch.cuda.is_available():
        bench("cuda", "torch-cuda", reps)


if __name__ == "__main__":
    main()
