"""The guards: what mnistlab checks before it computes, and the messages that say the fix.

A wrong argument (a dataset where a loader was meant, the class `nn.CrossEntropyLoss`
instead of `nn.CrossEntropyLoss()`, an optimizer made for another model) would otherwise
fail deep inside PyTorch, or worse, train nothing without a word. The training loop
(`mnistlab.training`) and the networks (`mnistlab.models`) stay the computation; they call
these checks first.

One helper per rule, and one style for every message (`problem`): the argument, what it
received, what was expected, and the fix.
"""

import functools
import numbers
from contextlib import contextmanager, suppress

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from .device import model_device

IMAGE_SHAPE = (1, 28, 28)  # channels, height, width of one MNIST digit


def problem(argument, received, expected, fix):
    """The one style of every message: `argument: received ...; expected .... Fix: ...`."""
    return f"{argument}: received {received}; expected {expected}. Fix: {fix}"


def describe(value):
    """A short description of a value for a message: a tensor's shape, a class's name..."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor shaped {tuple(value.shape)}"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value, key=str)}"
    return f"{value!r}" if isinstance(value, (int, float, str)) else type(value).__name__


# --- rules used everywhere ------------------------------------------------------------------


def check_not_a_class(value, argument, fix):
    """Raise TypeError when `value` is a class where an object built from it was meant."""
    if isinstance(value, type):
        raise TypeError(problem(
            argument, f"the class {value.__name__}", "an object built from it", fix
        ))


def check_whole_number(value, argument, fix, smallest=1):
    """Raise ValueError unless `value` is a whole number (not a bool) of `smallest` or more.

    NumPy's integers count; a float such as 1e4 does not (Python reads it as 10000.0),
    and the message says how to write it.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < smallest:
        if isinstance(value, float) and value.is_integer() and value >= smallest:
            fix = f"write {int(value):_} ({value!r} is a float in Python)"
        raise ValueError(problem(
            argument, describe(value), f"a whole number of {smallest} or more", fix
        ))


def weights_dtype(model):
    """The dtype of a model's weights (torch.float32 unless it was converted)."""
    for weight in model.parameters():
        if weight.is_floating_point():
            return weight.dtype
    return torch.get_default_dtype()


def check_float_pixels(images, model, argument="images"):
    """Raise TypeError when `images` are integers, or float64 for a float32 model.

    `torch.from_numpy` gives float64 for an ordinary NumPy array, while a model's weights
    are float32; PyTorch would then stop with "expected ... Double and Float".
    """
    if not images.is_floating_point():
        raise TypeError(problem(
            argument, f"{images.dtype} pixels", "float pixels, normalised",
            "load the data with mnistlab.MNIST_TRANSFORM, or convert with "
            "(x.float() / 255 - mnistlab.MNIST_MEAN) / mnistlab.MNIST_STD",
        ))
    dtype = weights_dtype(model)
    if images.dtype == torch.float64 and dtype != torch.float64:
        raise TypeError(problem(
            argument, "torch.float64 pixels (what torch.from_numpy gives for a NumPy array)",
            f"{dtype} pixels like the model's weights",
            "convert with x.float(), or torch.as_tensor(array, dtype=torch.float32)",
        ))


# --- the networks' input ----------------------------------------------------------------------


def shape_fix(shape):
    """How to turn a batch of a common wrong shape into (N, 1, 28, 28)."""
    if shape == IMAGE_SHAPE:
        return "that is one image without a batch dimension: use x.unsqueeze(0)"
    if shape == (28, 28):
        return "that is one bare image: use x.view(1, 1, 28, 28)"
    if len(shape) == 3 and shape[1:] == (28, 28):
        return "the channel dimension is missing: use x.unsqueeze(1)"
    if len(shape) == 2 and shape[1] == 784:
        return "the images are flattened: reshape with x.view(-1, 1, 28, 28)"
    if len(shape) == 4 and shape[1:] == (28, 28, 1):
        return "channels come last (NumPy/matplotlib layout): use x.permute(0, 3, 1, 2)"
    return "MNIST digits are 28x28 pixels with one channel; check how the batch was built"


