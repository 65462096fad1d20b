"""PyTorch twin of `vigil bench --torch`: the model-only inference timing of any vigil definition, rebuilt in PyTorch
(scripts/vigil_torch), measured the way vigil measures it (warm-up excluded, then timed batches until --seconds
have passed and at least 3 were timed; p50/p99 interpolated between order statistics like numpy).

Usage: /usr/bin/python3 bench/torch/infer.py --definition FILE.json [--batch 1,64] [--seconds S] [--threads T]
       [--device cpu|cuda]
Prints one JSON line: torch, device, threads, note, results [{batch, iterations, mean_ms, p50_ms, p99_ms,
images_per_s}], or {"error": "..."} (exit status 2) when torch is missing or the definition cannot be built.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def fail(message):
    print(json.dumps({"error": message}), flush=True)
    sys.exit(2)


def percentile(sorted_ms, q):
    at = q * (len(sorted_ms) - 1)
    lo = int(at)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (at - lo)


def measure(step, sync, seconds):
    warm_until = time.perf_counter() + min(0.5, seconds / 4)
    step()
    sync()
    while time.perf_counter() < warm_until:
        step()
        sync()
    ms = []
    start = time.perf_counter()
    while len(ms) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        step()
        sync()
        ms.append((time.perf_counter() - t0) * 1e3)
    return sorted(ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--definition", required=True)
    ap.add_argument("--batch", default="1,64")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    try:
        import torch
        from vigil_torch import build_module
    except Exception as e:  # ImportError, or a broken installation
        fail("cannot import torch for %s: %s" % (sys.executable, e))
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device, note = a.device, ""
    if device.startswith("cuda") and not torch.cuda.is_available():
        device, note = "cpu", "this torch has no usable CUDA; timed on the CPU"
    try:
        with open(a.definition) as f:
            spec = json.load(f)
        model = build_module(spec).to(device).eval()
    except Exception as e:
        fail("cannot build %s in PyTorch: %s" % (a.definition, e))
    inp = spec["input"]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    gen = torch.Generator().manual_seed(0)
    results = []
    with torch.no_grad():
        for b in [int(x) for x in a.batch.split(",")]:
            x = (torch.rand(b, inp["channels"], inp["height"], inp["width"], generator=gen) * 2 - 1).to(device)
            ms = measure(lambda: model(x).cpu(), sync, a.seconds)
            mean = sum(ms) / len(ms)
            results.append({"batch": b, "iterations": len(ms), "mean_ms": mean, "p50_ms": percentile(ms, 0.5),
                            "p99_ms": percentile(ms, 0.99), "images_per_s": b * 1e3 / mean})
    print(json.dumps({"torch": torch.__version__, "device": device, "threads": torch.get_num_threads(),
                      "note": note, "results": results}), flush=True)


if __name__ == "__main__":
    main()
