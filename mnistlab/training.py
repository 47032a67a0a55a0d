"""The training loop, split into two readable functions and a driver.

* `train_one_epoch` runs one pass over the training batches and updates the weights.
* `evaluate` measures loss and accuracy on every example of a loader, without
  updating anything (`model.eval()` and `torch.no_grad()`).
* `fit` calls them epoch after epoch and returns the history of both.

Notebook 04 writes this loop out line by line first; later notebooks call these.
"""

import copy
import math
import time
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import checks
from .device import model_device

NAN_CHECK_EVERY = 50  # batches between checks for a NaN loss (each check waits for the device)


class TrainingDiverged(FloatingPointError):
    """Raised when the loss becomes NaN or infinite; `.history` holds the epochs finished."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


def _divergence_message(epoch, batch, loss, images=None):
    """Explain a NaN or infinite loss: bad input data, or training that blew up."""
    if images is not None and not torch.isfinite(images).all():
        return (
            f"The training loss became {loss} in epoch {epoch}, around batch {batch}, because "
            f"the input images themselves contain NaN or infinite values: the data is the "
            f"problem, not the learning rate. Check how the images were prepared (a division "
            f"by a standard deviation of 0?) with torch.isfinite(images).all()."
        )
    return (
        f"The training loss became {loss} in epoch {epoch}, around batch {batch}, so training "
        f"stopped. Try a smaller learning rate (for example a tenth of it), check that the "
        f"inputs are normalised (mnistlab.MNIST_TRANSFORM), or clip the gradients with "
        f"torch.nn.utils.clip_grad_norm_."
    )


def _device_for(model, device):
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
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'mps' or a torch.device, got {device!r}"
        ) from err
    has_weights = any(True for _ in model.parameters()) or any(True for _ in model.buffers())
    same = device.type == weights_at.type and device.index in (None, weights_at.index)
    if has_weights and not same:
        raise ValueError(
            f"device={str(device)!r} but the model's weights are on {weights_at}: move the model "
            f"first with model.to({str(device)!r}) (then create the optimizer), or leave device "
            f"out to compute where the model is"
        )
    return device


def batch_loss(loss_fn, logits, labels):
    """Call `loss_fn`; return (the loss to minimise, how many examples it stands for).

    Works with a function (`F.cross_entropy`) or a module (`nn.CrossEntropyLoss()`), with
    any reduction: "mean" (the default), "sum", or "none" (one loss per example, whose
    mean is minimised). Loss times count is the batch's summed loss: adding those up and
    dividing by the examples seen gives the mean loss per example that `train_one_epoch`
    and `evaluate` report. The count is a plain number, so nothing is computed per batch
    for the report.
    """
    loss = loss_fn(logits, labels)
    if not isinstance(loss, torch.Tensor):
        raise TypeError(
            f"loss_fn returned {type(loss).__name__}, not a tensor: it must compute the loss "
            f"with torch operations, e.g. torch.nn.functional.cross_entropy(logits, labels)"
        )
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
        scheduler: a learning-rate scheduler stepped after every batch (e.g. OneCycleLR);
            `fit(scheduler_step="epoch")` steps it once per epoch instead.
        progress: show a tqdm progress bar.
        epoch: the epoch number, for the progress bar and error messages.

    Each batch's loss and outputs are kept as they are (references, no copies) and
    added up once at the end, so the loop adds no work per batch to the training step
    and never waits for the device between batches (but every 50 batches, for a NaN).

    Raises:
        TrainingDiverged: the loss became NaN or infinite.
        TypeError, ValueError: a wrong argument; the message says what to pass instead.
    """
    checks.check_model(model)
    checks.check_optimizer(optimizer, model)
    checks.check_loss_fn(loss_fn)
    checks.check_loader(loader)
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise ValueError(
            "scheduler is a ReduceLROnPlateau, which steps once per epoch on a loss, not after "
            "every batch: use fit(..., scheduler_step='epoch'), or call "
            "scheduler.step(val_loss) yourself after each epoch"
        )
    device = _device_for(model, device)
    model.train()
    losses, counts, outputs, labels = [], [], [], []  # per batch: added up after the loop
    seen = batch = 0
    batches = checks.checked_batches(loader, model)
    if progress:
        batches = tqdm(batches, total=_length(loader), desc=f"epoch {epoch}", leave=False)
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
        seen += len(y)
        if batch % NAN_CHECK_EVERY == 0:  # every batch since the last check, in one look
            if not torch.stack(losses[-NAN_CHECK_EVERY:]).isfinite().all():
                raise TrainingDiverged(_divergence_message(epoch, batch, loss.item(), x))
    if seen == 0:
        raise ValueError(
            "the training loader yielded no batches: its dataset is empty, or drop_last=True "
            "with fewer examples than batch_size; check len(loader.dataset) and batch_size"
        )
    losses = torch.stack(losses).float()  # float32: MPS has no float64
    mean_loss = (losses @ torch.tensor(counts, dtype=torch.float32, device=losses.device)).item()
    mean_loss /= seen
    if not math.isfinite(mean_loss):
        raise TrainingDiverged(_divergence_message(epoch, batch, mean_loss, x))
    correct = (torch.cat(outputs).argmax(dim=1) == torch.cat(labels)).sum().item()
    return {"loss": mean_loss, "accuracy": correct / seen}


