"""Imports the peer libraries on Debian's PyTorch 1.13.

advertorch 0.2.3, the last release on PyPI (and every earlier one with FABAttack), imports
torch.autograd.gradcheck.zero_gradients in advertorch/attacks/fast_adaptive_boundary.py at import
time; PyTorch removed that helper in 1.9, so `import advertorch` fails on 1.13
(BorealisAI/advertorch#99: fixed on the repository's master, never released). The helper is put
back here, as PyTorch 1.8 defined it, before advertorch is imported. Only FABAttack calls it; the
attacks compared here (LinfPGDAttack, CarliniWagnerL2Attack) do not, so their behaviour is the
released code's.

advertorch also imports torchvision (advertorch.functional) and torchattacks 3.5.1 imports scipy
(TIFGSM, the one-pixel attack) at import time: Debian's python3-torchvision (0.14, built for its
torch 1.13) and python3-scipy provide them (make peers installs them).
"""
import collections.abc
import importlib
import sys

import torch

# The module, not the function torch.autograd.gradcheck that shadows it as an attribute.
importlib.import_module("torch.autograd.gradcheck")
_gradcheck = sys.modules["torch.autograd.gradcheck"]


def _zero_gradients(x):
    # torch/autograd/gradcheck.py of PyTorch 1.8.
    if isinstance(x, torch.Tensor):
        if x.grad is not None:
            x.grad.detach_()
            x.grad.zero_()
    elif isinstance(x, collections.abc.Iterable):
        for elem in x:
            _zero_gradients(elem)


if not hasattr(_gradcheck, "zero_gradients"):
    _gradcheck.zero_gradients = _zero_gradients

import advertorch  # noqa: E402
import advertorch.attacks  # noqa: E402
import torchattacks  # noqa: E402

__all__ = ["advertorch", "torchattacks"]
