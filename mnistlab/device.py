"""Choosing where to compute: one helper picks CUDA, then Apple's MPS, then the CPU.

Introduced in notebook 06 (and used quietly from notebook 04 on).
"""

import torch


def get_device(prefer=None):
    """Return the best available `torch.device`: "cuda", else "mps", else "cpu".

    Args:
        prefer: force a device by name (for example "cpu" to compare timings).
    """
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device=None):
    """Return a one-line description of a device, such as "cuda (NVIDIA H100)" or "cpu"."""
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def model_device(model):
    """Return the device a model's weights are on (the CPU for a model with no weights)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")
