"""Golden values for max / average 2-D pooling and global average pooling, forward and backward (dx for a
random upstream gradient dy). Max-pool inputs are a shuffled grid of distinct values, so no window has a tie."""
import torch
import torch.nn.functional as F

from common import seeded, write_fixture


def distinct(shape, g):
    n = 1
    for d in shape:
        n *= d
    grid = (torch.arange(n, dtype=torch.float32) - n / 2 + 0.5) * (4.0 / n)
    return grid[torch.randperm(n, generator=g)].reshape(shape)


def pool_case(name, kind, shape, k, stride, pad, count_include_pad, seed):
    g = seeded(seed)
    x = distinct(shape, g) if kind == "max" else torch.rand(shape, generator=g) * 4 - 2
    x.requires_grad_(True)
    if kind == "max":
        y = F.max_pool2d(x, k, stride, pad)
    else:
        y = F.avg_pool2d(x, k, stride, pad, count_include_pad=count_include_pad)
    dy = torch.rand(y.shape, generator=g) * 2 - 1
    y.backward(dy)
    params = {"kind": kind, "kh": k[0], "kw": k[1], "stride_h": stride[0], "stride_w": stride[1],
              "pad_h": pad[0], "pad_w": pad[1], "count_include_pad": count_include_pad}
    return {"name": name, "params": params, "tensors": {"x": x, "dy": dy, "y": y, "dx": x.grad}}


def global_case(name, shape, seed):
    g = seeded(seed)
    x = (torch.rand(shape, generator=g) * 4 - 2).requires_grad_(True)
    y = F.adaptive_avg_pool2d(x, 1).flatten(2)
    dy = torch.rand(y.shape, generator=g) * 2 - 1
    y.backward(dy)
    return {"name": name, "params": {"kind": "global_avg"}, "tensors": {"x": x, "dy": dy, "y": y, "dx": x.grad}}


write_fixture("pool2d", [
    pool_case("max_2x2_s2", "max", (2, 3, 8, 6), (2, 2), (2, 2), (0, 0), True, 1),
    pool_case("max_2x2_s2_odd", "max", (1, 2, 7, 9), (2, 2), (2, 2), (0, 0), True, 2),
    pool_case("max_3x3_s2_p1", "max", (2, 2, 9, 8), (3, 3), (2, 2), (1, 1), True, 3),
    pool_case("max_3x2_s21_p10", "max", (1, 2, 6, 7), (3, 2), (2, 1), (1, 0), True, 4),
    pool_case("avg_3x3_s1_p1_incl", "avg", (2, 3, 7, 6), (3, 3), (1, 1), (1, 1), True, 5),
    pool_case("avg_3x3_s1_p1_excl", "avg", (2, 3, 7, 6), (3, 3), (1, 1), (1, 1), False, 6),
    pool_case("avg_2x2_s2_odd", "avg", (1, 3, 9, 7), (2, 2), (2, 2), (0, 0), True, 7),
    pool_case("avg_5x5_s2_p2_excl", "avg", (1, 2, 11, 10), (5, 5), (2, 2), (2, 2), False, 8),
    global_case("global_avg_7x7", (2, 5, 7, 7), 9),
    global_case("global_avg_odd", (3, 4, 5, 3), 10),
])