def check_images(x, model, flat_ok=False):
    """Raise a clear error unless `x` is a float batch shaped (N, 1, 28, 28) (or (N, 784)).

    Args:
        x: the batch given to the model.
        model: the network (its class names it in the message; its weights give the dtype).
        flat_ok: also accept flattened pixels (N, 784), as an MLP does.
    """
    name = f"{type(model).__name__}'s input"
    expected = "a batch shaped (N, 1, 28, 28)" + (" or (N, 784)" if flat_ok else "")
    if not isinstance(x, torch.Tensor):
        hint = " (mnistlab.predict accepts NumPy arrays)" if hasattr(x, "__array__") else ""
        raise TypeError(problem(
            name, describe(x), f"a torch.Tensor, {expected}",
            f"convert with torch.as_tensor(x, dtype=torch.float32){hint}",
        ))
    shape = tuple(x.shape)
    if not (shape[1:] == IMAGE_SHAPE or (flat_ok and x.dim() == 2 and shape[1] == 784)):
        raise ValueError(problem(name, f"a batch shaped {shape}", expected, shape_fix(shape)))
    check_float_pixels(x, model, name)


def _check_input_hook(model, args, flat_ok):
    check_images(args[0], model, flat_ok)


def check_inputs_of(model, flat_ok=False):
    """Make `model` check every batch it is given before its `forward` runs; return it.

    The check is a forward pre-hook (`model.register_forward_pre_hook`), so the network's
    own code stays the computation. `mnistlab.build_model` adds it to every network.
    """
    model.register_forward_pre_hook(functools.partial(_check_input_hook, flat_ok=flat_ok))
    return model


# --- what the training functions are given ----------------------------------------------------


def check_model(model):
    """Raise TypeError unless `model` is a built network (an `nn.Module` instance)."""
    build = "model = mnistlab.build_model('cnn')"
    if isinstance(model, type):
        check_not_a_class(model, "model", f"build one first: model = {model.__name__}() or {build}")
    if not isinstance(model, nn.Module):
        raise TypeError(problem("model", describe(model), "a torch.nn.Module (a network)",
                                f"build one, for example {build}"))


def check_loss_fn(loss_fn):
    """Raise TypeError unless `loss_fn` can be called as `loss_fn(logits, labels)`."""
    name = getattr(loss_fn, "__name__", "")
    check_not_a_class(loss_fn, "loss_fn", f"add brackets to create one, loss_fn={name}()")
    if not callable(loss_fn):
        raise TypeError(problem(
            "loss_fn", describe(loss_fn), "a function or module called as loss_fn(logits, labels)",
            "use torch.nn.functional.cross_entropy or torch.nn.CrossEntropyLoss()",
        ))


def check_loss_value(loss):
    """Raise TypeError unless the loss function returned a tensor (backward needs one)."""
    if not isinstance(loss, torch.Tensor):
        raise TypeError(problem(
            "loss_fn's result", describe(loss), "a tensor",
            "compute the loss with torch operations, e.g. "
            "torch.nn.functional.cross_entropy(logits, labels)",
        ))


def check_optimizer(optimizer, model):
    """Raise an error unless `optimizer` is an optimizer that updates some of `model`'s weights.

    An optimizer created for another model (for example before the model was built
    again) would run without error and leave this model's weights unchanged.
    """
    name = getattr(optimizer, "__name__", "SGD")
    create = f"create one for the model's weights, optimizer = {name}(model.parameters(), lr=0.01)"
    check_not_a_class(optimizer, "optimizer", create)
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(problem("optimizer", describe(optimizer), "a torch.optim optimizer",
                                create.replace(name, "torch.optim.SGD")))
    weights = {id(p) for p in model.parameters() if p.requires_grad}
    updated = {id(p) for group in getattr(optimizer, "param_groups", []) for p in group["params"]}
    if weights and hasattr(optimizer, "param_groups") and not weights & updated:
        name = type(optimizer).__name__
        raise ValueError(problem(
            "optimizer", f"an optimizer created for another model (perhaps before the "
            f"model was built again); it updates no weight of this {type(model).__name__}",
            "an optimizer of this model's weights",
            f"create it after the model: optimizer = {name}(model.parameters(), ...)",
        ))


def check_loader(loader, name="loader"):
    """Raise TypeError unless `loader` yields batches (a DataLoader, a TensorLoader, a list)."""
    fix = "pass a loader that gives batches: mnistlab.make_loader(dataset, batch_size=100)"
    if isinstance(loader, Dataset):
        raise TypeError(problem(
            name, f"a dataset ({type(loader).__name__}), which gives one example at a time",
            "a loader of (images, labels) batches", fix,
        ))
    if loader is None or not hasattr(loader, "__iter__"):
        raise TypeError(problem(name, describe(loader), "a loader of (images, labels) batches",
                                fix))


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
            raise TypeError(problem(
                name, "PIL images, which cannot be stacked into a batch", "tensors",
                "load the data with transform=mnistlab.MNIST_TRANSFORM (the default of "
                "mnistlab.load_mnist)",
            )) from err
        raise
    check_batch(first, model, name)
    yield first
    yield from iterator


def check_batch(batch, model, name="loader"):
    """Raise a clear error unless `batch` is `(images, labels)`: float images, integer labels."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(problem(
            f"{name}'s batch", describe(batch), "an (images, labels) pair",
            "build the loader from a dataset of (image, label) examples, e.g. "
            "TensorDataset(images, labels)",
        ))
    images, labels = batch
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(problem(
            f"{name}'s batch", f"images as {describe(images)} and labels as {describe(labels)}",
            "tensors", "use mnistlab.make_loader(dataset) on a dataset whose transform gives "
            "tensors (mnistlab.MNIST_TRANSFORM)",
        ))
    if labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(problem(
            f"{name}'s labels", f"labels shaped {tuple(labels.shape)} for {len(images)} images",
            f"one class number per image, shaped ({len(images)},)",
            "for one-hot labels use labels.argmax(dim=1)" if labels.dim() == 2 else
            "check that images and labels come from the same examples",
        ))
    if labels.dtype not in (torch.int64, torch.uint8):  # what cross-entropy accepts
        raise TypeError(problem(f"{name}'s labels", f"{labels.dtype} labels",
                                "integer class numbers (torch.int64)",
                                "convert with labels.long()"))
    check_float_pixels(images, model, f"{name}'s images")


def device_for(model, device):
    """The device to compute on: `device` if given, else where the model's weights are.

    A `device` other than the one holding the weights is an error that says the fix:
    PyTorch would stop at the first layer with "Expected all tensors to be on the same device".
    """
    weights_at = model_device(model)
    if device is None:
        return weights_at
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(problem("device", repr(device), "'cpu', 'cuda', 'mps' or a torch.device",
                                 "leave device out to compute where the model is")) from err
    has_weights = any(True for _ in model.parameters()) or any(True for _ in model.buffers())
    same = device.type == weights_at.type and device.index in (None, weights_at.index)
    if has_weights and not same:
        raise ValueError(problem(
            "device", f"device={str(device)!r}", f"the device of the model's weights, {weights_at}",
            f"move the model first with model.to({str(device)!r}) (then create the optimizer), "
            f"or leave device out to compute where the model is",
        ))
    return device


def check_scheduler(scheduler, scheduler_step):
    """Raise ValueError when a ReduceLROnPlateau would be stepped after every batch."""
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if plateau and scheduler_step != "epoch":
        raise ValueError(problem(
            "scheduler", "a ReduceLROnPlateau, which steps once per epoch on a loss",
            "a scheduler stepped after every batch (OneCycleLR, CyclicLR)",
            "use fit(..., scheduler_step='epoch'), or call scheduler.step(val_loss) yourself "
            "after each epoch",
        ))


def length(loader):
    """len(loader) when the loader has one (for a progress bar), else None."""
    try:
        return len(loader)
    except TypeError:
        return None


def check_fit_arguments(
    model, train_loader, optimizer, epochs, val_loader, loss_fn, scheduler, scheduler_step,
    patience, restore_best,
):
    """Check fit's arguments before the first epoch, so a mistake costs no training time."""
    check_model(model)
    check_optimizer(optimizer, model)
    check_loss_fn(loss_fn)
    check_loader(train_loader, "train_loader")
    if val_loader is not None:
        check_loader(val_loader, "val_loader")
    check_whole_number(epochs, "epochs", "pass the number of passes over the data, e.g. epochs=5")
    if scheduler_step not in ("batch", "epoch"):
        raise ValueError(problem(
            "scheduler_step", repr(scheduler_step),
            "'batch' (OneCycleLR, CyclicLR) or 'epoch' (StepLR, ExponentialLR, ReduceLROnPlateau)",
            "pass one of the two",
        ))
    check_scheduler(scheduler, scheduler_step)
    total_steps, batches = getattr(scheduler, "total_steps", None), length(train_loader)
    if scheduler_step == "batch" and total_steps is not None and batches is not None:
        needed = scheduler.last_epoch + epochs * batches  # OneCycleLR knows its length
        if needed > total_steps:
            raise ValueError(problem(
                "scheduler", f"a schedule of {total_steps} steps",
                f"{needed} steps for {epochs} epoch(s) of {batches} batches",
                f"create it with epochs={epochs}, steps_per_epoch=len(train_loader)",
            ))
    needs_val = "split off validation digits with mnistlab.train_val_split and pass val_loader"
    if patience is not None:
        check_whole_number(patience, "patience", "stop after this many epochs without "
                           "improvement, e.g. patience=3")
    for option, value, meaning in [
        ("patience", patience, "stops when the validation loss stops improving"),
        ("restore_best", restore_best, "keeps the weights of the lowest validation loss"),
    ]:
        if value not in (None, False) and val_loader is None:
            raise ValueError(problem(option, f"{option}={value!r} and no val_loader",
                                     f"a val_loader: {option} {meaning}", needs_val))


