"""Golden values for BatchNorm2d: training forward (y, updated running stats, saved mean/invstd) and backward
(dx, dgamma, dbeta for a random dy), and eval forward/backward with the same running statistics."""
import torch

from common import seeded, write_fixture


def case(name, n, c, h, w, seed, eps=1e-5, momentum=0.1, offset=0.0):
    g = seeded(seed)
    x = torch.rand(n, c, h, w, generator=g) * 4 - 2 + offset
    gamma = torch.rand(c, generator=g) * 1.5 + 0.25
    beta = torch.rand(c, generator=g) * 2 - 1
    running_mean = torch.rand(c, generator=g) - 0.5
    running_var = torch.rand(c, generator=g) + 0.5
    dy = torch.rand(n, c, h, w, generator=g) * 2 - 1

    def module(training):
        bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=momentum)
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
            bn.running_mean.copy_(running_mean)
            bn.running_var.copy_(running_var)
        bn.train(training)
        return bn

    # Training: batch statistics, running stats updated in place, gradients through the statistics.
    bn = module(True)
    xt = x.clone().requires_grad_(True)
    y = bn(xt)
    y.backward(dy)
    _, save_mean, save_invstd = torch.native_batch_norm(x, gamma, beta, running_mean.clone(), running_var.clone(),
                                                        True, momentum, eps)
    # Eval: frozen running statistics (the initial ones), gradients with the statistics held constant.
    bne = module(False)
    xe = x.clone().requires_grad_(True)
    y_eval = bne(xe)
    y_eval.backward(dy)
    return {"name": name, "params": {"n": n, "c": c, "hw": h * w, "eps": eps, "momentum": momentum},
            "tensors": {"x": x, "gamma": gamma, "beta": beta, "running_mean": running_mean,
                        "running_var": running_var, "dy": dy,
                        "y": y, "running_mean_out": bn.running_mean, "running_var_out": bn.running_var,
                        "save_mean": save_mean, "save_invstd": save_invstd,
                        "dx": xt.grad, "dgamma": bn.weight.grad, "dbeta": bn.bias.grad,
                        "y_eval": y_eval, "dx_eval": xe.grad, "dgamma_eval": bne.weight.grad,
                        "dbeta_eval": bne.bias.grad}}


write_fixture("batchnorm", [
    case("odd_2x3x5x7", 2, 3, 5, 7, 1),
    case("seednet_16ch_2x16x8x8", 2, 16, 8, 8, 2),
    case("linear_hw1_8x10", 8, 10, 1, 1, 3, momentum=0.3),
    case("batch1_1x4x6x5", 1, 4, 6, 5, 4, eps=1e-3),
    case("offset_3x2x4x4", 3, 2, 4, 4, 5, offset=20.0),
])
