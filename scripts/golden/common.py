"""Shared helpers for the PyTorch golden-fixture generators (run with Debian's /usr/bin/python3 + python3-torch).

Each generator builds small cases with a fixed seed and calls write_fixture(op, cases); a case is
{"name": str, "params": dict, "tensors": {name: torch.Tensor}}. Output: tests/fixtures/golden/<op>.json.
"""
import json
import os

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "golden")


def tensor_entry(t):
    t = t.detach().to(torch.float64).contiguous()
    # repr of float32 values round-trips exactly through %.9g
    data = [float("%.9g" % v) for v in t.flatten().tolist()]
    return {"shape": list(t.shape), "data": data}


def write_fixture(op, cases):
    os.makedirs(OUT_DIR, exist_ok=True)
    out = {"op": op, "generator": "scripts/golden/%s.py" % op, "torch": torch.__version__, "cases": []}
    for c in cases:
        out["cases"].append({"name": c["name"], "params": c.get("params", {}),
                             "tensors": {k: tensor_entry(v) for k, v in c["tensors"].items()}})
    path = os.path.join(OUT_DIR, op + ".json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)
    print("wrote", os.path.relpath(path, ROOT), "(%d cases)" % len(cases))


def seeded(seed):
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
