"""The command line (`python3 run.py bench`), and the order of a run.

`run_benchmark` measures, in this order: the peak and the DataLoader alone; every network
with both pipelines in every setting (`speed.py`); `fit` against a bare loop
(`overhead.py`); thread settings on the CPU; time to accuracy (`accuracy.py`). It returns
one dict, which `report.format_report` prints and `--json` saves.
"""

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from mnistlab.data import DATA_DIR_ENV, MNISTSample, load_mnist
from mnistlab.device import get_device
from mnistlab.loaders import dataset_to_tensors
from mnistlab.models import MODELS

from .accuracy import (
    GENUINE_TRAIN_DIGITS,
    BNCNNRecipe,
    ExampleRecipe,
    compare_recipes,
    genuine_mnist,
)
from .flops import PEAK_SIZE, matmul_flops
from .machine import current_memory_mb, machine_info
from .overhead import OVERHEAD_MODELS, fit_overhead
from .pipelines import BATCH_SIZE, FAST_PATH, LEARNING_RATE, TUTORIAL, dataloader_steps
from .report import format_report
from .speed import benchmark_model, benchmark_threads
from .timing import measure_rates


def _same_folder(dataset, folder):
    """Whether `dataset` was read from `folder` (then the genuine-data runs would repeat it)."""
    root = getattr(dataset, "root", None)
    if root is None or folder is None:
        return False
    return Path(root).resolve() == Path(folder).resolve()


def accuracy_data(train_set, test_set, data_name, data_dir, device):
    """The data sets of the time-to-accuracy runs: load_mnist()'s, and --data-dir's files."""
    tensors = [t.to(device) for split in (train_set, test_set) for t in dataset_to_tensors(split)]
    data_sets = [(f"{data_name} (load_mnist)", *tensors)]
    genuine = None if _same_folder(train_set, data_dir) else genuine_mnist(data_dir)
    if genuine is not None:
        (x_train, y_train), (x_test, y_test) = (dataset_to_tensors(split) for split in genuine)
        n = GENUINE_TRAIN_DIGITS
        data_sets.append(("genuine MNIST files", x_train[:n].to(device), y_train[:n].to(device),
                          x_test.to(device), y_test.to(device)))
    return data_sets


