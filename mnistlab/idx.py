"""MNIST's file format (IDX), checked before torchvision reads it, so damage gets a name.

MNIST ships as four IDX files: training images and labels, test images and labels.
Each starts with a header of big-endian 4-byte numbers: a "magic number" saying what
follows (0x00000803: unsigned bytes in 3 dimensions, i.e. images; 0x00000801: one
dimension, i.e. labels), then the size of each dimension, then the values themselves.

torchvision trusts these files: a cut-off download or 6,000 images with 5,999 labels
load as a dataset that crashes at some random batch mid-training. `check_split` reads
the headers and sizes first and names the file that is wrong and what to do.

Introduced in notebook 03 (where the data comes from).
"""

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 0x00000803  # 0x08: unsigned bytes; 0x03: three dimensions (N, 28, 28)
LABELS_MAGIC = 0x00000801  # 0x08: unsigned bytes; 0x01: one dimension (N,)
FILES = {  # torchvision's names, in its folder layout root/MNIST/raw/
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = (*FILES[True], *FILES[False])


class MNISTFilesCorrupt(RuntimeError):
    """Raised when MNIST files exist in the data folder but are damaged or inconsistent."""


def _fix(raw):
    return (
        f"Delete the folder {raw} and run again to download fresh copies, or use the "
        f"offline sample with mnistlab.load_mnist(sample=True)."
    )


def read_header(path):
    """Return `(magic, dims)` from the start of an IDX file, e.g. (0x803, (60000, 28, 28))."""
    with open(path, "rb") as f:
        start = f.read(4)
        if len(start) < 4:
            return None, ()
        (magic,) = struct.unpack(">I", start)
        n_dims = magic & 0xFF
        if magic >> 8 != 0x08 or not 1 <= n_dims <= 3:
            return magic, ()
        sizes = f.read(4 * n_dims)
        if len(sizes) < 4 * n_dims:
            return magic, ()
        return magic, struct.unpack(f">{n_dims}I", sizes)


def _check_file(path, magic, dims, what, raw):
    """Raise MNISTFilesCorrupt unless `path` has the expected magic number and full size."""
    found_magic, found_dims = read_header(path)
    if found_magic != magic or len(found_dims) != len(dims):
        got = "no header" if found_magic is None else f"magic number 0x{found_magic:08X}"
        raise MNISTFilesCorrupt(
            f"{path.name} in {raw} is not an IDX file of {what} (expected magic number "
            f"0x{magic:08X}, found {got}). {_fix(raw)}"
        )
    if any(d is not None and d != f for d, f in zip(dims, found_dims)):
        raise MNISTFilesCorrupt(
            f"{path.name} in {raw} holds {what} shaped {found_dims}, but MNIST's are "
            f"(N, 28, 28). {_fix(raw)}"
        )
    expected = 4 + 4 * len(dims) + int(np.prod(found_dims))
    size = path.stat().st_size
    if size != expected:
        state = "cut off (an interrupted download?)" if size < expected else "longer than it says"
        raise MNISTFilesCorrupt(
            f"{path.name} in {raw} is {size:,} bytes but its header announces {found_dims[0]:,} "
            f"{what}, which take {expected:,} bytes: the file is {state}. {_fix(raw)}"
        )
    return found_dims[0]


def check_split(raw, train=True):
    """Check the images and labels files of one split in `raw`; return how many digits it has.

    Raises MNISTFilesCorrupt naming the file when a header, a size, the number of
    labels or a label value is wrong.
    """
    raw = Path(raw)
    images_name, labels_name = FILES[train]
    n_images = _check_file(raw / images_name, IMAGES_MAGIC, (None, 28, 28), "images", raw)
    n_labels = _check_file(raw / labels_name, LABELS_MAGIC, (None,), "labels", raw)
    if n_images != n_labels:
        raise MNISTFilesCorrupt(
            f"{images_name} holds {n_images:,} images but {labels_name} holds {n_labels:,} "
            f"labels (in {raw}): every image needs one label, so these files do not belong "
            f"together. {_fix(raw)}"
        )
    labels = np.frombuffer((raw / labels_name).read_bytes(), dtype=np.uint8, offset=8)
    if labels.size and labels.max() > 9:
        raise MNISTFilesCorrupt(
            f"{labels_name} in {raw} holds the label {labels.max()}, but MNIST's labels are the "
            f"digits 0 to 9. {_fix(raw)}"
        )
    return n_images


def unpack(packed, unpacked, raw):
    """Decompress `packed` (a .gz file) into `unpacked`, all or nothing, without any network.

    The data goes to a temporary file first and is renamed at the end, so an interrupted
    unpacking never leaves a half-written file that looks complete.
    """
    partial = unpacked.with_name(unpacked.name + ".partial")
    try:
        with gzip.open(packed, "rb") as source, open(partial, "wb") as target:
            while block := source.read(1 << 20):
                target.write(block)
        os.replace(partial, unpacked)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        partial.unlink(missing_ok=True)
        raise MNISTFilesCorrupt(
            f"{packed.name} in {raw} could not be unpacked ({err}): it is cut off or damaged. "
            f"{_fix(raw)}"
        ) from err
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
