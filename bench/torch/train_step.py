"""PyTorch twin of bench/train_step_bench.cpp: the same vigil model definition rebuilt in PyTorch
(scripts/vigil_torch), one training step (forward, cross-entropy, backward, optimizer step) and inference, timed on
the same input shape; prints one JSON line with the same keys.

Usage: /usr/bin/python3 bench/torch/train_step.py [--model fmnist|default|seed|FILE] [--size N] [--batch B]
       [--steps S] [--threads T] [--optimizer sgd|adam] [--device cpu|cuda]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from vigil_torch import build_module  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="fmnist")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--optimizer", default="sgd")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    path = a.model if os.path.exists(a.model) else os.path.join(ROOT, "nn", "models", a.model + ".json")
    spec = json.load(open(path))
    if a.size:
        spec["input"]["height"] = spec["input"]["width"] = a.size
    m = build_module(spec).to(a.device)
    opt = (torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) if a.optimizer == "sgd"
           else torch.optim.Adam(m.parameters(), lr=0.01))
    inp = spec["input"]
    x = torch.rand(a.batch, inp["channels"], inp["height"], inp["width"], device=a.device) * 2 - 1
    y = torch.arange(a.batch, device=a.device) % len(spec["classes"])
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)

    def train_step():
        loss = F.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    m.train()
    train_step()
    sync()
    t = time.perf_counter()
    for _ in range(a.steps):
        train_step()
    sync()
    train_s = (time.perf_counter() - t) / a.steps
    m.eval()
    with torch.no_grad():
        m(x)
        sync()
        t = time.perf_counter()
        for _ in range(a.steps):
            m(x)
        sync()
        infer_s = (time.perf_counter() - t) / a.steps
    print(json.dumps({"impl": "torch-" + a.device, "model": spec["name"], "size": inp["height"], "batch": a.batch,
                      "threads": torch.get_num_threads(), "train_step_ms": round(train_s * 1e3, 2),
                      "train_img_per_s": round(a.batch / train_s, 1), "infer_img_per_s": round(a.batch / infer_s, 1)}))


if __name__ == "__main__":
    main()
