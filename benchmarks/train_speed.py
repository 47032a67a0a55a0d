"""How fast does training run? The seeds' DataLoader pipeline against the package's fast path.

Run it from the repository root with one command:

    python3 run.py bench                        # every network (a few minutes on 2 cores)
    python3 run.py bench --quick                # a few batches per network, to check it works
    python3 run.py bench --models cnn_bn --json bench.json

For every network it trains the same model, with the same batch size (100) and the same
optimizer (Adam), in two ways:

* **the seeds' pipeline**: `torchvision.datasets.MNIST` with ToTensor + Normalize, a plain
  `DataLoader`, and a loop that reads `loss.item()` after every batch. Every digit is turned
  into a PIL image and back into a tensor, every epoch;
* **the package's fast path**: `mnistlab.fit` on a `TensorLoader`, which keeps the whole split
  as one normalised tensor on the device and only draws a new order each epoch.

It prints one table: images per second of both and their ratio; the training FLOP rate the
fast path reaches (multiply-adds counted with forward hooks, times 2 FLOPs each, times 3 for
the forward pass and the two halves of the backward pass) as a share of the rate a large
float32 matrix product reaches on the same machine, in the same run (the practical peak);
and peak memory. Then it times how long `cnn_bn` takes to reach a target test accuracy, on
the data `load_mnist()` gives and on the genuine MNIST files in `../shared/mnist` when that
folder exists. On the CPU it also compares thread counts and the channels-last layout (and
bfloat16 where the CPU computes it natively); on a CUDA GPU, mixed precision, channels-last
and `torch.compile`, timed with CUDA events.

Timings move with whatever else the machine is doing: each number is the best of a few
short rounds that alternate between the variants, so both sides of a ratio see the same
conditions. The README shows the latest table and the machine it came from.
"""

import argparse
import copy
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from mnistlab.data import (
    SAMPLE_ENV,
    MNISTFilesCorrupt,
    MNISTSample,
    MNISTUnavailable,
    TensorLoader,
    dataset_to_tensors,
    load_mnist,
    torchvision_mnist,
)
from mnistlab.device import describe_device, get_device
from mnistlab.models import BNCNN, IMAGE_SHAPE, MODELS, build_model, count_parameters
from mnistlab.training import evaluate, fit, train_one_epoch

try:
    import resource  # Unix only; peak memory falls back to it where /proc is missing
except ImportError:  # Windows
    resource = None

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_MNIST = REPO_ROOT.parent / "shared" / "mnist"  # genuine files, when present
BATCH_SIZE = 100  # the seeds' batch size: both pipelines use it, so only the data path differs
LEARNING_RATE = 1e-3  # Adam's default, as in most seeds; the speed does not depend on it
GENUINE_TRAIN_IMAGES = 6_000  # the time-to-accuracy run trains on the first 6,000 genuine digits
CNN_MODELS = ("cnn", "lenet", "cnn_wide", "cnn_deep", "cnn_bn")


@dataclass
class Recipe:
    """How `cnn_bn` is trained in the time-to-accuracy run (the fast path's recipe).

    Args:
        width: channels of BNCNN's first block (the package's `cnn_bn` uses 32).
        batch_size: examples per step.
        epochs: length of the one-cycle schedule; training stops early at the target.
        max_lr: the peak learning rate of `OneCycleLR` (AdamW).
        weight_decay: AdamW's decoupled weight decay.
        channels_last: store activations as (N, H, W, C), which CPU and GPU convolutions prefer.
        eval_batch_size: test images per evaluation batch.
    """

    width: int = 32
    batch_size: int = 64
    epochs: int = 4
    max_lr: float = 5e-3
    weight_decay: float = 1e-4
    channels_last: bool = True
    eval_batch_size: int = 500


# --- the machine -------------------------------------------------------------------------