# --- when training goes wrong -----------------------------------------------------------------


def divergence_message(epoch, batch, loss, images=None):
    """Explain a NaN or infinite loss: bad input data, or training that blew up."""
    where = f"The training loss became {loss} in epoch {epoch}, around batch {batch}"
    if images is not None and not torch.isfinite(images).all():
        return (
            f"{where}, because the input images themselves contain NaN or infinite values: the "
            f"data is the problem, not the learning rate. Check how the images were prepared "
            f"(a division by a standard deviation of 0?) with torch.isfinite(images).all()."
        )
    return (
        f"{where}, so training stopped. Try a smaller learning rate (for example a tenth of "
        f"it), check that the inputs are normalised (mnistlab.MNIST_TRANSFORM), or clip the "
        f"gradients with torch.nn.utils.clip_grad_norm_."
    )


@contextmanager
def finished_epochs_kept(history, stopper, model):
    """Lose nothing when training stops early: Ctrl-C returns, any error keeps the history.

    Ctrl-C (or the notebook's stop button) ends the block with a message, so `fit` returns
    the history of the finished epochs. Any other error is raised again with that history
    attached as `err.history`; with `restore_best`, the model gets the best epoch's weights.
    """
    try:
        yield
    except KeyboardInterrupt:
        best = stopper.best_weights is not None
        print(
            f"Training interrupted during epoch {len(history['epoch']) + 1}; returning the "
            f"history of the {len(history['epoch'])} finished epoch(s). "
            + (f"The model gets the weights of epoch {stopper.best_epoch}, the best." if best
               else "The model keeps its current weights.")
        )
    except BaseException as err:
        note = ""
        if stopper.restore(model):
            note = f" The model holds the weights of epoch {stopper.best_epoch}, the best."
        with suppress(AttributeError):  # an exception type that takes no attributes
            err.history = history
        if history["epoch"] and hasattr(err, "history") and hasattr(err, "add_note"):  # 3.11+
            err.add_note(
                f"mnistlab.fit: the history of the {len(history['epoch'])} finished epoch(s) "
                f"is kept in this error's .history (in a notebook: history = "
                f"sys.last_value.history)." + note
            )
        raise


# --- what predict is given --------------------------------------------------------------------


def as_image_batch(images, model):
    """Turn what `mnistlab.predict` accepts into a float batch (N, 1, 28, 28), or say why not.

    `images` may be a tensor or a NumPy array, one image or a batch; float64 pixels (NumPy's
    default) become the model's precision.
    """
    if isinstance(images, np.ndarray):
        if not np.issubdtype(images.dtype, np.number):
            raise TypeError(problem("images", f"a NumPy array of {images.dtype}", "numbers",
                                    "build it with np.asarray(pixels, dtype=np.float32)"))
        images = torch.from_numpy(np.ascontiguousarray(images))
    elif not isinstance(images, torch.Tensor):
        raise TypeError(problem(
            "images", describe(images), "a tensor or a NumPy array shaped (N, 1, 28, 28)",
            "convert with torch.as_tensor(images, dtype=torch.float32)",
        ))
    if tuple(images.shape) in ((1, 28, 28), (28, 28)):
        images = images.reshape(1, 1, 28, 28)  # one image -> a batch of one
    if images.dtype == torch.float64:
        images = images.to(weights_dtype(model))  # NumPy's float64 -> the model's float32
    check_float_pixels(images, model, "images")
    if not torch.isfinite(images).all():
        raise ValueError(problem(
            "images", "pixels with NaN or infinite values, so every prediction would be NaN",
            "finite pixels", "check how they were computed (a division by a standard deviation "
            "of 0?)",
        ))
    return images
