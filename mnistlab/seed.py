"""Seeding, so that a run can be repeated exactly.

Introduced in notebook 05 (reproducibility) and used by every notebook that trains.
"""

import random

import numpy as np
import torch


def seed_everything(seed=0, deterministic=False):
    """Seed Python, NumPy and PyTorch (CPU and every GPU); return the seed.

    On the CPU, the same seed, data and code give identical losses run after run.
    On a GPU some kernels still pick their algorithm at run time; pass
    `deterministic=True` to make PyTorch use only deterministic ones (often slower,
    and an operation with no deterministic version then raises an error).

    Args:
        seed: any integer (default 0).
        deterministic: also switch PyTorch to deterministic algorithms.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds the CPU and all CUDA devices
    if deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    return seed
