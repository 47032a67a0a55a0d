"""Facts about the machine a benchmark ran on: CPU, threads, memory.

Every table starts with these, because a speed means little without the machine behind it.
The memory functions measure what the process (or the GPU) holds while a run trains.
"""

import os
import platform
import sys
from pathlib import Path

import torch

from mnistlab.device import describe_device

try:
    import resource  # Unix only; peak memory falls back to it where /proc is missing
except ImportError:  # Windows
    resource = None


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
    """Return True when the CPU multiplies bfloat16 in hardware (AMX or AVX-512 BF16).

    Without it PyTorch still computes in bfloat16, by converting, which is usually slower
    than float32: the precision column then shows a slowdown, which is the right answer.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def cpu_busy_fraction(seconds=1.0):
    """Return the share of CPU time other programs used during `seconds` (Linux; else None).

    Measured before the benchmark starts: a busy machine gives lower and noisier numbers.
    """
    import time

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
    """Describe the machine: CPU, cores, threads, PyTorch, the device, how busy it was."""
    device = torch.device(device)
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    info = {
        "cpu": cpu_name(),
        "cpu_count": cores,
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "not set"),
        "native_bfloat16": cpu_has_native_bfloat16(),
        "busy_before": cpu_busy_fraction(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": describe_device(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


# --- memory ----------------------------------------------------------------------------------


def reset_peak_memory(device):
    """Start a new peak-memory measurement; return the method `peak_memory_mb` must use.

    On CUDA it is the memory PyTorch allocated on the GPU. On Linux it is the process's
    peak resident memory (VmHWM), which writing "5" to /proc/self/clear_refs resets, so
    each measurement gets its own number. Elsewhere only `ru_maxrss` is available: the
    peak of the whole process since it started, which never goes down.
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


def _status_mb(field):
    """A memory line of /proc/self/status in MiB (Linux only, else None)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    except OSError:
        pass
    return None


def current_memory_mb():
    """Return the memory the process holds now (resident set, MiB; Linux only, else None)."""
    return _status_mb("VmRSS")


def peak_memory_mb(device, method):
    """Return the peak memory in MiB since `reset_peak_memory` (see there for what it counts)."""
    if method == "cuda":
        return torch.cuda.max_memory_allocated(torch.device(device)) / 2**20
    if method == "vmhwm":
        peak = _status_mb("VmHWM")
        if peak is not None:
            return peak
    if resource is None:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # macOS: bytes; Linux: kB
