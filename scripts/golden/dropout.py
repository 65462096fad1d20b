"""Golden statistics for inverted dropout. PyTorch's RNG differs from vigil's Philox stream, so each case holds
torch's kept fraction and kept scale (y / x on kept elements) for x = ones(n), not a mask."""
import torch

from common import seeded, write_fixture

N = 100000


def case(name, p, seed):
    seeded(seed)
    x = torch.ones(N)
    y = torch.nn.functional.dropout(x, p, training=True)
    kept = y != 0
    scales = torch.unique(y[kept])
    assert scales.numel() == 1, "torch kept values are not a single scale: %s" % scales
    return {"name": name, "params": {"p": p, "n": N},
            "tensors": {"kept_fraction": kept.to(torch.float64).mean().reshape(1), "scale": scales.reshape(1)}}


write_fixture("dropout", [case("p0.1", 0.1, 1), case("p0.5", 0.5, 2)])
