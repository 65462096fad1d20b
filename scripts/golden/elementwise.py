"""Golden values for the element-wise ops: maps, mul backward (accumulating into existing gradients),
reductions, per-channel bias / channel sums, and float16 / bfloat16 rounding (finite values only: the JSON
fixtures hold no NaN or Inf; those cases are tested in C++)."""
import torch

from common import seeded, write_fixture


def maps(n, alpha, seed):
    g = seeded(seed)
    a = (torch.rand(n, generator=g) * 4 - 2).requires_grad_(True)
    b = (torch.rand(n, generator=g) * 4 - 2).requires_grad_(True)
    dy = torch.rand(n, generator=g) * 2 - 1
    y0 = torch.rand(n, generator=g) * 2 - 1
    da0 = torch.rand(n, generator=g) * 2 - 1
    db0 = torch.rand(n, generator=g) * 2 - 1
    a.grad, b.grad = da0.clone(), db0.clone()  # backward accumulates into existing .grad, like vigil
    (a * b).backward(dy)
    ad, bd = a.detach(), b.detach()
    return {"name": "maps_%d" % n, "params": {"alpha": alpha},
            "tensors": {"a": ad, "b": bd, "dy": dy, "y0": y0, "da0": da0, "db0": db0,
                        "add": ad + bd, "mul": ad * bd, "scale": alpha * ad, "axpy": y0.add(ad, alpha=alpha),
                        "da": a.grad, "db": b.grad}}


def reductions(n, seed):
    g = seeded(seed)
    x = torch.rand(n, generator=g) * 3 - 1
    return {"name": "reductions_%d" % n, "tensors": {"x": x, "sum": x.sum().reshape(1),
                                                      "sum_squares": (x * x).sum().reshape(1)}}


def channels(shape, seed):
    g = seeded(seed)
    n, c, h, w = shape
    x = torch.rand(shape, generator=g) * 2 - 1
    bias = torch.rand(c, generator=g) * 2 - 1
    out0 = torch.rand(c, generator=g) * 2 - 1
    return {"name": "channels_%dx%dx%dx%d" % shape, "params": {"n": n, "c": c, "hw": h * w},
            "tensors": {"x": x, "bias": bias, "out0": out0, "biased": x + bias.view(1, c, 1, 1),
                        "channel_sum": out0 + x.sum(dim=(0, 2, 3))}}


def conversions(seed):
    g = seeded(seed)
    special = [0.0, -0.0, 1.0, -1.0, 65504.0, -65504.0, 65519.0, 65519.996, 2.0 ** -24, -(2.0 ** -24),
               2.0 ** -25, 1.5 * 2.0 ** -24, 2.5 * 2.0 ** -24, 3 * 2.0 ** -25, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -24,
               1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 0.1, 1.0 / 3, 1e-8, -1e-8,
               1e-40, 2.0 ** -126, 2.0 ** -133]
    special_bf16 = [3.0e38, -3.0e38, 3.3895e38, 2.0 ** -126 * 1.5, 2.0 ** -149]  # finite in bfloat16 only
    n = 256
    mag = torch.exp2(torch.rand(n, generator=g) * 44 - 28)  # 2^-28 .. 2^16 (below the float16 overflow)
    mag = torch.clamp(mag, max=65519.0)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    x = torch.cat([torch.tensor(special, dtype=torch.float32), mag * sign])
    wide = torch.exp2(torch.rand(n, generator=g) * 250 - 125) * sign  # bfloat16 range
    xb = torch.cat([torch.tensor(special + special_bf16, dtype=torch.float32), wide])
    return [{"name": "float16", "tensors": {"x": x, "y": x.half().float()}},
            {"name": "bfloat16", "tensors": {"x": xb, "y": xb.bfloat16().float()}}]


write_fixture("elementwise", [maps(61, -0.75, 1), maps(7, 2.5, 2), reductions(1000, 3), reductions(1, 4),
                              channels((2, 3, 5, 7), 5), channels((1, 16, 4, 4), 6), channels((3, 4, 1, 1), 7)]
              + conversions(8))
