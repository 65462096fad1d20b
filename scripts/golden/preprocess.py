"""Golden values for vigil's image preprocessing and decoding (tests/data/preprocess_test.cpp, decode_test.cpp).

torchvision is not a Debian package, so the reference is what torchvision.transforms does to a PIL image, done with
PIL itself (python3-pil): Resize -> PIL resize with BILINEAR (antialiased when shrinking) or BOX (area), the size
rule of Resize(int) (shorter side = size, longer = int(size * long / short)); CenterCrop -> offsets
int(round((size - crop) / 2.0)) with Python's round, zero padding when the crop is larger; ToTensor + Normalize ->
float32 (pixel / 255 - mean) / std. Each case also records, for information, how far torch's own antialiased
bilinear interpolate (torchvision's tensor path) is from PIL. Other cases: PIL's convert("L") luma, and JPEG files
PIL encodes (progressive and baseline) with PIL's (libjpeg-turbo's) decoded pixels.
"""
import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from common import write_fixture

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def test_image(width, height, channels, seed):
    """Smooth gradients, a hard-edged block and noise: exercises both smooth and sharp resampling."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        v = 128 + 100 * np.sin((x * (c + 1)) / 5.0 + y / 7.0) + rng.normal(0, 12, (height, width))
        v[height // 3: height // 2, width // 4: width // 2] = 255 if c % 2 == 0 else 0
        planes.append(v)
    img = np.clip(np.rint(np.stack(planes, axis=2)), 0, 255).astype(np.uint8)
    return img


def to_pil(arr):
    return Image.fromarray(arr[:, :, 0], "L") if arr.shape[2] == 1 else Image.fromarray(arr, "RGB")


def from_pil(im):
    a = np.array(im, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def center_crop(im, crop_w, crop_h):
    w, h = im.size
    if crop_w > w or crop_h > h:  # torchvision pads with 0 (left/top get the floor half), then crops
        pad_l, pad_t = max(crop_w - w, 0) // 2, max(crop_h - h, 0) // 2
        canvas = Image.new(im.mode, (max(w, crop_w), max(h, crop_h)), 0)
        canvas.paste(im, (pad_l, pad_t))
        im, (w, h) = canvas, canvas.size
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return im.crop((left, top, left + crop_w, top + crop_h))


def shorter_side_size(w, h, size):
    if w <= h:
        return size, int(size * h / w)
    return int(size * w / h), size


def torch_aa_diff(arr, out_w, out_h):
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].to(torch.float32)
    y = F.interpolate(x, size=(out_h, out_w), mode="bilinear", antialias=True, align_corners=False)
    return y[0].permute(1, 2, 0)


def normalise(arr, mean, std):
    t = torch.from_numpy(arr.copy()).permute(2, 0, 1).to(torch.float32).div(255)
    m = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    s = torch.tensor(std, dtype=torch.float32)[:, None, None]
    return t.sub(m).div(s)


def recipe_case(name, in_w, in_h, channels, seed, out_w, out_h, resize, interpolation, resize_shorter=0,
                crop="none", mean=None, std=None):
    arr = test_image(in_w, in_h, channels, seed)
    im = to_pil(arr)
    resample = Image.Resampling.BILINEAR if interpolation == "bilinear" else Image.Resampling.BOX
    info = {}
    if resize == "stretch":
        resized = im.resize((out_w, out_h), resample)
        if interpolation == "bilinear":
            info["torch_aa_max_abs_diff"] = float(
                (torch_aa_diff(arr, out_w, out_h) - torch.from_numpy(from_pil(resized)).float()).abs().max())
    else:
        sw, sh = shorter_side_size(in_w, in_h, resize_shorter)
        resized = im.resize((sw, sh), resample) if (sw, sh) != im.size else im.copy()
        if crop == "center":
            resized = center_crop(resized, out_w, out_h)
    mean = mean or (IMAGENET_MEAN if channels == 3 else [0.5])
    std = std or (IMAGENET_STD if channels == 3 else [0.25])
    resized_arr = from_pil(resized)
    params = {"in_w": in_w, "in_h": in_h, "channels": channels, "out_w": out_w, "out_h": out_h, "resize": resize,
              "interpolation": interpolation, "resize_shorter": resize_shorter, "crop": crop, "mean": mean,
              "std": std, **info}
    return {"name": name, "params": params,
            "tensors": {"input": torch.from_numpy(arr.copy()), "resized": torch.from_numpy(resized_arr.copy()),
                        "output": normalise(resized_arr, mean, std)}}


def crop_case(name, in_w, in_h, crop_w, crop_h, seed):
    arr = test_image(in_w, in_h, 3, seed)
    out = from_pil(center_crop(to_pil(arr), crop_w, crop_h))
    return {"name": name, "params": {"kind": "center_crop", "crop_w": crop_w, "crop_h": crop_h},
            "tensors": {"input": torch.from_numpy(arr.copy()), "resized": torch.from_numpy(out.copy())}}


def shorter_case(name, in_w, in_h, size, interpolation, seed):
    arr = test_image(in_w, in_h, 3, seed)
    sw, sh = shorter_side_size(in_w, in_h, size)
    resample = Image.Resampling.BILINEAR if interpolation == "bilinear" else Image.Resampling.BOX
    out = from_pil(to_pil(arr).resize((sw, sh), resample))
    return {"name": name, "params": {"kind": "shorter_side", "size": size, "interpolation": interpolation},
            "tensors": {"input": torch.from_numpy(arr.copy()), "resized": torch.from_numpy(out.copy())}}


def luma_case():
    arr = test_image(24, 16, 3, 7)
    arr[0, :8] = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [1, 2, 3], [254, 1, 128],
                  [128, 128, 128]]
    gray = from_pil(to_pil(arr).convert("L"))
    return {"name": "luma", "params": {"kind": "luma"},
            "tensors": {"input": torch.from_numpy(arr.copy()), "gray": torch.from_numpy(gray.copy())}}


def jpeg_case(name, channels, progressive, subsampling, seed):
    arr = test_image(32, 24, channels, seed)
    # smoother content than the resampling tests: JPEG decoders differ most on noise
    arr = np.asarray(to_pil(arr).resize((8, 6), Image.Resampling.BOX).resize((32, 24), Image.Resampling.BILINEAR), dtype=np.uint8)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    buf = io.BytesIO()
    kwargs = {"quality": 90, "progressive": progressive}
    if channels == 3:
        kwargs["subsampling"] = subsampling
    to_pil(arr).save(buf, "JPEG", **kwargs)
    data = np.frombuffer(buf.getvalue(), dtype=np.uint8)
    decoded = from_pil(Image.open(io.BytesIO(buf.getvalue())).convert("L" if channels == 1 else "RGB"))
    return {"name": name, "params": {"kind": "jpeg", "progressive": progressive, "channels": channels},
            "tensors": {"file": torch.from_numpy(data.copy()), "decoded": torch.from_numpy(decoded.copy())}}


def main():
    cases = [
        recipe_case("stretch_bilinear_down", 34, 26, 3, 1, 15, 12, "stretch", "bilinear"),
        recipe_case("stretch_bilinear_up", 19, 15, 3, 2, 26, 21, "stretch", "bilinear"),
        recipe_case("stretch_bilinear_mixed", 40, 15, 3, 3, 18, 22, "stretch", "bilinear"),
        recipe_case("stretch_area_down", 24, 16, 3, 4, 6, 4, "stretch", "area"),
        recipe_case("stretch_area_fraction", 30, 20, 3, 5, 12, 8, "stretch", "area"),
        recipe_case("stretch_area_up", 12, 9, 3, 6, 17, 14, "stretch", "area"),
        recipe_case("shorter_center_bilinear", 32, 24, 3, 8, 20, 20, "shorter_side", "bilinear", 22, "center"),
        recipe_case("shorter_center_area_portrait", 17, 30, 3, 9, 14, 14, "shorter_side", "area", 16, "center"),
        recipe_case("shorter_center_wide_crop", 36, 20, 3, 10, 22, 14, "shorter_side", "bilinear", 14, "center"),
        recipe_case("gray_stretch_bilinear", 30, 24, 1, 11, 16, 16, "stretch", "bilinear"),
        recipe_case("identity_size", 16, 12, 3, 12, 16, 12, "stretch", "bilinear", mean=[0.5, 0.4, 0.3],
                    std=[0.2, 0.3, 0.4]),
        crop_case("crop_odd_offsets", 15, 13, 8, 6, 13),
        crop_case("crop_pad", 10, 7, 13, 12, 14),
        shorter_case("shorter_side_landscape", 30, 18, 12, "bilinear", 15),
        shorter_case("shorter_side_area", 18, 30, 13, "area", 16),
        luma_case(),
        jpeg_case("jpeg_progressive_rgb", 3, True, 2, 20),
        jpeg_case("jpeg_progressive_gray", 1, True, 0, 21),
        jpeg_case("jpeg_baseline_444", 3, False, 0, 22),
    ]
    write_fixture("preprocess", cases)


if __name__ == "__main__":
    main()
