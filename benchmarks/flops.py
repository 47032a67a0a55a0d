"""Counting the work: multiply-adds per image, and FLOPs per trained image.

A rate in images per second depends on the network; a rate in FLOPs per second can be
compared with what the machine can do at best (the matrix-multiply peak, `machine.py`).
"""

import copy

import torch
from torch import nn

from mnistlab.checks import IMAGE_SHAPE


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
