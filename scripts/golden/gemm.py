"""Golden values for GEMM (alpha * op(A) @ op(B) + beta * C) and the linear layer (y, dx, dw, db)."""
import torch

from common import seeded, write_fixture


def gemm_case(name, m, n, k, trans_a, trans_b, alpha, beta, seed):
    g = seeded(seed)
    a = torch.rand(m, k, generator=g) * 2 - 1  # op(A)
    b = torch.rand(k, n, generator=g) * 2 - 1  # op(B)
    c0 = torch.rand(m, n, generator=g) * 2 - 1
    c = alpha * (a @ b) + beta * c0
    # A and B are stored as the kernels read them: (K, M) / (N, K) when transposed.
    a_stored = a.t().contiguous() if trans_a else a
    b_stored = b.t().contiguous() if trans_b else b
    return {"name": name,
            "params": {"M": m, "N": n, "K": k, "trans_a": trans_a, "trans_b": trans_b, "alpha": alpha, "beta": beta},
            "tensors": {"A": a_stored, "B": b_stored, "C0": c0, "C": c}}


def linear_case(name, n, fan_in, fan_out, bias, seed):
    g = seeded(seed)
    x = (torch.rand(n, fan_in, generator=g) * 2 - 1).requires_grad_(True)
    bound = fan_in ** -0.5
    w = ((torch.rand(fan_out, fan_in, generator=g) * 2 - 1) * bound).requires_grad_(True)
    b = ((torch.rand(fan_out, generator=g) * 2 - 1) * bound).requires_grad_(True) if bias else None
    dy = torch.rand(n, fan_out, generator=g) * 2 - 1
    y = torch.nn.functional.linear(x, w, b)
    y.backward(dy)
    tensors = {"x": x, "w": w, "dy": dy, "y": y, "dx": x.grad, "dw": w.grad}
    if bias:
        tensors["b"] = b
        tensors["db"] = b.grad
    return {"name": name, "params": {"kind": "linear", "n": n, "in": fan_in, "out": fan_out, "bias": bias},
            "tensors": tensors}


cases = [
    gemm_case("gemm_nn", 5, 7, 3, False, False, 1.0, 0.0, 1),
    gemm_case("gemm_nt_beta1", 9, 4, 17, False, True, 1.0, 1.0, 2),
    gemm_case("gemm_tn_alpha", 17, 33, 65, True, False, -1.5, 0.5, 3),
    gemm_case("gemm_tt", 6, 11, 130, True, True, 0.75, 0.0, 4),
]
for c in cases:
    c["params"]["kind"] = "gemm"
cases += [
    linear_case("linear_5x7to3", 5, 7, 3, True, 5),
    linear_case("linear_1x16to4_nobias", 1, 16, 4, False, 6),
    linear_case("linear_30x64to10", 30, 64, 10, True, 7),
    linear_case("linear_3x128to3", 3, 128, 3, True, 8),
]
write_fixture("gemm", cases)
