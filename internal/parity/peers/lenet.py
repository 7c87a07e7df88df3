"""mtlrob's multi-head LeNet rebuilt in PyTorch from the weights mtlrob exports (arch.ExportNPZ).

mtlrob/arch builds LeNetBackbone on NHWC images: conv 32 5x5 SAME + ReLU, 2x2 max pool, conv 64 5x5
SAME + ReLU, 2x2 max pool, flatten, fully connected 1024 + ReLU; then one linear head per task
(scopes backbone/conv1, backbone/conv2, backbone/fc1, head_<task>; variables "weights" and
"biases"). The layouts differ from PyTorch's in three places, each converted here:

- convolution kernels are [kh, kw, cin, cout] (HWIO): Conv2d.weight = w.transpose(3, 2, 0, 1);
- Dense weights are [in, out]: Linear.weight = w.T;
- Flatten runs on the NHWC feature map, so fc1's input rows are in (h, w, c) order: the NCHW map is
  permuted to NHWC before flattening (reordering fc1's rows would do the same).

SAME padding of a 5x5 kernel is 2 zeros on each side (mtlrob pads (k-1)//2 before and the rest
after; equal for odd k), so padding=2. Both sides compute cross-correlations.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BACKBONE = ("backbone/conv1", "backbone/conv2", "backbone/fc1")


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


class LeNet(nn.Module):
    """The multi-head LeNet; forward takes NCHW images in [0, 1] and returns one logits tensor per task."""

    def __init__(self, weights, tasks):
        super().__init__()
        self.tasks = list(tasks)
        w1, w2 = weights["backbone/conv1/weights"], weights["backbone/conv2/weights"]
        k1, k2 = w1.shape[0], w2.shape[0]
        self.conv1 = nn.Conv2d(w1.shape[2], w1.shape[3], k1, padding=(k1 - 1) // 2)
        self.conv2 = nn.Conv2d(w2.shape[2], w2.shape[3], k2, padding=(k2 - 1) // 2)
        wf = weights["backbone/fc1/weights"]
        self.fc1 = nn.Linear(wf.shape[0], wf.shape[1])
        self.heads = nn.ModuleList()
        with torch.no_grad():
            for conv, name in ((self.conv1, "backbone/conv1"), (self.conv2, "backbone/conv2")):
                conv.weight.copy_(_t(weights[name + "/weights"].transpose(3, 2, 0, 1)))
                conv.bias.copy_(_t(weights[name + "/biases"]))
            self.fc1.weight.copy_(_t(wf.T))
            self.fc1.bias.copy_(_t(weights["backbone/fc1/biases"]))
            for task in self.tasks:
                w, b = weights["head_%s/weights" % task], weights["head_%s/biases" % task]
                head = nn.Linear(w.shape[0], w.shape[1])
                head.weight.copy_(_t(w.T))
                head.bias.copy_(_t(b))
                self.heads.append(head)
        for p in self.parameters():
            p.requires_grad_(False)  # the attacks differentiate with respect to the input only
        self.eval()

    @staticmethod
    def used_arrays(tasks):
        """The names of the exported arrays the network reads."""
        names = [n + s for n in BACKBONE for s in ("/weights", "/biases")]
        return names + ["head_%s/%s" % (t, s) for t in tasks for s in ("weights", "biases")]

    def features(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # NHWC flatten, as mtlrob's arch.Flatten
        return F.relu(self.fc1(x))

    def forward(self, x):
        f = self.features(x)
        return [h(f) for h in self.heads]


class MainHead(nn.Module):
    """The gray-box view (001 Eq. 4): backbone and main head only, one logits tensor, as the attack
    libraries expect a classifier. Counts its forward calls (the attacks' iterations)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.calls = 0
        self.eval()

    def forward(self, x):
        self.calls += 1
        return self.net.heads[0](self.net.features(x))


def nhwc_to_nchw(images):
    """NHWC numpy images -> contiguous NCHW float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32))


def nchw_to_nhwc(x):
    return x.detach().permute(0, 2, 3, 1).contiguous().numpy()
