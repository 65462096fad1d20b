"""vigil <-> PyTorch interop check, run by tests/nn/interop_test.cpp when Debian's python3-torch is present.

  check_interop.py vigil-to-torch MODEL.safetensors INPUT.safetensors LOGITS.safetensors
      loads a vigil model file into the PyTorch mirror of its embedded definition and compares its eval-mode
      logits on INPUT with vigil's (LOGITS), within 1e-4.
  check_interop.py make-seed-pth OUT.pth
      writes a checkpoint shaped like the original project's (two nn.Sequential members conv/fc, random weights)
      plus OUT.pth.input / OUT.pth.logits (safetensors) for testing scripts/convert_seed_pth.py.
Exit status 0 on success; failures print the reason.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vigil_torch import build_module, read_safetensors, write_safetensors  # noqa: E402


def vigil_to_torch(model_path, input_path, logits_path):
    tensors, meta = read_safetensors(model_path)
    m = build_module(meta["vigil.definition"])
    m.load_state_dict(tensors, strict=True)
    m.eval()
    x = read_safetensors(input_path)[0]["x"]
    want = read_safetensors(logits_path)[0]["logits"]
    with torch.no_grad():
        got = m(x)
    err = (got - want).abs().max().item()
    print("max |torch - vigil| = %.3g" % err)
    return 0 if err <= 1e-4 else 1


class Original(torch.nn.Module):
    """The original project's module layout: conv and fc Sequentials."""

    def __init__(self):
        super().__init__()
        layers = []
        for i, (cin, cout) in enumerate([(3, 16), (16, 32), (32, 64), (64, 128), (128, 256)]):
            k, s = (7, 2) if i == 0 else (3, 1)
            layers += [torch.nn.Conv2d(cin, cout, k, s, 1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        self.conv = torch.nn.Sequential(*layers)
        self.fc = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(12544, 768), torch.nn.ReLU(),
                                      torch.nn.Linear(768, 128), torch.nn.ReLU(), torch.nn.Linear(128, 3))

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def make_seed_pth(out):
    torch.manual_seed(0)
    m = Original()
    with torch.no_grad():  # non-trivial batch-norm statistics
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    m.eval()
    torch.save(m.state_dict(), out)
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    with torch.no_grad():
        y = m(x)
    write_safetensors(out + ".input", {"x": x})
    write_safetensors(out + ".logits", {"logits": y})
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "vigil-to-torch":
        sys.exit(vigil_to_torch(*sys.argv[2:]))
    if len(sys.argv) == 3 and sys.argv[1] == "make-seed-pth":
        sys.exit(make_seed_pth(sys.argv[2]))
    print(__doc__)
    sys.exit(2)
