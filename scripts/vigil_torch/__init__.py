"""PyTorch mirror of vigil model definitions (vigil-model/1 JSON) and vigil/safetensors file helpers.

build_module(spec) returns a torch.nn.Module whose state_dict keys equal vigil's parameter names, so weights move
both ways; read_safetensors/write_safetensors implement the file format directly (no extra Python package).
Used by the golden-fixture generators, the original-project converter and the vigil->PyTorch interop check.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import json
import math
import struct
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "U8": torch.uint8,
           "I32": torch.int32, "I64": torch.int64, "F64": torch.float64}
_NAMES = {v: k for k, v in _DTYPES.items()}


class Residual(nn.Module):
    """out = act(body(x) + shortcut(x)); an empty shortcut is the identity (vigil's residual layer). The parts are
    registered under body_name / shortcut_name; an empty name puts their layers directly under the block (as
    torchvision's BasicBlock and EfficientNet's blocks name them)."""

    def __init__(self, body, shortcut, relu_after, body_name="body", shortcut_name="shortcut"):
        super().__init__()
        for part, part_name in ((body, body_name), (shortcut, shortcut_name)):
            if part_name:
                self.add_module(part_name, part)
            else:
                for child_name, child in part._modules.items():
                    self.add_module(child_name, child)
        self.parts = [body, shortcut]  # a plain list: not registered again
        self.relu_after = relu_after

    def forward(self, x):
        body, shortcut = self.parts
        y = body(x) + (shortcut(x) if len(shortcut) else x)
        return torch.relu(y) if self.relu_after else y


class SameConv2d(nn.Conv2d):
    """TensorFlow "SAME" convolution for a fixed input size: output ceil(in / stride), the padding split with the
    extra row/column at the bottom/right (vigil's conv2d with "padding": "same"). state_dict keys as nn.Conv2d."""

    def __init__(self, in_hw, *args, **kwargs):
        super().__init__(*args, padding=0, **kwargs)
        pads = []
        for size, k, s, d in zip(in_hw, self.kernel_size, self.stride, self.dilation):
            out = math.ceil(size / s)
            total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        self.pads = [pads[1][0], pads[1][1], pads[0][0], pads[0][1]]  # F.pad order: left, right, top, bottom

    def forward(self, x):
        return super().forward(F.pad(x, self.pads))


_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish, "silu": nn.SiLU,
                "sigmoid": nn.Sigmoid, "hardsigmoid": nn.Hardsigmoid}


class Named(nn.Module):
    """A container whose children carry vigil's dotted names (nested modules so state_dict keys match)."""

    def __init__(self):
        super().__init__()
        self.order = []

    def add(self, dotted, module):
        parts = dotted.split(".")
        parent = self
        for p in parts[:-1]:
            if not hasattr(parent, p):
                parent.add_module(p, nn.Module())
            parent = getattr(parent, p)
        parent.add_module(parts[-1], module)
        self.order.append(module)

    def __len__(self):
        return len(self.order)

    def forward(self, x):
        for m in self.order:
            x = m(x)
        return x


def _pair(v, default):
    if v is None:
        return (default, default)
    return tuple(v) if isinstance(v, list) else (v, v)


def _build_list(layers, shape):
    seq = Named()
    for i, l in enumerate(layers):
        name = l.get("name", str(i))
        t = l["type"]
        if t == "conv2d" and l.get("padding") == "same":
            m = SameConv2d(shape[1:], shape[0], l["out_channels"], _pair(l.get("kernel"), 3),
                           stride=_pair(l.get("stride"), 1), dilation=_pair(l.get("dilation"), 1),
                           groups=l.get("groups", 1), bias=l.get("bias", True))
        elif t == "conv2d":
            k = _pair(l.get("kernel"), 3)
            m = nn.Conv2d(shape[0], l["out_channels"], k, stride=_pair(l.get("stride"), 1),
                          padding=_pair(l.get("padding"), 0), dilation=_pair(l.get("dilation"), 1),
                          groups=l.get("groups", 1), bias=l.get("bias", True))
        elif t == "linear":
            m = nn.Linear(shape[0], l["out_features"], bias=l.get("bias", True))
        elif t == "batchnorm2d":
            m = nn.BatchNorm2d(shape[0], eps=l.get("eps", 1e-5), momentum=l.get("momentum", 0.1)) if len(shape) == 3 \
                else nn.BatchNorm1d(shape[0], eps=l.get("eps", 1e-5), momentum=l.get("momentum", 0.1))
        elif t in _ACTIVATIONS:
            m = _ACTIVATIONS[t]()
        elif t == "sequential":
            m = _build_list(l["layers"], shape)
        elif t == "leaky_relu":
            m = nn.LeakyReLU(l.get("negative_slope", 0.01))
        elif t in ("maxpool2d", "avgpool2d"):
            k = _pair(l.get("kernel"), 2)
            s = _pair(l.get("stride"), None) if "stride" in l else k
            p = _pair(l.get("padding"), 0)
            m = nn.MaxPool2d(k, s, p) if t == "maxpool2d" else nn.AvgPool2d(k, s, p, count_include_pad=l.get("count_include_pad", True))
        elif t == "global_avg_pool":
            m = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        elif t == "dropout":
            m = nn.Dropout(l.get("p", 0.5))
        elif t == "flatten":
            m = nn.Flatten()
        elif t == "residual":
            body = _build_list(l["body"], shape)
            shortcut = _build_list(l["shortcut"], shape) if "shortcut" in l else Named()
            m = Residual(body, shortcut, l.get("activation", "relu") == "relu", l.get("body_name", "body"),
                         l.get("shortcut_name", "shortcut"))
        else:
            raise ValueError("unknown layer type %r" % t)
        with torch.no_grad():
            out = m(torch.zeros((2,) + tuple(shape)))
        shape = tuple(out.shape[1:])
        seq.add(name, m)
    return seq


def build_module(spec):
    """torch module for a vigil definition (dict or JSON text); state_dict keys match vigil's names."""
    if isinstance(spec, str):
        spec = json.loads(spec)
    inp = spec["input"]
    return _build_list(spec["layers"], (inp["channels"], inp["height"], inp["width"]))


def write_safetensors(path, tensors, metadata=None):
    """tensors: OrderedDict name -> torch.Tensor (CPU). Writes the public safetensors layout."""
    header, blobs, offset = OrderedDict(), [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (OrderedDict name -> torch.Tensor, metadata dict)."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = OrderedDict()
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, en = e["data_offsets"]
        dt = _DTYPES[e["dtype"]]
        buf = bytearray(data[base + b:base + en])
        t = torch.frombuffer(buf, dtype=torch.uint8).view(dt) if en > b else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta
