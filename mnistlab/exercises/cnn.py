"""The check behind notebook 05a's "Your turn": write the first CNN class yourself.

`check_cnn(MyCNN)` builds your class and compares it with mnistlab's `CNN` (the network of
`build_model("cnn")`), step by step, stopping at the first difference:

1. the number of parameters, then the shape of each weight and bias, in order;
2. the output for a batch of 4 digits: it must be (4, 10);
3. the forward pass: with mnistlab's weights copied into yours, both must give the same
   scores (a missing ReLU or a pooling in the wrong place changes them);
4. the attribute names (`features`, `classifier`) that the rest of the notebook reads;
5. the linear layer's starting weights: Xavier, as the plan says, not PyTorch's default.

Every check runs your code through `attempt`, so unfinished or broken code gives
"Not yet", never an error, and the global random state is left as it was.
"""

import math

import torch
from torch import nn

from ..models import CNN
from . import Failed, attempt, not_yet, right

BATCH = 4  # digits in the example batch


def shapes(model):
    """The shape of every parameter of `model`, in the order `parameters()` gives them."""
    return [tuple(p.shape) for p in model.parameters()]


def check_cnn(cnn_class):
    """Check a student's CNN class against mnistlab's `CNN()`; print the verdict.

    `cnn_class` is the class itself (not an instance): it is built with no arguments.
    Returns True when the network has the planned layers, names and initialisation.
    """
    with torch.random.fork_rng(devices=[]):  # building models draws random numbers
        torch.manual_seed(0)
        reference = CNN()
        try:
            model = attempt(cnn_class)
        except Failed as failed:
            return not_yet(str(failed))
        images = torch.randn(BATCH, 1, 28, 28)
        return compare(model, reference, images)


def compare(model, reference, images):
    """Compare a built student network with the reference on `images`; print the verdict."""
    name = type(model).__name__
    if not isinstance(model, nn.Module):
        return not_yet(f"{name} is not an nn.Module: start the class with "
                       "`class MyCNN(nn.Module):`")
    expected, got = shapes(reference), shapes(model)
    expected_count = sum(p.numel() for p in reference.parameters())
    count = sum(p.numel() for p in model.parameters())
    if count != expected_count:
        return not_yet(f"{name} has {count:,} parameters; the planned network has "
                       f"{expected_count:,}. Expected weight and bias shapes {expected}, "
                       f"got {got}")
    if got != expected:
        return not_yet(f"{name} has the right number of parameters ({count:,}) but other "
                       f"shapes: expected {expected}, got {got}")
    try:
        with torch.no_grad():
            scores = attempt(model, images)
    except Failed as failed:
        return not_yet(f"the forward pass fails on a batch shaped {tuple(images.shape)}: "
                       f"{failed}")
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != (len(images), 10):
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        return not_yet(f"for a batch shaped {tuple(images.shape)} forward returned {shape}; "
                       f"expected scores shaped ({len(images)}, 10)")
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), reference.parameters()):
            mine.copy_(theirs)  # same shapes in the same order: the same network's weights
        wanted = reference(images)
        try:
            scores = attempt(model, images)
        except Failed as failed:
            return not_yet(f"the forward pass fails with mnistlab's weights: {failed}")
    if not torch.allclose(scores, wanted, atol=1e-5):
        return not_yet("with mnistlab's weights copied into yours, your scores differ from "
                       "mnistlab's CNN: check the forward pass and the order of the layers "
                       "(convolution, ReLU, max pooling, twice; then flatten and the linear "
                       "layer)")
    names = list(dict(model.named_parameters()))
    wanted_names = list(dict(reference.named_parameters()))
    if names != wanted_names:
        return not_yet(f"{name} computes the right scores, but the notebook reads its layers "
                       f"as self.features and self.classifier (nn.Sequential blocks): "
                       f"expected the names {wanted_names}, got {names}")
    return check_xavier(model, name, count)


def check_xavier(model, name, count):
    """Right when the last linear layer was re-drawn with Xavier-uniform weights."""
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    fan_out, fan_in = linear.weight.shape
    default_bound = 1 / math.sqrt(fan_in)  # PyTorch's default draws within this bound
    # The weights were just overwritten with the reference's, so build a fresh copy.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            fresh = attempt(type(model))
        except Failed as failed:
            return not_yet(str(failed))
    fresh_linear = [m for m in fresh.modules() if isinstance(m, nn.Linear)][-1]
    if fresh_linear.weight.abs().max().item() <= default_bound:
        xavier_bound = math.sqrt(6 / (fan_in + fan_out))
        return not_yet(f"the linear layer keeps PyTorch's default starting weights (within "
                       f"±{default_bound:.4f}); the plan draws them with Xavier-uniform "
                       f"(within ±{xavier_bound:.4f}): call nn.init.xavier_uniform_ on its "
                       "weight in __init__")
    return right(f"{name} has the planned {count:,} parameters, gives scores shaped "
                 f"(N, 10), and with mnistlab's weights gives the scores of mnistlab's CNN")
