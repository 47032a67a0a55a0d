"""Seeding, so that a run can be repeated exactly.

Used from notebook 04a on by every notebook that trains; notebook 05c (reproducibility,
section 4) explains it.
"""

import numbers
import os
import random

import numpy as np
import torch


def seed_everything(seed=0, deterministic=False):
    """Seed Python, NumPy and PyTorch (CPU and every GPU); return the seed.

    On the CPU, the same seed, data and code give identical losses run after run.
    On a GPU some kernels still pick their algorithm at run time; pass
    `deterministic=True` to make PyTorch use only deterministic ones (often slower,
    and an operation with no deterministic version then raises an error). Calling it
    again with `deterministic=False` switches that mode off.

    Args:
        seed: any integer (default 0).
        deterministic: switch PyTorch to deterministic algorithms (default False).
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ValueError(
            f"seed must be a whole number from 0 to 2**32 - 1 (NumPy's limit), got {seed!r}: "
            f"for example seed_everything(0)"
        )
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds the CPU and all CUDA devices
    if deterministic:
        # cuBLAS needs this workspace setting for repeatable matrix products on CUDA. It is
        # read at the first matrix product, so a script that multiplies on the GPU before
        # calling this should set CUBLAS_WORKSPACE_CONFIG=:4096:8 at its very top instead.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = False
    return seed
