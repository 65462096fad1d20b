"""Golden values for whole networks: vigil's presets rebuilt in PyTorch (scripts/vigil_torch) with deterministic
"golden fill" weights that vigil reproduces exactly, compared on logits (eval mode) and on one training step
(SGD with momentum/weight decay, and Adam) with train-mode batch norm. The fill needs no weight files:
  u(i, k) = frac((i + 1) * 0.6180339887498949 + k * 0.7548776662466927)   (float64, i: element, k: tensor index)
  conv/linear weight: (2u - 1) / sqrt(fan_in); bias: 0.1 (2u - 1); BN weight 1 + 0.2 (2u - 1), bias 0.1 (2u - 1),
  running_mean 0.1 (2u - 1), running_var 0.5 + u; num_batches_tracked 0; input x_i = 2 frac((i + 1) * 0.5698402909980532) - 1
The same formulas are in tests/nn/networks_test.cpp.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from vigil_torch import build_module  # noqa: E402
from common import ROOT, write_fixture  # noqa: E402

A, B, X = 0.6180339887498949, 0.7548776662466927, 0.5698402909980532


def frac(v):
    return v - np.floor(v)


def golden_fill(model):
    sd = model.state_dict()
    out = {}
    for k, (name, t) in enumerate(sd.items()):
        i = np.arange(t.numel(), dtype=np.float64)
        u = frac((i + 1) * A + k * B)
        leaf = name.rsplit(".", 1)[1]
        if leaf == "num_batches_tracked":
            v = np.zeros(t.numel())
        elif leaf == "running_mean":
            v = 0.1 * (2 * u - 1)
        elif leaf == "running_var":
            v = 0.5 + u
        elif t.dim() == 1 and leaf == "weight":  # batch-norm scale
            v = 1 + 0.2 * (2 * u - 1)
        elif leaf == "bias":
            v = 0.1 * (2 * u - 1)
        else:
            fan_in = t.numel() // t.shape[0]
            v = (2 * u - 1) / np.sqrt(float(fan_in))
        out[name] = torch.from_numpy(v.astype(np.float32 if t.is_floating_point() else np.int64)).reshape(t.shape)
    model.load_state_dict(out)


def golden_input(shape):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    return torch.from_numpy((2 * frac((i + 1) * X) - 1).astype(np.float32)).reshape(shape)


def spec_text(name, size=None, no_dropout=False):
    spec = json.load(open(os.path.join(ROOT, "nn", "models", name + ".json")))
    if size:
        spec["input"]["height"], spec["input"]["width"] = size
    if no_dropout:
        def strip(layers):
            for l in layers:
                if l["type"] == "dropout":
                    l["p"] = 0.0
                for key in ("body", "shortcut", "layers"):
                    if key in l:
                        strip(l[key])
        strip(spec["layers"])
    return spec


def stats(t):
    t = t.detach().double().flatten()
    first = list(t[:4]) + [0.0] * (4 - min(4, t.numel()))
    return torch.tensor([t.sum().item(), (t * t).sum().item()] + [float(v) for v in first[:4]])


def forward_case(name, batch, size=None):
    spec = spec_text(name, size)
    m = build_module(spec)
    golden_fill(m)
    m.eval()
    inp = spec["input"]
    x = golden_input((batch, inp["channels"], inp["height"], inp["width"]))
    with torch.no_grad():
        y = m(x)
    params = {"model": name, "batch": batch, "order": list(m.state_dict())}
    if size:
        params["height"], params["width"] = size
    suffix = "_%dx%d" % size if size else ""
    return {"name": "forward_" + name + suffix, "params": params, "tensors": {"logits": y}}


def train_case(name, size, optimizer, frozen_bn=False):
    """One optimizer step. frozen_bn: batch norm in eval mode (running statistics), as when fine-tuning with frozen
    statistics; the deep backbones need it here, since train-mode batch norm over 2 images at 2x2 pixels makes
    their early-layer gradients ill-conditioned (PyTorch's own float32 and float64 gradients differ by ~1%)."""
    spec = spec_text(name, size, no_dropout=True)
    m = build_module(spec)
    golden_fill(m)
    m.train(not frozen_bn)
    inp = spec["input"]
    x = golden_input((2, inp["channels"], inp["height"], inp["width"]))
    labels = torch.tensor([0, 2])
    if optimizer == "sgd":
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    else:
        opt = torch.optim.Adam(m.parameters(), lr=1e-3, weight_decay=5e-4)
    loss = F.cross_entropy(m(x), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    tensors = {"loss": loss.detach().reshape(1)}
    for k, v in m.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        tensors["stats." + k] = stats(v)
    return {"name": "train_%s_%s%s" % (name, optimizer, "_frozen_bn" if frozen_bn else ""),
            "params": {"model": name, "height": size[0], "width": size[1], "optimizer": optimizer,
                       "frozen_bn": frozen_bn, "order": list(m.state_dict())},
            "tensors": tensors}


torch.set_num_threads(1)
# The ImageNet backbones at reduced sizes that still exercise their features: 96 and 66 make TensorFlow "SAME"
# padding asymmetric (even sizes at stride 2) and symmetric (odd sizes) in EfficientNet-Lite0.
cases = [forward_case("seed", 1), forward_case("default", 2), forward_case("fmnist", 3),
         forward_case("efficientnet-lite0", 2, (96, 96)), forward_case("efficientnet-lite0", 1, (67, 81)),
         forward_case("mobilenet-v2", 2, (96, 96)), forward_case("resnet18", 2, (64, 64)),
         forward_case("resnet50", 1, (64, 64)),
         train_case("default", (64, 64), "sgd"), train_case("default", (64, 64), "adam"),
         train_case("seed", (160, 160), "sgd"), train_case("fmnist", (28, 28), "adam"),
         train_case("efficientnet-lite0", (64, 64), "sgd", frozen_bn=True),
         train_case("mobilenet-v2", (64, 64), "sgd", frozen_bn=True), train_case("resnet18", (64, 64), "sgd")]
write_fixture("networks", cases)
