"""The stopwatch, and the interleaved timing windows that every speed comes from.

Other programs on the machine slow a measurement down, never speed it up. So every
setting is timed in several rounds that alternate between the settings being compared
(a busy moment slows all of them alike), each round a window of about a second of
training rather than a fixed number of batches, and the fastest round counts.
"""

import statistics
import time

import torch

from .machine import peak_memory_mb, reset_peak_memory


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


def take_batches(loader, batches):
    """Yield exactly `batches` batches, starting a new pass (and shuffle) when one runs out."""
    done = 0
    while True:
        for batch in loader:
            yield batch
            done += 1
            if done == batches:
                return


def synchronize(device):
    """Wait until a CUDA device has finished its queued work (elsewhere: nothing to do)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def measure_rates(runs, device, window=1.0, rounds=3, warmup_batches=2):
    """Time several training runs in interleaved windows; return each one's images/s.

    Every run first trains `warmup_batches` untimed batches (memory is allocated and
    kernels are chosen then), then as many again, timed, to estimate its time per batch.
    Then, `rounds` times, each run in turn trains for a window of about `window` seconds;
    the fastest round counts, and every round's rate is kept.

    Args:
        runs: {label: function(batches) -> number of images trained}.
        device: where they train (CUDA work is timed with events).
        window: seconds per run per round; 0 times `warmup_batches` once (quick mode).
        rounds: windows per run.

    Returns:
        {label: {"images_per_s": best, "rounds": [images/s of each round],
        "window_s": [seconds of each window], "batches": per window, "peak_mb", "memory"}}.
    """
    device = torch.device(device)
    batches = {}
    for label, run in runs.items():
        run(warmup_batches)
        batches[label] = warmup_batches
        if window > 0:
            with Stopwatch(device) as watch:
                run(warmup_batches)
            per_batch = watch.seconds / warmup_batches
            batches[label] = max(warmup_batches, round(window / per_batch))
    results = {
        label: {"images_per_s": 0.0, "rounds": [], "window_s": [], "batches": batches[label],
                "peak_mb": 0.0}
        for label in runs
    }
    for _ in range(rounds if window > 0 else 1):
        for label, run in runs.items():
            method = reset_peak_memory(device)
            with Stopwatch(device) as watch:
                images = run(batches[label])
            result = results[label]
            result["rounds"].append(images / watch.seconds)
            result["window_s"].append(watch.seconds)
            result["images_per_s"] = max(result["rounds"])
            result["peak_mb"] = max(result["peak_mb"], peak_memory_mb(device, method))
            result["memory"] = method
    return results


def paired_ratio(numerator, denominator):
    """The median, over rounds, of one run's rate divided by another's in the same round.

    Both runs of a round saw the same conditions on the machine, so their ratio is steadier
    than a ratio of two best rounds. Takes two `measure_rates` results.
    """
    ratios = [a / b for a, b in zip(numerator["rounds"], denominator["rounds"])]
    return statistics.median(ratios)
