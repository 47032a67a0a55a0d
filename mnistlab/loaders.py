"""Batches for training: a DataLoader with safe defaults, and a whole split kept as tensors.

* `make_loader` returns PyTorch's `DataLoader` with settings that work in any notebook.
* `TensorLoader` holds a whole split as one normalised tensor on a device and serves
  the same batches without turning every digit into a PIL image and back (notebook 06b, section 2).
* `dataset_to_tensors` turns a dataset into those two tensors.

Each checks its arguments first (an empty dataset, batch_size=0, float64 or NaN pixels),
so a mistake is named before training starts, not in the middle of it.

Introduced in notebooks 03b (make_loader) and 04c (TensorLoader).
"""

import math

import torch
from torch.utils.data import DataLoader, Subset
from torchvision import transforms

from .checks import check_whole_number
from .data import dataset_length
from .device import get_device

BATCH_SIZE_FIX = "pass a number of examples per batch, such as batch_size=100"


def make_loader(
    dataset, batch_size=100, shuffle=False, seed=None, num_workers=0, pin_memory=None, **kwargs
):
    """Return a `DataLoader` with defaults that are safe in notebooks on any machine.

    Args:
        dataset: the dataset to load from.
        batch_size: examples per batch (default 100, as in the seeds).
        shuffle: reshuffle every epoch (use True for training only).
        seed: seed for the shuffle order, so a run can be repeated exactly.
        num_workers: 0 (default) loads in the notebook's own process, which works on
            Windows and macOS notebooks where worker processes often fail to start.
        pin_memory: None (default) pins only when CUDA is available.
        **kwargs: passed on to `DataLoader` (for example `drop_last`).

    Introduced in notebook 03b.
    """
    if isinstance(dataset, DataLoader):
        raise TypeError(
            "dataset is already a DataLoader: pass the dataset it was made from "
            "(loader.dataset), or use the loader itself"
        )
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2 and all(
        isinstance(t, torch.Tensor) for t in dataset
    ):
        raise TypeError(
            "dataset is a pair of tensors (images, labels): wrap them as "
            "torch.utils.data.TensorDataset(images, labels), or use "
            "mnistlab.TensorLoader(images, labels)"
        )
    if hasattr(dataset, "__len__") and len(dataset) == 0:
        raise ValueError(
            "dataset is empty (0 examples): check the split or take(...) that made it"
        )
    check_whole_number(batch_size, "batch_size", BATCH_SIZE_FIX)
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        **kwargs,
    )


def dataset_to_tensors(dataset):
    """Return a whole dataset as two tensors: images (N, 1, 28, 28) and labels (N,).

    For MNIST (or a Subset of it) with no transform, ToTensor, or ToTensor + Normalize,
    the pixels are converted in one vectorised step; any other transform is applied
    image by image, so the result always matches what `dataset[i]` returns.
    """
    base, indices = dataset, None
    while isinstance(base, Subset):  # a Subset of a Subset (take, then train_val_split) too
        inner = torch.as_tensor(base.indices)
        indices = inner if indices is None else inner[indices]
        base = base.dataset
    scale = _affine_of(getattr(base, "transform", "unknown"))
    if hasattr(base, "data") and hasattr(base, "targets") and scale is not None:
        data, targets = torch.as_tensor(base.data), torch.as_tensor(base.targets)
        if indices is not None:
            data, targets = data[indices], targets[indices]
        mean, std = scale
        images = (data.float().div(255).sub(mean).div(std)).unsqueeze(1)  # (N, 1, 28, 28)
        return images, targets.long()
    if dataset_length(dataset) == 0:
        raise ValueError("dataset is empty (0 examples): there is nothing to turn into tensors")
    pairs = [dataset[i] for i in range(len(dataset))]
    if not isinstance(pairs[0][0], torch.Tensor):
        raise TypeError(
            f"the dataset gives {type(pairs[0][0]).__name__} images, not tensors: load it with "
            f"transform=mnistlab.MNIST_TRANSFORM"
        )
    images = torch.stack([image for image, _ in pairs])
    return images, torch.tensor([int(label) for _, label in pairs])


