#!/usr/bin/env python3
"""Side-by-side table of vigil and PyTorch benchmark lines (JSON lines from bench/*_bench and bench/torch/*.py).

Usage: bench_compare.py VIGIL.jsonl TORCH.jsonl
Matches lines on (op, shape): vigil's "cpu" against "torch-cpu", vigil's "cuda"/"cudnn" against "torch-cuda", and
prints median milliseconds and the ratio torch_ms / vigil_ms (above 1: vigil is faster).
"""
import json
import sys


def load(path):
    rows = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except ValueError:
                continue
            # Other benchmarks (decode, loader, train step) print their own formats: keep op-table lines only.
            if all(k in row for k in ("op", "impl", "shape", "ms")):
                rows.append(row)
    return rows


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    ours, theirs = load(sys.argv[1]), load(sys.argv[2])
    ref = {(r["op"], r["shape"], r["impl"]): r for r in theirs}
    pairs = {"cpu": "torch-cpu", "cuda": "torch-cuda", "cudnn": "torch-cuda"}
    print("%-28s %-52s %-8s %10s %10s %8s" % ("op", "shape", "vigil", "vigil ms", "torch ms", "ratio"))
    matched = 0
    for r in ours:
        other = pairs.get(r["impl"])
        t = ref.get((r["op"], r["shape"], other)) if other else None
        if not t:
            continue
        matched += 1
        ratio = t["ms"] / r["ms"] if r["ms"] > 0 else float("nan")
        print("%-28s %-52s %-8s %10.3f %10.3f %8.2f" % (r["op"][:28], r["shape"][:52], r["impl"], r["ms"], t["ms"], ratio))
    print("%d matched measurements" % matched)
    return 0


if __name__ == "__main__":
    sys.exit(main())
