"""One network timed with both pipelines and in every setting; thread settings on the CPU.

The row of the main table for one model comes from `benchmark_model`: the tutorial
pipeline and each fast-path setting are timed in the same interleaved rounds, so every
ratio in the row compares numbers measured under the same conditions.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from mnistlab.data import SAMPLE_ENV, load_mnist
from mnistlab.loaders import dataset_to_tensors
from mnistlab.models import count_parameters

from .flops import count_macs, training_flops_per_image
from .pipelines import BATCH_SIZE, fast_path_run, settings_for, tutorial_run
from .timing import measure_rates

REPO_ROOT = Path(__file__).resolve().parents[1]


def _failure(err):
    """One line describing why a setting could not run (e.g. torch.compile without a compiler)."""
    first_line = (str(err).splitlines() or [""])[0]
    return f"{type(err).__name__}: {first_line[:120]}"


def effects(fast, tutorial_rate, settings):
    """The effect columns of a row: each a ratio of two runs that differ in one thing.

    * pipeline: the fast path / the tutorial pipeline, both float32 in the default layout;
    * channels_last, bf16 (or fp16): the fast path with only that changed / the fast path;
    * best: the fastest setting of the fast path / the tutorial pipeline (`best_setting`
      says which);
    * compile (CUDA): the same with `torch.compile` / without.
    """
    base = fast["float32"]
    result = {"pipeline": base / tutorial_rate}
    for setting in settings[1:]:
        rate = fast.get(setting.name)
        if not isinstance(rate, float):
            continue
        changed = [setting.channels_last, setting.precision is not None, setting.compile]
        if setting.compile:
            result["compile"] = rate / fast.get(setting.name.replace("+compile", ""), rate)
        elif sum(changed) == 1:
            result["channels_last" if setting.channels_last else setting.precision] = rate / base
    timed = {name: rate for name, rate in fast.items() if isinstance(rate, float)}
    result["best_setting"] = max(timed, key=timed.get)
    result["best"] = timed[result["best_setting"]] / tutorial_rate
    return result


def benchmark_model(name, train_set, images, targets, device, window=1.0, rounds=3,
                    compile_models=True, batch_size=BATCH_SIZE):
    """Time one network with the tutorial pipeline and the fast path in every setting.

    Args:
        name: a model name from `mnistlab.MODELS`.
        train_set: the training dataset (with ToTensor + Normalize) for the DataLoader.
        images, targets: the same training set as tensors, for the TensorLoader.
        window, rounds: how each is timed (see `timing.measure_rates`).
        compile_models: include `torch.compile` (CUDA only).

    Returns a row: sizes, the rates (images/s), the effects, peak memory.
    """
    settings = settings_for(device, name, compile_models)
    runs = {"tutorial": tutorial_run(name, train_set, device, batch_size)}
    failures = {}
    for setting in settings:
        run = fast_path_run(name, images, targets, device, setting, batch_size)
        try:
            run(1)  # compiles, where it compiles; errors show up here
        except Exception as err:  # report the setting as failed, keep the benchmark going
            failures[setting.name] = _failure(err)
            continue
        runs[setting.name] = run
    rates = measure_rates(runs, device, window, rounds)
    model = runs["tutorial"].model
    macs = count_macs(model)
    fast = {label: rate["images_per_s"] for label, rate in rates.items() if label != "tutorial"}
    fast.update(failures)
    tutorial = rates["tutorial"]["images_per_s"]
    return {
        "model": name,
        "params": count_parameters(model),
        "macs_per_image": macs,
        "train_flops_per_image": training_flops_per_image(macs),
        "batch_size": batch_size,
        "tutorial_pipeline_images_per_s": tutorial,
        "fast_path_images_per_s": fast["float32"],
        "fast_path_settings": fast,
        "effects": effects(fast, tutorial, settings),
        "fast_path_flops": fast["float32"] * training_flops_per_image(macs),
        "tutorial_pipeline_peak_mb": rates["tutorial"]["peak_mb"],
        "fast_path_peak_mb": rates["float32"]["peak_mb"],
        "memory_method": rates["float32"]["memory"],
        "rounds": {label: rate["rounds"] for label, rate in rates.items()},
    }


# --- thread settings -------------------------------------------------------------------------


def probe_threads(name, threads, window=1.0):
    """Time the fast path of one model with `threads` CPU threads; return its images/s.

    `benchmark_threads` runs this in a fresh Python process for each setting and round,
    so one process times one window.
    """
    torch.set_num_threads(threads)
    train_set, _ = load_mnist(verbose=False)
    images, targets = dataset_to_tensors(train_set)
    run = fast_path_run(name, images, targets, "cpu")
    return measure_rates({"fast": run}, "cpu", window, rounds=1)["fast"]["images_per_s"]


def thread_settings():
    """The CPU settings worth comparing: 1 thread, and one per core with both wait policies."""
    cores = torch.get_num_threads()  # PyTorch's default: one per core
    settings = [{"threads": 1, "omp_wait_policy": "not set"}]
    if cores > 1:
        settings.append({"threads": cores, "omp_wait_policy": "not set"})
        settings.append({"threads": cores, "omp_wait_policy": "PASSIVE"})
    return settings


def benchmark_threads(name, window=1.0, rounds=3, sample=False):
    """Compare thread settings for the fast path on the CPU, each in a fresh process.

    PyTorch starts one thread per core and splits every operation between them. Between
    operations the OpenMP runtime keeps idle threads spinning for a while (when
    OMP_WAIT_POLICY is not set), which is quick on an idle machine but takes the core
    that a busy machine's other programs need; OMP_WAIT_POLICY=PASSIVE makes them sleep
    instead. The variable is read only when PyTorch loads, so every setting runs in a new
    Python process, in turn, `rounds` times; the fastest round counts.

    Returns a list of {"threads", "omp_wait_policy", "images_per_s"}.
    """
    results = [dict(setting, images_per_s=0.0) for setting in thread_settings()]
    code = (
        "import sys; from benchmarks.speed import probe_threads; "
        "print(probe_threads(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))"
    )
    for _ in range(rounds):
        for result in results:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                path for path in (str(REPO_ROOT), env.get("PYTHONPATH")) if path
            )
            env.pop("OMP_WAIT_POLICY", None)
            if result["omp_wait_policy"] != "not set":
                env["OMP_WAIT_POLICY"] = result["omp_wait_policy"]
            if sample:
                env[SAMPLE_ENV] = "1"
            threads = str(result["threads"])
            command = [sys.executable, "-c", code, name, threads, str(window)]
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"the thread probe {threads} failed:\n{done.stderr[-2000:]}")
            rate = json.loads(done.stdout.strip().splitlines()[-1])
            result["images_per_s"] = max(result["images_per_s"], rate)
    return results
