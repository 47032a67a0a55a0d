"""The training loop, split into two readable functions and a driver.

* `train_one_epoch` runs one pass over the training batches and updates the weights.
* `evaluate` measures loss and accuracy on every example of a loader, without
  updating anything (`model.eval()` and `torch.no_grad()`).
* `fit` calls them epoch after epoch and returns the history of both.
* `predict` and `predict_loader` run a trained network on new images.

Notebook 04b writes this loop out line by line first (section 1); later notebooks call these.
The checks on their arguments (and the messages that say the fix) are in `mnistlab.checks`.
"""

import math
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import checks
from .early_stopping import EarlyStopping

NAN_CHECK_EVERY = 50  # batches between checks for a NaN loss (each check waits for the device)
PREDICT_BATCH = 1000  # images per forward pass in predict: bounded memory for any N


class TrainingDiverged(FloatingPointError):
    """Raised when the loss becomes NaN or infinite; `.history` holds the epochs finished."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


def batch_loss(loss_fn, logits, labels):
    """Call `loss_fn`; return (the loss to minimise, how many examples it stands for).

    Works with a function (`F.cross_entropy`) or a module (`nn.CrossEntropyLoss()`), with
    any reduction: "mean" (the default), "sum", or "none" (one loss per example, whose
    mean is minimised). Loss times count is the batch's summed loss, so adding those up
    and dividing by the examples seen gives the mean loss per example.
    """
    loss = loss_fn(logits, labels)
    checks.check_loss_value(loss)
    if loss.dim() > 0:  # reduction="none": one loss per example
        return loss.mean(), len(labels)
    reduction = getattr(loss_fn, "reduction", None) or getattr(loss_fn, "keywords", {}).get(
        "reduction", "mean"
    )  # a module's attribute, or functools.partial(F.cross_entropy, reduction=...)
    return loss, 1 if reduction == "sum" else len(labels)


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
        loss_fn: default `F.cross_entropy` (log-softmax + negative log-likelihood); a
            module such as `nn.CrossEntropyLoss()` works too, with any reduction.
        device: where to compute; default the device the model's weights are on.
        scheduler: a learning-rate scheduler stepped after every batch (e.g. OneCycleLR).
        progress, epoch: show a progress bar, labelled with the epoch number.

    Each batch's loss and outputs are kept (no copies, no `.item()`) and added up once at
    the end, so the loop never waits for the device between batches, but every 50 batches
    to look for a NaN loss (then it raises `TrainingDiverged`).
    """
    checks.check_model(model)
    checks.check_optimizer(optimizer, model)
    checks.check_loss_fn(loss_fn)
    checks.check_loader(loader)
    checks.check_scheduler(scheduler, "batch")
    device = checks.device_for(model, device)
    model.train()
    losses, counts, outputs, labels = [], [], [], []  # per batch: added up after the loop
    batches = checks.checked_batches(loader, model)
    if progress:
        batches = tqdm(batches, total=checks.length(loader), desc=f"epoch {epoch}", leave=False)
    for batch, (x, y) in enumerate(batches, start=1):
        if x.device != device:  # a TensorLoader's batches are already there
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)  # gradients accumulate unless cleared
        logits = model(x)  # (B, 10)
        loss, count = batch_loss(loss_fn, logits, y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.detach())  # .detach(): keep the number, not the graph
        counts.append(count)
        outputs.append(logits.detach())
        labels.append(y)
        recent = losses[-NAN_CHECK_EVERY:]  # every batch since the last check, in one look
        if batch % NAN_CHECK_EVERY == 0 and not torch.stack(recent).isfinite().all():
            raise TrainingDiverged(checks.divergence_message(epoch, batch, loss.item(), x))
    if not labels:
        raise ValueError(checks.problem(
            "loader", "no batches", "at least one batch", "check len(loader.dataset) and "
            "batch_size (drop_last=True drops a dataset smaller than one batch): is it empty?",
        ))
    seen = sum(len(y) for y in labels)
    counts = torch.tensor(counts, dtype=torch.float32, device=device)
    mean_loss = (torch.stack(losses).float() @ counts).item() / seen  # float32: MPS has no float64
    if not math.isfinite(mean_loss):
        raise TrainingDiverged(checks.divergence_message(epoch, batch, mean_loss, x))
    correct = (torch.cat(outputs).argmax(dim=1) == torch.cat(labels)).sum().item()
    return {"loss": mean_loss, "accuracy": correct / seen}


