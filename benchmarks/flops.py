"""Counting the work: multiply-adds per image, FLOPs per trained image, and the peak.

A rate in images per second depends on the network; a rate in FLOPs per second can be
compared with what the machine can do at best: the FLOP rate of its fastest float32
matrix product (`matmul_flops`), the "peak" of the tables.
"""

import copy
import math

import torch
from torch import nn

from mnistlab.checks import IMAGE_SHAPE

from .timing import Stopwatch

PEAK_SIZE = {"cpu": 2048, "cuda": 8192}  # n of the (n, n) matrices of the peak measurement


def count_macs(model, input_size=IMAGE_SHAPE):
    """Return the multiply-adds one image costs in the model's Conv2d and Linear layers.

    Forward hooks see each layer's output: a Conv2d output value costs
    `in_channels / groups * kernel height * kernel width` multiply-adds, a Linear output
    value `in_features`. Biases, activations, pooling and batch norm are left out (they
    are a few percent of the work). For "mlp" (784-20-10) it is 784*20 + 20*10 = 15,880.
    """
    model = copy.deepcopy(model).cpu().eval()  # a copy: batch-norm statistics stay untouched
    total = 0

    def conv_hook(layer, inputs, output):
        nonlocal total
        kernel_height, kernel_width = layer.kernel_size
        total += output.numel() * layer.in_channels // layer.groups * kernel_height * kernel_width

    def linear_hook(layer, inputs, output):
        nonlocal total
        total += output.numel() * layer.in_features

    hooks = []
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d):
            hooks.append(layer.register_forward_hook(conv_hook))
        elif isinstance(layer, nn.Linear):
            hooks.append(layer.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(torch.zeros(1, *input_size))  # one image, so the count is per image
    for hook in hooks:
        hook.remove()
    return total


def training_flops_per_image(macs):
    """FLOPs to train on one image: 2 per multiply-add, times 3 (the forward pass, and the
    backward pass's gradients for the inputs and for the weights)."""
    return 3 * 2 * macs


def matmul_flops(device, size=None, repeats=5):
    """Return the FLOP rate of the fastest of `repeats` float32 (n, n) matrix products.

    Multiplying two (n, n) matrices takes n^3 multiply-adds, 2 n^3 FLOPs. The fastest
    product is the one least disturbed by other programs. The benchmark's "peak" is the
    highest rate this returns during a run (see `cli.run_benchmark`).

    Args:
        device: where to multiply.
        size: n; default `PEAK_SIZE` for the device type (enough to keep it busy).
        repeats: timed products, after one untimed warm-up.
    """
    device = torch.device(device)
    size = size or PEAK_SIZE.get(device.type, 2048)
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up: the first product loads and tunes the kernels
    best = math.inf
    for _ in range(repeats):
        with Stopwatch(device) as watch:
            a @ b
        best = min(best, watch.seconds)
    return 2 * size**3 / best
