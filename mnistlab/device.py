"""Choosing where to compute: one helper picks CUDA, then Apple's MPS, then the CPU.

Introduced in notebook 06a (and used quietly from notebook 04b on).
"""

import torch


def get_device(prefer=None):
    """Return the best available `torch.device`: "cuda", else "mps", else "cpu".

    Args:
        prefer: force a device by name (for example "cpu" to compare timings). A device
            this machine does not have is an error that says so, instead of a failure
            later at the first `.to(device)`.
    """
    if prefer is not None:
        return _available(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _available(name):
    """Return `torch.device(name)`, or raise a clear error when this machine lacks it."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        hint = " (PyTorch calls a GPU 'cuda')" if str(name).lower() == "gpu" else ""
        raise ValueError(
            f"unknown device {name!r}{hint}: use 'cuda', 'mps' or 'cpu', or get_device() to "
            f"pick the best one available"
        ) from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {name!r} was asked for, but this machine has no CUDA GPU that PyTorch "
                f"can use: call get_device() to use the best device available (on Colab: "
                f"Runtime > Change runtime type > GPU, then restart)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {name!r} was asked for, but this machine has "
                f"{torch.cuda.device_count()} GPU(s), numbered from 0: use 'cuda:0' or 'cuda'"
            )
    mps = getattr(torch.backends, "mps", None)
    if device.type == "mps" and not (mps is not None and mps.is_available()):
        raise RuntimeError(
            f"device {name!r} was asked for, but Apple's MPS is not available here: call "
            f"get_device() to use the best device available"
        )
    return device


def describe_device(device=None):
    """Return a one-line description of a device, such as "cuda (NVIDIA H100)" or "cpu"."""
    device = get_device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'' if threads == 1 else 's'})"
    return device.type


def model_device(model):
    """Return the device a model's weights are on (the CPU for a model with no weights)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")
