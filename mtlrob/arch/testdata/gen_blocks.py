"""Writes blocks.json: PyTorch reference outputs of the ResNet and WideResNet blocks for
TestBlocksMatchPyTorch (blocks_test.go).

The modules are copied from the reference code: ResNet's BasicBlock from kuangliu/pytorch-cifar
(models/resnet.py) and WideResNet's BasicBlock from xternalz/WideResNet-pytorch (wideresnet.py,
dropRate 0). Weights, BN affine parameters and BN running statistics are random; the fixture holds
the inference-mode output (model.eval()), the training-mode output (model.train()) and the running
statistics after that one training-mode forward pass (momentum 0.1). Tensors are stored NHWC and
convolution weights HWIO, the layouts of package arch.

Regenerate with Debian's PyTorch: /usr/bin/python3 gen_blocks.py > blocks.json
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResNetBasicBlock(nn.Module):  # kuangliu/pytorch-cifar models/resnet.py
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(self.expansion * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)

    def named(self):  # arch variable scope -> module
        d = {"conv1": self.conv1, "bn1": self.bn1, "conv2": self.conv2, "bn2": self.bn2}
        if len(self.shortcut) > 0:
            d["shortcut"], d["shortcut_bn"] = self.shortcut[0], self.shortcut[1]
        return d


class WideBasicBlock(nn.Module):  # xternalz/WideResNet-pytorch wideresnet.py, dropRate=0
    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.equalInOut = in_planes == out_planes
        self.convShortcut = (not self.equalInOut) and nn.Conv2d(
            in_planes, out_planes, kernel_size=1, stride=stride, padding=0, bias=False) or None

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out if self.equalInOut else x)))
        out = self.conv2(out)
        return torch.add(x if self.equalInOut else self.convShortcut(x), out)

    def named(self):
        d = {"bn1": self.bn1, "conv1": self.conv1, "bn2": self.bn2, "conv2": self.conv2}
        if self.convShortcut is not None:
            d["shortcut"] = self.convShortcut
        return d


def nhwc(t):
    return {"dims": list(t.permute(0, 2, 3, 1).shape), "data": t.permute(0, 2, 3, 1).reshape(-1).tolist()}


def flat(t):
    return {"dims": list(t.shape), "data": t.reshape(-1).tolist()}


def r4(t):
    """Rounds to 4 decimals, so that the inputs print short and Go reads exactly what PyTorch used."""
    return torch.round(t * 1e4) / 1e4


def case(name, kind, block, cin, stride, gen):
    block = block.double()
    params, running = {}, {}
    with torch.no_grad():
        for scope, m in block.named().items():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(r4(torch.randn(m.weight.shape, generator=gen, dtype=torch.float64) * 0.3))
                params[scope + "/weights"] = flat(m.weight.permute(2, 3, 1, 0))  # OIHW -> HWIO
            else:
                c = m.num_features
                m.weight.copy_(r4(1 + 0.5 * torch.randn(c, generator=gen, dtype=torch.float64)))
                m.bias.copy_(r4(0.5 * torch.randn(c, generator=gen, dtype=torch.float64)))
                m.running_mean.copy_(r4(torch.randn(c, generator=gen, dtype=torch.float64)))
                m.running_var.copy_(r4(0.5 + torch.rand(c, generator=gen, dtype=torch.float64)))
                bn = scope + "/batch_normalization/"
                params[bn + "scale"] = flat(m.weight)
                params[bn + "offset"] = flat(m.bias)
                params[bn + "mean"] = flat(m.running_mean)
                params[bn + "variance"] = flat(m.running_var)
    x = r4(2 + 1.5 * torch.randn((3, cin, 6, 6), generator=gen, dtype=torch.float64))
    with torch.no_grad():
        block.eval()
        eval_out = block(x.clone())
        block.train()
        train_out = block(x.clone())
        for scope, m in block.named().items():
            if isinstance(m, nn.BatchNorm2d):
                bn = scope + "/batch_normalization/"
                running[bn + "mean"] = flat(m.running_mean)
                running[bn + "variance"] = flat(m.running_var)
    return {"name": name, "kind": kind, "stride": stride, "width": eval_out.shape[1],
            "x": nhwc(x), "params": params, "eval_out": nhwc(eval_out), "train_out": nhwc(train_out),
            "running_after_train": running}


def main():
    gen = torch.Generator().manual_seed(2024)
    cases = [
        case("resnet 4->8 stride 2 (conv shortcut)", "resnet", ResNetBasicBlock(4, 8, 2), 4, 2, gen),
        case("resnet 4->4 stride 1 (identity shortcut)", "resnet", ResNetBasicBlock(4, 4, 1), 4, 1, gen),
        case("wrn 4->8 stride 2 (conv shortcut on the activated input)", "wrn", WideBasicBlock(4, 8, 2), 4, 2, gen),
        case("wrn 3->6 stride 1 (conv shortcut)", "wrn", WideBasicBlock(3, 6, 1), 3, 1, gen),
        case("wrn 8->8 stride 1 (identity shortcut)", "wrn", WideBasicBlock(8, 8, 1), 8, 1, gen),
    ]
    print(json.dumps({"generator": "gen_blocks.py, torch " + torch.__version__, "cases": cases}))


if __name__ == "__main__":
    main()
