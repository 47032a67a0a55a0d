"""Time to a test accuracy: `cnn_bn`'s recipe beside the PyTorch MNIST example's recipe.

Images per second say how fast the arithmetic runs; what a user waits for is a trained
network. Each recipe trains from scratch on the same data, with the same loader (the
fast path), the same layout and the same clock, which starts when the model is built
(the data are already on the device) and includes the evaluation on the whole test set
after every epoch. A run stops at the first epoch that reaches the target, at the end of
its epochs, or at the first epoch end after `max_seconds`. Each recipe runs several
times with different seeds, interleaved with the other recipe, and the table gives the
median and the range.
"""

import statistics
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnistlab.data import MNISTUnavailable, torchvision_mnist
from mnistlab.idx import MNISTFilesCorrupt
from mnistlab.loaders import TensorLoader
from mnistlab.models import BNCNN
from mnistlab.training import evaluate, train_one_epoch

GENUINE_TRAIN_DIGITS = 6_000  # the genuine-data runs train on the first 6,000 training digits


class ExampleNet(nn.Module):
    """The network of the canonical PyTorch MNIST example (pytorch/examples, `mnist/main.py`).

    Written here from its description: two 3x3 convolutions (32 and 64 channels, no
    padding: 28 -> 26 -> 24 pixels), 2x2 max pooling (-> 12), dropout 0.25, a fully
    connected layer from 64 * 12 * 12 = 9,216 values to 128, dropout 0.5, and 10 outputs.
    It returns logits; the example's log-softmax + NLL loss is the same as cross-entropy.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.dropout1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(64 * 12 * 12, 128)  # 9,216 values after pooling
        self.dropout2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):  # (B, 1, 28, 28)
        x = F.relu(self.conv1(x))  # (B, 32, 26, 26)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 64, 12, 12)
        x = torch.flatten(self.dropout1(x), 1)  # (B, 9216)
        x = self.dropout2(F.relu(self.fc1(x)))  # (B, 128)
        return self.fc2(x)  # (B, 10)


@dataclass
class BNCNNRecipe:
    """`cnn_bn`'s recipe: BNCNN, AdamW with a one-cycle learning rate, a few epochs.

    Args:
        width: channels of BNCNN's first block (the package's `cnn_bn` uses 32).
        batch_size: examples per step.
        epochs: length of the one-cycle schedule; training stops early at the target.
        max_lr: the peak learning rate of `OneCycleLR`.
        weight_decay: AdamW's decoupled weight decay.
        channels_last: store activations as (N, H, W, C), which convolutions prefer.
        eval_batch_size: test images per evaluation batch.
    """

    width: int = 32
    batch_size: int = 64
    epochs: int = 4
    max_lr: float = 5e-3
    weight_decay: float = 1e-4
    channels_last: bool = True
    eval_batch_size: int = 500
    name: str = "cnn_bn (this package)"

    def describe(self):
        return (f"BNCNN(width={self.width}), AdamW + OneCycleLR (max lr {self.max_lr}), "
                f"batch {self.batch_size}, {self.epochs} epochs at most")

    def build(self, steps_per_epoch):
        """Return (model, optimizer, scheduler, "batch" or "epoch": when to step it)."""
        model = BNCNN(width=self.width)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=self.max_lr, weight_decay=self.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.max_lr, total_steps=self.epochs * steps_per_epoch,
            pct_start=0.25,
        )
        return model, optimizer, scheduler, "batch"


@dataclass
class ExampleRecipe:
    """The PyTorch MNIST example's recipe: its network, Adadelta at 1.0, x0.7 every epoch.

    Args:
        batch_size: examples per step (the example's 64).
        epochs: epochs at most (the example's 14).
        lr: Adadelta's learning rate (the example's 1.0).
        gamma: the learning rate is multiplied by it after every epoch (StepLR, 0.7).
        channels_last, eval_batch_size: as in `BNCNNRecipe` (the same for both recipes).
    """

    batch_size: int = 64
    epochs: int = 14
    lr: float = 1.0
    gamma: float = 0.7
    channels_last: bool = True
    eval_batch_size: int = 500
    name: str = "PyTorch MNIST example"

    def describe(self):
        return (f"its network (conv 32, conv 64, dropout, fc 9216-128-10), Adadelta (lr "
                f"{self.lr}) + StepLR (x{self.gamma} per epoch), batch {self.batch_size}, "
                f"{self.epochs} epochs at most")

    def build(self, steps_per_epoch):
        """Return (model, optimizer, scheduler, "batch" or "epoch": when to step it)."""
        model = ExampleNet()
        optimizer = torch.optim.Adadelta(model.parameters(), lr=self.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=self.gamma)
        return model, optimizer, scheduler, "epoch"


def time_to_accuracy(recipe, train_images, train_targets, test_images, test_targets, device,
                     target=0.98, max_seconds=300.0, max_batches=None, seed=0):
    """Train one recipe until the test accuracy reaches `target`; report the time.

    Args:
        recipe: a `BNCNNRecipe` or an `ExampleRecipe`.
        train_images, train_targets, test_images, test_targets: normalised tensors.
        device: where to train.
        target: test accuracy to reach, as a fraction (0.98 is 98%).
        max_seconds: give up at the first epoch end after this long.
        max_batches: train on only this many batches, for one epoch, and test on the first
            500 test images (the smoke test's quick mode; the accuracy means nothing).
        seed: seeds the weights, dropout and the shuffling.

    Returns:
        {"reached", "seconds", "train_seconds", "epochs", "accuracy", "best_accuracy",
        "history"}: history lists (seconds so far, test accuracy) after each epoch.
    """
    device = torch.device(device)
    epochs = recipe.epochs
    if max_batches is not None:
        n = max_batches * recipe.batch_size
        train_images, train_targets, epochs = train_images[:n], train_targets[:n], 1
        test_images, test_targets = test_images[:500], test_targets[:500]
    train_loader = TensorLoader(
        train_images, train_targets, batch_size=recipe.batch_size, shuffle=True, device=device,
        seed=seed, drop_last=True,
    )
    test_loader = TensorLoader(
        test_images, test_targets, batch_size=recipe.eval_batch_size, device=device
    )
    start = time.perf_counter()
    torch.manual_seed(seed)
    model, optimizer, scheduler, step_every = recipe.build(len(train_loader))
    model = model.to(device)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    history, train_seconds, accuracy = [], 0.0, 0.0
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        per_batch = scheduler if step_every == "batch" else None
        train_one_epoch(model, train_loader, optimizer, scheduler=per_batch, epoch=epoch)
        if step_every == "epoch":
            scheduler.step()
        train_seconds += time.perf_counter() - epoch_start
        accuracy = evaluate(model, test_loader)["accuracy"]  # reads back a number: device synced
        history.append((time.perf_counter() - start, accuracy))
        if accuracy >= target or history[-1][0] > max_seconds:
            break
    return {
        "reached": accuracy >= target,
        "seconds": history[-1][0],
        "train_seconds": train_seconds,
        "epochs": len(history),
        "accuracy": accuracy,
        "best_accuracy": max(acc for _, acc in history),
        "history": history,
    }


def compare_recipes(recipes, data_sets, device, target=0.98, repeats=3, max_seconds=300.0,
                    max_batches=None, say=print):
    """Run every recipe `repeats` times on every data set; return one summary per pair.

    The runs alternate between the recipes (seed 0 of each, then seed 1, ...), so a busy
    moment on the machine does not fall on one recipe only.

    Args:
        recipes: recipe objects (`BNCNNRecipe`, `ExampleRecipe`).
        data_sets: a list of (label, train_images, train_targets, test_images, test_targets).
        repeats: runs per recipe and data set, with seeds 0, 1, ...

    Returns a list of {"data", "recipe", "train_images", "test_images", "runs",
    "reached", "seconds_median", "seconds_min", "seconds_max", "epochs_median",
    "best_accuracy_median"}.
    """
    summaries = []
    for label, *tensors in data_sets:
        runs = {recipe.name: [] for recipe in recipes}
        for seed in range(repeats):
            for recipe in recipes:
                say(f"time to {target:.1%}: {recipe.name}, {label}, run {seed + 1} of "
                    f"{repeats} ...", flush=True)
                result = time_to_accuracy(recipe, *tensors, device=device, target=target,
                                          max_seconds=max_seconds, max_batches=max_batches,
                                          seed=seed)
                runs[recipe.name].append(result)
        for recipe in recipes:
            results = runs[recipe.name]
            seconds = [r["seconds"] for r in results]
            train_n, test_n = len(tensors[1]), len(tensors[3])
            if max_batches is not None:  # quick mode: see time_to_accuracy
                train_n, test_n = min(train_n, max_batches * recipe.batch_size), min(test_n, 500)
            summaries.append({
                "data": label,
                "recipe": recipe.name,
                "recipe_settings": asdict(recipe),
                "train_images": train_n,
                "test_images": test_n,
                "runs": results,
                "reached": sum(r["reached"] for r in results),
                "seconds_median": statistics.median(seconds),
                "seconds_min": min(seconds),
                "seconds_max": max(seconds),
                "epochs_median": statistics.median(r["epochs"] for r in results),
                "best_accuracy_median": statistics.median(r["best_accuracy"] for r in results),
            })
    return summaries


def genuine_mnist(folder):
    """Return (train_set, test_set) read from the genuine MNIST files in `folder`, or None.

    `folder` holds `MNIST/raw/` in torchvision's layout (`--data-dir`). Nothing is
    downloaded or copied; a missing or damaged folder gives None and a message.
    """
    if folder is None:
        return None
    try:
        train_set = torchvision_mnist(folder, train=True, download=False)
        test_set = torchvision_mnist(folder, train=False, download=False)
    except (MNISTUnavailable, MNISTFilesCorrupt) as err:
        print(f"Skipping the genuine MNIST files in {folder}: {err}")
        return None
    return train_set, test_set