def cpu_name():
    """Return the CPU's model name (from /proc/cpuinfo on Linux, else from `platform`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_has_native_bfloat16():
    """Return True when the CPU multiplies bfloat16 in hardware (AMX or AVX-512 BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def cpu_busy_fraction(seconds=1.0):
    """Return the share of CPU time other programs used during `seconds` (Linux; else None).

    Measured before the benchmark starts: a busy machine gives lower and noisier numbers.
    """
    def busy_and_total():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle and waiting for the disk
        return sum(fields[:8]) - idle, sum(fields[:8])

    try:
        busy_start, total_start = busy_and_total()
        time.sleep(seconds)
        busy_end, total_end = busy_and_total()
    except (OSError, ValueError, IndexError):
        return None
    return (busy_end - busy_start) / max(total_end - total_start, 1)


def machine_info(device):
    """Describe the machine a benchmark ran on: CPU, cores, threads, PyTorch, device."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {
        "cpu": cpu_name(),
        "cpu_count": cores,
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "not set"),
        "busy_before": cpu_busy_fraction(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": describe_device(device),
    }


class Stopwatch:
    """Time a block of code in seconds; on a CUDA device with CUDA events.

    A GPU runs its work in the background, so a CPU clock alone would stop before the
    GPU had finished. On CUDA, events recorded in the GPU's own queue are waited for at
    the end; on Apple's MPS the clock waits for the GPU (torch.mps.synchronize).

        with Stopwatch(device) as watch:
            ...
        watch.seconds
    """

    def __init__(self, device):
        self.device = torch.device(device)
        self.seconds = None

    def _wait_for_device(self):
        if self.device.type == "mps":
            torch.mps.synchronize()

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.start_event = torch.cuda.Event(enable_timing=True)
            self.end_event = torch.cuda.Event(enable_timing=True)
            self.start_event.record()
        else:
            self._wait_for_device()
            self.start = time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        if self.device.type == "cuda":
            self.end_event.record()
            self.end_event.synchronize()
            self.seconds = self.start_event.elapsed_time(self.end_event) / 1000  # ms -> s
        else:
            self._wait_for_device()
            self.seconds = time.perf_counter() - self.start
        return False


def matmul_flops(device, size=None, repeats=5):
    """Return the FLOP rate of a large float32 matrix product: the machine's practical peak.

    Multiplying two (n, n) matrices takes n^3 multiply-adds, 2 * n^3 FLOPs; the best of
    `repeats` runs counts, as the one least disturbed by other programs.

    Args:
        device: where to multiply.
        size: n; default 2048 on a CPU (enough to keep a few cores busy), 8192 on a GPU.
        repeats: timed products after one untimed warm-up.
    """
    device = torch.device(device)
    size = size or (8192 if device.type == "cuda" else 2048)
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up: the first product loads and tunes the kernels
    best = math.inf
    for _ in range(repeats):
        with Stopwatch(device) as watch:
            a @ b
        best = min(best, watch.seconds)
    return 2 * size**3 / best


# --- counting the work -------------------------------------------------------------------


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
    """FLOPs to train on one image: 2 per multiply-add, times 3 (forward, and the backward
    pass's gradients for the inputs and for the weights)."""
    return 3 * 2 * macs


# --- peak memory -------------------------------------------------------------------------


def reset_peak_memory(device):
    """Start a new peak-memory measurement; return the method `peak_memory_mb` must use.

    On CUDA it is the memory PyTorch allocated on the GPU. On Linux it is the process's
    peak resident memory (VmHWM), which writing "5" to /proc/self/clear_refs resets, so
    each variant gets its own number. Elsewhere only `ru_maxrss` is available: the peak
    of the whole process since it started, which never goes down.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return "cuda"
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return "vmhwm"
    except OSError:
        return "ru_maxrss"


def current_memory_mb():
    """Return the memory the process holds now (resident set, MiB; Linux only, else None)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    except OSError:
        pass
    return None


def peak_memory_mb(device, method):
    """Return the peak memory in MiB since `reset_peak_memory` (see there for what it counts)."""
    if method == "cuda":
        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**20
    if method == "vmhwm":
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    if resource is None:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # macOS: bytes; Linux: kB


# --- the two pipelines -------------------------------------------------------------------


def take_batches(loader, batches):
    """Yield exactly `batches` batches, starting a new pass (and shuffle) when one runs out."""
    done = 0
    while True:
        for batch in loader:
            yield batch
            done += 1
            if done == batches:
                return


def seed_style_steps(model, loader, optimizer, batches, device):
    """Train for `batches` batches the way the seeds do; return the number of images used.

    Batches come from a DataLoader over torchvision's MNIST (ToTensor + Normalize on every
    digit), are moved to the device one by one, and the loss is read back with
    `loss.item()` after every step, which makes the CPU wait for the device each time.
    """
    model.train()
    running_loss, images = 0.0, 0
    for x, y in take_batches(loader, batches):
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # the seeds' habit: the CPU waits for the device here
        images += len(y)
    return images


def dataloader_steps(loader, batches):
    """Only draw `batches` batches from a DataLoader, without training; return the image count.

    This is the cost the seeds' pipeline adds to every training step, whatever the model.
    """
    return sum(len(y) for _, y in take_batches(loader, batches))


def fast_path_steps(model, images, targets, optimizer, batches, batch_size, device):
    """Train for about `batches` batches with `mnistlab.fit` on a `TensorLoader`.

    The loader holds the first `batches * batch_size` images (or all of them, for several
    epochs), already normalised and on the device; `fit` runs whole epochs. Returns the
    number of images used.
    """
    n = min(len(targets), batches * batch_size)
    loader = TensorLoader(
        images[:n], targets[:n], batch_size=batch_size, shuffle=True, device=device, seed=0
    )
    epochs = math.ceil(batches * batch_size / n)
    is_cnn = any(isinstance(layer, nn.Conv2d) for layer in model.modules())
    fit(model, loader, optimizer, epochs=epochs, progress=False, verbose=False,
        channels_last=is_cnn)
    return epochs * n


def variant_steps(model, loader, optimizer, batches, autocast_dtype=None, channels_last=False):
    """Train for `batches` batches from a TensorLoader with optional speed-ups; return images.

    Args:
        autocast_dtype: torch.bfloat16 or torch.float16 for mixed precision, None for float32.
        channels_last: convert each batch to the channels-last layout (the model should be
            converted too, with `model.to(memory_format=torch.channels_last)`).
    """
    model.train()
    device_type = loader.device.type
    use_scaler = autocast_dtype == torch.float16  # float16 gradients can underflow without it
    scaler = torch.amp.GradScaler(device_type) if use_scaler else None
    mixed = autocast_dtype is not None
    images = 0
    for x, y in take_batches(loader, batches):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=autocast_dtype, enabled=mixed):
            loss = F.cross_entropy(model(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        images += len(y)
    if device_type == "cuda":
        torch.cuda.synchronize()
    return images


def measure_rates(runs, device, seconds=2.0, rounds=3, min_batches=2):
    """Time several training runs in turn; return each one's best images/s and peak memory.

    Every run first trains `min_batches` untimed batches (memory is allocated and kernels
    are chosen then), then `min_batches` timed ones to estimate the time per batch. Then,
    `rounds` times, each run trains for about `seconds / rounds` seconds, one after the
    other, so that a busy moment on the machine slows all of them alike; the best round
    counts.

    Args:
        runs: {label: function(batches) -> number of images trained}.
        device: where they train (CUDA work is timed with events).
        seconds: time each run should be measured in total; 0 measures `min_batches` once.

    Returns:
        {label: {"images_per_s": ..., "peak_mb": ..., "batches": ..., "memory": method}}.
    """
    device = torch.device(device)
    seconds_per_batch = {}
    for label, run in runs.items():
        run(min_batches)
        if seconds > 0:
            with Stopwatch(device) as watch:
                run(min_batches)
            seconds_per_batch[label] = watch.seconds / min_batches
    results = {label: {"images_per_s": 0.0, "peak_mb": 0.0, "batches": 0} for label in runs}
    for _ in range(rounds if seconds > 0 else 1):
        for label, run in runs.items():
            batches = min_batches
            if seconds > 0:
                batches = max(min_batches, round(seconds / rounds / seconds_per_batch[label]))
            method = reset_peak_memory(device)
            with Stopwatch(device) as watch:
                images = run(batches)
            result = results[label]
            result["images_per_s"] = max(result["images_per_s"], images / watch.seconds)
            result["peak_mb"] = max(result["peak_mb"], peak_memory_mb(device, method))
            result["batches"] = batches
            result["memory"] = method
    return results


def benchmark_model(
    name, train_set, images, targets, device, seconds=2.0, rounds=3, batch_size=BATCH_SIZE
):
    """Measure one network with the seeds' pipeline and with the fast path; return a table row.

    Args:
        name: a model name from `mnistlab.MODELS`.
        train_set: the training dataset (with ToTensor + Normalize) for the DataLoader.
        images, targets: the same training set as tensors on `device`, for the TensorLoader.
        seconds, rounds: how long to measure each pipeline (see `measure_rates`).
    """
    seed_model = build_model(name, seed=0).to(device)
    fast_model = build_model(name, seed=0).to(device)
    seed_optimizer = torch.optim.Adam(seed_model.parameters(), lr=LEARNING_RATE)
    fast_optimizer = torch.optim.Adam(fast_model.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)  # as the seeds wrote it

    def seed_run(batches):
        return seed_style_steps(seed_model, loader, seed_optimizer, batches, device)

    def fast_run(batches):
        return fast_path_steps(
            fast_model, images, targets, fast_optimizer, batches, batch_size, device
        )

    rates = measure_rates({"seed": seed_run, "fast": fast_run}, device, seconds, rounds)
    macs = count_macs(seed_model)
    seed, fast = rates["seed"], rates["fast"]
    return {
        "model": name,
        "params": count_parameters(seed_model),
        "macs_per_image": macs,
        "train_flops_per_image": training_flops_per_image(macs),
        "batch_size": batch_size,
        "seed_images_per_s": seed["images_per_s"],
        "fast_images_per_s": fast["images_per_s"],
        "ratio": fast["images_per_s"] / seed["images_per_s"],
        "fast_flops": fast["images_per_s"] * training_flops_per_image(macs),
        "seed_peak_mb": seed["peak_mb"],
        "fast_peak_mb": fast["peak_mb"],
        "memory_method": fast["memory"],
        "seed_batches": seed["batches"],
        "fast_batches": fast["batches"],
    }


# --- variants: threads, layouts, precision, compilation ------------------------------------


def variant_names(device, model_name, compile_models=True):
    """The speed variants worth timing for one model on this device."""
    device = torch.device(device)
    is_cnn = model_name in CNN_MODELS
    if device.type == "cuda":
        names = ["float32", "amp"]
        if is_cnn:
            names += ["channels_last", "amp+channels_last"]
        if compile_models:
            names.append("amp+channels_last+compile" if is_cnn else "amp+compile")
        return names
    if device.type == "cpu" and is_cnn:
        names = ["float32", "channels_last"]
        if cpu_has_native_bfloat16():
            names.append("bf16+channels_last")
        return names
    return []


def benchmark_variants(
    name, images, targets, device, seconds=2.0, rounds=3, batch_size=BATCH_SIZE,
    compile_models=True,
):
    """Time one model's speed variants on a TensorLoader; return {variant: images/s}.

    Each variant is a fresh model trained by `variant_steps`: "float32" is the plain loop
    (the reference), "channels_last" stores activations as (N, H, W, C), "amp" and "bf16"
    use mixed precision (`torch.autocast`: bfloat16, or float16 with a gradient scaler on
    GPUs without bfloat16), "compile" runs the model through `torch.compile`. A variant
    that fails (for example `torch.compile` without a C compiler) is reported, not fatal.
    """
    device = torch.device(device)
    names = variant_names(device, name, compile_models)
    if not names:
        return {}
    loader = TensorLoader(
        images, targets, batch_size=batch_size, shuffle=True, device=device, seed=0,
        drop_last=True,
    )
    half = torch.float16
    if device.type == "cpu" or torch.cuda.is_bf16_supported():
        half = torch.bfloat16
    runs, errors = {}, {}
    for variant in names:
        model = build_model(name, seed=0).to(device)
        channels_last = "channels_last" in variant
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        if "compile" in variant:
            model = torch.compile(model)
        autocast_dtype = half if ("amp" in variant or "bf16" in variant) else None

        def run(batches, model=model, optimizer=optimizer, dtype=autocast_dtype, cl=channels_last):
            return variant_steps(model, loader, optimizer, batches, dtype, cl)

        try:
            run(1)  # compiles, where it compiles; errors show up here
        except Exception as err:  # report the variant as failed, keep the benchmark going
            first_line = (str(err).splitlines() or [""])[0]
            errors[variant] = f"{type(err).__name__}: {first_line[:120]}"
            continue
        runs[variant] = run
    rates = measure_rates(runs, device, seconds, rounds)
    result = {variant: rates[variant]["images_per_s"] for variant in runs}
    result.update(errors)
    return result


def probe_threads(name, threads, seconds=2.0):
    """Time the fast path of one model and a matrix product with `threads` CPU threads.

    `benchmark_threads` runs this in a fresh Python process for each setting. Returns
    {"images_per_s": ..., "matmul_flops": ...}.
    """
    torch.set_num_threads(threads)
    train_set, _ = load_mnist(verbose=False)
    images, targets = dataset_to_tensors(train_set)
    model = build_model(name, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

    def run(batches):
        return fast_path_steps(model, images, targets, optimizer, batches, BATCH_SIZE, "cpu")

    rates = measure_rates({"fast": run}, "cpu", seconds, rounds=1)
    return {"images_per_s": rates["fast"]["images_per_s"], "matmul_flops": matmul_flops("cpu")}


def thread_settings():
    """The CPU settings worth comparing: 1 thread, and one per core with both wait policies."""
    cores = torch.get_num_threads()  # PyTorch's default: one per core
    settings = [{"threads": 1, "omp_wait_policy": "not set"}]
    if cores > 1:
        settings.append({"threads": cores, "omp_wait_policy": "not set"})
        settings.append({"threads": cores, "omp_wait_policy": "PASSIVE"})
    return settings


def benchmark_threads(name, seconds=2.0, rounds=3, sample=False):
    """Compare thread settings for the fast path on the CPU, each in a fresh process.

    PyTorch starts one thread per core and splits every operation between them. Between
    operations the OpenMP runtime keeps idle threads spinning for a while (when
    OMP_WAIT_POLICY is not set), which is quick on an idle machine but takes the core
    that a busy machine's other programs, or the other thread, need;
    OMP_WAIT_POLICY=PASSIVE makes them sleep instead. The variable is read only when
    PyTorch loads, so every setting runs in a new Python process, in turn, `rounds` times.

    Args:
        name: the model to time.
        seconds: time each setting is measured, in total.
        sample: give the processes MNISTLAB_SAMPLE=1 (use it when the run uses the sample).

    Returns:
        A list of {"threads", "omp_wait_policy", "images_per_s", "matmul_flops"}.
    """
    results = [dict(setting, images_per_s=0.0, matmul_flops=0.0) for setting in thread_settings()]
    here = str(Path(__file__).resolve().parent)  # so the process finds this file
    code = (
        "import json, sys; from train_speed import probe_threads; "
        "print(json.dumps(probe_threads(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))))"
    )
    for _ in range(rounds):
        for result in results:
            env = dict(os.environ)
            paths = [here, env.get("PYTHONPATH")]
            env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
            env.pop("OMP_WAIT_POLICY", None)
            if result["omp_wait_policy"] != "not set":
                env["OMP_WAIT_POLICY"] = result["omp_wait_policy"]
            if sample:
                env[SAMPLE_ENV] = "1"
            threads = str(result["threads"])
            command = [sys.executable, "-c", code, name, threads, str(seconds / rounds)]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"the thread probe {threads} failed:\n{done.stderr[-2000:]}")
            numbers = json.loads(done.stdout.strip().splitlines()[-1])
            result["images_per_s"] = max(result["images_per_s"], numbers["images_per_s"])
            result["matmul_flops"] = max(result["matmul_flops"], numbers["matmul_flops"])
    return results


# --- time to accuracy --------------------------------------------------------------------


def time_to_accuracy(
    train_images, train_targets, test_images, test_targets, device, target=0.98,
    max_seconds=120.0, recipe=None, max_batches=None, seed=0,
):
    """Train BNCNN with the fast path until the test accuracy reaches `target`; report the time.

    The clock starts when the model is built (the data are already on the device) and
    includes the evaluation on the whole test set after every epoch. Training stops at
    the first epoch that reaches the target, at the end of the schedule, or at the first
    epoch end after `max_seconds`.

    Args:
        train_images, train_targets, test_images, test_targets: normalised tensors.
        device: where to train.
        target: test accuracy to reach, as a fraction (0.98 is 98%).
        max_seconds: give up after this long.
        recipe: a `Recipe` (default `Recipe()`).
        max_batches: train on only this many batches, for one epoch, and evaluate on the
            first 500 test images (the smoke test's quick mode; the accuracy means nothing).
        seed: seeds the weights and the shuffling.

    Returns:
        {"train_images", "test_images", "reached", "seconds", "train_seconds", "epochs",
        "accuracy", "history"}, where history lists (seconds so far, test accuracy) after
        each epoch.
    """
    recipe = recipe or Recipe()
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
    model = BNCNN(width=recipe.width).to(device)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=recipe.max_lr, weight_decay=recipe.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.max_lr, total_steps=epochs * len(train_loader), pct_start=0.25
    )
    history, train_seconds, accuracy = [], 0.0, 0.0
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        train_one_epoch(model, train_loader, optimizer, scheduler=scheduler, epoch=epoch)
        train_seconds += time.perf_counter() - epoch_start
        accuracy = evaluate(model, test_loader)["accuracy"]  # reads back a number: device synced
        history.append((time.perf_counter() - start, accuracy))
        if accuracy >= target or history[-1][0] > max_seconds:
            break
    return {
        "train_images": len(train_targets),
        "test_images": len(test_targets),
        "reached": accuracy >= target,
        "seconds": history[-1][0],
        "train_seconds": train_seconds,
        "epochs": len(history),
        "accuracy": accuracy,
        "history": history,
    }


def genuine_mnist(folder):
    """Return (train_set, test_set) read from the genuine MNIST files in `folder`, or None.

    `folder` holds `MNIST/raw/` in torchvision's layout (the repository's `../shared/mnist`
    has the first 6,000 official training images and the official 10,000 test images).
    Nothing is downloaded or copied; a missing or damaged folder gives None and a message.
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


# --- the whole run -----------------------------------------------------------------------


def run_benchmark(
    models=None, quick=False, seconds=2.0, rounds=3, target=0.98, shared_mnist=None,
    device=None, max_seconds=120.0, compile_models=True, recipe=None, verbose=True,
):
    """Run every measurement and return the report (a dict that `json.dump` can write).

    Args:
        models: model names (default: all of `mnistlab.MODELS`).
        quick: a few batches per measurement and one step of time-to-accuracy: checks
            that everything runs, in seconds; the numbers mean little.
        seconds: how long each pipeline (and variant) of each model is timed.
        rounds: alternating rounds per measurement; the best counts.
        target: the test accuracy the time-to-accuracy runs aim for (fraction).
        shared_mnist: folder with genuine MNIST files (`MNIST/raw/`), or None to skip them.
        device: default `get_device()`.
        max_seconds: cap of each time-to-accuracy run.
        compile_models: include the `torch.compile` variant on CUDA.
        recipe: the time-to-accuracy `Recipe` (default `Recipe()`).
        verbose: print a line as each part starts.
    """
    device = torch.device(device) if device is not None else get_device()
    models = list(models or MODELS)
    recipe = recipe or Recipe()
    if quick:
        seconds, rounds = 0.0, 1
    say = print if verbose else (lambda *args, **kwargs: None)

    report = {"machine": machine_info(device)}
    train_set, test_set = load_mnist(verbose=verbose)
    sample = isinstance(train_set, MNISTSample)
    data_name = "offline sample" if sample else "torchvision MNIST"
    images, targets = (t.to(device) for t in dataset_to_tensors(train_set))
    report["settings"] = {
        "models": models, "quick": quick, "seconds": seconds, "rounds": rounds,
        "batch_size": BATCH_SIZE, "optimizer": f"Adam(lr={LEARNING_RATE})",
        "data": data_name, "train_images": len(train_set), "target": target,
        "recipe": asdict(recipe),
    }

    # 1. The practical peak, and what the DataLoader alone costs per image.
    report["matmul_size"] = 512 if quick else (8192 if device.type == "cuda" else 2048)
    peak = matmul_flops(device, size=report["matmul_size"], repeats=2 if quick else 5)
    say(f"matrix-multiply peak: {peak / 1e9:,.1f} GFLOP/s", flush=True)
    loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
    loading = measure_rates(
        {"loader": lambda batches: dataloader_steps(loader, batches)}, "cpu", seconds, rounds
    )
    loader_rate = report["dataloader_images_per_s"] = loading["loader"]["images_per_s"]

    # 2. Every model: the two pipelines, then the speed variants.
    report["memory_before_mb"] = current_memory_mb()  # PyTorch, the data: before any training
    report["rows"], report["variants"] = [], {}
    for name in models:
        say(f"timing {name} ...", flush=True)
        row = benchmark_model(name, train_set, images, targets, device, seconds, rounds)
        report["rows"].append(row)
        variant_rates = benchmark_variants(
            name, images, targets, device, seconds, rounds,
            compile_models=compile_models and not quick,  # compiling takes tens of seconds
        )
        if variant_rates:
            report["variants"][name] = variant_rates
        if not quick:  # re-measured between models: the best of all counts
            peak = max(peak, matmul_flops(device, size=report["matmul_size"], repeats=2))
    report["matmul_flops"] = peak
    for row in report["rows"]:
        row["peak_fraction"] = row["fast_flops"] / peak
        # Were both pipelines equally fast at computing, the ratio would be
        # 1 + (DataLoader time per image) / (fast path time per image):
        row["ratio_ceiling"] = 1 + row["fast_images_per_s"] / loader_rate

    # 3. Thread settings (CPU only; each needs a new process, so full runs only).
    if device.type == "cpu" and not quick:
        name = "cnn_bn" if "cnn_bn" in models else models[-1]
        say(f"comparing thread settings with {name}, each in a new process ...", flush=True)
        results = benchmark_threads(name, seconds, rounds, sample)
        report["threads"] = {"model": name, "results": results}

    # 4. Time to the target accuracy: on load_mnist()'s data, and on the genuine files.
    test_images, test_targets = (t.to(device) for t in dataset_to_tensors(test_set))
    data_sets = [(f"{data_name} (load_mnist)", images, targets, test_images, test_targets)]
    genuine = genuine_mnist(shared_mnist)
    if genuine is not None:
        (x_train, y_train), (x_test, y_test) = (dataset_to_tensors(split) for split in genuine)
        n = GENUINE_TRAIN_IMAGES
        data_sets.append((
            "genuine MNIST files", x_train[:n].to(device), y_train[:n].to(device),
            x_test.to(device), y_test.to(device),
        ))
    report["time_to_accuracy"] = []
    for label, *tensors in data_sets:
        say(f"time to {target:.1%} on {label} ...", flush=True)
        result = time_to_accuracy(
            *tensors, device=device, target=target, max_seconds=max_seconds, recipe=recipe,
            max_batches=1 if quick else None,
        )
        report["time_to_accuracy"].append(dict(result, data=label))
    return report


# --- printing ------------------------------------------------------------------------------


def _busy_warning(machine):
    """A line warning that other programs were busy when the benchmark started, if they were."""
    busy = machine.get("busy_before")
    if busy is None or busy < 0.2:
        return []
    return [
        f"note: other programs used {busy:.0%} of the CPU just before this started, so these "
        "numbers are lower (and noisier) than the machine's best."
    ]


def _format_variants(report):
    """The variants as a small table: img/s, ratio to the seeds' pipeline, % of the peak."""
    rows = {row["model"]: row for row in report["rows"]}
    names = []
    for rates in report["variants"].values():
        names += [variant for variant in rates if variant not in names]
    width = max(22, *(len(name) + 2 for name in names))
    lines = [
        "variants (a plain loop on a TensorLoader): img/s, ratio to the seeds' pipeline, % peak",
        f"{'model':<9} " + "".join(f"{name:>{width}}" for name in names),
    ]
    failures = []
    for model, rates in report["variants"].items():
        cells = []
        for name in names:
            rate = rates.get(name)
            if rate is None:
                cells.append("-")
            elif isinstance(rate, str):  # the error message of a variant that failed
                cells.append("failed")
                failures.append(f"{model} {name}: {rate}")
            else:
                ratio = rate / rows[model]["seed_images_per_s"]
                share = ""
                if "amp" not in name and "bf16" not in name:
                    flops = rate * rows[model]["train_flops_per_image"]
                    share = f"{flops / report['matmul_flops']:.0%}"
                cells.append(f"{rate:>8,.0f} {ratio:>5.1f}x {share:>4}")
        lines.append((f"{model:<9} " + "".join(f"{cell:>{width}}" for cell in cells)).rstrip())
    return lines + [f"failed: {failure}" for failure in failures]


def format_report(report):
    """Return the report as text: the machine, one table of speeds, variants, time to accuracy."""
    machine, settings = report["machine"], report["settings"]
    lines = [
        f"machine: {machine['cpu']}, {machine['usable_cores']} usable of "
        f"{machine['cpu_count']} cores; PyTorch {machine['torch']}",
        f"device: {machine['device']}, OMP_WAIT_POLICY {machine['omp_wait_policy']}",
        *_busy_warning(machine),
        f"data: {settings['data']}, {settings['train_images']:,} training images; batch "
        f"{settings['batch_size']}, {settings['optimizer']}; best of {settings['rounds']} "
        f"round(s)" + (" (quick mode: the numbers mean little)" if settings["quick"] else ""),
        f"matrix-multiply peak (float32, {report['matmul_size']}x{report['matmul_size']}): "
        f"{report['matmul_flops'] / 1e9:,.1f} GFLOP/s",
        "",
    ]
    header = (
        f"{'model':<9} {'params':>8} {'MACs/img':>11} {'seed img/s':>11} {'fast img/s':>11} "
        f"{'ratio':>6} {'ceiling':>7} {'GFLOP/s':>8} {'% peak':>7} {'peak MB':>8}"
    )
    lines += [header, "-" * len(header)]
    for row in report["rows"]:
        lines.append(
            f"{row['model']:<9} {row['params']:>8,} {row['macs_per_image']:>11,} "
            f"{row['seed_images_per_s']:>11,.0f} {row['fast_images_per_s']:>11,.0f} "
            f"{row['ratio']:>5.1f}x {row['ratio_ceiling']:>6.1f}x {row['fast_flops'] / 1e9:>8.1f} "
            f"{row['peak_fraction']:>7.0%} {row['fast_peak_mb']:>8,.0f}"
        )
    memory = report["rows"][0]["memory_method"] if report["rows"] else "vmhwm"
    lines += [
        "seed: torchvision MNIST + DataLoader + loss.item() every step; fast: mnistlab.fit on "
        "a TensorLoader.",
        f"ceiling: 1 + fast img/s / {report['dataloader_images_per_s']:,.0f} (the DataLoader "
        "alone, img/s): the ratio if the",
        "  pipelines differed only by the DataLoader's own time.",
        "GFLOP/s, % peak: the fast path at 6 FLOPs per multiply-add; share of the matrix "
        "multiply's rate.",
    ]
    if machine["device"].startswith("cuda"):
        lines.append(
            "On CUDA, convolutions use TF32 by default (torch.backends.cudnn.allow_tf32) while "
            "the float32 matrix product does not, so a CNN can pass 100% of that peak."
        )
    lines.append({
        "vmhwm": "peak MB: peak resident memory of the process while the fast path ran",
        "ru_maxrss": "peak MB: the process's peak resident memory since it started "
                     "(ru_maxrss only grows, so later rows include earlier ones)",
        "cuda": "peak MB: GPU memory allocated by PyTorch while the fast path ran",
    }[memory])
    if memory != "cuda" and report.get("memory_before_mb"):
        lines[-1] += (
            f";\n  it held {report['memory_before_mb']:,.0f} MB before any training "
            "(PyTorch, the data)"
        )
    lines[-1] += "."

    if report["variants"]:
        lines += ["", *_format_variants(report)]

    if "threads" in report:
        threads = report["threads"]
        lines += ["", f"thread settings ({threads['model']}, fast path, each in a new process):"]
        for r in threads["results"]:
            setting = f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}, "
            setting += f"OMP_WAIT_POLICY {r['omp_wait_policy']}"
            lines.append(
                f"  {setting:<38} {r['images_per_s']:>7,.0f} img/s   matrix multiply "
                f"{r['matmul_flops'] / 1e9:,.1f} GFLOP/s"
            )

    recipe = settings["recipe"]
    lines += [
        "",
        f"time to {settings['target']:.1%} test accuracy: BNCNN(width={recipe['width']}), "
        f"AdamW + OneCycleLR (max lr {recipe['max_lr']},",
        f"{recipe['epochs']} epochs planned), batch {recipe['batch_size']}"
        + (", channels-last" if recipe["channels_last"] else "")
        + "; the clock includes testing after every epoch",
    ]
    header = (
        f"{'data':<36} {'train':>6} {'test':>6} {'reached':>7} {'seconds':>8} "
        f"{'(training)':>10} {'epochs':>6} {'test acc':>8}"
    )
    lines += [header, "-" * len(header)]
    for r in report["time_to_accuracy"]:
        lines.append(
            f"{r['data']:<36} {r['train_images']:>6,} {r['test_images']:>6,} "
            f"{'yes' if r['reached'] else 'no':>7} {r['seconds']:>8.1f} "
            f"{r['train_seconds']:>10.1f} {r['epochs']:>6} {r['accuracy']:>8.2%}"
        )
    return "\n".join(lines)


def write_json(report, path):
    """Write the report as JSON."""
    Path(path).write_text(json.dumps(report, indent=2) + "\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 run.py bench",
        description="Training speed of every mnistlab network: the seeds' DataLoader "
        "pipeline against the package's fast path, and time to a target accuracy.",
    )
    parser.add_argument(
        "--models", nargs="+", choices=list(MODELS), default=list(MODELS), metavar="NAME",
        help=f"networks to time (default: all of {', '.join(MODELS)})",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="a few batches per measurement: checks that everything runs, in seconds",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    parser.add_argument(
        "--seconds", type=float, default=2.0,
        help="seconds each pipeline of each model is timed (default 2)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds per measurement (default 3)"
    )
    parser.add_argument(
        "--target", type=float, default=0.98,
        help="test accuracy for the time-to-accuracy runs: 0.98 or 98 (default 98%%)",
    )
    parser.add_argument(
        "--max-seconds", type=float, default=120.0,
        help="cap of each time-to-accuracy run (default 120)",
    )
    parser.add_argument(
        "--shared-mnist", metavar="PATH", default=str(DEFAULT_SHARED_MNIST),
        help="folder with genuine MNIST in torchvision's layout (default: ../shared/mnist "
        "next to the repository); skipped when absent",
    )
    parser.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads(N) before timing")
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the torch.compile variant (CUDA)"
    )
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
        models=args.models, quick=args.quick, seconds=args.seconds, rounds=args.rounds,
        target=args.target, shared_mnist=args.shared_mnist, device=args.device,
        max_seconds=args.max_seconds, compile_models=not args.no_compile,
    )
    print()
    print(format_report(report))
    if args.json:
        write_json(report, args.json)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
