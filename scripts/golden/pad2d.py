"""Golden values for 2-D zero padding: y = F.pad(x, (left, right, top, bottom)) and dx, the gradient of the
weighted sum sum(y * dy) (i.e. the backward for upstream gradient dy)."""
import torch
import torch.nn.functional as F

from common import seeded, write_fixture


def case(name, n, c, h, w, top, bottom, left, right, seed):
    g = seeded(seed)
    x = (torch.rand(n, c, h, w, generator=g) * 4 - 2).requires_grad_(True)
    y = F.pad(x, (left, right, top, bottom), mode="constant", value=0.0)
    dy = torch.rand(y.shape, generator=g) * 2 - 1
    (y * dy).sum().backward()
    return {"name": name,
            "params": {"n": n, "c": c, "h": h, "w": w, "top": top, "bottom": bottom, "left": left, "right": right},
            "tensors": {"x": x, "dy": dy, "y": y, "dx": x.grad}}


write_fixture("pad2d", [
    case("tf_same_s2_bottom_right", 2, 3, 7, 7, 0, 1, 0, 1, 1),
    case("symmetric_1", 1, 2, 5, 4, 1, 1, 1, 1, 2),
    case("asymmetric_all_sides", 2, 2, 3, 6, 2, 0, 3, 1, 3),
    case("zero_pads", 1, 3, 4, 5, 0, 0, 0, 0, 4),
    case("large_pads_1x1", 1, 1, 1, 1, 3, 4, 5, 2, 5),
])
