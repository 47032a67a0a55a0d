"""MNIST's file format (IDX): read, written and checked, so that damage gets a name.

MNIST ships as four IDX files: training images and labels, test images and labels.
Each starts with a header of big-endian 4-byte numbers: a "magic number" saying what
follows (0x00000803: unsigned bytes in 3 dimensions, i.e. images; 0x00000801: one
dimension, i.e. labels), then the size of each dimension, then the values themselves.

torchvision trusts these files: a cut-off download or 6,000 images with 5,999 labels
load as a dataset that crashes at some random batch mid-training. `check_folder` and
`check_split` read the headers and sizes first and name the file that is wrong and what
to do. `read_idx` and `write_idx` are the one reader and writer of the format, used by
the tools too (`tools/make_proxy.py`, `tools/timings.py`).

Introduced in notebook 03a (where the data comes from, section 1).
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


class MNISTFilesCorrupt(ValueError):
    """Raised when MNIST files exist but are damaged or inconsistent; the message names the file."""


def delete_and_retry(folder):
    """The fix for damaged files in a data folder: download them again, or use the sample."""
    return (
        f"Delete the folder {folder} and run again to download fresh copies, or use the "
        f"offline sample with mnistlab.load_mnist(sample=True)."
    )


def read_header(path):
    """Return `(magic, dims)` from the start of an IDX file, e.g. (0x803, (60000, 28, 28)).

    `magic` is None when the file is shorter than 4 bytes; `dims` is () when the magic
    number is not one of an IDX file of bytes, or the file ends inside the header.
    """
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


def check_idx(path, magic, fix=None):
    """Check an IDX file's kind (`magic`) and length without reading its values; return its dims.

    Raises MNISTFilesCorrupt naming the file when it is a folder, has another magic number
    or is shorter or longer than its header says. `fix` is the advice that ends the
    message (default: `delete_and_retry` of the file's folder).
    """
    path = Path(path)
    fix = fix or delete_and_retry(path.parent)
    what = "images" if magic == IMAGES_MAGIC else "labels" if magic == LABELS_MAGIC else "values"
    where = f"{path.name} in {path.parent}"
    if path.is_dir():
        raise MNISTFilesCorrupt(f"{where} is a folder, but MNIST's {what} are a file. {fix}")
    found_magic, dims = read_header(path)
    if found_magic != magic or len(dims) != magic & 0xFF:
        got = "no header" if found_magic is None else f"magic number 0x{found_magic:08X}"
        if found_magic == magic:
            got = "a header that ends early"
        raise MNISTFilesCorrupt(
            f"{where} is not an IDX file of {what} (expected magic number 0x{magic:08X}, "
            f"found {got}). {fix}"
        )
    expected = 4 + 4 * len(dims) + int(np.prod(dims))
    size = path.stat().st_size
    if size != expected:
        state = ("cut off (truncated: an interrupted download or copy?)" if size < expected
                 else "longer than it says")
        raise MNISTFilesCorrupt(
            f"{where} is {size:,} bytes but its header announces {what} shaped {dims}, which "
            f"take {expected:,} bytes: the file is {state}. {fix}"
        )
    return dims


def read_idx(path, magic, fix=None):
    """Return the values of an IDX file as a uint8 array shaped as its header says.

    The file is checked first (`check_idx`), so a damaged one raises MNISTFilesCorrupt
    naming it, instead of giving an array of the wrong size.
    """
    dims = check_idx(path, magic, fix)
    values = np.fromfile(path, dtype=np.uint8, offset=4 + 4 * len(dims))
    return values.reshape(dims)


def write_idx(path, values):
    """Write a uint8 array as an IDX file: magic number, dimensions (big-endian), values."""
    values = np.ascontiguousarray(values, dtype=np.uint8)
    header = struct.pack(f">I{values.ndim}I", 0x0800 + values.ndim, *values.shape)
    Path(path).write_bytes(header + values.tobytes())


def check_folder(raw):
    """Raise MNISTFilesCorrupt when any of MNIST's file names in `raw` is taken by a non-file.

    A folder (or anything else that is not a plain file) where `train-images-idx3-ubyte`
    or `train-images-idx3-ubyte.gz` should be is damage, not a missing file: it must be
    named, not silently replaced by the offline sample.
    """
    raw = Path(raw)
    for name in ALL_FILES:
        for candidate in (raw / name, raw / f"{name}.gz"):
            if candidate.exists() and not candidate.is_file():
                kind = "a folder" if candidate.is_dir() else "not a regular file"
                raise MNISTFilesCorrupt(
                    f"{candidate.name} in {raw} is {kind}, but it should be MNIST's file of "
                    f"that name. Remove it ({candidate}) and put MNIST's file there. Or: "
                    f"{delete_and_retry(raw)}"
                )


def check_packed_agrees(raw, name):
    """Raise MNISTFilesCorrupt when `name` and `name.gz` in `raw` both exist but disagree.

    Only the magic numbers and counts are compared (8 bytes at the start of each), so the
    check costs nothing; a .gz that cannot even be opened is named too.
    """
    packed, unpacked = Path(raw) / f"{name}.gz", Path(raw) / name
    if not (packed.is_file() and unpacked.is_file()):
        return
    try:
        with gzip.open(packed, "rb") as f:
            start = f.read(8)  # the magic number and the number of images or labels
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as err:
        raise MNISTFilesCorrupt(
            f"{packed.name} in {raw} is not a readable .gz file ({err}), next to an unpacked "
            f"{name}. Delete {packed.name} if {name} is good, or "
            f"{delete_and_retry(raw)[0].lower()}{delete_and_retry(raw)[1:]}"
        ) from err
    with open(unpacked, "rb") as f:
        unpacked_start = f.read(len(start))
    if start != unpacked_start:
        raise MNISTFilesCorrupt(
            f"{name} and {packed.name} in {raw} disagree: their headers differ "
            f"({unpacked_start.hex()} and {start.hex()}), so they hold different data. Keep "
            f"the one you trust and delete the other, or {delete_and_retry(raw)[0].lower()}"
            f"{delete_and_retry(raw)[1:]}"
        )


def check_split(raw, train=True):
    """Check the images and labels files of one split in `raw`; return how many digits it has.

    Raises MNISTFilesCorrupt naming the file when a header, a size, the number of
    labels or a label value is wrong.
    """
    raw = Path(raw)
    images_name, labels_name = FILES[train]
    for name in (images_name, labels_name):
        check_packed_agrees(raw, name)
    fix = delete_and_retry(raw)
    for name in (images_name, labels_name):
        if (raw / f"{name}.gz").is_file():  # the unpacked copy is what is read: say so
            fix = (f"Delete {name} (it is unpacked again from {name}.gz), or "
                   f"{fix[0].lower()}{fix[1:]}")
            break
    shape = check_idx(raw / images_name, IMAGES_MAGIC, fix)
    if shape[1:] != (28, 28):
        raise MNISTFilesCorrupt(
            f"{images_name} in {raw} holds images shaped {shape}, but MNIST's are (N, 28, 28). "
            f"{fix}"
        )
    n_images = shape[0]
    labels = read_idx(raw / labels_name, LABELS_MAGIC, fix)
    if n_images != len(labels):
        raise MNISTFilesCorrupt(
            f"{images_name} holds {n_images:,} images but {labels_name} holds {len(labels):,} "
            f"labels (in {raw}): every image needs one label, so these files do not belong "
            f"together. {fix}"
        )
    if labels.size and labels.max() > 9:
        raise MNISTFilesCorrupt(
            f"{labels_name} in {raw} holds the label {labels.max()}, but MNIST's labels are the "
            f"digits 0 to 9. {fix}"
        )
    return n_images


def unpack(packed, unpacked):
    """Decompress `packed` (a .gz file) into `unpacked`, all or nothing, without any network.

    The data goes to a temporary file first and is renamed at the end, so an interrupted
    unpacking never leaves a half-written file that looks complete. A .gz file that is
    cut off or not gzip raises MNISTFilesCorrupt naming it.
    """
    packed, unpacked = Path(packed), Path(unpacked)
    partial = unpacked.with_name(unpacked.name + ".partial")
    try:
        with gzip.open(packed, "rb") as source, open(partial, "wb") as target:
            while block := source.read(1 << 20):
                target.write(block)
        if partial.stat().st_size == 0:
            raise EOFError("it holds nothing")  # an empty file reads as an empty .gz
        os.replace(partial, unpacked)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        partial.unlink(missing_ok=True)
        raise MNISTFilesCorrupt(
            f"{packed.name} in {packed.parent} could not be unpacked ({err}): it is cut off or "
            f"damaged. {delete_and_retry(packed.parent)}"
        ) from err
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