def evaluate(model, loader, loss_fn=F.cross_entropy, device=None):
    """Return {"loss": ..., "accuracy": ...} of `model` over every example in `loader`.

    Runs in evaluation mode (dropout off, batch norm uses its running statistics) and
    under `torch.no_grad()`, then restores the mode the model was in. Accuracy is
    correct predictions divided by the number of examples actually seen, so a loader
    that drops its last batch cannot inflate it.

    Args:
        model: the network.
        loader: yields `(images, labels)` batches.
        loss_fn: as in `train_one_epoch`: a function or a module, any reduction.
        device: where to compute; default the device the model's weights are on.

    Introduced in notebook 04.
    """
    checks.check_model(model)
    checks.check_loss_fn(loss_fn)
    checks.check_loader(loader)
    device = _device_for(model, device)
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
        raise ValueError(
            "the loader yielded no examples: its dataset is empty (check len(loader.dataset))"
        )
    return {"loss": loss_sum.item() / seen, "accuracy": correct.item() / seen}


def _length(loader):
    """len(loader) when the loader has one (for the progress bar), else None."""
    try:
        return len(loader)
    except TypeError:
        return None


SCHEDULER_STEPS = ("batch", "epoch")


def _check_fit_options(
    model, train_loader, optimizer, epochs, val_loader, scheduler, patience, restore_best,
    scheduler_step,
):
    """Check fit's arguments before the first epoch, so a mistake costs no training time."""
    checks.check_model(model)
    checks.check_optimizer(optimizer, model)
    checks.check_loader(train_loader, "train_loader")
    if val_loader is not None:
        checks.check_loader(val_loader, "val_loader")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a whole number of 1 or more, got {epochs!r}")
    if scheduler_step not in SCHEDULER_STEPS:
        raise ValueError(
            f"scheduler_step must be 'batch' (OneCycleLR, CyclicLR) or 'epoch' (StepLR, "
            f"ExponentialLR, ReduceLROnPlateau), got {scheduler_step!r}"
        )
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if plateau and scheduler_step == "batch":
        raise ValueError(
            "scheduler is a ReduceLROnPlateau, which steps on a loss once per epoch: pass "
            "scheduler_step='epoch'"
        )
    total_steps = getattr(scheduler, "total_steps", None)  # OneCycleLR knows its length
    batches = _length(train_loader)
    if scheduler_step == "batch" and total_steps is not None and batches is not None:
        needed = scheduler.last_epoch + epochs * batches
        if needed > total_steps:
            raise ValueError(
                f"scheduler was set up for {total_steps} steps, but {epochs} epoch(s) of "
                f"{batches} batches need {needed}: create it with epochs={epochs}, "
                f"steps_per_epoch=len(train_loader)"
            )
    if patience is not None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(
                f"patience must be a whole number of epochs, 1 or more; got {patience!r}"
            )
        if val_loader is None:
            raise ValueError(
                "patience stops training when the validation loss stops improving, so it "
                "needs val_loader: split off validation digits with mnistlab.train_val_split"
            )
    if restore_best and val_loader is None:
        raise ValueError(
            "restore_best keeps the weights of the epoch with the lowest validation loss, so it "
            "needs val_loader: split off validation digits with mnistlab.train_val_split"
        )


