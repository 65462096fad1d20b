"""Golden values for ReLU / LeakyReLU forward and backward (dx for a random upstream gradient dy)."""
import torch

from common import seeded, write_fixture


def case(name, kind, slope, n, seed):
    g = seeded(seed)
    x = (torch.rand(n, generator=g) * 4 - 2).requires_grad_(True)
    dy = torch.rand(n, generator=g) * 2 - 1
    y = torch.relu(x) if kind == "relu" else torch.nn.functional.leaky_relu(x, slope)
    y.backward(dy)
    return {"name": name, "params": {"kind": kind, "negative_slope": slope},
            "tensors": {"x": x, "dy": dy, "y": y, "dx": x.grad}}


write_fixture("activation", [case("relu", "relu", 0.0, 64, 1), case("leaky_0.1", "leaky_relu", 0.1, 64, 2)])
