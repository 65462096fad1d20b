"""Interop fixture for the safetensors reader: a few PyTorch tensors written in the safetensors format.

Writes tests/fixtures/safetensors/torch_small.safetensors and, next to it, torch_small.json with every
tensor's dtype, shape, exact bit patterns (floating types) and values. Uses the `safetensors` package when
/usr/bin/python3 has it, otherwise writes the (simple, public) format by hand with struct + json: an 8-byte
little-endian header length, the JSON header padded with spaces to 8-byte alignment, then the raw data.
The data is laid out in insertion order (not name order) so that readers are tested on offset order.
"""
import json
import os
import struct
from collections import OrderedDict

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "safetensors")
METADATA = {"format": "pt", "generator": "scripts/golden/safetensors_torch.py", "note": "h\u00e9llo"}
DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
               torch.uint8: "U8", torch.int32: "I32"}
BITS_VIEW = {torch.float32: (torch.int32, 0xFFFFFFFF), torch.float16: (torch.int16, 0xFFFF),
             torch.bfloat16: (torch.int16, 0xFFFF)}


def make_tensors():
    g = torch.Generator().manual_seed(1234)
    t = OrderedDict()
    w = torch.randn(2, 3, 2, 2, generator=g)
    w.view(-1)[:3] = torch.tensor([-0.0, 1e-45, 3.4028234663852886e38])  # -0, smallest subnormal, max
    t["conv.weight"] = w
    t["bn.running_var"] = torch.tensor([1.0, 65504.0, -0.0, 5.960464477539063e-08, 0.333], dtype=torch.float16)
    t["fc.bias"] = (torch.randn(4, generator=g) * 100).to(torch.bfloat16)
    t["bn.num_batches_tracked"] = torch.tensor(1234567890123, dtype=torch.int64)  # shape ()
    t["steps"] = torch.tensor([-1, 2 ** 62 + 1, -(2 ** 63)], dtype=torch.int64)
    t["image"] = torch.arange(0, 256, 23, dtype=torch.uint8)[:12].reshape(2, 2, 3)
    t["empty"] = torch.zeros(0, 4)
    return t


def raw_bytes(x):
    x = x.contiguous()
    if x.dtype in BITS_VIEW:
        x = x.view(BITS_VIEW[x.dtype][0])
    return x.numpy().astype(x.numpy().dtype.newbyteorder("<")).tobytes()


def write_by_hand(path, tensors, metadata):
    header, offset = OrderedDict(), 0
    header["__metadata__"] = metadata
    for name, x in tensors.items():
        n = len(raw_bytes(x))
        header[name] = {"dtype": DTYPE_NAMES[x.dtype], "shape": list(x.shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for x in tensors.values():
            f.write(raw_bytes(x))


def describe(x):
    entry = {"dtype": DTYPE_NAMES[x.dtype], "shape": list(x.shape)}
    flat = x.contiguous().view(-1)
    if x.dtype in BITS_VIEW:
        view, mask = BITS_VIEW[x.dtype]
        entry["bits"] = [int(b) & mask for b in flat.view(view).tolist()]
        entry["values"] = [float(v) for v in flat.to(torch.float64).tolist()]
    else:
        entry["values"] = [int(v) for v in flat.tolist()]
    return entry


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    tensors = make_tensors()
    path = os.path.join(OUT_DIR, "torch_small.safetensors")
    try:
        from safetensors.torch import save_file
        save_file(dict(tensors), path, metadata=METADATA)
        writer = "safetensors.torch.save_file"
    except ImportError:
        write_by_hand(path, tensors, METADATA)
        writer = "by hand (struct + json)"
    info = {"generator": "scripts/golden/safetensors_torch.py", "torch": torch.__version__, "writer": writer,
            "metadata": METADATA, "tensors": {name: describe(x) for name, x in tensors.items()}}
    with open(os.path.join(OUT_DIR, "torch_small.json"), "w") as f:
        json.dump(info, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT), "(%d bytes, %s)" % (os.path.getsize(path), writer))


main()