def _keep_history(err, history, note):
    """Attach the finished epochs to an exception as `err.history`, with a note saying so."""
    try:
        err.history = history
    except AttributeError:  # an exception type that takes no attributes
        return
    if history["epoch"] and hasattr(err, "add_note"):  # notes: Python 3.11 and later
        err.add_note(
            f"mnistlab.fit: the history of the {len(history['epoch'])} finished epoch(s) is "
            f"kept in this error's .history (in a notebook: history = sys.last_value.history)."
            + note
        )


def fit(
    model, train_loader, optimizer, epochs=1, val_loader=None, loss_fn=F.cross_entropy,
    device=None, scheduler=None, progress=True, verbose=True, channels_last=False,
    patience=None, restore_best=False, scheduler_step="batch",
):
    """Train for `epochs` epochs; return the history as a dict of per-epoch lists.

    Args:
        model, train_loader, optimizer, loss_fn, device: as in `train_one_epoch`.
        epochs: number of passes over the training data (the most, with `patience`).
        val_loader: if given, `evaluate` runs on it after every epoch.
        scheduler: a learning-rate scheduler, or None (default).
        scheduler_step: when to call `scheduler.step()`: "batch" (default, after every
            batch, for OneCycleLR and CyclicLR) or "epoch" (once per epoch, for StepLR,
            ExponentialLR, CosineAnnealingLR, and ReduceLROnPlateau, which is given the
            validation loss, or the training loss without a val_loader).
        patience: stop early once the validation loss has not improved for this many
            epochs in a row (None, the default, never stops early). Needs `val_loader`.
        restore_best: at the end, load the weights of the epoch with the lowest
            validation loss (kept in memory meanwhile), also after stopping early or
            Ctrl-C. Needs `val_loader`. Default False: keep the last epoch's weights.
        progress: show a tqdm progress bar per epoch.
        verbose: print one line of metrics per epoch.
        channels_last: first store the model's weights in the channels-last layout
            (`model.to(memory_format=torch.channels_last)`, notebook 06), which CPU and GPU
            convolutions run faster; the weights keep their values.

    Returns:
        {"epoch": [...], "train_loss": [...], "train_accuracy": [...], "val_loss": [...],
        "val_accuracy": [...], "seconds": [...], "best_epoch": n} (the val_ lists and
        "best_epoch", the epoch with the lowest validation loss, only with a val_loader).

    Nothing already trained is lost. Pressing Ctrl-C (or the notebook's stop button)
    ends training after a message and returns the history of the finished epochs; the
    model keeps the weights it had reached. Any error (a NaN loss raises
    `TrainingDiverged`, or an error in validation, your own code, a full disk) is raised
    with the finished epochs attached as its `.history`.

    Introduced in notebook 04 (patience and restore_best in notebook 07).
    """
    checks.check_loss_fn(loss_fn)
    _check_fit_options(
        model, train_loader, optimizer, epochs, val_loader, scheduler, patience, restore_best,
        scheduler_step,
    )
    if channels_last:
        model.to(memory_format=torch.channels_last)  # in place; activations follow the weights
    history = {"epoch": [], "train_loss": [], "train_accuracy": [], "seconds": []}
    if val_loader is not None:
        history.update(val_loss=[], val_accuracy=[])
    per_batch = scheduler if scheduler_step == "batch" else None
    best_loss, best_weights, epochs_without_improvement = math.inf, None, 0
    epoch = 0
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            train = train_one_epoch(
                model, train_loader, optimizer, loss_fn, device, per_batch, progress, epoch
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
                if val["loss"] < best_loss:  # a NaN loss is never the best
                    best_loss, epochs_without_improvement = val["loss"], 0
                    history["best_epoch"] = epoch
                    if restore_best:  # a copy in memory, not a file
                        best_weights = copy.deepcopy(model.state_dict())
                else:
                    epochs_without_improvement += 1
            if scheduler is not None and scheduler_step == "epoch":
                if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    scheduler.step(val["loss"] if val is not None else train["loss"])
                else:
                    scheduler.step()
            if verbose:
                print(line, flush=True)
            if patience is not None and epochs_without_improvement >= patience:
                if verbose:
                    print(
                        f"Stopping early: the validation loss has not improved for {patience} "
                        f"epoch(s); the best was {best_loss:.4f} in epoch {history['best_epoch']}."
                    )
                break
    except KeyboardInterrupt:
        print(
            f"Training interrupted during epoch {epoch}; returning the history of the "
            f"{len(history['epoch'])} finished epoch(s). "
            + ("The model keeps its current weights." if best_weights is None else
               f"The model gets the weights of epoch {history['best_epoch']}, the best.")
        )
    except BaseException as err:
        note = ""
        if best_weights is not None:
            model.load_state_dict(best_weights)
            note = f" The model holds the weights of epoch {history['best_epoch']}, the best."
        _keep_history(err, history, note)
        raise
    if best_weights is not None:
        model.load_state_dict(best_weights)
        if verbose:
            print(
                f"Restored the weights of epoch {history['best_epoch']}, which had the lowest "
                f"validation loss ({best_loss:.4f})."
            )
    return history


PREDICT_BATCH = 1000  # images per forward pass in predict: bounded memory for any N


def predict(model, images, device=None):
    """Return class probabilities (N, 10) for a batch of images (or one image).

    Args:
        model: a trained network returning logits.
        images: a batch (N, 1, 28, 28) or a single image (1, 28, 28) or (28, 28), as a
            tensor or a NumPy array, normalised like the training data (MNIST_TRANSFORM).
            Float64 pixels (NumPy's default) are converted to the model's float32.
        device: default the model's device. The result is always on the CPU.

    The images go through the model 1,000 at a time, so even all 60,000 training
    digits fit in a laptop's memory.

    Introduced in notebook 04.
    """
    checks.check_model(model)
    device = _device_for(model, device)
    images = _as_image_batch(images, model)
    with evaluation_mode(model):
        chunks = [
            torch.softmax(model(chunk.to(device)), dim=1).cpu()
            for chunk in images.split(PREDICT_BATCH)
        ]
    return torch.cat(chunks) if chunks else torch.zeros(0, 10)


def _as_image_batch(images, model):
    """Turn what `predict` accepts into a float batch in the model's precision."""
    if isinstance(images, np.ndarray):
        if images.dtype == object or not np.issubdtype(images.dtype, np.number):
            raise TypeError(
                f"images is a NumPy array of {images.dtype}, not numbers: build it with "
                f"np.asarray(pixels, dtype=np.float32)"
            )
        images = torch.from_numpy(np.ascontiguousarray(images))
    elif not isinstance(images, torch.Tensor):
        raise TypeError(
            f"images must be a tensor or a NumPy array shaped (N, 1, 28, 28), got "
            f"{type(images).__name__}: convert with torch.as_tensor(images, dtype=torch.float32)"
        )
    if tuple(images.shape) in ((1, 28, 28), (28, 28)):
        images = images.reshape(1, 1, 28, 28)  # one image -> a batch of one
    weight = next((p for p in model.parameters() if p.is_floating_point()), None)
    if images.dtype == torch.float64 and weight is not None:
        images = images.to(weight.dtype)  # NumPy's float64 -> the model's float32
    checks.check_pixels_dtype(images, model, "images")
    if not torch.isfinite(images).all():
        raise ValueError(
            "images contain NaN or infinite values, so every prediction would be NaN: check "
            "how they were computed (a division by a standard deviation of 0?)"
        )
    return images


def predict_loader(model, loader, device=None):
    """Run `model` over a loader; return `(images, labels, predicted)` as CPU tensors.

    Useful for a confusion matrix or a gallery of the digits the model gets wrong.

    Introduced in notebook 05.
    """
    checks.check_model(model)
    checks.check_loader(loader)
    device = _device_for(model, device)
    all_images, all_labels, all_predicted = [], [], []
    with evaluation_mode(model):
        for x, y in checks.checked_batches(loader, model):
            all_predicted.append(model(x.to(device)).argmax(dim=1).cpu())
            all_images.append(x.cpu())
            all_labels.append(y.cpu())
    if not all_images:
        raise ValueError(
            "the loader yielded no examples: its dataset is empty (check len(loader.dataset))"
        )
    return torch.cat(all_images), torch.cat(all_labels), torch.cat(all_predicted)
