"""Golden values for every activation kind, forward and backward (dx for a random upstream gradient dy)."""
import torch
import torch.nn.functional as F

from common import seeded, write_fixture

# kind -> y = f(x, negative_slope); the names are vigil's activation_kind_name().
FORWARD = {
    "relu": lambda x, slope: torch.relu(x),
    "leaky_relu": F.leaky_relu,
    "relu6": lambda x, slope: F.relu6(x),
    "hardswish": lambda x, slope: F.hardswish(x),
    "silu": lambda x, slope: F.silu(x),
    "sigmoid": lambda x, slope: torch.sigmoid(x),
    "hardsigmoid": lambda x, slope: F.hardsigmoid(x),
}

# Every kind's kinks hit exactly (0, +-3, 6, -0.0), plus large |x| where sigmoid and SiLU saturate.
KINKS = [-100.0, -20.0, -6.0, -3.0, -1.0, -0.0, 0.0, 0.5, 3.0, 6.0, 20.0, 100.0]


def entry(name, kind, slope, x, dy):
    x = x.detach().clone().requires_grad_(True)
    y = FORWARD[kind](x, slope)
    y.backward(dy)
    params = {"kind": kind, "negative_slope": slope} if kind in ("relu", "leaky_relu") else {"kind": kind}
    return {"name": name, "params": params, "tensors": {"x": x, "dy": dy, "y": y, "dx": x.grad}}


def case(name, kind, slope, n, seed, lo=-2.0, hi=2.0):
    g = seeded(seed)
    x = torch.rand(n, generator=g) * (hi - lo) + lo
    dy = torch.rand(n, generator=g) * 2 - 1
    return entry(name, kind, slope, x, dy)


def kinks_case(kind, slope, seed):
    g = seeded(seed)
    dy = torch.rand(len(KINKS), generator=g) * 2 - 1
    return entry("kinks_" + kind, kind, slope, torch.tensor(KINKS), dy)


# The first two cases predate the other kinds: keep their seeds and ranges so their values stay unchanged.
cases = [case("relu", "relu", 0.0, 64, 1), case("leaky_0.1", "leaky_relu", 0.1, 64, 2)]
# [-8, 8] covers both sides of every kink (ReLU6 at 0 and 6, the hard functions at +-3).
cases += [case(kind, kind, 0.0, 64, 3 + i, -8.0, 8.0)
          for i, kind in enumerate(["relu6", "hardswish", "silu", "sigmoid", "hardsigmoid"])]
cases += [kinks_case(kind, 0.1 if kind == "leaky_relu" else 0.0, 20 + i) for i, kind in enumerate(FORWARD)]
write_fixture("activation", cases)
