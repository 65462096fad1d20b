#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer targets (tests/fuzz) into OUT/<target>/: small valid files of every
kind each target reads, so mutation starts from deep inside each parser. Needs Debian's python3-pil (images);
the rest is the standard library. Deterministic: the same files every run.

  decode/       JPEG (baseline, progressive, gray, 4:2:0, EXIF-rotated), PNG (RGB, RGBA, gray, gray+alpha,
                palette with transparency, 16-bit, interlaced), BMP (24-bit, 8-bit palette), GIF (still,
                animated with transparency), WebP (lossy, lossless, animated), plus tests/fixtures/hostile_jpeg
  safetensors/  F32/F16/BF16/U8/I32/I64 tensors, metadata, empty tensors, scalars
  csv/          list files and manifests: header, quotes, doubled quotes, newlines in quotes, groups
  model/        every built-in preset definition (`vigil model print NAME`) and small hand-written ones

usage: scripts/fuzz_seeds.py OUT [--vigil build/infer/vigil]
"""
import argparse
import glob
import io
import json
import os
import shutil
import struct
import subprocess
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def card(w, h, mode="RGB"):
    """A textured test card: gradients and a checkerboard, so every codec has detail to encode."""
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 255) // max(1, w - 1), (y * 255) // max(1, h - 1), 255 * ((x // 4 + y // 4) % 2))
                 for y in range(h) for x in range(w)])
    return img.convert(mode)


def save(img, path, **kw):
    buf = io.BytesIO()
    img.save(buf, **kw)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def exif_rotated_jpeg(path):
    exif = Image.Exif()
    exif[0x0112] = 6
    save(card(24, 16), path, format="JPEG", quality=85, exif=exif.tobytes())


def image_seeds(out):
    save(card(32, 24), f"{out}/baseline.jpg", format="JPEG", quality=90)
    save(card(40, 24), f"{out}/progressive.jpg", format="JPEG", quality=80, progressive=True)
    save(card(17, 9, "L"), f"{out}/gray_progressive.jpg", format="JPEG", quality=75, progressive=True)
    save(card(33, 21), f"{out}/sub420.jpg", format="JPEG", quality=60, subsampling=2)
    exif_rotated_jpeg(f"{out}/exif6.jpg")
    save(card(12, 9), f"{out}/rgb.png", format="PNG")
    rgba = card(8, 8, "RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((8, 8)))
    save(rgba, f"{out}/rgba.png", format="PNG")
    save(card(9, 5, "L"), f"{out}/gray.png", format="PNG")
    save(card(6, 6, "LA"), f"{out}/gray_alpha.png", format="PNG")
    save(card(10, 6, "P"), f"{out}/palette.png", format="PNG", transparency=0)
    save(card(7, 5, "L").convert("I"), f"{out}/deep16.png", format="PNG")  # 32-bit "I" is written as 16-bit
    save(card(11, 11), f"{out}/interlaced.png", format="PNG", interlace=1)
    save(card(8, 5), f"{out}/rgb24.bmp", format="BMP")
    save(card(9, 7, "P"), f"{out}/pal8.bmp", format="BMP")
    save(card(10, 8, "P"), f"{out}/still.gif", format="GIF")
    frames = [card(12, 10, "P"), card(12, 10, "P").rotate(90), card(12, 10, "P").transpose(Image.FLIP_LEFT_RIGHT)]
    save(frames[0], f"{out}/anim.gif", format="GIF", save_all=True, append_images=frames[1:], duration=40,
         loop=0, transparency=1, disposal=2)
    save(card(16, 12), f"{out}/lossy.webp", format="WEBP", quality=70)
    save(card(8, 6, "RGBA"), f"{out}/lossless.webp", format="WEBP", lossless=True)
    wframes = [card(10, 10, "RGBA"), card(10, 10, "RGBA").rotate(180)]
    save(wframes[0], f"{out}/anim.webp", format="WEBP", save_all=True, append_images=wframes[1:], duration=50)
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "hostile_jpeg", "*"))):
        shutil.copy(path, f"{out}/hostile-{os.path.basename(path)}")


def safetensors_bytes(entries, metadata=None):
    """entries: (name, dtype, shape, raw bytes) in data order."""
    header, data = {}, b""
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds(out):
    f32 = struct.pack("<6f", 1.0, -2.5, 0.0, 3.25, 1e-3, -7.0)
    seeds = {
        "f32.safetensors": [("conv.weight", "F32", [2, 3], f32)],
        "mixed.safetensors": [("a", "F16", [2], struct.pack("<2e", 1.5, -0.25)), ("b", "BF16", [1], b"\x80\x3f"),
                              ("c", "U8", [3], b"\x01\x02\x03"), ("d", "I32", [1, 1], struct.pack("<i", -9)),
                              ("e", "I64", [2], struct.pack("<2q", 7, -7))],
        "scalar_empty.safetensors": [("s", "F32", [], struct.pack("<f", 2.0)), ("z", "F32", [0, 4], b"")],
    }
    for name, entries in seeds.items():
        with open(f"{out}/{name}", "wb") as f:
            f.write(safetensors_bytes(entries))
    with open(f"{out}/metadata.safetensors", "wb") as f:
        f.write(safetensors_bytes([("w", "F32", [6], f32)],
                                  {"vigil.classes": "[\"nudity\",\"violence\",\"standard\"]", "format": "pt"}))


def csv_seeds(out):
    seeds = {
        "list.csv": "path,label,group\na.jpg,nudity,clip1\nb.jpg,violence,clip2\nc/d.png,standard,\n",
        "plain.csv": "x.jpg,standard\ny.jpg,violence\n",
        "quoted.csv": 'path,label\n"a, b.jpg",standard\n"say ""hi"".jpg",nudity\n"two\nlines.jpg",violence\n',
        "manifest.csv": "path,sha256,label,group,split\nimg/1.jpg,"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,standard,g1,train\n",
        "crlf.csv": "path,label\r\na.jpg,standard\r\n",
    }
    for name, text in seeds.items():
        with open(f"{out}/{name}", "w", newline="") as f:
            f.write(text)


def model_seeds(out, vigil):
    names = subprocess.run([vigil, "model", "presets"], check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        text = subprocess.run([vigil, "model", "print", name], check=True, capture_output=True, text=True).stdout
        with open(f"{out}/{name}.json", "w") as f:
            f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--vigil", default=os.path.join(ROOT, "build", "infer", "vigil"))
    args = ap.parse_args()
    for target, make in (("decode", image_seeds), ("safetensors", safetensors_seeds), ("csv", csv_seeds)):
        os.makedirs(f"{args.out}/{target}", exist_ok=True)
        make(f"{args.out}/{target}")
    os.makedirs(f"{args.out}/model", exist_ok=True)
    if os.path.exists(args.vigil):
        model_seeds(f"{args.out}/model", args.vigil)
    else:
        print(f"fuzz_seeds: {args.vigil} not built: no model seeds", file=sys.stderr)
    for target in sorted(os.listdir(args.out)):
        print(f"fuzz_seeds: {target}: {len(os.listdir(os.path.join(args.out, target)))} files")


if __name__ == "__main__":
    main()
