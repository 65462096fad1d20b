"""Golden weights for 3 optimizer steps (torch.optim.SGD / Adam / AdamW) on a small parameter vector with
given gradients per step: w0, g1..g3 in, w1..w3 (weights after each step) out."""
import torch

from common import seeded, write_fixture

N, STEPS = 10, 3


def case(name, kind, params, seed):
    g = seeded(seed)
    w0 = torch.rand(N, generator=g) * 2 - 1
    grads = [torch.rand(N, generator=g) * 2 - 1 for _ in range(STEPS)]
    p = torch.nn.Parameter(w0.clone())
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]([p], **params)
    tensors = {"w0": w0}
    for s, grad in enumerate(grads, start=1):
        p.grad = grad.clone()
        opt.step()
        tensors["g%d" % s] = grad
        tensors["w%d" % s] = p.detach().clone()
    out_params = dict(params, kind=kind)
    if "betas" in out_params:
        out_params["beta1"], out_params["beta2"] = out_params.pop("betas")
    return {"name": name, "params": out_params, "tensors": tensors}


write_fixture("optim", [
    case("sgd_plain", "sgd", {"lr": 0.1}, 1),
    case("sgd_weight_decay", "sgd", {"lr": 0.1, "weight_decay": 0.01}, 2),
    case("sgd_momentum_dampening", "sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1}, 3),
    case("sgd_nesterov_weight_decay", "sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, 4),
    case("adam", "adam", {"lr": 0.01}, 5),
    case("adam_weight_decay", "adam", {"lr": 0.01, "weight_decay": 0.1}, 6),
    case("adam_betas_eps", "adam", {"lr": 0.001, "betas": (0.8, 0.99), "eps": 1e-3}, 7),
    case("adamw", "adamw", {"lr": 0.01, "weight_decay": 0.1}, 8),
])