def _affine_of(transform):
    """Return (mean, std) when `transform` is ToTensor (+ one-channel Normalize), else None."""
    steps = transform.transforms if isinstance(transform, transforms.Compose) else [transform]
    if len(steps) >= 1 and isinstance(steps[0], transforms.ToTensor):
        if len(steps) == 1:
            return 0.0, 1.0
        norm = steps[1]
        if len(steps) == 2 and isinstance(norm, transforms.Normalize) and len(norm.mean) == 1:
            return float(norm.mean[0]), float(norm.std[0])
    return None


class TensorLoader:
    """A whole split kept as one normalised tensor on a device, served in batches.

    It yields the same `(x, y)` batches a `DataLoader` with `MNIST_TRANSFORM` would,
    but without turning every digit into a PIL image and back: the pixels are
    normalised once, moved to `device` once, and each epoch only a random order is
    drawn (on the device). This is the fast path of notebook 06b and the benchmark.

    Args:
        images: float tensor (N, 1, 28, 28), already normalised.
        targets: int64 tensor (N,).
        batch_size: examples per batch (default 100).
        shuffle: draw a new order every epoch.
        device: where the tensors live ("cpu", "cuda", "mps" or a torch.device; None: the
            best one available, as `get_device()` picks).
        seed: seed for the shuffle order.
        drop_last: drop the last, smaller batch (default False: every example is used).

    Introduced in notebook 04c.
    """

    def __init__(
        self, images, targets, batch_size=100, shuffle=False, device="cpu", seed=None,
        drop_last=False,
    ):
        _check_loader_tensors(images, targets)
        check_whole_number(batch_size, "batch_size", BATCH_SIZE_FIX)
        self.device = get_device(device)
        self.images = images.to(self.device)
        self.targets = targets.to(self.device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator(device=self.device)
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()

    @classmethod
    def from_dataset(cls, dataset, **kwargs):
        """Build a TensorLoader holding every example of `dataset` (see `dataset_to_tensors`)."""
        images, targets = dataset_to_tensors(dataset)
        return cls(images, targets, **kwargs)

    def __len__(self):
        """Number of batches per epoch, as for a DataLoader."""
        n = len(self.targets)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        images, targets = self.images, self.targets
        if self.shuffle:
            order = torch.randperm(len(targets), device=self.device, generator=self.generator)
            images, targets = images[order], targets[order]
        for i in range(len(self)):
            start = i * self.batch_size
            yield images[start : start + self.batch_size], targets[start : start + self.batch_size]


def _check_loader_tensors(images, targets):
    """The checks of TensorLoader: tensors, shapes, dtypes, values, not empty."""
    for name, value in (("images", images), ("targets", targets)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name} must be a tensor, got {type(value).__name__}: convert with "
                f"torch.as_tensor(...), or use TensorLoader.from_dataset(dataset)"
            )
    if images.dim() != 4 or targets.dim() != 1 or len(images) != len(targets):
        raise ValueError(
            f"expected images (N, C, H, W) and targets (N,), got {tuple(images.shape)} "
            f"and {tuple(targets.shape)}; use TensorLoader.from_dataset(dataset) for a dataset"
        )
    if len(targets) == 0:
        raise ValueError("images and targets are empty (N = 0): there is nothing to load")
    if not images.is_floating_point() or images.dtype == torch.float64:
        raise TypeError(
            f"images must be float32 pixels, normalised, got {images.dtype}: use "
            f"TensorLoader.from_dataset(dataset), or convert with "
            + ("images.float()" if images.is_floating_point() else
               "(images.float() / 255 - mnistlab.MNIST_MEAN) / mnistlab.MNIST_STD")
        )
    if targets.is_floating_point() or targets.dtype == torch.bool:
        raise TypeError(f"targets must be integer class numbers, got {targets.dtype}: use .long()")
    if not torch.isfinite(images).all():
        raise ValueError(
            "images contain NaN or infinite values, which would make every loss NaN: check "
            "how they were computed (a division by a standard deviation of 0?)"
        )
