"""The command line: read a picture of a handwritten digit and print the digit.

    python -m mnistlab predict IMAGE.png [--checkpoint PATH]

The picture is prepared exactly like MNIST's digits (`mnistlab.digits.preprocess`), a
trained network reads it, and the digit is printed with the probability of every class.
Without `--checkpoint` a default network kept in mnistlab's cache folder is used
(`default_checkpoint_path()`); the first time, it is trained (about a minute on a laptop
CPU) and saved there. Any file written by `mnistlab.save_checkpoint` works as
`--checkpoint`, for example the one notebook 08b saves, and so does a bare `state_dict`
saved with `torch.save(model.state_dict(), path)` from one of the series' networks.

Introduced in notebook 08b.
"""

import argparse
import math
import sys
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_model, save_checkpoint
from .data import default_root, load_mnist
from .digits import DigitImageError, preprocess, to_batch
from .drawing import random_distort
from .loaders import TensorLoader
from .models import build_model
from .training import evaluate, predict, train_one_epoch

DEFAULT_MODEL = "cnn"  # the CNN of notebooks 05a and 05b: small, and quick to train on a CPU
TRAINING_IMAGES = 120_000  # digits the default model sees: 2 epochs of MNIST, ~1 min on a CPU


def default_checkpoint_path():
    """Where the default model lives: `models/predict_cnn.pt` in mnistlab's cache folder."""
    return default_root() / "models" / f"predict_{DEFAULT_MODEL}.pt"


class DistortedLoader:
    """Wrap a loader so that every batch is randomly distorted (`random_distort`) first."""

    def __init__(self, loader, seed=0):
        self.loader = loader
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for images, labels in self.loader:
            yield random_distort(images, generator=self.generator), labels


def train_default_model(path=None, progress=True, seed=0):
    """Train the default model on MNIST with random distortions and save it to `path`.

    Uses `load_mnist()`: all 60,000 training digits when they can be downloaded, else
    the offline sample of 4,000. Training sees about 120,000 distorted digits either way
    (2 epochs of MNIST), with Adam and a one-cycle learning-rate schedule. The file is
    written only when training has finished, so an interrupted run leaves nothing behind.

    Args:
        path: where to save it (default `default_checkpoint_path()`).
        progress: show a progress bar.
        seed: seeds the weights, the batch order and the distortions.

    Returns the trained model (in evaluation mode).
    """
    from tqdm.auto import tqdm

    path = Path(path) if path is not None else default_checkpoint_path()
    train_set, test_set = load_mnist()
    epochs = max(1, round(TRAINING_IMAGES / len(train_set)))
    model = build_model(DEFAULT_MODEL, seed=seed)
    loader = TensorLoader.from_dataset(train_set, batch_size=100, shuffle=True, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.003, total_steps=epochs * len(loader)
    )
    distorted = DistortedLoader(loader, seed=seed)
    for epoch in tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress):
        train_one_epoch(model, distorted, optimizer, scheduler=scheduler, epoch=epoch)
    accuracy = evaluate(model, TensorLoader.from_dataset(test_set, batch_size=500))["accuracy"]
    data = f"{len(train_set):,} {type(train_set).__name__} training digits"
    save_checkpoint(path, model, epochs=epochs, data=data, test_accuracy=accuracy,
                    test_digits=len(test_set), augmented=True)  # complete, or not there at all
    return model.eval()


def default_model(progress=True):
    """Return the default model (and its checkpoint dict), training and saving it the first time."""
    path = default_checkpoint_path()
    if not path.exists():
        print(
            f"No --checkpoint given and no default model yet: training a small CNN on MNIST "
            f"(about a minute on a laptop CPU) and saving it to {path} for next time.",
            flush=True,
        )
        train_default_model(path, progress=progress)
    try:
        return load_model(path)
    except CheckpointError as err:  # the user did not choose this file: say how to renew it
        raise CheckpointError(
            path, err.problem, f"delete it (rm {str(path)!r}) and run again to train a fresh "
            f"default model"
        ) from err


def classify_image(image, model):
    """Return the probabilities (10,) that `model` gives a picture, after `preprocess`.

    Args:
        image: a file path, a PIL image or an array (see `mnistlab.digits.to_grey`).
        model: a trained network.
    """
    return predict(model, to_batch(preprocess(image)))[0]


def format_prediction(probabilities, width=30):
    """Return the lines to print: the digit, then one bar per class."""
    probabilities = [float(p) for p in probabilities]
    digit = max(range(10), key=probabilities.__getitem__)
    lines = [f"digit: {digit} ({probabilities[digit]:.1%} sure)"]
    for d, p in enumerate(probabilities):
        lines.append(f"  {d}  {p:6.1%}  {'#' * math.ceil(p * width - 0.5)}".rstrip())
    return lines


def main(argv=None):
    """The command line: parse the arguments, classify each picture, return an exit code.

    `argv` is the list of arguments after `python -m mnistlab` (default: `sys.argv[1:]`),
    for example `["predict", "digit.png", "--checkpoint", "cnn.pt"]`.
    """
    parser = argparse.ArgumentParser(
        prog="python -m mnistlab",
        description="mnistlab's command line. One command so far: predict.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict_command = commands.add_parser(
        "predict", help="read a handwritten digit from a picture",
        description="Read a handwritten digit from a picture (PNG, JPEG, a photo).",
    )
    predict_command.add_argument("images", nargs="+", metavar="IMAGE", help="picture of one digit")
    predict_command.add_argument(
        "--checkpoint", metavar="PATH",
        help="a model saved with mnistlab.save_checkpoint (default: a model trained the "
        "first time and kept in mnistlab's cache folder)",
    )
    args = parser.parse_args(argv)
    prog = predict_command.prog  # "python -m mnistlab predict", the start of every error line
    try:
        if args.checkpoint:
            model, _ = load_model(args.checkpoint)
        else:
            model, _ = default_model()
        for i, image in enumerate(args.images):
            probabilities = classify_image(image, model)
            if len(args.images) > 1:
                print(("\n" if i else "") + f"{image}:")
            print("\n".join(format_prediction(probabilities)))
    except (CheckpointError, DigitImageError, OSError) as err:  # each says what to fix
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was saved.", file=sys.stderr)
        return 130
    return 0
