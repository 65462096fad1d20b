"""Golden values for softmax / log_softmax (forward, and backward for a random upstream gradient dy) and for
F.cross_entropy (mean reduction, with and without label smoothing and class weights): probs, loss and the
gradient of dloss * loss with respect to the logits."""
import torch
import torch.nn.functional as F

from common import seeded, write_fixture


def softmax_case(name, rows, cols, seed, scale=3.0, offset=0.0):
    g = seeded(seed)
    x = (torch.rand(rows, cols, generator=g) * 2 - 1) * scale + offset
    dy = torch.rand(rows, cols, generator=g) * 2 - 1
    xs = x.clone().requires_grad_(True)
    y = torch.softmax(xs, dim=1)
    y.backward(dy)
    xl = x.clone().requires_grad_(True)
    ylog = torch.log_softmax(xl, dim=1)
    ylog.backward(dy)
    return {"name": name, "params": {"rows": rows, "cols": cols},
            "tensors": {"x": x, "dy": dy, "softmax": y, "softmax_dx": xs.grad,
                        "log_softmax": ylog, "log_softmax_dx": xl.grad}}


def ce_case(name, rows, cols, seed, smoothing=0.0, weighted=False, scale=3.0, offset=0.0, dloss=0.7):
    g = seeded(seed)
    logits = ((torch.rand(rows, cols, generator=g) * 2 - 1) * scale + offset).requires_grad_(True)
    labels = torch.randint(0, cols, (rows,), generator=g)
    weight = torch.rand(cols, generator=g) * 1.8 + 0.2 if weighted else None
    loss = F.cross_entropy(logits, labels, weight=weight, label_smoothing=smoothing, reduction="mean")
    (loss * dloss).backward()
    tensors = {"logits": logits, "labels": labels.to(torch.float32), "probs": torch.softmax(logits, dim=1),
               "loss": loss.reshape(1), "dlogits": logits.grad}
    if weighted:
        tensors["weight"] = weight
    return {"name": name,
            "params": {"rows": rows, "cols": cols, "label_smoothing": smoothing, "weighted": weighted,
                       "dloss": dloss},
            "tensors": tensors}


write_fixture("softmax", [
    softmax_case("softmax_1x2", 1, 2, 1),
    softmax_case("softmax_33x3", 33, 3, 2),
    softmax_case("softmax_8x10", 8, 10, 3),
    softmax_case("softmax_5x37", 5, 37, 4),
    softmax_case("softmax_1x1000", 1, 1000, 5),
    softmax_case("softmax_large_spread_3x10", 3, 10, 6, scale=1e4),
    softmax_case("softmax_large_offset_3x10", 3, 10, 7, offset=1e4),
    ce_case("ce_plain_33x10", 33, 10, 11),
    ce_case("ce_smoothing_5x37", 5, 37, 12, smoothing=0.1),
    ce_case("ce_weights_16x3", 16, 3, 13, weighted=True),
    ce_case("ce_smoothing_weights_33x10", 33, 10, 14, smoothing=0.2, weighted=True),
    ce_case("ce_smoothing_weights_2x1000", 2, 1000, 15, smoothing=0.05, weighted=True),
    ce_case("ce_smoothing_weights_large_4x10", 4, 10, 16, smoothing=0.1, weighted=True, scale=1e4),
    ce_case("ce_plain_large_offset_1x2", 1, 2, 17, offset=1e4),
])
