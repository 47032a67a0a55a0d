"""The training loop, split into two readable functions and a driver.

* `train_one_epoch` runs one pass over the training batches and updates the weights.
* `evaluate` measures loss and accuracy on every example of a loader, without
  updating anything (`model.eval()` and `torch.no_grad()`).
* `fit` calls them epoch after epoch and returns the history of both.

Notebook 04 writes this loop out line by line first; later notebooks call these.
"""

import math
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .device import model_device

NAN_CHECK_EVERY = 50  # batches between checks for a NaN loss (each check waits for the device)


class TrainingDiverged(FloatingPointError):
    """Raised when the loss becomes NaN or infinite; `.history` holds the epochs finished."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


def _divergence_message(epoch, batch, loss):
    return (
        f"The training loss became {loss} in epoch {epoch}, around batch {batch}, so training "
        f"stopped. Try a smaller learning rate (for example a tenth of it), check that the "
        f"inputs are normalised (mnistlab.MNIST_TRANSFORM), or clip the gradients with "
        f"torch.nn.utils.clip_grad_norm_."
    )


def _device_for(model, device):
    """The device to compute on: `device` if given, else where the model's weights are."""
    return torch.device(device) if device is not None else model_device(model)


@contextmanager
def evaluation_mode(model):
    """Run a block in evaluation mode without recording gradients, then restore the model.

    `model.eval()` switches dropout off and makes batch norm use its running statistics;
    `torch.no_grad()` skips building the graph that `backward()` would need. Afterwards
    the model is put back in the mode it was in.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def train_one_epoch(
    model, loader, optimizer, loss_fn=F.cross_entropy, device=None, scheduler=None,
    progress=False, epoch=1,
):
    """Train `model` for one pass over `loader`; return {"loss": ..., "accuracy": ...}.

    Args:
        model: the network; it is put in training mode.
        loader: yields `(images, labels)` batches (a DataLoader or a TensorLoader).
        optimizer: updates the weights after each batch.
        loss_fn: default `F.cross_entropy` (log-softmax + negative log-likelihood).
        device: where to compute; default the device the model's weights are on.
        scheduler: a learning-rate scheduler stepped after every batch (e.g. OneCycleLR).
        progress: show a tqdm progress bar.
        epoch: the epoch number, for the progress bar and error messages.

    The loss and the count of correct predictions are summed on the device and read
    back once at the end, so the loop never waits for the device between batches.

    Raises:
        TrainingDiverged: the loss became NaN or infinite.
    """
    device = _device_for(model, device)
    model.train()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = batch = 0
    batches = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
    for batch, (x, y) in enumerate(batches, start=1):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)  # gradients accumulate unless cleared
        logits = model(x)  # (B, 10)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.detach() * len(y)  # .detach(): keep the number, not the graph
        correct += (logits.argmax(dim=1) == y).sum()
        seen += len(y)
        if batch % NAN_CHECK_EVERY == 0 and not torch.isfinite(loss_sum):
            raise TrainingDiverged(_divergence_message(epoch, batch, loss.item()))
    if seen == 0:
        raise ValueError("the training loader yielded no batches; is the dataset empty?")
    mean_loss = loss_sum.item() / seen
    if not math.isfinite(mean_loss):
        raise TrainingDiverged(_divergence_message(epoch, batch, mean_loss))
    return {"loss": mean_loss, "accuracy": correct.item() / seen}


def evaluate(model, loader, loss_fn=F.cross_entropy, device=None):
    """Return {"loss": ..., "accuracy": ...} of `model` over every example in `loader`.

    Runs in evaluation mode (dropout off, batch norm uses its running statistics) and
    under `torch.no_grad()`, then restores the mode the model was in. Accuracy is
    correct predictions divided by the number of examples actually seen, so a loader
    that drops its last batch cannot inflate it.

    Introduced in notebook 04.
    """
    device = _device_for(model, device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    with evaluation_mode(model):
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            logits = model(x)
            loss_sum += loss_fn(logits, y, reduction="sum")
            correct += (logits.argmax(dim=1) == y).sum()
            seen += len(y)
    if seen == 0:
        raise ValueError("the loader yielded no examples; is the dataset empty?")
    return {"loss": loss_sum.item() / seen, "accuracy": correct.item() / seen}


def fit(
    model, train_loader, optimizer, epochs=1, val_loader=None, loss_fn=F.cross_entropy,
    device=None, scheduler=None, progress=True, verbose=True, channels_last=False,
):
    """Train for `epochs` epochs; return the history as a dict of per-epoch lists.

    Args:
        model, train_loader, optimizer, loss_fn, device, scheduler: as in `train_one_epoch`.
        epochs: number of passes over the training data.
        val_loader: if given, `evaluate` runs on it after every epoch.
        progress: show a tqdm progress bar per epoch.
        verbose: print one line of metrics per epoch.
        channels_last: first store the model's weights in the channels-last layout
            (`model.to(memory_format=torch.channels_last)`, notebook 06), which CPU and GPU
            convolutions run faster; the weights keep their values.

    Returns:
        {"epoch": [...], "train_loss": [...], "train_accuracy": [...], "val_loss": [...],
        "val_accuracy": [...], "seconds": [...]} (the val_ lists only with a val_loader).

    Pressing Ctrl-C (or the notebook's stop button) ends training after a message and
    returns the history of the finished epochs; the model keeps the weights it had
    reached. A NaN loss raises `TrainingDiverged`, whose `.history` has the same.

    Introduced in notebook 04.
    """
    if channels_last:
        model.to(memory_format=torch.channels_last)  # in place; activations follow the weights
    history = {"epoch": [], "train_loss": [], "train_accuracy": [], "seconds": []}
    if val_loader is not None:
        history.update(val_loss=[], val_accuracy=[])
    epoch = 0
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            train = train_one_epoch(
                model, train_loader, optimizer, loss_fn, device, scheduler, progress, epoch
            )
            val = evaluate(model, val_loader, loss_fn, device) if val_loader is not None else None
            history["epoch"].append(epoch)
            history["train_loss"].append(train["loss"])
            history["train_accuracy"].append(train["accuracy"])
            history["seconds"].append(time.perf_counter() - start)
            line = f"epoch {epoch}/{epochs}: train loss {train['loss']:.4f}, "
            line += f"accuracy {train['accuracy']:.2%}"
            if val is not None:
                history["val_loss"].append(val["loss"])
                history["val_accuracy"].append(val["accuracy"])
                line += f" | val loss {val['loss']:.4f}, accuracy {val['accuracy']:.2%}"
            if verbose:
                print(line, flush=True)
    except KeyboardInterrupt:
        print(
            f"Training interrupted during epoch {epoch}; returning the history of the "
            f"{len(history['epoch'])} finished epoch(s). The model keeps its current weights."
        )
    except TrainingDiverged as err:
        err.history = history
        raise
    return history


def predict(model, images, device=None):
    """Return class probabilities (N, 10) for a batch of images (or one image).

    Args:
        model: a trained network returning logits.
        images: a tensor (N, 1, 28, 28), or a single image (1, 28, 28).
        device: default the model's device. The result is always on the CPU.

    Introduced in notebook 04.
    """
    device = _device_for(model, device)
    if isinstance(images, torch.Tensor) and tuple(images.shape) == (1, 28, 28):
        images = images.unsqueeze(0)  # one image -> a batch of one
    with evaluation_mode(model):
        probabilities = torch.softmax(model(images.to(device)), dim=1)
    return probabilities.cpu()


def predict_loader(model, loader, device=None):
    """Run `model` over a loader; return `(images, labels, predicted)` as CPU tensors.

    Useful for a confusion matrix or a gallery of the digits the model gets wrong.

    Introduced in notebook 05.
    """
    device = _device_for(model, device)
    all_images, all_labels, all_predicted = [], [], []
    with evaluation_mode(model):
        for x, y in loader:
            all_predicted.append(model(x.to(device)).argmax(dim=1).cpu())
            all_images.append(x.cpu())
            all_labels.append(y.cpu())
    return torch.cat(all_images), torch.cat(all_labels), torch.cat(all_predicted)
