"""Checks on what is passed to the training functions, with errors that say the fix.

A wrong argument (a dataset where a loader was meant, the class `nn.CrossEntropyLoss`
instead of `nn.CrossEntropyLoss()`, an optimizer made for another model) would otherwise
fail deep inside PyTorch, or worse, train nothing without a word. `mnistlab.training`
runs these checks first, so the message names the argument, what it got and what to do.
"""

import torch
from torch import nn
from torch.utils.data import Dataset


def check_model(model):
    """Raise TypeError unless `model` is a built network (an `nn.Module` instance)."""
    if isinstance(model, type):
        raise TypeError(
            f"model is the class {model.__name__}, not a network built from it: build one first, "
            f"for example model = {model.__name__}() or mnistlab.build_model('cnn')"
        )
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module (a network), got {type(model).__name__}: "
            f"build one with mnistlab.build_model('cnn') or your own nn.Module subclass"
        )


def check_loss_fn(loss_fn):
    """Raise TypeError unless `loss_fn` can be called as `loss_fn(logits, labels)`."""
    if isinstance(loss_fn, type):
        raise TypeError(
            f"loss_fn is the class {loss_fn.__name__}, not a loss: add brackets to create one, "
            f"loss_fn={loss_fn.__name__}()"
        )
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a function or module called as loss_fn(logits, labels), got "
            f"{type(loss_fn).__name__}: use torch.nn.functional.cross_entropy or "
            f"torch.nn.CrossEntropyLoss()"
        )


def check_optimizer(optimizer, model):
    """Raise an error unless `optimizer` is an optimizer that updates some of `model`'s weights.

    An optimizer created for another model (for example before the model was built
    again) would run without error and leave this model's weights unchanged.
    """
    if isinstance(optimizer, type):
        raise TypeError(
            f"optimizer is the class {optimizer.__name__}, not an optimizer: create one for the "
            f"model's weights, optimizer={optimizer.__name__}(model.parameters(), lr=0.01)"
        )
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(
            f"optimizer must be a torch.optim optimizer, got {type(optimizer).__name__}: create "
            f"one with torch.optim.SGD(model.parameters(), lr=0.01)"
        )
    groups = getattr(optimizer, "param_groups", None)
    weights = {id(p) for p in model.parameters() if p.requires_grad}
    if groups is None or not weights:
        return
    updated = {id(p) for group in groups for p in group["params"]}
    if not weights & updated:
        raise ValueError(
            f"optimizer does not update any weight of this {type(model).__name__}: it was "
            f"created for another model (perhaps before the model was built again). Create it "
            f"after the model: optimizer = {type(optimizer).__name__}(model.parameters(), ...)"
        )


def check_loader(loader, name="loader"):
    """Raise TypeError unless `loader` yields batches (a DataLoader, a TensorLoader, a list)."""
    if loader is None:
        raise TypeError(f"{name} is None: pass a loader, e.g. mnistlab.make_loader(dataset)")
    if isinstance(loader, Dataset):
        raise TypeError(
            f"{name} is a dataset ({type(loader).__name__}), which gives one example at a time; "
            f"pass a loader that gives batches: mnistlab.make_loader(dataset, batch_size=100)"
        )
    if not hasattr(loader, "__iter__"):
        raise TypeError(
            f"{name} must yield (images, labels) batches, got {type(loader).__name__}: "
            f"use mnistlab.make_loader(dataset, batch_size=100)"
        )


def checked_batches(loader, model, name="loader"):
    """Yield the batches of `loader`, checking the first one for the usual mistakes.

    Only the first batch is checked (the rest come from the same loader), so the
    cost is nothing per batch.
    """
    iterator = iter(loader)
    try:
        first = next(iterator)
    except StopIteration:
        return
    except TypeError as err:
        if "PIL" in str(err):  # DataLoader cannot stack PIL images into a batch
            raise TypeError(
                f"{name} holds PIL images, which cannot be stacked into a batch: load the data "
                f"with transform=mnistlab.MNIST_TRANSFORM (the default of mnistlab.load_mnist)"
            ) from err
        raise
    check_batch(first, model, name)
    yield first
    yield from iterator


def _describe(value):
    if isinstance(value, torch.Tensor):
        return f"a tensor shaped {tuple(value.shape)}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    return type(value).__name__


def check_batch(batch, model, name="loader"):
    """Raise a clear error unless `batch` is `(images, labels)`: float images, integer labels."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(
            f"{name} must yield (images, labels) pairs, got {_describe(batch)}: build it from a "
            f"dataset of (image, label) examples, e.g. TensorDataset(images, labels)"
        )
    images, labels = batch
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"{name} must yield tensors, got images as {_describe(images)} and labels as "
            f"{_describe(labels)}: use mnistlab.make_loader(dataset) on a dataset whose "
            f"transform gives tensors (mnistlab.MNIST_TRANSFORM)"
        )
    if labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(
            f"{name} gave {len(images)} images with labels shaped {tuple(labels.shape)}; expected "
            f"one class number per image, shaped ({len(images)},)"
            + (": for one-hot labels use labels.argmax(dim=1)" if labels.dim() == 2 else "")
        )
    if labels.dtype not in (torch.int64, torch.uint8):  # what cross-entropy accepts
        raise TypeError(
            f"{name} gave labels of dtype {labels.dtype}; class numbers must be integers "
            f"(torch.int64): convert with labels.long()"
        )
    check_pixels_dtype(images, model, name)


def check_pixels_dtype(images, model, name="images"):
    """Raise TypeError when `images` are integers, or floats of another precision than the model.

    `torch.from_numpy` gives float64 for an ordinary NumPy array, while a model's weights
    are float32; PyTorch would then stop with "expected ... Double and Float".
    """
    weight = next((p for p in model.parameters() if p.is_floating_point()), None)
    if not images.is_floating_point():
        raise TypeError(
            f"{name} holds {images.dtype} pixels; the model expects float pixels, normalised: "
            f"load the data with mnistlab.MNIST_TRANSFORM, or convert with "
            f"(x.float() / 255 - mnistlab.MNIST_MEAN) / mnistlab.MNIST_STD"
        )
    if weight is not None and images.dtype != weight.dtype and images.dtype == torch.float64:
        raise TypeError(
            f"{name} holds float64 pixels (what torch.from_numpy gives for a NumPy float array) "
            f"but the model's weights are {weight.dtype}: convert with x.float(), or "
            f"torch.as_tensor(array, dtype=torch.float32)"
        )
