"""Golden values for conv2d forward (y = conv(x, w) + b) and its gradients dx, dw, db for a random upstream dy,
over stride, padding, dilation, groups (depthwise included), rectangular kernels and with/without bias."""
import torch
import torch.nn.functional as F

from common import seeded, write_fixture


def case(name, n, c_in, h, w, c_out, kh, kw, stride=(1, 1), pad=(0, 0), dil=(1, 1), groups=1, bias=True, seed=0):
    g = seeded(seed)
    x = (torch.rand(n, c_in, h, w, generator=g) * 2 - 1).requires_grad_(True)
    wt = (torch.rand(c_out, c_in // groups, kh, kw, generator=g) * 2 - 1).requires_grad_(True)
    b = (torch.rand(c_out, generator=g) * 2 - 1).requires_grad_(True) if bias else None
    y = F.conv2d(x, wt, b, stride=stride, padding=pad, dilation=dil, groups=groups)
    dy = torch.rand(y.shape, generator=g) * 2 - 1
    y.backward(dy)
    tensors = {"x": x, "w": wt, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad}
    if bias:
        tensors["b"] = b
        tensors["db"] = b.grad
    params = {"n": n, "c_in": c_in, "h": h, "w": w, "c_out": c_out, "kh": kh, "kw": kw,
              "stride_h": stride[0], "stride_w": stride[1], "pad_h": pad[0], "pad_w": pad[1],
              "dil_h": dil[0], "dil_w": dil[1], "groups": groups, "bias": bias}
    return {"name": name, "params": params, "tensors": tensors}


write_fixture("conv2d", [
    case("3x3_pad1_bias", 2, 3, 8, 7, 4, 3, 3, pad=(1, 1), seed=1),
    case("3x2_stride2_pad", 1, 4, 9, 7, 5, 3, 2, stride=(2, 2), pad=(1, 0), seed=2),
    case("dilation2", 2, 2, 10, 9, 3, 3, 3, pad=(1, 2), dil=(2, 2), bias=False, seed=3),
    case("grouped_stride2", 2, 6, 8, 8, 4, 3, 3, stride=(2, 1), pad=(1, 1), groups=2, seed=4),
    case("depthwise", 2, 4, 7, 6, 4, 3, 3, pad=(1, 1), groups=4, seed=5),
    case("depthwise_mult2_s2", 1, 3, 9, 8, 6, 5, 5, stride=(2, 2), pad=(2, 2), groups=3, bias=False, seed=6),
    case("pointwise", 2, 8, 5, 6, 6, 1, 1, seed=7),
    case("7x7_stride2_pad1", 1, 3, 20, 18, 4, 7, 7, stride=(2, 2), pad=(1, 1), seed=8),
])
