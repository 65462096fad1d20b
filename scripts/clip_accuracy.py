#!/usr/bin/env python3
"""Clip-level accuracy from `vigil classify --clips DIR --jsonl FILE` records.

The true class of a clip is the name of the folder above it (DIR/<folder>/<clip>/), mapped onto the model's
classes with --class-map (same syntax as vigil train: fight=violence,noFight=standard). Prints accuracy with a 95%
Wilson interval, the confusion matrix and per-class recall; error records are counted, never scored.

    python3 scripts/clip_accuracy.py --class-map fight=violence,noFight=standard results.jsonl
"""
import argparse
import json
import math
import os
import sys


def wilson(k, n, z=1.959964):
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl")
    ap.add_argument("--class-map", default="", help="folder=class,... (default: folder names are class names)")
    a = ap.parse_args()
    mapping = dict(kv.split("=", 1) for kv in a.class_map.split(",") if kv)
    truth_pred, errors = [], 0
    with open(a.jsonl, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{a.jsonl}:{n}: not JSON ({e})")
            if r.get("input") != "clip":
                continue
            if r.get("status") != "ok":
                errors += 1
                continue
            folder = os.path.basename(os.path.dirname(os.path.normpath(r["path"])))
            truth_pred.append((mapping.get(folder, folder), r["class_name"]))
    if not truth_pred:
        sys.exit(f"{a.jsonl}: no scored clip records")
    classes = sorted({t for t, _ in truth_pred} | {p for _, p in truth_pred})
    k = sum(t == p for t, p in truth_pred)
    n = len(truth_pred)
    lo, hi = wilson(k, n)
    print(f"clips: {n} scored, {errors} errors")
    print(f"accuracy {k / n:.4f} ({k} of {n}, 95% Wilson CI {lo:.4f}-{hi:.4f})")
    print("truth \\ predicted  " + "  ".join(f"{c:>10}" for c in classes))
    for t in classes:
        row = [sum(1 for tt, pp in truth_pred if tt == t and pp == p) for p in classes]
        support = sum(row)
        recall = row[classes.index(t)] / support if support else float("nan")
        print(f"{t:<17}  " + "  ".join(f"{v:>10}" for v in row) + f"   recall {recall:.3f} (of {support})")


if __name__ == "__main__":
    main()
