#!/usr/bin/python3
"""Convert a checkpoint of the original project's network (model.pth: a state_dict, or a pickled nn.Module, or a
dict holding one under 'state_dict'/'model_state_dict') into a vigil model file with the `seed` definition.

The original saved state_dict() of a module with two nn.Sequential members, so its keys are conv.{0,4,8,12,16}
(convolutions), conv.{1,5,9,13,17} (batch norms) and fc.{1,3,5} (linear layers); vigil's seed preset uses the same
names. The original took class ids from alphabetical folder order, so pass the class names in id order:

  /usr/bin/python3 scripts/convert_seed_pth.py model.pth seed.safetensors --classes nudity,standard,violence

Needs Debian's python3-torch. The output loads with `vigil model show seed.safetensors` and `vigil classify`.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigil_torch import build_module, write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def load_state_dict(path):
    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except TypeError:  # torch < 1.13 has no weights_only
            obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 -- any unreadable file gets one clear line
        raise SystemExit("%s: cannot read as a PyTorch checkpoint: %s" % (path, e))
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
                inner = obj[key]
                return inner.state_dict() if isinstance(inner, torch.nn.Module) else inner
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise SystemExit("%s: not a state_dict, a pickled module, or a dict holding one" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--classes", required=True, help="class names in the original's id order, comma separated")
    ap.add_argument("--version", default="seed-converted", help="model version string stored in the file")
    args = ap.parse_args()

    classes = [c.strip() for c in args.classes.split(",")]
    spec = json.load(open(os.path.join(ROOT, "nn", "models", "seed.json")))
    if len(classes) != 3 or len(set(classes)) != 3 or not all(classes):
        raise SystemExit("--classes needs 3 distinct names in id order, got %r" % args.classes)
    spec["classes"] = classes
    spec["version"] = args.version
    sd = load_state_dict(args.checkpoint)
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}  # DataParallel prefix

    reference = build_module(spec).state_dict()
    missing = [k for k in reference if k not in sd]
    unexpected = [k for k in sd if k not in reference]
    if missing or unexpected:
        raise SystemExit("%s: does not match the seed architecture: missing %s, unexpected %s"
                         % (args.checkpoint, missing[:8], unexpected[:8]))
    out = {}
    for k, ref in reference.items():
        t = sd[k]
        if tuple(t.shape) != tuple(ref.shape):
            raise SystemExit("%s: %s has shape %s, the seed network needs %s" % (args.checkpoint, k, tuple(t.shape), tuple(ref.shape)))
        out[k] = t.to(ref.dtype).contiguous()
    text = json.dumps(spec, indent=2) + "\n"
    meta = {"format": "pt", "vigil.format": "vigil-weights/1", "vigil.definition": text, "vigil.version": args.version,
            "vigil.classes": json.dumps(classes), "vigil.input": "3x512x512",
            "vigil.mean": json.dumps(spec["preprocess"]["mean"]), "vigil.std": json.dumps(spec["preprocess"]["std"]),
            "vigil.temperature": "1"}
    tmp = args.output + ".tmp.%d" % os.getpid()
    write_safetensors(tmp, out, meta)
    os.replace(tmp, args.output)
    print("wrote %s (%d tensors, classes %s)" % (args.output, len(out), ", ".join(classes)))


if __name__ == "__main__":
    main()