def run_benchmark(models=None, quick=False, window=1.0, rounds=3, target=0.98, data_dir=None,
                  device=None, repeats=3, example_epochs=14, max_seconds=300.0,
                  compile_models=True, overhead=True, verbose=True):
    """Run every measurement and return the report (a dict that `json.dump` can write).

    Args:
        models: model names (default: all of `mnistlab.MODELS`).
        quick: a few batches of everything, one run of each recipe, one step: checks that
            everything runs, in seconds; the numbers mean little.
        window, rounds: each measurement is the fastest of `rounds` interleaved windows of
            about `window` seconds.
        target: the test accuracy the time-to-accuracy runs aim for (fraction).
        data_dir: folder with genuine MNIST files (`MNIST/raw/`) for more time-to-accuracy
            runs, or None.
        device: default `get_device()`.
        repeats: runs of each recipe on each data set.
        example_epochs: the PyTorch example recipe's epochs (its own 14 by default).
        max_seconds: cap of each time-to-accuracy run.
        compile_models: include `torch.compile` (CUDA).
        overhead: measure `fit` against a bare loop.
        verbose: print a line as each part starts.
    """
    device = torch.device(device) if device is not None else get_device()
    models = list(models or MODELS)
    if quick:
        window, rounds, repeats = 0.0, 1, 1
    say = print if verbose else (lambda *args, **kwargs: None)
    recipes = [BNCNNRecipe(), ExampleRecipe(epochs=example_epochs)]

    report = {"machine": machine_info(device)}
    train_set, test_set = load_mnist(verbose=verbose)
    data_name = "offline sample" if isinstance(train_set, MNISTSample) else "torchvision MNIST"
    images, targets = (t.to(device) for t in dataset_to_tensors(train_set))
    report["pipelines"] = {
        "tutorial_pipeline": TUTORIAL, "fast_path": FAST_PATH,
    }
    report["settings"] = {
        "models": models, "quick": quick, "window": window, "rounds": rounds,
        "batch_size": BATCH_SIZE, "optimizer": f"Adam(lr={LEARNING_RATE})", "data": data_name,
        "train_images": len(train_set), "target": target, "repeats": repeats,
        "data_dir": str(data_dir) if data_dir else None,
    }
    report["recipes"] = {recipe.name: recipe.describe() for recipe in recipes}

    # 1. The peak, and what the DataLoader alone costs.
    report["matmul_size"] = 512 if quick else None
    peak = matmul_flops(device, size=report["matmul_size"], repeats=2 if quick else 5)
    report["matmul_size"] = report["matmul_size"] or PEAK_SIZE.get(device.type, 2048)
    say(f"matrix-multiply peak: {peak / 1e9:,.1f} GFLOP/s", flush=True)
    loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
    loading = measure_rates({"loader": lambda b: dataloader_steps(loader, b)}, "cpu", window,
                            rounds)
    report["dataloader_images_per_s"] = loading["loader"]["images_per_s"]

    # 2. Every model: both pipelines, every setting.
    report["memory_before_mb"] = current_memory_mb()  # PyTorch, the data: before any training
    report["rows"] = []
    for name in models:
        say(f"timing {name} ...", flush=True)
        report["rows"].append(benchmark_model(
            name, train_set, images, targets, device, window, rounds,
            compile_models=compile_models and not quick,  # compiling takes tens of seconds
        ))
        if not quick:  # measured again between models: the fastest of all counts
            peak = max(peak, matmul_flops(device, size=report["matmul_size"], repeats=2))
    report["matmul_flops"] = peak
    for row in report["rows"]:
        row["peak_fraction"] = row["fast_path_flops"] / peak

    # 3. What fit costs on top of a bare loop.
    report["fit_overhead"] = []
    if overhead:
        n = 256 if quick else len(targets)
        for label in OVERHEAD_MODELS:
            say(f"fit against a bare loop: {label} ...", flush=True)
            report["fit_overhead"].append(
                fit_overhead(label, images[:n], targets[:n], device, rounds=2 if quick else None)
            )

    # 4. Thread settings (CPU only; each needs a new process, so full runs only).
    if device.type == "cpu" and not quick:
        name = "cnn_bn" if "cnn_bn" in models else models[-1]
        say(f"comparing thread settings with {name}, each in a new process ...", flush=True)
        sample = isinstance(train_set, MNISTSample)
        report["threads"] = {"model": name,
                             "results": benchmark_threads(name, window, rounds, sample)}

    # 5. Time to the target accuracy, for both recipes, on every data set.
    data_sets = accuracy_data(train_set, test_set, data_name, data_dir, device)
    report["time_to_accuracy"] = compare_recipes(
        recipes, data_sets, device, target, repeats, max_seconds,
        max_batches=2 if quick else None, say=say,
    )
    report["settings"]["recipe_settings"] = [asdict(recipe) for recipe in recipes]
    return report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 run.py bench",
        description=f"Training speed of every mnistlab network: the {TUTORIAL} against the "
        f"{FAST_PATH}, fit against a bare loop, and time to a target accuracy.",
    )
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        metavar="NAME", help=f"networks to time (default: all of "
                        f"{', '.join(MODELS)})")
    parser.add_argument("--quick", action="store_true",
                        help="a few batches of everything: checks that it runs, in seconds")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    parser.add_argument("--data-dir", metavar="DIR", default=os.environ.get(DATA_DIR_ENV),
                        help="folder with genuine MNIST in torchvision's layout (MNIST/raw/): "
                        f"the time-to-accuracy runs also train on its first "
                        f"{GENUINE_TRAIN_DIGITS:,} training digits and test on all its test "
                        f"digits (default: ${DATA_DIR_ENV}, if set)")
    parser.add_argument("--window", type=float, default=1.0,
                        help="seconds of training per timing window (default 1)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved windows per measurement; the fastest counts (default 3)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each recipe in the time-to-accuracy table (default 3)")
    parser.add_argument("--example-epochs", type=int, default=14,
                        help="epochs of the PyTorch example's recipe (default: its 14)")
    parser.add_argument("--target", type=float, default=0.98,
                        help="test accuracy for the time-to-accuracy runs: 0.98 or 98 "
                        "(default 98%%)")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="cap of each time-to-accuracy run (default 300)")
    parser.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads(N) before timing")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the torch.compile setting (CUDA)")
    parser.add_argument("--no-overhead", action="store_true",
                        help="skip fit against a bare loop")
    args = parser.parse_args(argv)
    if args.target > 1:
        args.target /= 100  # accept 98 as well as 0.98
    return args


def main(argv=None):
    """Run the benchmark from the command line (`python3 run.py bench --help`)."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    report = run_benchmark(
        models=args.models, quick=args.quick, window=args.window, rounds=args.rounds,
        target=args.target, data_dir=args.data_dir, device=args.device, repeats=args.repeats,
        example_epochs=args.example_epochs, max_seconds=args.max_seconds,
        compile_models=not args.no_compile, overhead=not args.no_overhead,
    )
    print()
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0