def evaluate(model, loader, loss_fn=F.cross_entropy, device=None):
    """Return {"loss": ..., "accuracy": ...} of `model` over every example in `loader`.

    Runs in evaluation mode (dropout off, batch norm uses its running statistics) and
    under `torch.no_grad()`, then restores the mode the model was in. Accuracy is
    correct predictions divided by the number of examples actually seen, so a loader
    that drops its last batch cannot inflate it. Arguments as in `train_one_epoch`.

    Introduced in notebook 04b.
    """
    checks.check_model(model)
    checks.check_loss_fn(loss_fn)
    checks.check_loader(loader)
    device = checks.device_for(model, device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    with evaluation_mode(model):
        for x, y in checks.checked_batches(loader, model):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            logits = model(x)
            loss, count = batch_loss(loss_fn, logits, y)
            loss_sum += loss * count
            correct += (logits.argmax(dim=1) == y).sum()
            seen += len(y)
    if seen == 0:
        raise ValueError(checks.problem("loader", "no examples", "at least one batch",
                                        "its dataset is empty: check len(loader.dataset)"))
    return {"loss": loss_sum.item() / seen, "accuracy": correct.item() / seen}


def fit(
    model, train_loader, optimizer, epochs=1, val_loader=None, loss_fn=F.cross_entropy,
    device=None, scheduler=None, progress=True, verbose=True, channels_last=False,
    patience=None, restore_best=False, scheduler_step="batch",
):
    """Train for `epochs` epochs; return the history as a dict of per-epoch lists.

    Args:
        model, train_loader, optimizer, loss_fn, device: as in `train_one_epoch`.
        epochs: passes over the training data (the most, with `patience`).
        val_loader: if given, `evaluate` runs on it after every epoch.
        scheduler: a learning-rate scheduler, stepped after every batch, or once per epoch
            with scheduler_step="epoch" (StepLR; ReduceLROnPlateau gets the validation loss).
        patience: stop once the validation loss has not improved for this many epochs;
            restore_best: end with the weights of the best epoch (both 07b).
        progress, verbose: a progress bar per epoch; one line of metrics per epoch.
        channels_last: store the weights in the channels-last layout first (notebook 06b).

    Returns {"epoch", "train_loss", "train_accuracy", "seconds"} lists, and with a
    val_loader "val_loss", "val_accuracy" and "best_epoch" (lowest validation loss).
    Ctrl-C returns the finished epochs; an error keeps them as its `.history`.
    Introduced in notebook 04b.
    """
    checks.check_fit_arguments(model, train_loader, optimizer, epochs, val_loader, loss_fn,
                               scheduler, scheduler_step, patience, restore_best)
    if channels_last:
        model.to(memory_format=torch.channels_last)  # in place; activations follow the weights
    history = {"epoch": [], "train_loss": [], "train_accuracy": [], "seconds": []}
    if val_loader is not None:
        history.update(val_loss=[], val_accuracy=[])
    stopper = EarlyStopping(patience, keep_weights=restore_best)
    per_batch = scheduler if scheduler_step == "batch" else None
    with checks.finished_epochs_kept(history, stopper, model):
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            train = train_one_epoch(model, train_loader, optimizer, loss_fn, device, per_batch,
                                    progress, epoch)
            val = evaluate(model, val_loader, loss_fn, device) if val_loader is not None else None
            record(history, epoch, time.perf_counter() - start, train, val)
            stop = val is not None and stopper.update(epoch, val["loss"], model)
            if stopper.best_epoch is not None:
                history["best_epoch"] = stopper.best_epoch
            if scheduler is not None and scheduler_step == "epoch":
                plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
                scheduler.step((val or train)["loss"]) if plateau else scheduler.step()
            if verbose:
                print(epoch_summary(epoch, epochs, train, val), flush=True)
            if stop:
                if verbose:
                    print(f"Stopping early: the validation loss has not improved for {patience} "
                          f"epoch(s); the best was {stopper.best_loss:.4f} in epoch "
                          f"{stopper.best_epoch}.")
                break
    if stopper.restore(model) and verbose:
        print(f"Restored the weights of epoch {stopper.best_epoch}, which had the lowest "
              f"validation loss ({stopper.best_loss:.4f}).")
    return history


def record(history, epoch, seconds, train, val=None):
    """Append one epoch's metrics to `fit`'s history."""
    history["epoch"].append(epoch)
    history["seconds"].append(seconds)
    for split, metrics in (("train", train), ("val", val)):
        if metrics is not None:
            history[f"{split}_loss"].append(metrics["loss"])
            history[f"{split}_accuracy"].append(metrics["accuracy"])


def epoch_summary(epoch, epochs, train, val=None):
    """One line of an epoch's metrics, as `fit` prints it."""
    line = f"epoch {epoch}/{epochs}: "
    line += f"train loss {train['loss']:.4f}, accuracy {train['accuracy']:.2%}"
    if val is not None:
        line += f" | val loss {val['loss']:.4f}, accuracy {val['accuracy']:.2%}"
    return line


def predict(model, images, device=None):
    """Return class probabilities (N, 10) for a batch of images (or one image).

    Args:
        model: a trained network returning logits.
        images: a batch (N, 1, 28, 28) or a single image (1, 28, 28) or (28, 28), as a
            tensor or a NumPy array, normalised like the training data (MNIST_TRANSFORM).
        device: default the model's device. The result is always on the CPU.

    The images go through the model 1,000 at a time, so even all 60,000 training
    digits fit in a laptop's memory.

    Introduced in notebook 04b.
    """
    checks.check_model(model)
    device = checks.device_for(model, device)
    images = checks.as_image_batch(images, model)
    with evaluation_mode(model):
        chunks = [
            torch.softmax(model(chunk.to(device)), dim=1).cpu()
            for chunk in images.split(PREDICT_BATCH)
        ]
    return torch.cat(chunks) if chunks else torch.zeros(0, 10)


def predict_loader(model, loader, device=None):
    """Run `model` over a loader; return `(images, labels, predicted)` as CPU tensors.

    Useful for a confusion matrix or a gallery of the digits the model gets wrong.

    Introduced in notebook 04c.
    """
    checks.check_model(model)
    checks.check_loader(loader)
    device = checks.device_for(model, device)
    all_images, all_labels, all_predicted = [], [], []
    with evaluation_mode(model):
        for x, y in checks.checked_batches(loader, model):
            all_predicted.append(model(x.to(device)).argmax(dim=1).cpu())
            all_images.append(x.cpu())
            all_labels.append(y.cpu())
    if not all_images:
        raise ValueError(checks.problem("loader", "no examples", "at least one batch",
                                        "its dataset is empty: check len(loader.dataset)"))
    return torch.cat(all_images), torch.cat(all_labels), torch.cat(all_predicted)
